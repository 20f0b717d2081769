//! ficus-proxy's operations: active health checks, reloading routes and upstreams without a
//! restart, and Pingora's graceful upgrade — the real binary in front of small HTTP upstreams
//! (stand-ins that answer with their own name, and a `/healthz` the test can fail).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;

/// A stand-in upstream that answers every path with its name, and `/healthz` with the status the
/// test sets.
struct Named {
    upstream: Upstream,
    health: Arc<AtomicU16>,
}

fn named(name: &'static str) -> Named {
    let health = Arc::new(AtomicU16::new(200));
    let h = health.clone();
    let upstream = Upstream::start(|| async move {
        axum::Router::new()
            .route(
                "/healthz",
                axum::routing::get(move || {
                    let h = h.clone();
                    async move {
                        StatusCode::from_u16(h.load(Ordering::Relaxed)).unwrap_or(StatusCode::OK)
                    }
                }),
            )
            .fallback(move || async move { name })
    });
    Named { upstream, health }
}

fn body(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

/// Polls `f` until it holds; panics after `limit` (a liveness bound, not a speed measure).
fn eventually(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn admin(proxy: &Proxy, method: &str, path: &str) -> Answer {
    Client::new(proxy.admin).send(
        method,
        path,
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("x-ficus-operator", "ops-test"),
        ],
        "",
    )
}

#[test]
fn health_checks_move_a_domain_to_magento_and_skip_a_failing_magento() {
    let (m1, m2, catalog) = (named("m1"), named("m2"), named("catalog"));
    let proxy = start_proxy(
        "health",
        &[m1.upstream.addr, m2.upstream.addr],
        catalog.upstream.addr,
        FlagsFrom::File(100),
        "[health]\ninterval_ms = 50\ntimeout_ms = 200\nfall = 2\nrise = 2\nmagento_path = \"/healthz\"\n",
    );
    let mut client = Client::new(proxy.addr);
    let product = "/rest/V1/products/x";
    let a = client.get(product, &[]);
    assert_eq!((a.backend(), body(&a).as_str()), ("modern", "catalog"));

    // The service still answers, but its /healthz fails: its domain goes to Magento.
    catalog.health.store(503, Ordering::Relaxed);
    eventually(
        "the unhealthy service's reads on Magento",
        Duration::from_secs(10),
        || client.get(product, &[]).backend() == "legacy",
    );
    let metrics = body(&admin(&proxy, "GET", "/metrics"));
    assert!(
        metrics.lines().any(
            |l| l.starts_with("ficus_proxy_upstream_healthy{upstream=\"catalog\"")
                && l.ends_with(" 0")
        ),
        "{metrics}"
    );
    let routes: serde_json::Value =
        serde_json::from_slice(&admin(&proxy, "GET", "/routes").body).expect("json");
    assert_eq!(routes["routes"][0]["healthy"], false);
    // … and back once it passes again.
    catalog.health.store(200, Ordering::Relaxed);
    eventually(
        "the healthy service's reads back",
        Duration::from_secs(10),
        || client.get(product, &[]).backend() == "modern",
    );

    // Magento's URLs are balanced over both backends, then over the healthy one only.
    let bodies = |client: &mut Client| -> Vec<String> {
        (0..20)
            .map(|_| body(&client.get("/women.html", &[])))
            .collect()
    };
    let both = bodies(&mut client);
    assert!(
        both.contains(&"m1".to_owned()) && both.contains(&"m2".to_owned()),
        "{both:?}"
    );
    m2.health.store(500, Ordering::Relaxed);
    eventually("m2 out of the round-robin", Duration::from_secs(10), || {
        bodies(&mut client).iter().all(|b| b == "m1")
    });
    // With no healthy Magento at all, Magento still answers: it is never skipped altogether.
    m1.health.store(500, Ordering::Relaxed);
    eventually(
        "both Magento backends unhealthy",
        Duration::from_secs(10),
        || {
            body(&admin(&proxy, "GET", "/metrics"))
                .lines()
                .filter(|l| {
                    l.starts_with("ficus_proxy_upstream_healthy{upstream=\"magento\"")
                        && l.ends_with(" 0")
                })
                .count()
                == 2
        },
    );
    let a = client.get("/women.html", &[]);
    assert_eq!(a.status, 200);
}

#[test]
fn routes_and_upstreams_reload_without_a_restart_or_a_dropped_connection() {
    let (magento, a, b) = (named("magento"), named("A"), named("B"));
    let proxy = start_proxy(
        "reload",
        &[magento.upstream.addr],
        a.upstream.addr,
        FlagsFrom::File(100),
        "",
    );
    let settings_path = proxy.dir.join("proxy.toml");
    let original = std::fs::read_to_string(&settings_path).expect("settings");
    let mut client = Client::new(proxy.addr);
    let product = "/rest/V1/products/x";
    assert_eq!(body(&client.get(product, &[])), "A");
    let local = client
        .conn
        .as_ref()
        .expect("connected")
        .get_ref()
        .local_addr()
        .expect("addr");

    // The catalog service moves to B, and a route for a new URL of the catalog domain is added.
    let moved = original.replace(
        &format!("catalog = \"{}\"", a.upstream.addr),
        &format!("catalog = \"{}\"", b.upstream.addr),
    );
    let with_route = moved.replace(
        "[services]",
        "[[routes]]\npattern = \"^/rest/(\\\\w+/)?V1/catalog-extra\"\ndomain = \"catalog\"\nservice = \"catalog\"\n\n[services]",
    );
    std::fs::write(&settings_path, &with_route).expect("settings");
    let r = admin(&proxy, "POST", "/reload");
    assert_eq!(r.status, 200, "{}", body(&r));
    let shown: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(shown["routes"][0]["upstream"], b.upstream.addr.to_string());
    // The same kept-alive connection, now answered by B; the new route works; the built-in
    // routes were replaced by the file's table, so products are Magento's again.
    let extra = client.get("/rest/V1/catalog-extra", &[]);
    assert_eq!((extra.backend(), body(&extra).as_str()), ("modern", "B"));
    assert_eq!(body(&client.get(product, &[])), "magento");
    let still = client
        .conn
        .as_ref()
        .expect("still connected")
        .get_ref()
        .local_addr()
        .expect("addr");
    assert_eq!(local, still, "the connection was kept");

    // Bad settings are refused with the reason; the table in use stays.
    std::fs::write(&settings_path, "listen = [").expect("settings");
    let r = admin(&proxy, "POST", "/reload");
    assert_eq!(r.status, 422, "{}", body(&r));
    assert!(body(&r).contains("proxy.toml"), "{}", body(&r));
    assert_eq!(body(&client.get("/rest/V1/catalog-extra", &[])), "B");
    // A new domain needs a restart: refused, naming the domains.
    let new_domain = moved.replace(
        "[services]",
        "[[routes]]\npattern = \"^/rest/V1/search\"\ndomain = \"search\"\nservice = \"catalog\"\n\n[services]",
    );
    std::fs::write(&settings_path, &new_domain).expect("settings");
    let r = admin(&proxy, "POST", "/reload");
    assert_eq!(r.status, 409, "{}", body(&r));
    assert!(body(&r).contains("search"), "{}", body(&r));
    assert_eq!(body(&client.get("/rest/V1/catalog-extra", &[])), "B");
    // Reloads are in the audit log with who made them.
    let audit = std::fs::read_to_string(proxy.dir.join("audit.jsonl")).expect("audit log");
    let reloads: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "reload")
        .collect();
    assert_eq!(reloads.len(), 1, "{audit}");
    assert_eq!(reloads[0]["who"], "ops-test");
}

#[test]
fn a_graceful_upgrade_hands_the_sockets_over_without_a_failed_request() {
    let (magento, catalog) = (named("magento"), named("catalog"));
    let mut proxy = start_proxy(
        "upgrade",
        &[magento.upstream.addr],
        catalog.upstream.addr,
        FlagsFrom::File(100),
        "",
    );
    let addr = proxy.addr;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Clients keep asking on kept-alive connections throughout (reconnecting when a connection
    // is closed between requests, as HTTP clients do).
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut client = Client::new(addr);
                let mut answered = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let a = client.get("/rest/V1/products/x", &[]);
                    assert_eq!((a.status, body(&a).as_str()), (200, "catalog"));
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let old_pid = proxy.child.id();
    let mut new = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ficus-proxy"))
            .arg("--config")
            .arg(proxy.dir.join("proxy.toml"))
            .arg("--upgrade")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the new ficus-proxy starts"),
    );
    // The new process waits on the upgrade socket; give it a moment, then tell the old one.
    std::thread::sleep(Duration::from_millis(500));
    let quit = Command::new("kill")
        .args(["-QUIT", &old_pid.to_string()])
        .status()
        .expect("kill");
    assert!(quit.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = proxy.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the old process did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the old process exited with {status}");
    // The new process serves alone now, on the same address.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let answered: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    assert!(answered > 0);
    assert_eq!(
        new.0.try_wait().expect("wait"),
        None,
        "the new process runs"
    );
    let a = Client::new(addr).get("/rest/V1/products/x", &[]);
    assert_eq!((a.status, a.backend()), (200, "modern"));
}

/// A child process killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
