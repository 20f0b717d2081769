//! Runs a playbook's steps in order. Each finished step is written to the state file
//! (`<work_dir>/<name>.state.json`) at once, so a run stopped by a crash or Ctrl-C continues
//! with the first unfinished step (every step is safe to run again: the back-fill resumes the
//! extract and upserts, a shift sets an absolute percentage). `--dry-run` prints what each step
//! would do and changes nothing. Every flag change is appended to `<work_dir>/<name>.audit.jsonl`
//! (who, when, flag, from, to, why) and sent to ficus-proxy with `x-ficus-operator`, so the
//! proxy's own audit log names the playbook too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::http;
use crate::playbook::{Backfill, Dial, Playbook, Shift, Step};
use crate::preflight;
use crate::verify;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Print the steps, change nothing.
    pub dry_run: bool,
    /// Forget the state file and start from the first step.
    pub restart: bool,
    /// Who runs it (audit logs).
    pub operator: String,
}

/// Why a run stopped before its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A step refused to go on (preflight, verify, lag, a tool's failure); the text says why.
    #[error("step {step} ({kind}): {reason}")]
    Refused {
        /// 1-based.
        step: usize,
        /// The step's kind.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// A gate breached during a hold: the dial was moved back to 0 %.
    #[error("step {step} (shift): {report}")]
    Breach {
        /// 1-based.
        step: usize,
        /// What breached and what was done.
        report: String,
    },
    /// The state file could not be read or written, or belongs to another playbook.
    #[error("state: {0}")]
    State(String),
}

/// The state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// The playbook's name.
    pub name: String,
    /// The playbook's digest when the state was written.
    pub digest: String,
    /// Finished steps.
    pub done: Vec<Done>,
}

/// A finished step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Done {
    /// 1-based.
    pub step: usize,
    /// Its kind.
    pub kind: String,
    /// Seconds since the Unix epoch when it finished.
    pub at: f64,
    /// What it did, in a line.
    pub summary: String,
}

/// Where a playbook's files go.
pub fn work_dir(p: &Playbook) -> PathBuf {
    p.settings
        .work_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/ficus"))
}

/// The state file's path.
pub fn state_path(p: &Playbook) -> PathBuf {
    work_dir(p).join(format!("{}.state.json", p.name))
}

/// The audit log's path.
pub fn audit_path(p: &Playbook) -> PathBuf {
    work_dir(p).join(format!("{}.audit.jsonl", p.name))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Runs `p`, writing progress lines to `out`; returns the finished steps.
pub async fn run(
    p: &Playbook,
    options: &RunOptions,
    out: &mut dyn Write,
) -> Result<State, RunError> {
    let dir = work_dir(p);
    let state_file = state_path(p);
    let mut state = if options.dry_run || options.restart {
        State::default()
    } else {
        read_state(&state_file)?
    };
    if !state.done.is_empty() && (state.name != p.name || state.digest != p.digest) {
        return Err(RunError::State(format!(
            "{} was written for another version of this playbook; run with --restart to start over",
            state_file.display()
        )));
    }
    state.name.clone_from(&p.name);
    state.digest.clone_from(&p.digest);
    if !options.dry_run {
        std::fs::create_dir_all(&dir)
            .map_err(|e| RunError::State(format!("{}: {e}", dir.display())))?;
    }
    let total = p.steps.len();
    for (i, step) in p.steps.iter().enumerate() {
        let n = i + 1;
        if let Some(d) = state.done.iter().find(|d| d.step == n) {
            let _ = writeln!(
                out,
                "[{n}/{total}] {}: done earlier ({})",
                step.kind(),
                d.summary
            );
            continue;
        }
        if options.dry_run {
            let _ = writeln!(
                out,
                "[{n}/{total}] {}: would {}",
                step.kind(),
                describe(p, step)
            );
            continue;
        }
        let _ = writeln!(out, "[{n}/{total}] {}: {}", step.kind(), describe(p, step));
        let refused = |reason: String| RunError::Refused {
            step: n,
            kind: step.kind(),
            reason,
        };
        let summary = match step {
            Step::Preflight(s) => preflight::check(p, s, has_backfill(p))
                .await
                .map_err(|problems| refused(problems.join("; ")))?,
            Step::Backfill(s) => backfill(p, s, out).map_err(refused)?,
            Step::Sync(s) => sync(p, s).map_err(refused)?,
            Step::WaitLag(s) => wait_lag(p, s.max_seconds, Duration::from_secs(s.timeout_seconds))
                .map_err(refused)?,
            Step::Verify(s) => {
                let mut o =
                    verify::Options::new(&p.settings.magento, &p.settings.service_db, p.domain);
                o.chunk_size = s.chunk_size;
                o.max_rows_per_second = s.max_rows_per_second;
                o.recheck_wait = Duration::from_secs(s.recheck_wait_seconds);
                // A verify stopped with the playbook continues where it was on the rerun.
                o.state = Some(dir.join(format!("{}.verify-{n}.json", p.name)));
                let report = verify::verify(&o, |_, _| {})
                    .await
                    .map_err(|e| refused(e.to_string()))?;
                let text = verify::render(&report);
                let _ = write!(out, "{text}");
                if !report.clean() {
                    return Err(refused(format!(
                        "{} real mismatches between Magento and the {} service",
                        report.mismatches(),
                        p.domain.name()
                    )));
                }
                format!(
                    "clean: {} entities, {} documents, {} resolved on re-check",
                    report.entities, report.documents, report.resolved_on_recheck
                )
            }
            Step::Shift(s) => shift(p, s, options, n, out)?,
            Step::Rollback(r) => {
                let dials = match r.dial {
                    Some(d) => vec![d],
                    None => vec![Dial::Reads, Dial::Writes],
                };
                let mut moved = Vec::new();
                for d in dials {
                    let flag = d.flag(p.domain);
                    let from = set_flag(p, options, &flag, 0, "playbook rollback step")
                        .map_err(refused)?;
                    moved.push(format!("{flag} {from} → 0%"));
                }
                moved.join(", ")
            }
        };
        let _ = writeln!(out, "[{n}/{total}] {}: {summary}", step.kind());
        state.done.push(Done {
            step: n,
            kind: step.kind().to_owned(),
            at: now(),
            summary,
        });
        write_state(&state_file, &state)?;
    }
    Ok(state)
}

fn has_backfill(p: &Playbook) -> bool {
    p.steps.iter().any(|s| matches!(s, Step::Backfill(_)))
}

/// What a step will do, in a line (also the dry run's output).
fn describe(p: &Playbook, step: &Step) -> String {
    let d = p.domain.name();
    match step {
        Step::Preflight(_) => format!(
            "check Magento's binlog (ROW, FULL, server_id, GTID, retention), the replication \
             privileges, the {d} tables, and that the targets answer"
        ),
        Step::Backfill(_) => format!(
            "{}extract the {d} domain with eav-extract to {} and load it into {}",
            if p.settings.id_map_db.is_some() {
                "record every id with id-map sync, "
            } else {
                ""
            },
            extract_path(p).display(),
            verify::mask(&p.settings.service_db)
        ),
        Step::Sync(s) => match &s.start {
            Some(cmd) => format!(
                "start cdc-sync ({}) unless it runs, and check it",
                cmd.join(" ")
            ),
            None => "check that cdc-sync runs".to_owned(),
        },
        Step::WaitLag(s) => format!("wait until cdc-sync's lag is under {} s", s.max_seconds),
        Step::Verify(_) => format!("compare every {d} entity of Magento with the service's copy"),
        Step::Shift(s) => format!(
            "move {} to {} %, hold {} s with gates: new-backend failures ≤ {} %, p99 ≤ {} ms, lag ≤ {} s",
            s.dial.flag(p.domain),
            s.to,
            s.hold_seconds,
            s.max_error_rate * 100.0,
            s.max_p99_ms,
            s.max_lag_seconds
        ),
        Step::Rollback(r) => match r.dial {
            Some(dial) => format!("move {} to 0 %", dial.flag(p.domain)),
            None => format!("move ficus.{d}.reads and ficus.{d}.writes to 0 %"),
        },
    }
}

fn read_state(path: &Path) -> Result<State, RunError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| RunError::State(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(RunError::State(format!("{}: {e}", path.display()))),
    }
}

/// Written to a temporary file and renamed, so a crash leaves the old state or the new one.
fn write_state(path: &Path, state: &State) -> Result<(), RunError> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| RunError::State(format!("{}: {e}", path.display())))
}

/// Where the back-fill's extract goes.
fn extract_path(p: &Playbook) -> PathBuf {
    work_dir(p).join(format!("{}.jsonl", p.domain.name()))
}

/// A ficus tool's path.
pub fn tool(p: &Playbook, name: &str) -> PathBuf {
    let dir = p.settings.bin_dir.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
    });
    dir.map_or_else(|| PathBuf::from(name), |d| d.join(name))
}

/// The service's binary for a domain.
fn service_tool(p: &Playbook) -> &'static str {
    match p.domain {
        verify::Domain::Catalog => "ficus-catalog",
        verify::Domain::Customer => "ficus-customer",
        verify::Domain::Order => "ficus-order",
    }
}

/// Runs a tool to its end with its output shown; an error names the command and its status.
fn run_tool(p: &Playbook, name: &str, args: &[String], out: &mut dyn Write) -> Result<(), String> {
    let path = tool(p, name);
    let _ = writeln!(out, "  $ {name} {}", mask_args(args).join(" "));
    let status = Command::new(&path)
        .args(args)
        .status()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status}); its output is above"))
    }
}

fn mask_args(args: &[String]) -> Vec<String> {
    args.iter().map(|a| verify::mask(a)).collect()
}

/// id-map sync, eav-extract (resumed when a checkpoint is there, skipped when its manifest is),
/// then the service's `load`.
fn backfill(p: &Playbook, s: &Backfill, out: &mut dyn Write) -> Result<String, String> {
    let m = &p.settings.magento;
    if let Some(idmap) = &p.settings.id_map_db {
        run_tool(
            p,
            "id-map",
            &[
                "sync".into(),
                "--source".into(),
                m.clone(),
                "--target".into(),
                idmap.clone(),
            ],
            out,
        )?;
    }
    let output = extract_path(p);
    let manifest = PathBuf::from(format!("{}.manifest.json", output.display()));
    let checkpoint = PathBuf::from(format!("{}.checkpoint.json", output.display()));
    if manifest.exists() && output.exists() {
        let _ = writeln!(
            out,
            "  the extract is complete ({}): not run again",
            manifest.display()
        );
    } else {
        let mut args = vec!["--source".to_owned(), m.clone()];
        for kind in p.domain.kinds() {
            args.push("--entity".into());
            args.push(kind.name().into());
        }
        if s.stores.is_empty() {
            args.push("--all-stores".into());
            if p.domain == verify::Domain::Catalog {
                args.push("--admin".into());
            }
        } else {
            for store in &s.stores {
                args.push("--store".into());
                args.push(store.clone());
            }
        }
        if let Some(c) = s.chunk_size {
            args.push("--chunk-size".into());
            args.push(c.to_string());
        }
        args.push("--output".into());
        args.push(output.display().to_string());
        if checkpoint.exists() {
            args.push("--resume".into());
        }
        run_tool(p, "eav-extract", &args, out)?;
    }
    let mut args = vec![
        "--database".to_owned(),
        p.settings.service_db.clone(),
        "load".into(),
        output.display().to_string(),
    ];
    if p.domain == verify::Domain::Catalog {
        args.push("--magento".into());
        args.push(m.clone());
    }
    run_tool(p, service_tool(p), &args, out)?;
    let position = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|v| {
            let pos = &v["snapshot"];
            format!(
                "{}:{}",
                pos["file"].as_str().unwrap_or("?"),
                pos["position"]
            )
        })
        .unwrap_or_else(|| "?".into());
    Ok(format!(
        "{} loaded from {}; cdc-sync continues from binlog {position}",
        p.domain.name(),
        output.display()
    ))
}

fn cdc_url(p: &Playbook, path: &str) -> Result<String, String> {
    p.settings
        .cdc_metrics
        .as_ref()
        .map(|u| format!("{}{path}", u.trim_end_matches('/')))
        .ok_or_else(|| "settings.cdc_metrics is not set".to_owned())
}

/// Starts cdc-sync when it does not answer and a command is given; then it must answer.
fn sync(p: &Playbook, s: &crate::playbook::Sync) -> Result<String, String> {
    let healthz = cdc_url(p, "/healthz")?;
    let up = || {
        http::request("GET", &healthz, &[], "", Duration::from_secs(2))
            .is_ok_and(|a| a.status == 200)
    };
    if up() {
        return Ok(format!("cdc-sync answers at {healthz}"));
    }
    let Some(cmd) = &s.start else {
        return Err(format!(
            "cdc-sync does not answer at {healthz}; start it (or give the step a `start` command)"
        ));
    };
    let (program, args) = cmd
        .split_first()
        .ok_or_else(|| "sync.start is empty".to_owned())?;
    let log_path = work_dir(p).join("cdc-sync.log");
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let program = if program.contains('/') {
        PathBuf::from(program)
    } else {
        tool(p, program)
    };
    let child = Command::new(&program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let pid = child.id();
    // cdc-sync outlives the playbook; its pid is kept for whoever stops it.
    let _ = std::fs::write(work_dir(p).join("cdc-sync.pid"), pid.to_string());
    let started = Instant::now();
    while !up() {
        if started.elapsed() > Duration::from_secs(s.timeout_seconds) {
            return Err(format!(
                "cdc-sync (pid {pid}) did not answer at {healthz} within {} s; see {}",
                s.timeout_seconds,
                log_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(format!(
        "cdc-sync started (pid {pid}, log {})",
        log_path.display()
    ))
}

/// cdc-sync's lag (seconds), from its `/metrics`.
fn lag(p: &Playbook) -> Result<f64, String> {
    let url = cdc_url(p, "/metrics")?;
    let a = http::request("GET", &url, &[], "", Duration::from_secs(5))?;
    http::parse_metrics(&a.body)
        .into_iter()
        .filter(|s| s.name == "ficus_cdc_lag_seconds")
        .map(|s| s.value)
        .reduce(f64::max)
        .ok_or_else(|| format!("{url} has no ficus_cdc_lag_seconds"))
}

fn wait_lag(p: &Playbook, max: f64, timeout: Duration) -> Result<String, String> {
    let started = Instant::now();
    loop {
        let l = lag(p)?;
        if l <= max {
            return Ok(format!("lag {l:.3} s ≤ {max} s"));
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "lag {l:.3} s is still over {max} s after {timeout:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn admin(p: &Playbook) -> Result<(String, String), String> {
    let url = p
        .settings
        .proxy_admin
        .clone()
        .ok_or_else(|| "settings.proxy_admin is not set".to_owned())?;
    let token = p
        .settings
        .proxy_token
        .clone()
        .ok_or_else(|| "settings.proxy_token is not set".to_owned())?;
    Ok((url.trim_end_matches('/').to_owned(), token))
}

/// A flag's setting as the admin API shows it (`off`, `on`, `25%`, `absent`).
fn flag_value(p: &Playbook, flag: &str) -> Result<String, String> {
    let (url, token) = admin(p)?;
    let auth = format!("Bearer {token}");
    let a = http::request(
        "GET",
        &format!("{url}/flags"),
        &[("Authorization", &auth)],
        "",
        Duration::from_secs(5),
    )?;
    if a.status != 200 {
        return Err(format!("GET {url}/flags: {} {}", a.status, a.body));
    }
    let v: serde_json::Value = serde_json::from_str(&a.body).map_err(|e| e.to_string())?;
    let found = v["flags"]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["name"] == flag))
        .cloned();
    Ok(match found {
        None => "absent".into(),
        Some(f) if f["enabled"] != true => "off".into(),
        Some(f) => match f["rollout"].as_u64() {
            Some(r) => format!("{r}%"),
            None => "on".into(),
        },
    })
}

/// Sets `flag` to `to` % through the proxy's admin API and appends the change to the audit
/// log; returns the value before.
fn set_flag(
    p: &Playbook,
    options: &RunOptions,
    flag: &str,
    to: u8,
    why: &str,
) -> Result<String, String> {
    let (url, token) = admin(p)?;
    let from = flag_value(p, flag)?;
    let auth = format!("Bearer {token}");
    let who = format!("{} (playbook {})", options.operator, p.name);
    let body = serde_json::json!({"rollout": to, "why": why}).to_string();
    let a = http::request(
        "PUT",
        &format!("{url}/flags/{flag}"),
        &[
            ("Authorization", &auth),
            ("x-ficus-operator", &who),
            ("Content-Type", "application/json"),
        ],
        &body,
        Duration::from_secs(5),
    )?;
    if a.status != 200 {
        return Err(format!("PUT {url}/flags/{flag}: {} {}", a.status, a.body));
    }
    let line = serde_json::json!({
        "who": who, "at": now(), "flag": flag, "from": from, "to": format!("{to}%"), "why": why,
    });
    let path = audit_path(p);
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        return Err(format!(
            "{flag} is now {to}% but the audit log {} could not be written: {e}",
            path.display()
        ));
    }
    Ok(from)
}

/// The proxy's counters for one domain at one moment.
#[derive(Debug, Clone, Default)]
struct Counters {
    modern: f64,
    legacy: f64,
    modern_5xx: f64,
    fallbacks: f64,
    diverted: f64,
    /// (upper bound in seconds, cumulative count) of the new backend's latency histogram.
    buckets: Vec<(f64, f64)>,
}

fn counters(p: &Playbook) -> Result<Counters, String> {
    let (url, token) = admin(p)?;
    let auth = format!("Bearer {token}");
    let a = http::request(
        "GET",
        &format!("{url}/metrics"),
        &[("Authorization", &auth)],
        "",
        Duration::from_secs(5),
    )?;
    if a.status != 200 {
        return Err(format!("GET {url}/metrics: {}", a.status));
    }
    let d = p.domain.name();
    let mut c = Counters::default();
    for s in http::parse_metrics(&a.body) {
        if s.labels.get("domain").map(String::as_str) != Some(d) {
            continue;
        }
        let backend = s.labels.get("backend").map(String::as_str);
        match (s.name.as_str(), backend) {
            ("ficus_proxy_requests_total", Some("modern")) => {
                c.modern += s.value;
                if s.labels.get("status").map(String::as_str) == Some("5xx") {
                    c.modern_5xx += s.value;
                }
            }
            ("ficus_proxy_requests_total", Some("legacy")) => c.legacy += s.value,
            ("ficus_proxy_fallbacks_total", _) => c.fallbacks += s.value,
            ("ficus_proxy_diverted_total", _) => c.diverted += s.value,
            ("ficus_proxy_request_seconds_bucket", Some("modern")) => {
                let le = s.labels.get("le").map(String::as_str).unwrap_or("+Inf");
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap_or(f64::INFINITY)
                };
                c.buckets.push((bound, s.value));
            }
            _ => {}
        }
    }
    c.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(c)
}

/// What the new backend did between two readings.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Requests the new backend answered, plus the ones it failed or was kept from (retried on
    /// or sent to Magento).
    pub modern: f64,
    /// Requests Magento answered (fallbacks included).
    pub legacy: f64,
    /// The new backend's failures: its 5xx, the reads retried on Magento, and the requests its
    /// open circuit or failed health checks sent to Magento.
    pub failures: f64,
    /// Its p99 latency in milliseconds (the histogram bucket's upper bound).
    pub p99_ms: f64,
}

fn window(before: &Counters, after: &Counters) -> Window {
    // Reads the new service failed (retried on Magento), and requests its open circuit or failed
    // health checks sent to Magento: all of them are the new backend's failures.
    let fallbacks = after.fallbacks - before.fallbacks + after.diverted - before.diverted;
    let modern = after.modern - before.modern;
    let total: f64 = modern;
    let mut p99_ms = 0.0;
    if total > 0.0 {
        let wanted = total * 0.99;
        for (bound, count) in &after.buckets {
            let earlier = before
                .buckets
                .iter()
                .find(|(b, _)| b == bound)
                .map_or(0.0, |(_, c)| *c);
            if count - earlier >= wanted {
                p99_ms = bound * 1000.0;
                break;
            }
        }
    }
    Window {
        modern: modern + fallbacks,
        legacy: after.legacy - before.legacy - fallbacks,
        failures: after.modern_5xx - before.modern_5xx + fallbacks,
        p99_ms,
    }
}

/// Moves the dial, holds it while watching the gates, and moves it back to 0 % at once on a
/// breach.
fn shift(
    p: &Playbook,
    s: &Shift,
    options: &RunOptions,
    n: usize,
    out: &mut dyn Write,
) -> Result<String, RunError> {
    let refused = |reason: String| RunError::Refused {
        step: n,
        kind: "shift",
        reason,
    };
    let flag = s.dial.flag(p.domain);
    // Gate before moving: cdc-sync keeps up (verify was an earlier step: a failed one stops the
    // playbook before any shift).
    if p.settings.cdc_metrics.is_some() {
        let l = lag(p).map_err(&refused)?;
        if l > s.max_lag_seconds {
            return Err(refused(format!(
                "cdc-sync's lag {l:.3} s is over {} s: not moving {flag}",
                s.max_lag_seconds
            )));
        }
    }
    let why = s
        .why
        .clone()
        .unwrap_or_else(|| format!("playbook {} step {n}", p.name));
    let start = counters(p).map_err(&refused)?;
    let from = set_flag(p, options, &flag, s.to, &why).map_err(&refused)?;
    let _ = writeln!(
        out,
        "  {flag}: {from} → {}%; holding {} s",
        s.to, s.hold_seconds
    );
    let began = Instant::now();
    let mut last = Window::default();
    while began.elapsed() < Duration::from_secs(s.hold_seconds) {
        std::thread::sleep(Duration::from_millis(500));
        let now_counters = counters(p).map_err(&refused)?;
        let w = window(&start, &now_counters);
        let lag_now = if p.settings.cdc_metrics.is_some() {
            Some(lag(p).map_err(&refused)?)
        } else {
            None
        };
        let mut breach = None;
        if w.modern >= s.min_requests as f64 {
            let rate = w.failures / w.modern;
            if rate > s.max_error_rate {
                breach = Some(format!(
                    "the new backend failed {:.1} % of {} requests (bound {:.1} %)",
                    rate * 100.0,
                    w.modern,
                    s.max_error_rate * 100.0
                ));
            } else if w.p99_ms > s.max_p99_ms {
                breach = Some(format!(
                    "the new backend's p99 is {} ms (bound {} ms)",
                    w.p99_ms, s.max_p99_ms
                ));
            }
        }
        if let Some(l) = lag_now
            && l > s.max_lag_seconds
        {
            breach = Some(format!(
                "cdc-sync's lag is {l:.3} s (bound {} s)",
                s.max_lag_seconds
            ));
        }
        if let Some(what) = breach {
            let t = Instant::now();
            let rolled = set_flag(p, options, &flag, 0, &format!("gate breached: {what}"));
            let took = t.elapsed();
            let report = match rolled {
                Ok(_) => format!(
                    "{what} after {:.1} s at {}%; {flag} moved back to 0 % in {:.0} ms; the playbook stops",
                    began.elapsed().as_secs_f64(),
                    s.to,
                    took.as_secs_f64() * 1000.0
                ),
                Err(e) => format!("{what}; moving {flag} back to 0 % FAILED: {e}"),
            };
            return Err(RunError::Breach { step: n, report });
        }
        last = w;
    }
    let total = last.modern + last.legacy;
    let share = if total > 0.0 {
        last.modern / total * 100.0
    } else {
        0.0
    };
    Ok(format!(
        "{flag} {from} → {}%; over the hold: {:.0} requests, {:.1} % on the new backend, {} failures, p99 {} ms",
        s.to, total, share, last.failures, last.p99_ms
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_fallbacks_as_failures_and_reads_p99_from_buckets() {
        let before = Counters {
            modern: 100.0,
            legacy: 50.0,
            modern_5xx: 0.0,
            fallbacks: 1.0,
            diverted: 0.0,
            buckets: vec![
                (0.001, 50.0),
                (0.01, 90.0),
                (0.1, 100.0),
                (f64::INFINITY, 100.0),
            ],
        };
        let after = Counters {
            modern: 300.0,
            legacy: 60.0,
            modern_5xx: 2.0,
            fallbacks: 3.0,
            diverted: 1.0,
            buckets: vec![
                (0.001, 150.0),
                (0.01, 250.0),
                (0.1, 299.0),
                (f64::INFINITY, 300.0),
            ],
        };
        let w = window(&before, &after);
        // 200 answered + 2 retried on Magento + 1 diverted; 10 legacy answers of which 3 were the
        // new backend's.
        assert_eq!((w.modern, w.legacy, w.failures), (203.0, 7.0, 5.0));
        // 99 % of 200 is 198: the 0.1 s bucket holds 199.
        assert_eq!(w.p99_ms, 100.0);
    }
}
