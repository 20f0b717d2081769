//! What operators see: the service binaries started from a config file and the environment,
//! `/healthz`, `/readyz`, `/metrics`, the JSON access log carrying `x-request-id`, graceful
//! shutdown on SIGTERM, and clear refusals of bad settings.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use ficus_magento_fixture::testing::{drop_pg, pg_database};
use ficus_services::customer::Customers;
use ficus_services::http::{customer, ops};
use serde_json::Value;

/// A service binary running, its stderr lines arriving on a channel.
struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut child = Command::new(binary)
            .args(args)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first stderr line (from now, or seen before) that `want` accepts.
    /// The address the service says it listens on.
    fn address(&mut self) -> std::net::SocketAddr {
        let listening = self.wait_for(|l| l.contains("listening on"));
        listening
            .rsplit(' ')
            .next()
            .expect("address")
            .parse()
            .expect("socket address")
    }

    fn wait_for(&mut self, want: impl Fn(&str) -> bool) -> String {
        if let Some(l) = self.seen.iter().find(|l| want(l)) {
            return l.clone();
        }
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("{e}; stderr so far: {:#?}", self.seen));
            self.seen.push(line.clone());
            if want(&line) {
                return line;
            }
        }
    }
}

#[tokio::test]
async fn a_service_binary_runs_from_its_settings_and_stops_on_sigterm() {
    let target = pg_database("svcops").await;
    let dir = std::env::temp_dir().join(format!("ficus-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("customer.toml");
    // The file names the database and a listen address the environment then overrides.
    std::fs::write(
        &config,
        format!("database = \"{target}\"\nlisten = \"127.0.0.1:1\"\n"),
    )
    .expect("config");
    let binary = env!("CARGO_BIN_EXE_ficus-customer");
    let mut service = Running::start(
        binary,
        &["--config", config.to_str().expect("utf-8"), "serve"],
        &[
            ("FICUS_CUSTOMER_LISTEN", "127.0.0.1:0"),
            ("FICUS_GATEWAY_SECRET", SECRET),
        ],
    );
    let addr = service.address();

    assert_eq!(get(addr, "/healthz", &[]).await, (200, "ok\n".into()));
    assert_eq!(get(addr, "/readyz", &[]).await, (200, "ready\n".into()));
    // A request id given is passed through to the response and the access log.
    let (status, head, _) = get_full(
        addr,
        "/rest/V1/customers/4242",
        &[ADMIN[0], ADMIN[1], ("x-request-id", "req-from-proxy-1")],
    )
    .await;
    assert_eq!(status, 404, "{head}");
    assert!(
        head.to_lowercase()
            .contains("x-request-id: req-from-proxy-1"),
        "{head}"
    );
    let line = service.wait_for(|l| l.contains("req-from-proxy-1"));
    let log: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(log["service"], "customer");
    assert_eq!(log["route"], "/rest/V1/customers/{id}");
    assert_eq!(log["path"], "/rest/V1/customers/4242");
    assert_eq!(log["status"], 404);
    assert_eq!(log["level"], "info");
    assert!(log["latency_ms"].as_f64().is_some(), "{log}");
    assert!(
        log["ts"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{log}"
    );
    // Without one, one is made (a UUID) and returned.
    let (_, head, _) = get_full(addr, "/rest/V1/customers/me", &[]).await;
    let made = head
        .lines()
        .find_map(|l| {
            l.to_lowercase()
                .strip_prefix("x-request-id: ")
                .map(String::from)
        })
        .expect("a request id");
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    // An unknown URL is Magento's 404, counted under "unmatched".
    let (status, _) = get(addr, "/rest/V1/nothing", &[]).await;
    assert_eq!(status, 404);

    let (status, metrics) = get(addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    for want in [
        r#"ficus_http_requests_total{service="customer",route="/rest/V1/customers/{id}",status="404"} 1"#,
        r#"ficus_http_requests_total{service="customer",route="/rest/V1/customers/me",status="401"} 1"#,
        r#"ficus_http_requests_total{service="customer",route="unmatched",status="404"} 1"#,
        r#"ficus_http_request_duration_seconds_count{service="customer",route="/rest/V1/customers/{id}",status="404"} 1"#,
        r#"ficus_http_request_duration_seconds_bucket{service="customer",route="/readyz",status="200",le="+Inf"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == want), "{want} in\n{metrics}");
    }

    // SIGTERM: a clean stop.
    let pid = service.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = service.child.wait().expect("wait");
    assert!(status.success(), "{status}");
    service.wait_for(|l| l.contains("ficus-customer: stopped"));

    let _ = std::fs::remove_dir_all(&dir);
    drop_pg(&target).await;
}

#[tokio::test]
async fn the_order_binary_serves_from_the_environment() {
    let target = pg_database("svcops_ord").await;
    let binary = env!("CARGO_BIN_EXE_ficus-order");
    let mut service = Running::start(
        binary,
        &["serve"],
        &[
            ("FICUS_ORDER_DATABASE", target.as_str()),
            ("FICUS_ORDER_LISTEN", "127.0.0.1:0"),
            ("FICUS_GATEWAY_SECRET", SECRET),
        ],
    );
    let addr = service.address();
    assert_eq!(get(addr, "/readyz", &[]).await, (200, "ready\n".into()));
    assert_eq!(
        get(addr, "/rest/V1/orders/7", ADMIN).await,
        (
            404,
            r#"{"message":"The entity that was requested doesn't exist. Verify the entity and try again."}"#.into()
        )
    );
    let (status, _) = get(addr, "/rest/V1/orders/7", &[]).await;
    assert_eq!(status, 401, "orders need an admin");
    let line = service.wait_for(|l| l.contains("/rest/V1/orders/7"));
    let log: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(
        (log["service"].as_str(), log["route"].as_str()),
        (Some("order"), Some("/rest/V1/orders/{id}"))
    );
    let (_, metrics) = get(addr, "/metrics", &[]).await;
    let want =
        r#"ficus_http_requests_total{service="order",route="/rest/V1/orders/{id}",status="404"} 1"#;
    assert!(metrics.lines().any(|l| l == want), "{want} in\n{metrics}");
    let pid = service.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    assert!(service.child.wait().expect("wait").success());
    drop_pg(&target).await;
}

/// Runs a binary to its end: (success, stderr).
fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("FICUS_CATALOG_DATABASE")
        .output()
        .expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_settings_are_refused_naming_the_problem() {
    let binary = env!("CARGO_BIN_EXE_ficus-catalog");
    let dir = std::env::temp_dir().join(format!("ficus-ops-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let typo = dir.join("typo.toml");
    std::fs::write(&typo, "databse = \"postgres://x\"\n").expect("write");

    let (ok, err) = run(binary, &["migrate"], &[]);
    assert!(!ok);
    assert!(
        err.contains("no database") && err.contains("FICUS_CATALOG_DATABASE"),
        "{err}"
    );
    let (ok, err) = run(
        binary,
        &["--config", typo.to_str().expect("utf-8"), "migrate"],
        &[],
    );
    assert!(!ok);
    assert!(
        err.contains("typo.toml") && err.contains("databse"),
        "{err}"
    );
    let (ok, err) = run(
        binary,
        &["serve"],
        &[
            (
                "FICUS_CATALOG_DATABASE",
                "postgres://ficus:hunter2@127.0.0.1:1/x",
            ),
            ("FICUS_CATALOG_ACCESS_LOG", "sometimes"),
        ],
    );
    assert!(!ok);
    assert!(err.contains("FICUS_CATALOG_ACCESS_LOG"), "{err}");
    // An unreachable database: named, the password masked.
    let (ok, err) = run(
        binary,
        &[
            "--database",
            "postgres://ficus:hunter2@127.0.0.1:1/x",
            "migrate",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("catalog database (connect)"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn readiness_needs_current_migrations() {
    let target = pg_database("svcready").await;
    let customers = Customers::connect(&target).await.expect("connect");
    let app = ops::wrap(
        "customer",
        customer::router(customers.clone(), Default::default()),
        false,
    );
    let addr = serve_app(app).await;
    assert_eq!(
        get(addr, "/readyz", &[]).await,
        (503, "migrations not current\n".into())
    );
    customers.migrate().await.expect("migrate");
    assert_eq!(get(addr, "/readyz", &[]).await, (200, "ready\n".into()));
    drop(customers);
    drop_pg(&target).await;
}
