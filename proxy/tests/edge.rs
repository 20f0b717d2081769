//! ficus-proxy at the edge: Magento's JWT customer tokens validated by the proxy, the caller passed
//! to the real customer service in headers only the proxy sets, stickiness by customer, and rate
//! limits. Upstreams: the Magento stand-in over a generated store in MariaDB, and ficus-customer
//! back-filled from it into PostgreSQL with a gateway secret.

mod common;

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use hmac::{KeyInit, Mac};

use ficus_eav_extract::lookup::Lookup;
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::{magento_store, pg_database};
use ficus_services::customer::Customers;

const CRYPT_KEY: &str = "e9f4b1c27a3d5e8f0b6c4a2d9e7f1a3b";
const GATEWAY_SECRET: &str = "gateway-secret-for-the-services";

/// A token the way Magento 2.4.4+ issues one, written here from Magento's rules (not with the
/// proxy's code): HMAC-SHA256 keyed with `crypt/key` padded with `&` on both sides to 2048 bytes.
fn magento_token(crypt_key: &str, claims: &serde_json::Value) -> String {
    let total = 2048 - crypt_key.len();
    let key = format!(
        "{}{crypt_key}{}",
        "&".repeat(total / 2),
        "&".repeat(total - total / 2)
    );
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"kid":"1","alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key");
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .try_into()
        .expect("seconds")
}

fn customer_token(id: u64) -> String {
    magento_token(
        CRYPT_KEY,
        &serde_json::json!({"uid": id, "utypid": 3, "iat": now(), "exp": now() + 3600}),
    )
}

fn flags(customer_reads: u8) -> String {
    format!(
        r#"{{"version": 2, "features": [
 {{"name": "ficus.kill", "enabled": false, "strategies": [{{"name": "default"}}]}},
 {{"name": "ficus.customer.reads", "enabled": true, "strategies": [{{"name": "flexibleRollout",
  "parameters": {{"rollout": "{customer_reads}", "stickiness": "default", "groupId": "ficus.customer.reads"}}}}]}}]}}"#
    )
}

/// A fresh client IP for each request, so only the limits a test means to reach are reached.
fn ip(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

#[test]
fn the_proxy_vouches_for_magento_customers_and_limits_rates() {
    let name = "proxy_edge".to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    let magento = Upstream::start(|| async move {
        let magento = magento_store(&name, "small", 17, Edition::Ce).await;
        let extracted = ficus_magento_standin::testing::extract(&magento, None).await;
        let _ = std::fs::remove_file(&extracted.path);
        tx.send((name, extracted.text, extracted.at)).expect("send");
        let lookup = Lookup::open(
            MagentoDsn::parse(&magento).expect("dsn"),
            ficus_id_map::DEFAULT_NAMESPACE,
        )
        .await
        .expect("lookup");
        ficus_magento_standin::router(lookup, "default".into())
    });
    let (name, text, at) = rx.recv().expect("documents");
    // Every customer document, by id, as extracted from Magento's tables.
    let customers: HashMap<u64, serde_json::Value> = text
        .lines()
        .filter(|l| ficus_services::load::Kind::of(l) == Some(ficus_services::load::Kind::Customer))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (v["id"].as_u64().expect("customer id"), v)
        })
        .collect();
    assert!(customers.len() > 21, "{} customers", customers.len());
    let service = Upstream::start(|| async {
        let db = pg_database(&format!("{name}_customer")).await;
        let service = Customers::connect(&db).await.expect("connect");
        service.migrate().await.expect("migrate");
        for line in text.lines() {
            if ficus_services::load::Kind::of(line) == Some(ficus_services::load::Kind::Customer) {
                service.upsert_customer(line, at).await.expect("upsert");
            }
        }
        ficus_services::http::ops::wrap(
            "customer",
            ficus_services::http::customer::router(
                service,
                ficus_services::http::Gateway {
                    secret: Some(GATEWAY_SECRET.into()),
                },
            ),
            false,
        )
    });
    let flag_path =
        std::env::temp_dir().join(format!("ficus-edge-flags-{}.json", std::process::id()));
    std::fs::write(&flag_path, flags(100)).expect("flags");
    let unreachable: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let proxy = start_proxy_with(
        "edge",
        &[magento.addr],
        &[
            ("catalog", unreachable),
            ("customer", service.addr),
            ("order", unreachable),
        ],
        FlagsFrom::Settings(&format!(
            "file = {:?}\npoll_ms = 50",
            flag_path.display().to_string()
        )),
        &format!(
            r#"[auth]
magento_crypt_key = "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00 {CRYPT_KEY}"
gateway_secret = "{GATEWAY_SECRET}"
[rate_limit]
per_ip = 5
per_customer = 5
client_ip_header = "x-forwarded-for"
"#
        ),
    );
    let mut client = Client::new(proxy.addr);
    let mut n = 0usize;
    let mut get = |path: &str, headers: &[(&str, &str)]| {
        n += 1;
        let ip = ip(n);
        let mut all = vec![("x-forwarded-for", ip.as_str())];
        all.extend_from_slice(headers);
        client.get(path, &all)
    };

    // A valid customer token: the new service answers that customer, whom it learnt from the
    // proxy's headers alone.
    let (&id, expected) = customers
        .iter()
        .min_by_key(|(id, _)| **id)
        .expect("a customer");
    let token = customer_token(id);
    let auth = format!("Bearer {token}");
    let me = get("/rest/V1/customers/me", &[("Authorization", &auth)]);
    assert_eq!(
        (me.status, me.backend()),
        (200, "modern"),
        "{}",
        String::from_utf8_lossy(&me.body)
    );
    let body: serde_json::Value = serde_json::from_slice(&me.body).expect("json");
    assert_eq!(body["id"].as_u64(), Some(id));
    assert_eq!(body["email"], expected["email"]);

    // A client claiming to be that customer in the proxy's own headers, even with the right
    // secret, is a guest at the service: the proxy removed both headers.
    let forged_identity = format!("customer:{id}");
    let forged = get(
        "/rest/V1/customers/me",
        &[
            ("x-ficus-identity", &forged_identity),
            ("x-ficus-gateway-secret", GATEWAY_SECRET),
        ],
    );
    assert_eq!((forged.status, forged.backend()), (401, "modern"));

    // Tokens the proxy cannot vouch for go to Magento, which answers them as it always has:
    // expired, signed with the rotated-out key, another user type's garbage, an opaque OAuth token.
    let expired = magento_token(
        CRYPT_KEY,
        &serde_json::json!({"uid": id, "utypid": 3, "iat": now() - 7200, "exp": now() - 3600}),
    );
    let old_key = magento_token(
        "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00",
        &serde_json::json!({"uid": id, "utypid": 3, "iat": now(), "exp": now() + 3600}),
    );
    let mut tampered: Vec<String> = token.split('.').map(str::to_owned).collect();
    tampered[1] = URL_SAFE_NO_PAD.encode(
        serde_json::json!({"uid": id + 1, "utypid": 3, "iat": now(), "exp": now() + 3600})
            .to_string(),
    );
    for bad in [
        expired,
        old_key,
        tampered.join("."),
        "0123456789abcdef0123456789abcdef".to_owned(),
    ] {
        let a = get(
            "/rest/V1/customers/me",
            &[("Authorization", &format!("Bearer {bad}"))],
        );
        assert_eq!(a.backend(), "legacy", "{bad}");
    }

    // Stickiness by customer: at 50 %, each customer keeps one backend whatever the visitor
    // cookie, and both backends are in use.
    std::fs::write(&flag_path, flags(50)).expect("flags");
    std::thread::sleep(std::time::Duration::from_millis(600));
    let mut seen = HashSet::new();
    for &cid in customers.keys().filter(|c| **c != id).take(20) {
        let auth = format!("Bearer {}", customer_token(cid));
        let backends: HashSet<String> = (0..3)
            .map(|v| {
                let cookie = format!("ficus_sid=device-{cid}-{v}");
                let a = get(
                    "/rest/V1/customers/me",
                    &[("Authorization", &auth), ("Cookie", &cookie)],
                );
                if a.backend() == "modern" {
                    assert_eq!(a.status, 200);
                }
                a.backend().to_owned()
            })
            .collect();
        assert_eq!(backends.len(), 1, "customer {cid}: {backends:?}");
        seen.extend(backends);
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    // Rate limits: one customer (many IPs) and one IP (no token), 20 requests each in a row.
    // The first 5 of a one-second window pass; the rest of it is refused with Magento's error
    // shape. Twenty requests on one connection take well under a second, so at most one window
    // boundary falls among them: at least 10 refusals.
    // A customer whose earlier requests (if any) are in no recent window: the 21st.
    let fresh = customers
        .keys()
        .copied()
        .filter(|c| *c != id)
        .nth(20)
        .expect("a 21st customer");
    let auth = format!("Bearer {}", customer_token(fresh));
    for (what, headers) in [
        ("customer", vec![("Authorization", auth.as_str())]),
        ("ip", vec![]),
    ] {
        let answers: Vec<_> = (0..20)
            .map(|_| {
                if what == "ip" {
                    let mut h = headers.clone();
                    h.push(("x-forwarded-for", "203.0.113.7"));
                    client_get(&proxy, &h)
                } else {
                    get("/rest/V1/customers/me", &headers)
                }
            })
            .collect();
        assert!(answers[..5].iter().all(|a| a.status != 429), "{what}");
        let refused: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
        assert!(refused.len() >= 10, "{what}: {} refused", refused.len());
        let body: serde_json::Value = serde_json::from_slice(&refused[0].body).expect("json");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("%1"))
                && body["parameters"] == serde_json::json!(["1"]),
            "{body}"
        );
        assert_eq!(
            refused[0].headers.get("retry-after").map(String::as_str),
            Some("1")
        );
    }
    let metrics =
        Client::new(proxy.admin).get("/metrics", &[("Authorization", &format!("Bearer {ADMIN}"))]);
    let text = String::from_utf8_lossy(&metrics.body);
    for series in [
        "ficus_proxy_rate_limited_total{limit=\"ip\"}",
        "ficus_proxy_rate_limited_total{limit=\"customer\"}",
    ] {
        let v: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing"));
        assert!(v >= 10, "{series} {v}");
    }
    let _ = std::fs::remove_file(&flag_path);
}

/// One GET to a Magento-only URL on a connection of its own, with exactly these headers (the IP
/// limit's requests must all carry the same client IP).
fn client_get(proxy: &Proxy, headers: &[(&str, &str)]) -> Answer {
    Client::new(proxy.addr).get("/customer/account/login/", headers)
}
