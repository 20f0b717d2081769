//! ficus-proxy end to end: the real binary in front of real upstreams — the Magento stand-in
//! (read live from a generated Magento in MariaDB) and the catalog service (back-filled into
//! PostgreSQL) — driven over HTTP/1.1, with its flags moved through the admin API and the file.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

use ficus_eav_extract::lookup::Lookup;
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::{magento_store, pg_database};
use ficus_services::catalog::Catalog;

/// Magento in MariaDB behind the stand-in, and the catalog service back-filled from it.
struct Stores {
    magento: Upstream,
    catalog: Upstream,
    sku: String,
}

fn stores(name: &str) -> Stores {
    let name = name.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    let magento = Upstream::start(|| async move {
        let magento = magento_store(&name, "small", 11, Edition::Ce).await;
        let extracted = ficus_magento_standin::testing::extract(&magento, None).await;
        let _ = std::fs::remove_file(&extracted.path);
        let (text, at) = (extracted.text, extracted.at);
        tx.send((name, text, at)).expect("send");
        let lookup = Lookup::open(
            MagentoDsn::parse(&magento).expect("dsn"),
            ficus_id_map::DEFAULT_NAMESPACE,
        )
        .await
        .expect("lookup");
        ficus_magento_standin::router(lookup, "default".into())
    });
    let (name, text, at) = rx.recv().expect("documents");
    let mut sku = None;
    let catalog = Upstream::start(|| async {
        let catalog_db = pg_database(&name).await;
        let catalog = Catalog::connect(&catalog_db).await.expect("connect");
        catalog.migrate().await.expect("migrate");
        for line in text.lines() {
            match ficus_services::load::Kind::of(line).expect("a document") {
                ficus_services::load::Kind::Product => {
                    if sku.is_none() && line.contains("\"store_code\":\"default\"") {
                        let v: serde_json::Value = serde_json::from_str(line).expect("json");
                        sku = v["sku"].as_str().map(str::to_owned);
                    }
                    catalog.upsert_product(line, at).await
                }
                ficus_services::load::Kind::Category => catalog.upsert_category(line, at).await,
                _ => continue,
            }
            .expect("upsert");
        }
        // With /healthz and the rest of the operations endpoints, as the binary serves it.
        ficus_services::http::ops::wrap(
            "catalog",
            ficus_services::http::catalog::router(
                catalog,
                ficus_services::http::catalog::Config {
                    default_store: "default".into(),
                    admin_store: "admin".into(),
                    gateway: ficus_services::http::Gateway::default(),
                    guest_access: true,
                },
            ),
            false,
        )
    });
    Stores {
        magento,
        catalog,
        sku: sku.expect("a product in the default store"),
    }
}

/// Sends one GET per visitor, `threads` connections at a time; returns how many the new service
/// answered, failing on any status the upstreams would not give.
fn split(proxy: &Proxy, path: &str, visitors: std::ops::Range<usize>, threads: usize) -> usize {
    let per = visitors.len().div_ceil(threads);
    let mut handles = Vec::new();
    for t in 0..threads {
        let lo = visitors.start + t * per;
        let hi = (lo + per).min(visitors.end);
        let (addr, path) = (proxy.addr, path.to_owned());
        handles.push(std::thread::spawn(move || {
            let mut client = Client::new(addr);
            let mut modern = 0;
            for v in lo..hi {
                let cookie = format!("ficus_sid=visitor-{v}");
                let a = client.get(&path, &[("Cookie", &cookie)]);
                assert!(a.status == 200 || a.status == 404, "{path}: {}", a.status);
                match a.backend() {
                    "modern" => modern += 1,
                    "legacy" => {}
                    other => panic!("x-ficus-backend {other:?}"),
                }
            }
            modern
        }));
    }
    handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .sum()
}

#[test]
fn the_proxy_splits_sticks_falls_back_and_rolls_back() {
    let mut stores = stores("proxy");
    let proxy = start_proxy(
        "main",
        &[stores.magento.addr],
        stores.catalog.addr,
        FlagsFrom::File(0),
        "",
    );
    let sku = stores.sku.clone();

    // Both backends answer the same product byte for byte; the header says who answered.
    let path = format!("/rest/V1/products/{sku}");
    let mut client = Client::new(proxy.addr);
    let legacy = client.get(&path, &[]);
    assert_eq!((legacy.status, legacy.backend()), (200, "legacy"));
    assert!(legacy.headers.contains_key("x-request-id"));
    let cookie = legacy
        .headers
        .get("set-cookie")
        .expect("a new visitor gets a cookie");
    assert!(
        cookie.starts_with("ficus_sid=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // A request id given by the client is kept.
    let given = client.get(&path, &[("x-request-id", "abc-123")]);
    assert_eq!(
        given.headers.get("x-request-id").map(String::as_str),
        Some("abc-123")
    );
    assert_eq!(
        set_flag(
            &proxy,
            "ficus.catalog.reads",
            r#"{"rollout": 100, "why": "test"}"#
        )
        .status,
        200
    );
    let modern = client.get(&path, &[]);
    assert_eq!((modern.status, modern.backend()), (200, "modern"));
    assert_eq!(
        modern.body, legacy.body,
        "the storefront sees no difference"
    );
    // Magento's own URLs stay on Magento whatever the flags.
    assert_eq!(
        client.get("/rest/V1/store/storeViews", &[]).backend(),
        "legacy"
    );

    // The split over 10,000 distinct visitors is within ±2 % of the flag, at 25, 50 and 75 %.
    let missing = "/rest/V1/products/no-such-sku-at-all";
    for pct in [25u8, 50, 75] {
        let answer = set_flag(
            &proxy,
            "ficus.catalog.reads",
            &format!(r#"{{"rollout": {pct}}}"#),
        );
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let modern = split(&proxy, missing, 0..10_000, 4);
        let share = modern as f64 / 100.0;
        assert!(
            (share - f64::from(pct)).abs() <= 2.0,
            "{share:.2} % on the new service at {pct} %"
        );
        // Sticky: the same visitors land where they landed before.
        let again = split(&proxy, missing, 0..10_000, 4);
        assert_eq!(again, modern, "the same visitors, the same backends");
    }
    // And a visitor keeps its backend across many requests, both ways.
    for v in 0..20 {
        let cookie = format!("ficus_sid=sticky-{v}");
        let first = client
            .get(missing, &[("Cookie", &cookie)])
            .backend()
            .to_owned();
        for _ in 0..10 {
            assert_eq!(client.get(missing, &[("Cookie", &cookie)]).backend(), first);
        }
    }

    // Writes never reach the new service while the writes flag is 0.
    set_flag(&proxy, "ficus.catalog.reads", r#"{"rollout": 100}"#);
    for v in 0..300 {
        let cookie = format!("ficus_sid=writer-{v}");
        for method in ["POST", "PUT", "DELETE"] {
            let a = client.send(
                method,
                &path,
                &[("Cookie", &cookie), ("Content-Type", "application/json")],
                "{}",
            );
            assert_eq!(
                a.backend(),
                "legacy",
                "{method} by visitor {v} ({})",
                a.status
            );
        }
    }

    // Testers' override: honoured with the token, ignored without it or with a wrong one.
    let over = |token: Option<&str>, backend: &str| {
        let mut h = vec![("x-ficus-backend", backend)];
        if let Some(t) = token {
            h.push(("x-ficus-tester", t));
        }
        Client::new(proxy.addr).get(&path, &h).backend().to_owned()
    };
    assert_eq!(over(Some(TESTER), "legacy"), "legacy");
    assert_eq!(over(None, "legacy"), "modern");
    assert_eq!(over(Some("wrong-token!!"), "legacy"), "modern");

    // A malformed flag file keeps the last good flags; the admin API says why.
    std::fs::write(&proxy.flags, "{\"version\": 2, \"features\": [{]").expect("write");
    let admin_get =
        |p: &str| Client::new(proxy.admin).get(p, &[("Authorization", &format!("Bearer {ADMIN}"))]);
    let started = Instant::now();
    loop {
        let flags: serde_json::Value =
            serde_json::from_slice(&admin_get("/flags").body).expect("json");
        if flags["last_error"].is_string() {
            assert!(
                flags["last_error"]
                    .as_str()
                    .unwrap_or("")
                    .contains("flags.json"),
                "{flags}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the malformed file was not noticed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        client.get(&path, &[]).backend(),
        "modern",
        "the last good flags stay in use"
    );
    let metrics = String::from_utf8(admin_get("/metrics").body).expect("text");
    assert!(
        metrics.contains("ficus_proxy_flags_rejected 1"),
        "{metrics}"
    );
    std::fs::write(&proxy.flags, flag_file(100, 0)).expect("write");

    // The admin API refuses without the token.
    let no_token = Client::new(proxy.admin).get("/flags", &[]);
    assert_eq!(no_token.status, 401);
    let wrong = Client::new(proxy.admin).send(
        "PUT",
        "/flags/ficus.kill",
        &[("Authorization", "Bearer nope")],
        r#"{"enabled": true}"#,
    );
    assert_eq!(wrong.status, 401);
    let bad_body = set_flag(&proxy, "ficus.kill", r#"{"rollout": 140}"#);
    assert_eq!(
        bad_body.status,
        409,
        "{}",
        String::from_utf8_lossy(&bad_body.body)
    );

    // Rollback under load: after PUT /flags/ficus.kill, every request goes to Magento. Measure
    // how long until the last request on the new service.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loaders: Vec<_> = (0..2)
        .map(|t| {
            let (addr, stop) = (proxy.addr, stop.clone());
            std::thread::spawn(move || {
                let mut client = Client::new(addr);
                let mut seen = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let cookie = format!("ficus_sid=load-{t}-{i}");
                    let a = client.get(missing, &[("Cookie", &cookie)]);
                    seen.push((Instant::now(), a.backend() == "modern"));
                    i += 1;
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let kill_at = Instant::now();
    assert_eq!(
        set_flag(
            &proxy,
            "ficus.kill",
            r#"{"enabled": true, "why": "rollback test"}"#
        )
        .status,
        200
    );
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen: Vec<(Instant, bool)> = loaders
        .into_iter()
        .flat_map(|h| h.join().expect("loader"))
        .collect();
    assert!(
        seen.iter().any(|(t, m)| *m && *t < kill_at),
        "traffic was on the new service before"
    );
    let last_modern = seen
        .iter()
        .filter(|(_, m)| *m)
        .map(|(t, _)| *t)
        .max()
        .expect("some");
    let rollback = last_modern.saturating_duration_since(kill_at);
    eprintln!(
        "rollback: the last request on the new service came {rollback:?} after PUT /flags/ficus.kill"
    );
    assert!(
        rollback < Duration::from_secs(1),
        "rollback took {rollback:?}"
    );
    let after: Vec<_> = seen
        .iter()
        .filter(|(t, _)| *t > kill_at + rollback)
        .collect();
    assert!(after.len() > 10 && after.iter().all(|(_, m)| !m));
    let audit = std::fs::read_to_string(proxy.dir.join("audit.jsonl")).expect("audit log");
    let last: serde_json::Value =
        serde_json::from_str(audit.lines().last().expect("a line")).expect("json");
    assert_eq!(
        (
            last["flag"].as_str(),
            last["to"].as_str(),
            last["who"].as_str()
        ),
        (Some("ficus.kill"), Some("on"), Some("test"))
    );
    assert_eq!(last["why"], "rollback test");
    set_flag(&proxy, "ficus.kill", r#"{"enabled": false}"#);

    // The new service dies mid-load: no GET fails; the circuit opens and sends the domain to
    // Magento.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loaders: Vec<_> = (0..2)
        .map(|t| {
            let (addr, stop, path) = (proxy.addr, stop.clone(), path.clone());
            std::thread::spawn(move || {
                let mut client = Client::new(addr);
                let (mut n, mut i) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let cookie = format!("ficus_sid=dying-{t}-{i}");
                    let a = client.get(&path, &[("Cookie", &cookie)]);
                    assert_eq!(
                        a.status,
                        200,
                        "a GET failed while the new service died ({})",
                        a.backend()
                    );
                    n += 1;
                    i += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    stores.catalog.kill();
    std::thread::sleep(Duration::from_millis(800));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served: usize = loaders.into_iter().map(|h| h.join().expect("loader")).sum();
    assert!(served > 50, "{served} requests");
    let metrics = String::from_utf8(admin_get("/metrics").body).expect("text");
    assert!(
        metrics.contains("ficus_proxy_circuit_state{service=\"catalog\"} 1"),
        "{metrics}"
    );
    let fallbacks: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ficus_proxy_fallbacks_total{domain=\"catalog\"} "))
        .and_then(|v| v.parse().ok())
        .expect("fallbacks");
    assert!(fallbacks >= 1, "{metrics}");
    let a = client.get(&path, &[]);
    assert_eq!((a.status, a.backend()), (200, "legacy"));
    drop(proxy);
}

/// A new service that answers every request with 503: reads are answered by Magento, writes get
/// the 503, and after five failures the circuit sends reads straight to Magento.
#[test]
fn a_failing_service_s_reads_go_to_magento_and_its_circuit_opens() {
    let stores = stores("proxy5xx");
    let failing = TcpListener::bind("127.0.0.1:0").expect("bind");
    let failing_addr = failing.local_addr().expect("addr");
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in failing.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if h.trim_end().is_empty() {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}";
                    if stream.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let proxy = start_proxy(
        "5xx",
        &[stores.magento.addr],
        failing_addr,
        FlagsFrom::File(100),
        // The health checks would see the 503s too; this test is about the circuit alone.
        "[circuit]\nfailures = 5\nopen_seconds = 2\ntrials = 2\n[health]\ninterval_ms = 0\n",
    );
    let path = format!("/rest/V1/products/{}", stores.sku);
    let mut client = Client::new(proxy.addr);
    for i in 0..5 {
        let a = client.get(&path, &[]);
        assert_eq!(
            (a.status, a.backend()),
            (200, "legacy"),
            "read {i} answered by Magento"
        );
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        5,
        "each read tried the service once"
    );
    // Open: the service is not asked at all.
    for _ in 0..20 {
        assert_eq!(client.get(&path, &[]).status, 200);
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        5,
        "the open circuit keeps reads off the service"
    );
    // A write is never retried on Magento: with the writes flag on, it gets the service's 503.
    set_flag(&proxy, "ficus.catalog.writes", r#"{"rollout": 100}"#);
    std::thread::sleep(Duration::from_millis(2100));
    let w = client.send("PUT", &path, &[("Content-Type", "application/json")], "{}");
    assert_eq!(
        (w.status, w.backend()),
        (503, "modern"),
        "a half-open trial write is not replayed"
    );
    drop(proxy);
}

#[test]
fn bad_settings_are_refused_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("ficus-proxy-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |text: &str| {
        let config = dir.join("bad.toml");
        std::fs::write(&config, text).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_ficus-proxy"))
            .args(["--check", "--config"])
            .arg(&config)
            .env_remove("FICUS_PROXY_ADMIN_TOKEN")
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    std::fs::write(dir.join("flags.json"), flag_file(0, 0)).expect("flags");
    let base = "admin_token = \"x\"\nmagento = [\"127.0.0.1:1\"]\n[services]\ncatalog = \"127.0.0.1:2\"\ncustomer = \"127.0.0.1:3\"\norder = \"127.0.0.1:4\"\n[flags]\nfile = \"flags.json\"\n";
    assert_eq!(run(base).0, Some(0));
    let (code, err) = run(&base.replace("admin_token = \"x\"\n", ""));
    assert_eq!(code, Some(2));
    assert!(err.contains("admin_token"), "{err}");
    let (code, err) = run(&format!("listen = \"localhost\"\n{base}"));
    assert_eq!(code, Some(2));
    assert!(err.contains("listen = \"localhost\""), "{err}");
    let (code, err) = run(&format!("colour = 1\n{base}"));
    assert_eq!(code, Some(2));
    assert!(err.contains("colour"), "{err}");
    let (code, err) = run(&base.replace("order = \"127.0.0.1:4\"\n", ""));
    assert_eq!(code, Some(2));
    assert!(err.contains("names service \"order\""), "{err}");
    std::fs::write(dir.join("flags.json"), "[").expect("flags");
    let (code, err) = run(base);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("flags.json: not Unleash's client-API JSON"),
        "{err}"
    );
}
