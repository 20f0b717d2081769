//! The phase-1 walk-through of the catalog, smaller: a generated Magento in MariaDB, the Magento
//! stand-in, the catalog service, cdc-sync (binlog source) and ficus-proxy (file flags), all as
//! the real binaries; `ficus playbook run` back-fills, verifies and moves the reads 50 → 100 %
//! while a workload writes to Magento and a client reads through the proxy. Then: a resumed run
//! redoes nothing, `ficus verify` names a field changed behind cdc-sync's back, and a failing
//! service breaches a gate, which moves the dial back to 0 % and stops the playbook.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::{magento_store, pg_database};

use common::ficus;

fn mariadb(db: &str, sql: &str) -> String {
    common::mariadb(Some(db), sql)
}

/// A child process killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ficus"))
        .parent()
        .expect("target dir")
        .to_path_buf()
}

/// The other packages' binaries the walk-through runs (built by a workspace test run; built
/// here when missing).
fn ensure_binaries() {
    let wanted = [
        "eav-extract",
        "ficus-catalog",
        "cdc-sync",
        "ficus-proxy",
        "magento-standin",
    ];
    if wanted.iter().all(|b| bin_dir().join(b).exists()) {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "ficus-eav-extract",
            "-p",
            "ficus-services",
            "-p",
            "ficus-cdc-sync",
            "-p",
            "ficus-proxy",
            "-p",
            "ficus-magento-standin",
            "--bins",
        ])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building the tools failed");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn spawn(name: &'static str, args: &[&str], log: &Path) -> Proc {
    let out = std::fs::File::create(log).expect("log");
    let err = out.try_clone().expect("log");
    let child = Command::new(bin_dir().join(name))
        .args(args)
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    Proc(child)
}

/// GET over a fresh connection: (status, headers and body as text).
fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text))
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The proxy binary with file flags (`ficus.kill` off) in `dir`, admin token `token`, the
/// catalog service at `catalog` (the others unreachable) and `extra` settings; waits until its
/// admin API listens. Returns it with its proxy and admin ports.
fn start_proxy(
    dir: &Path,
    token: &str,
    magento: &str,
    catalog: &str,
    extra: &str,
) -> (Proc, u16, u16) {
    std::fs::write(
        dir.join("flags.json"),
        r#"{"version": 2, "features": [{"name": "ficus.kill", "enabled": false, "strategies": [{"name": "default"}]}]}"#,
    )
    .expect("flags");
    let (proxy_port, admin_port) = (free_port(), free_port());
    std::fs::write(
        dir.join("proxy.toml"),
        format!(
            "listen = \"127.0.0.1:{proxy_port}\"\nadmin_listen = \"127.0.0.1:{admin_port}\"\nadmin_token = \"{token}\"\n\
             grace_period_seconds = 0\nshutdown_timeout_seconds = 1\naccess_log = false\nmagento = [\"{magento}\"]\n{extra}\n\
             [services]\ncatalog = \"{catalog}\"\ncustomer = \"127.0.0.1:9\"\norder = \"127.0.0.1:9\"\n\
             [flags]\nfile = \"flags.json\"\npoll_ms = 100\n"
        ),
    )
    .expect("proxy config");
    let config = dir.join("proxy.toml").display().to_string();
    let proxy = spawn(
        "ficus-proxy",
        &["--config", &config],
        &dir.join("proxy.log"),
    );
    let admin = format!("127.0.0.1:{admin_port}");
    wait_until("the proxy listens", Duration::from_secs(30), || {
        TcpStream::connect(&admin).is_ok()
    });
    (proxy, proxy_port, admin_port)
}

#[test]
fn phase1_for_the_catalog_end_to_end() {
    ensure_binaries();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let magento = rt.block_on(magento_store("playbook_walk", "small", 23, Edition::Ce));
    let service_db = rt.block_on(pg_database("playbook_walk_catalog"));
    let db = magento.rsplit('/').next().expect("db").to_owned();
    let dir = std::env::temp_dir().join(format!("ficus-walk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");

    // cdc-sync from the binlog position before anything is back-filled; the back-fill's
    // documents are ordered against its changes by position.
    let status = mariadb(&db, "SHOW MASTER STATUS");
    let mut cols = status.split_whitespace();
    let (file, pos) = (cols.next().expect("file"), cols.next().expect("pos"));
    let cdc_port = free_port();
    std::fs::write(
        dir.join("cdc-sync.toml"),
        format!(
            "listen = \"127.0.0.1:{cdc_port}\"\n[source]\nmagento = \"{magento}\"\nstart = \"{file}:{pos}\"\n[targets]\ncatalog = \"{service_db}\"\n"
        ),
    )
    .expect("cdc config");
    let cdc_config = dir.join("cdc-sync.toml").display().to_string();
    let _cdc = spawn(
        "cdc-sync",
        &["--config", &cdc_config, "run"],
        &dir.join("cdc.log"),
    );
    let catalog_port = free_port();
    let catalog_addr = format!("127.0.0.1:{catalog_port}");
    let mut catalog = Some(spawn(
        "ficus-catalog",
        &[
            "--database",
            &service_db,
            "serve",
            "--listen",
            &catalog_addr,
            "--guest-access",
            "--no-access-log",
        ],
        &dir.join("catalog.log"),
    ));
    let standin_addr = format!("127.0.0.1:{}", free_port());
    let _standin = spawn(
        "magento-standin",
        &["--source", &magento, "--listen", &standin_addr],
        &dir.join("standin.log"),
    );
    let (_proxy, proxy_port, admin_port) = start_proxy(
        &dir,
        "walk",
        &standin_addr,
        &catalog_addr,
        "audit_log = \"proxy-audit.jsonl\"\n[health]\ninterval_ms = 200",
    );
    let proxy_addr = format!("127.0.0.1:{proxy_port}");
    for addr in [
        &proxy_addr,
        &standin_addr,
        &catalog_addr,
        &format!("127.0.0.1:{cdc_port}"),
    ] {
        wait_until(&format!("{addr} listens"), Duration::from_secs(60), || {
            TcpStream::connect(addr).is_ok()
        });
    }
    let sku = mariadb(
        &db,
        "SELECT sku FROM catalog_product_entity ORDER BY entity_id LIMIT 1",
    );
    let product_path = format!("/rest/default/V1/products/{sku}");
    let product_id = mariadb(&db, "SELECT MIN(entity_id) FROM catalog_product_entity");

    // A workload renames products in Magento; a client reads through the proxy.
    let stop = Arc::new(AtomicBool::new(false));
    let name_id = mariadb(
        &db,
        "SELECT a.attribute_id FROM eav_attribute a JOIN eav_entity_type t USING (entity_type_id)
         WHERE t.entity_type_code = 'catalog_product' AND a.attribute_code = 'name'",
    );
    let writer = {
        let (stop, db) = (stop.clone(), db.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                mariadb(
                    &db,
                    &format!(
                        "UPDATE catalog_product_entity_varchar SET value = 'Renamed {n}'
                         WHERE attribute_id = {name_id} AND store_id = 0 AND entity_id = 1 + {n} % 40"
                    ),
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            n
        })
    };
    let (reads, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let reader = {
        let (stop, reads, failed) = (stop.clone(), reads.clone(), failed.clone());
        let (addr, path) = (proxy_addr.clone(), product_path.clone());
        std::thread::spawn(move || {
            let mut v = 0;
            while !stop.load(Ordering::Relaxed) {
                v += 1;
                let cookie = format!("ficus_sid=reader-{}", v % 200);
                match get(&addr, &path, &[("Cookie", &cookie)]) {
                    Some((200, _)) => reads.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };

    let playbook = dir.join("phase1-catalog.yaml");
    let settings = |name: &str| {
        [
            format!("name: {name}"),
            "domain: catalog".into(),
            "phase: 1".into(),
            "settings:".into(),
            "  magento: ${M}".into(),
            "  service_db: ${S}".into(),
            format!("  proxy_admin: http://127.0.0.1:{admin_port}"),
            "  proxy_token: walk".into(),
            format!("  cdc_metrics: http://127.0.0.1:{cdc_port}"),
            format!("  work_dir: {}", dir.join("work").display()),
            format!("  bin_dir: {}", bin_dir().display()),
            "steps:".into(),
        ]
        .join("\n")
    };
    std::fs::write(
        &playbook,
        [
            settings("walk-catalog"),
            "  - preflight: {}".into(),
            "  - backfill: {}".into(),
            "  - sync: {}".into(),
            "  - wait-lag: { max_seconds: 2, timeout_seconds: 60 }".into(),
            "  - verify: { recheck_wait_seconds: 20 }".into(),
            "  - shift: { to: 50, hold_seconds: 3, max_p99_ms: 2500, max_lag_seconds: 5 }".into(),
            "  - shift: { to: 100, hold_seconds: 3, max_p99_ms: 2500, max_lag_seconds: 5 }".into(),
            String::new(),
        ]
        .join("\n"),
    )
    .expect("playbook");
    let playbook = playbook.display().to_string();
    let env = [("M", magento.as_str()), ("S", service_db.as_str())];

    // A dry run changes nothing.
    let (code, out) = ficus(&["playbook", "run", &playbook, "--dry-run"], &env);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("would move ficus.catalog.reads to 50 %"),
        "{out}"
    );
    assert!(!dir.join("work/walk-catalog.state.json").exists());

    let (code, out) = ficus(
        &["playbook", "run", &playbook, "--operator", "walk-test"],
        &env,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("clean: the service holds what Magento holds"),
        "{out}"
    );
    // The reads are on the new service for every visitor now.
    let (_, answer) =
        get(&proxy_addr, &product_path, &[("Cookie", "ficus_sid=after")]).expect("answer");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-ficus-backend: modern"),
        "{answer}"
    );
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("work/walk-catalog.state.json")).expect("state"),
    )
    .expect("json");
    assert_eq!(state["done"].as_array().map(Vec::len), Some(7), "{state}");
    // The back-fill names the binlog position cdc-sync continues from (the extract's snapshot).
    let backfill = state["done"][1]["summary"].as_str().unwrap_or_default();
    assert!(
        backfill.contains("continues from binlog")
            && !backfill.contains("?")
            && !backfill.contains("null"),
        "{backfill}"
    );
    let audit = std::fs::read_to_string(dir.join("work/walk-catalog.audit.jsonl")).expect("audit");
    let changes: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(changes.len(), 2, "{audit}");
    assert_eq!(
        (changes[0]["from"].as_str(), changes[0]["to"].as_str()),
        (Some("absent"), Some("50%"))
    );
    assert_eq!(
        (changes[1]["from"].as_str(), changes[1]["to"].as_str()),
        (Some("50%"), Some("100%"))
    );
    assert!(
        changes[0]["who"]
            .as_str()
            .is_some_and(|w| w.contains("walk-test"))
    );

    // A resumed run redoes nothing.
    let (code, out) = ficus(&["playbook", "run", &playbook], &env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("done earlier").count(), 7, "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.join("work/walk-catalog.audit.jsonl"))
            .expect("audit")
            .lines()
            .count(),
        2
    );

    stop.store(true, Ordering::Relaxed);
    let renames = writer.join().expect("writer");
    reader.join().expect("reader");
    assert!(renames > 0);
    assert!(reads.load(Ordering::Relaxed) > 0);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "reads through the proxy failed"
    );

    // After the workload: cdc-sync catches up and verify is clean; then a change made behind its
    // back in the service's database is found, with the field named.
    let verify = |env: &[(&str, &str)]| {
        ficus(
            &[
                "verify",
                "--domain",
                "catalog",
                "--magento",
                &magento,
                "--service",
                &service_db,
                "--recheck-wait",
                "20",
            ],
            env,
        )
    };
    let (code, out) = verify(&[]);
    assert_eq!(code, 0, "{out}");
    // A gate breach: the service dies; reads fall back to Magento (no client sees it), the
    // playbook counts them as the new backend's failures, moves the dial back to 0 % and stops.
    let breach = dir.join("breach.yaml");
    std::fs::write(
        &breach,
        [
            settings("walk-breach"),
            "  - rollback: { dial: reads }".into(),
            "  - verify: { recheck_wait_seconds: 20 }".into(),
            "  - shift: { to: 100, hold_seconds: 20, min_requests: 5, max_lag_seconds: 30 }".into(),
            String::new(),
        ]
        .join("\n"),
    )
    .expect("breach playbook");
    drop(catalog.take());
    let reader = {
        let addr = proxy_addr.clone();
        let path = product_path.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        (
            stop,
            std::thread::spawn(move || {
                let mut v = 0;
                let mut bad = 0;
                while !s2.load(Ordering::Relaxed) {
                    v += 1;
                    let cookie = format!("ficus_sid=b-{v}");
                    if !matches!(get(&addr, &path, &[("Cookie", &cookie)]), Some((200, _))) {
                        bad += 1;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                bad
            }),
        )
    };
    let (code, out) = ficus(&["playbook", "run", &breach.display().to_string()], &env);
    reader.0.store(true, Ordering::Relaxed);
    let bad = reader.1.join().expect("reader");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("STOPPED") && out.contains("moved back to 0 %"),
        "{out}"
    );
    assert_eq!(bad, 0, "a read failed during the breach");
    let (_, flags) = get(
        &format!("127.0.0.1:{admin_port}"),
        "/flags",
        &[("Authorization", "Bearer walk")],
    )
    .expect("flags");
    let body = flags.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(body).expect("json");
    let reads = v["flags"]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["name"] == "ficus.catalog.reads"))
        .cloned()
        .expect("the reads flag");
    assert_eq!(reads["rollout"], 0, "{reads}");
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", &service_db, "-c", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!(
        "UPDATE catalog.product_document d SET document = jsonb_set(d.document::jsonb, '{{name}}', '\"Tampered\"')::json
         FROM catalog.product p WHERE p.uuid = d.product AND p.legacy_id = {product_id} AND d.store_code = 'default'"
    ));
    let (code, out) = verify(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Different product")
            && out.contains("name: Magento")
            && out.contains("\"Tampered\""),
        "{out}"
    );

    let _ = std::fs::remove_dir_all(&dir);
}

/// A run killed (SIGKILL) in the middle of a step continues with that step: the steps finished
/// before it are not done again, and the audit log shows the killed step's change and its redo.
#[test]
fn a_killed_run_resumes_with_its_unfinished_step() {
    ensure_binaries();
    let dir = std::env::temp_dir().join(format!("ficus-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (_proxy, _, admin_port) = start_proxy(
        &dir,
        "r",
        "127.0.0.1:9",
        "127.0.0.1:9",
        "[health]\ninterval_ms = 0",
    );
    let admin = format!("127.0.0.1:{admin_port}");
    let playbook = dir.join("resume.yaml");
    // The hold comes from the environment, so both runs use the same playbook text.
    std::fs::write(
        &playbook,
        format!(
            "name: resume\ndomain: catalog\nphase: 1\nsettings:\n  magento: mysql://unused@127.0.0.1:9/m\n  \
             service_db: postgres://unused@127.0.0.1:9/s\n  proxy_admin: http://{admin}\n  proxy_token: r\n  \
             work_dir: {}\nsteps:\n  - rollback: {{ dial: writes }}\n  - shift: {{ to: 0, hold_seconds: '${{H}}' }}\n",
            dir.join("work").display()
        ),
    )
    .expect("playbook");
    let mut first = Command::new(env!("CARGO_BIN_EXE_ficus"))
        .args(["playbook", "run"])
        .arg(&playbook)
        .env("H", "60")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ficus");
    let state = dir.join("work/resume.state.json");
    let audit = dir.join("work/resume.audit.jsonl");
    // Killed once step 1 is recorded and step 2 has moved the dial (it is holding).
    wait_until("step 2 holds", Duration::from_secs(30), || {
        std::fs::read_to_string(&audit).is_ok_and(|a| a.contains("ficus.catalog.reads"))
    });
    first.kill().expect("kill");
    let _ = first.wait();
    let done: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    assert_eq!(done["done"].as_array().map(Vec::len), Some(1), "{done}");

    let (code, out) = ficus(
        &["playbook", "run", &playbook.display().to_string()],
        &[("H", "1")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("[1/2] rollback: done earlier"), "{out}");
    assert!(
        out.contains("[2/2] shift: ficus.catalog.reads 0% → 0%"),
        "{out}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .expect("audit")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    // The rollback, the killed shift, its redo: the rollback was not done again.
    let moves: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["flag"].as_str().unwrap_or("").to_owned(),
                l["to"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            ("ficus.catalog.writes".to_owned(), "0%".to_owned()),
            ("ficus.catalog.reads".to_owned(), "0%".to_owned()),
            ("ficus.catalog.reads".to_owned(), "0%".to_owned()),
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
