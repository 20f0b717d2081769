//! A playbook: one phase of one domain as YAML — where things are (`settings`) and the steps, in
//! order. Every string may name environment variables as `${NAME}` or `${NAME:-default}`, so
//! secrets and addresses stay out of the file.
//!
//! ```yaml
//! name: phase1-catalog
//! domain: catalog
//! phase: 1
//! settings:
//!   magento: ${FICUS_MAGENTO_DSN}
//!   service_db: ${FICUS_CATALOG_DB}
//!   proxy_admin: ${FICUS_PROXY_ADMIN:-http://127.0.0.1:8081}
//!   proxy_token: ${FICUS_PROXY_ADMIN_TOKEN}
//!   cdc_metrics: ${FICUS_CDC_METRICS:-http://127.0.0.1:9184}
//! steps:
//!   - preflight: {}
//!   - backfill: {}
//!   - sync: {}
//!   - wait-lag: { max_seconds: 1 }
//!   - verify: {}
//!   - shift: { to: 25, hold_seconds: 30, max_error_rate: 0.01, max_p99_ms: 250 }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use crate::verify::Domain;

/// A parsed playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// Its name (state and audit files are named after it).
    pub name: String,
    /// The domain it moves.
    pub domain: Domain,
    /// The phase (1 read-only, 2 dual-write, 3 cutover).
    pub phase: u8,
    /// Where things are.
    pub settings: Settings,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// A digest of the file's text: a resumed run refuses a playbook that changed.
    pub digest: String,
}

/// Where things are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Magento's database (`mysql://…`).
    pub magento: String,
    /// The domain's service database (`postgres://…`).
    pub service_db: String,
    /// The id map's database (`postgres://…`); the back-fill records every id there when set.
    #[serde(default)]
    pub id_map_db: Option<String>,
    /// ficus-proxy's admin API (`http://host:port`).
    #[serde(default)]
    pub proxy_admin: Option<String>,
    /// Its bearer token.
    #[serde(default)]
    pub proxy_token: Option<String>,
    /// cdc-sync's operations endpoint (`http://host:port`, serving `/healthz` and `/metrics`).
    #[serde(default)]
    pub cdc_metrics: Option<String>,
    /// Where extracts, state, audit and logs go (default `target/ficus`).
    #[serde(default)]
    pub work_dir: Option<PathBuf>,
    /// Where the ficus tools are (`eav-extract`, `id-map`, `ficus-<service>`); default: next to
    /// `ficus`.
    #[serde(default)]
    pub bin_dir: Option<PathBuf>,
    /// Who the flag changes are made by, in the audit logs (default: `$USER` via playbook).
    #[serde(default)]
    pub operator: Option<String>,
}

/// Which of a domain's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dial {
    /// `ficus.<domain>.reads`.
    #[default]
    Reads,
    /// `ficus.<domain>.writes`.
    Writes,
}

impl Dial {
    /// The flag's name for `domain`.
    pub fn flag(self, domain: Domain) -> String {
        match self {
            Dial::Reads => format!("ficus.{}.reads", domain.name()),
            Dial::Writes => format!("ficus.{}.writes", domain.name()),
        }
    }
}

/// One step.
#[derive(Debug, Clone)]
pub enum Step {
    /// Checks Magento, the targets and the tools before anything moves.
    Preflight(Preflight),
    /// id-map sync, then eav-extract into the service's database.
    Backfill(Backfill),
    /// Starts cdc-sync (when a command is given and it is not running) and checks it.
    Sync(Sync),
    /// Waits until cdc-sync's lag is under a bound.
    WaitLag(WaitLag),
    /// Magento and the service agree.
    Verify(Verify),
    /// Moves a dial, holds, and watches the gates; a breach rolls back.
    Shift(Shift),
    /// Moves a dial (or both) to 0 %.
    Rollback(Rollback),
}

impl Step {
    /// The step's kind as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Preflight(_) => "preflight",
            Step::Backfill(_) => "backfill",
            Step::Sync(_) => "sync",
            Step::WaitLag(_) => "wait-lag",
            Step::Verify(_) => "verify",
            Step::Shift(_) => "shift",
            Step::Rollback(_) => "rollback",
        }
    }
}

/// `preflight`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preflight {
    /// Entities per second the back-fill is expected to do at least (for the retention check).
    #[serde(default = "rate")]
    pub expected_rate: u64,
}

/// `backfill`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    /// eav-extract's chunk size.
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// Store views (default: all, and the admin store for the catalog).
    #[serde(default)]
    pub stores: Vec<String>,
}

/// `sync`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    /// The command that starts cdc-sync, when it is not running yet (it keeps running after the
    /// playbook; its output goes to `<work_dir>/cdc-sync.log`).
    #[serde(default)]
    pub start: Option<Vec<String>>,
    /// Seconds to wait for cdc-sync to answer.
    #[serde(default = "thirty")]
    pub timeout_seconds: u64,
}

/// `wait-lag`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitLag {
    /// The bound, in seconds.
    #[serde(default = "one")]
    pub max_seconds: f64,
    /// How long to wait for it.
    #[serde(default = "two_minutes")]
    pub timeout_seconds: u64,
}

/// `verify`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// Entities per chunk.
    #[serde(default = "thousand")]
    pub chunk_size: usize,
    /// Entities read from Magento per second at most.
    #[serde(default)]
    pub max_rows_per_second: Option<u32>,
    /// Seconds to wait for cdc-sync to pass a mismatch before re-checking it.
    #[serde(default = "thirty")]
    pub recheck_wait_seconds: u64,
}

/// `shift`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    /// The dial (default `reads`).
    #[serde(default)]
    pub dial: Dial,
    /// The percentage to move it to.
    pub to: u8,
    /// Seconds to hold there while the gates are watched.
    #[serde(default = "thirty")]
    pub hold_seconds: u64,
    /// The new backend's share of 5xx answers for the domain over the hold, at most.
    #[serde(default = "one_percent")]
    pub max_error_rate: f64,
    /// Its p99 latency over the hold, at most (milliseconds).
    #[serde(default = "p99")]
    pub max_p99_ms: f64,
    /// cdc-sync's lag, at most (seconds), before moving and during the hold.
    #[serde(default = "one")]
    pub max_lag_seconds: f64,
    /// Requests the new backend must have answered before its error rate and p99 count.
    #[serde(default = "twenty")]
    pub min_requests: u64,
    /// Why, for the audit log.
    #[serde(default)]
    pub why: Option<String>,
}

/// `rollback`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// One dial; both when absent.
    #[serde(default)]
    pub dial: Option<Dial>,
}

fn rate() -> u64 {
    2000
}
fn thirty() -> u64 {
    30
}
fn one() -> f64 {
    1.0
}
fn two_minutes() -> u64 {
    120
}
fn thousand() -> usize {
    1000
}
fn one_percent() -> f64 {
    0.01
}
fn p99() -> f64 {
    500.0
}
fn twenty() -> u64 {
    20
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    domain: Domain,
    phase: u8,
    settings: Settings,
    steps: Vec<Value>,
}

/// Reads a playbook; errors name the file, the line, the step or the variable.
pub fn load(path: &Path) -> Result<Playbook, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, &|name| std::env::var(name).ok()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a playbook's text with `env` for `${…}`.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Playbook, String> {
    let mut value: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    expand(&mut value, env)?;
    let mut file: File = serde_yaml::from_value(value).map_err(|e| e.to_string())?;
    // An optional setting whose variable is empty is not set.
    let st = &mut file.settings;
    for o in [
        &mut st.id_map_db,
        &mut st.proxy_admin,
        &mut st.proxy_token,
        &mut st.cdc_metrics,
        &mut st.operator,
    ] {
        if o.as_deref().is_some_and(str::is_empty) {
            *o = None;
        }
    }
    for o in [&mut st.work_dir, &mut st.bin_dir] {
        if o.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            *o = None;
        }
    }
    if !(1..=3).contains(&file.phase) {
        return Err(format!("phase {}: give 1, 2 or 3", file.phase));
    }
    let mut steps = Vec::new();
    for (i, raw) in file.steps.into_iter().enumerate() {
        let n = i + 1;
        let Value::Mapping(map) = raw else {
            return Err(format!("step {n}: write it as `- <kind>: {{…}}`"));
        };
        if map.len() != 1 {
            return Err(format!("step {n}: one kind per step, found {}", map.len()));
        }
        let Some((Value::String(kind), params)) = map.into_iter().next() else {
            return Err(format!("step {n}: the kind must be a word"));
        };
        let params = match params {
            Value::Null => Value::Mapping(Default::default()),
            p => p,
        };
        let bad = |e: serde_yaml::Error| format!("step {n} ({kind}): {e}");
        let step = match kind.as_str() {
            "preflight" => Step::Preflight(serde_yaml::from_value(params).map_err(bad)?),
            "backfill" => Step::Backfill(serde_yaml::from_value(params).map_err(bad)?),
            "sync" => Step::Sync(serde_yaml::from_value(params).map_err(bad)?),
            "wait-lag" => Step::WaitLag(serde_yaml::from_value(params).map_err(bad)?),
            "verify" => Step::Verify(serde_yaml::from_value(params).map_err(bad)?),
            "shift" => {
                let s: Shift = serde_yaml::from_value(params).map_err(bad)?;
                if s.to > 100 {
                    return Err(format!("step {n} (shift): to {} is over 100", s.to));
                }
                // A dial moves up only after Magento and the service were found equal (a
                // failed verify stops the playbook before the shift).
                if s.to > 0 && !steps.iter().any(|x| matches!(x, Step::Verify(_))) {
                    return Err(format!(
                        "step {n} (shift): moving a dial up needs a verify step before it"
                    ));
                }
                Step::Shift(s)
            }
            "rollback" => Step::Rollback(serde_yaml::from_value(params).map_err(bad)?),
            other => {
                return Err(format!(
                    "step {n}: unknown step {other:?}; steps are preflight, backfill, sync, \
                     wait-lag, verify, shift, rollback"
                ));
            }
        };
        steps.push(step);
    }
    Ok(Playbook {
        name: file.name,
        domain: file.domain,
        phase: file.phase,
        settings: file.settings,
        steps,
        digest: digest(text),
    })
}

/// Replaces `${NAME}` and `${NAME:-default}` in every string. A string that is one placeholder
/// and expands to a number becomes that number (`hold_seconds: ${HOLD:-30}`).
fn expand(v: &mut Value, env: &dyn Fn(&str) -> Option<String>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            let whole = s.starts_with("${") && s.ends_with('}') && s.matches("${").count() == 1;
            let expanded = expand_str(s, env)?;
            *v = match serde_yaml::from_str::<Value>(&expanded) {
                Ok(n @ Value::Number(_)) if whole => n,
                _ => Value::String(expanded),
            };
        }
        Value::Sequence(seq) => {
            for x in seq {
                expand(x, env)?;
            }
        }
        Value::Mapping(map) => {
            for (_, x) in map.iter_mut() {
                expand(x, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand_str(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{s:?}: an unclosed ${{"))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (env(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Err(format!("${{{name}}} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// FNV-1a of the text, in hex: enough to tell that a playbook changed.
fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: p1\ndomain: catalog\nphase: 1\nsettings:\n  magento: ${M}\n  service_db: ${S:-postgres://x/y}\n  id_map_db: ${I:-}\nsteps:\n  - verify:\n  - shift: { to: 25, hold_seconds: '${H:-5}' }\n  - rollback: {}\n";

    #[test]
    fn parses_steps_and_expands_variables() {
        let env = |n: &str| (n == "M").then(|| "mysql://m/db".to_owned());
        let p = parse(TEXT, &env).expect("parses");
        assert_eq!(p.settings.magento, "mysql://m/db");
        assert_eq!(p.settings.service_db, "postgres://x/y");
        assert_eq!(p.settings.id_map_db, None);
        let kinds: Vec<&str> = p.steps.iter().map(Step::kind).collect();
        assert_eq!(kinds, vec!["verify", "shift", "rollback"]);
        let Step::Shift(s) = &p.steps[1] else {
            panic!("a shift")
        };
        assert_eq!((s.to, s.hold_seconds, s.dial), (25, 5, Dial::Reads));
        assert_eq!(Dial::Reads.flag(p.domain), "ficus.catalog.reads");
    }

    #[test]
    fn refuses_with_the_reason() {
        let none = |_: &str| None;
        assert!(
            parse(TEXT, &none)
                .expect_err("unset")
                .contains("${M} is not set")
        );
        let env = |n: &str| Some(if n == "H" { "5" } else { "v" }.to_owned());
        let typo = TEXT.replace("rollback", "rolback");
        assert!(
            parse(&typo, &env)
                .expect_err("typo")
                .contains("step 3: unknown step \"rolback\"")
        );
        let over = TEXT.replace("to: 25", "to: 250");
        assert!(parse(&over, &env).is_err());
        let unknown = TEXT.replace("hold_seconds", "hold_secs");
        assert!(
            parse(&unknown, &env)
                .expect_err("field")
                .contains("step 2 (shift)")
        );
        assert!(parse("name: [", &env).is_err());
        let unverified = TEXT.replace("  - verify:\n", "");
        assert!(
            parse(&unverified, &env)
                .expect_err("no verify")
                .contains("step 1 (shift): moving a dial up needs a verify step before it")
        );
    }
}
