//! ficus-proxy with its flags from a real Unleash server (npm `unleash-server` 7.5.1 on Node.js,
//! on its own PostgreSQL database; `scripts/setup-npm` installs it, `FICUS_UNLEASH_SERVER` points
//! at its `dist/server.js` when it lives elsewhere). A rollout changed through Unleash's admin
//! API reaches the proxy within its poll interval; every good fetch is kept as the backup; the
//! proxy refuses to change Unleash's flags itself; when Unleash goes down the last flags stay.
//!
//! Both upstreams are one stand-in that answers 200 to everything: this test is about where the
//! decision's flags come from, which `x-ficus-backend` shows.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ficus_magento_fixture::testing::pg_database;

const ADMIN_TOKEN: &str = "*:*.ficus-admin-secret";
const CLIENT_TOKEN: &str = "default:development.ficus-client-secret";

fn server_js() -> PathBuf {
    if let Ok(path) = std::env::var("FICUS_UNLEASH_SERVER") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/unleash-server/node_modules/unleash-server/dist/server.js")
}

/// The Unleash server, killed on drop.
struct Unleash {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Unleash {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Unleash {
    fn start(database: &str) -> Self {
        let js = server_js();
        assert!(
            js.exists(),
            "{}: missing. Install it with scripts/setup-npm (scripts/test does).",
            js.display()
        );
        let port = free_port();
        let child = Command::new("node")
            .arg(&js)
            .env("DATABASE_URL", database)
            .env("DATABASE_SSL", "false")
            .env("HTTP_HOST", "127.0.0.1")
            .env("HTTP_PORT", port.to_string())
            .env("INIT_ADMIN_API_TOKENS", ADMIN_TOKEN)
            .env("INIT_BACKEND_API_TOKENS", CLIENT_TOKEN)
            .env("CHECK_VERSION", "false")
            .env("SEND_TELEMETRY", "false")
            .env("LOG_LEVEL", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts unleash-server");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let unleash = Unleash { child, addr };
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(addr).is_ok()
                && Client::new(addr).get("/health", &[]).status == 200
            {
                return unleash;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "unleash-server did not become healthy in 90 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn admin(&self, method: &str, path: &str, body: &str) -> serde_json::Value {
        let answer = Client::new(self.addr).send(
            method,
            path,
            &[
                ("Authorization", ADMIN_TOKEN),
                ("Content-Type", "application/json"),
            ],
            body,
        );
        assert!(
            (200..300).contains(&answer.status),
            "{method} {path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null)
    }
}

/// How many of `visitors` the proxy sends to the new service.
fn modern_share(proxy: &Proxy, visitors: usize) -> f64 {
    let mut client = Client::new(proxy.addr);
    let modern = (0..visitors)
        .filter(|v| {
            let cookie = format!("ficus_sid=unleash-visitor-{v}");
            let answer = client.get("/rest/V1/products/any", &[("Cookie", &cookie)]);
            assert_eq!(answer.status, 200);
            answer.backend() == "modern"
        })
        .count();
    modern as f64 * 100.0 / visitors as f64
}

fn proxy_flags(proxy: &Proxy) -> serde_json::Value {
    let answer =
        Client::new(proxy.admin).get("/flags", &[("Authorization", "Bearer admin-secret")]);
    serde_json::from_slice(&answer.body).expect("GET /flags is JSON")
}

#[test]
fn the_proxy_follows_a_real_unleash_server() {
    let database = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(pg_database("unleash"));
    let unleash = Unleash::start(&database);
    let flag = "ficus.catalog.reads";
    let feature = "/api/admin/projects/default/features";
    unleash.admin(
        "POST",
        feature,
        &format!(r#"{{"name": "{flag}", "type": "release"}}"#),
    );
    let strategies = format!("{feature}/{flag}/environments/development/strategies");
    let rollout = |p: u8| {
        format!(
            r#"{{"name": "flexibleRollout", "constraints": [], "parameters":
               {{"rollout": "{p}", "stickiness": "default", "groupId": "{flag}"}}}}"#
        )
    };
    let created = unleash.admin("POST", &strategies, &rollout(25));
    let strategy = created["id"]
        .as_str()
        .expect("the strategy's id")
        .to_owned();
    unleash.admin(
        "POST",
        &format!("{feature}/{flag}/environments/development/on"),
        "",
    );

    let upstream = Upstream::start(|| async { axum::Router::new().fallback(|| async { "{}" }) });
    let settings = format!(
        "unleash_url = \"http://{}\"\nunleash_token = \"{CLIENT_TOKEN}\"\n\
         unleash_backup = \"backup.json\"\npoll_ms = 200",
        unleash.addr
    );
    let proxy = start_proxy(
        "unleash",
        &[upstream.addr],
        upstream.addr,
        FlagsFrom::Settings(&settings),
        "",
    );
    let share = modern_share(&proxy, 2000);
    assert!(
        (20.0..=30.0).contains(&share),
        "{share:.1} % at Unleash's 25 %"
    );

    // A change in Unleash reaches the proxy within its poll interval.
    let changed_at = Instant::now();
    unleash.admin("PUT", &format!("{strategies}/{strategy}"), &rollout(75));
    loop {
        let flags = proxy_flags(&proxy);
        let reads = flags["flags"]
            .as_array()
            .and_then(|all| all.iter().find(|f| f["name"] == flag))
            .cloned()
            .unwrap_or_default();
        if reads["rollout"] == 75 {
            break;
        }
        assert!(
            changed_at.elapsed() < Duration::from_secs(5),
            "the proxy still has {reads} 5 s after the change in Unleash"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let followed = changed_at.elapsed();
    eprintln!("the proxy followed Unleash's change after {followed:?} (poll_ms = 200)");
    let share = modern_share(&proxy, 2000);
    assert!(
        (70.0..=80.0).contains(&share),
        "{share:.1} % at Unleash's 75 %"
    );

    // Every good fetch is the backup, in Unleash's client-API JSON.
    let backup = std::fs::read_to_string(proxy.dir.join("backup.json")).expect("backup written");
    let set = ficus_flags::FlagSet::parse(&backup, "backup").expect("the backup parses");
    let summary = ficus_flags::summarize(set.feature(flag).expect("the flag is in the backup"));
    assert_eq!((summary.enabled, summary.rollout), (true, Some(75)));

    // The proxy does not change Unleash's flags itself.
    let refused = Client::new(proxy.admin).send(
        "PUT",
        &format!("/flags/{flag}"),
        &[("Authorization", "Bearer admin-secret")],
        r#"{"rollout": 0}"#,
    );
    assert_eq!(refused.status, 409);
    assert!(String::from_utf8_lossy(&refused.body).contains("change them in Unleash"));

    // Unleash goes down: the proxy says so and keeps deciding by the last flags.
    drop(unleash);
    let down_at = Instant::now();
    while proxy_flags(&proxy)["last_error"].is_null() {
        assert!(
            down_at.elapsed() < Duration::from_secs(5),
            "the outage was not noticed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let share = modern_share(&proxy, 2000);
    assert!(
        (70.0..=80.0).contains(&share),
        "{share:.1} % with Unleash down"
    );
}
