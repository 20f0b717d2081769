//! The catalog service against the real PostgreSQL and MariaDB, over real HTTP: a generated
//! multistore Magento is back-filled with eav-extract's documents through the write API, then
//! every product is read back per store view through the routes.

use std::io::{Read, Write};
use std::net::SocketAddr;

use ficus_eav_extract::{Kind, Options, SinkSpec};
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use ficus_services::Position;
use ficus_services::catalog::{Applied, Catalog, Error};
use ficus_services::http::{Config, IDENTITY_HEADER, SECRET_HEADER, router};
use serde_json::Value;

const SECRET: &str = "s3cret-from-the-proxy";
const NOT_FOUND: &str = r#"{"message":"The product that was requested doesn't exist. Verify the product and try again."}"#;

/// Serves the routes on a free loopback port.
async fn serve(catalog: Catalog, guest_catalog: bool) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(
        catalog,
        Config {
            default_store: "default".into(),
            admin_store: "admin".into(),
            gateway_secret: Some(SECRET.into()),
            guest_catalog,
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// One HTTP/1.1 GET on its own connection: (status, body).
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        s.read_to_string(&mut response).expect("read");
        let status = response[9..12].parse().expect("status");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .expect("request")
}

const ADMIN: &[(&str, &str)] = &[(SECRET_HEADER, SECRET), (IDENTITY_HEADER, "admin")];

/// Percent-encodes a path segment.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What Magento answers for an eav-extract document: the document without the two members ficus
/// puts first (`uuid`, `store_code`), everything else as it stands.
fn as_magento_answers(line: &str) -> String {
    let v: Value = serde_json::from_str(line).expect("json");
    let prefix = format!(
        "{{\"uuid\":{},\"store_code\":{},",
        v["uuid"], v["store_code"]
    );
    let rest = line
        .strip_prefix(&prefix)
        .expect("uuid and store_code lead");
    format!("{{{rest}")
}

#[tokio::test]
async fn backfilled_products_answer_in_magentos_shape_per_store_view() {
    let magento = magento_store("svccat", "multistore", 11, Edition::Ce).await;
    let target = pg_database("svccat").await;
    let out = std::env::temp_dir().join(format!("ficus-svccat-{}.jsonl", std::process::id()));
    let summary = ficus_eav_extract::extract(
        &Options {
            source: MagentoDsn::parse(&magento).expect("dsn"),
            kinds: vec![Kind::Product],
            stores: Vec::new(),
            labels: false,
            chunk_size: 500,
            max_rows_per_second: None,
            namespace: ficus_id_map::DEFAULT_NAMESPACE,
            sink: SinkSpec::Jsonl(out.clone()),
            resume: false,
            value_reads: ficus_eav_extract::ValueReads::Scan,
            spill_dir: None,
            bucket_bytes: ficus_eav_extract::DEFAULT_BUCKET_BYTES,
        },
        |_| {},
        std::future::pending(),
    )
    .await
    .expect("extract");
    let snapshot = summary.position.expect("binlog on");
    let at = Position::from_binlog(&snapshot.file, snapshot.position).expect("position");
    let text = std::fs::read_to_string(&out).expect("documents");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 100, "{} documents", lines.len());

    let catalog = Catalog::connect(&target).await.expect("connect");
    catalog.migrate().await.expect("migrate");
    catalog.migrate().await.expect("migrate twice is a no-op");
    for line in &lines {
        assert_eq!(
            catalog.upsert_product(line, at).await.expect("upsert"),
            Applied::Written
        );
    }
    // A replay of the back-fill changes nothing.
    assert_eq!(
        catalog.upsert_product(lines[0], at).await.expect("replay"),
        Applied::Stale
    );

    let addr = serve(catalog.clone(), false).await;
    let mut stores = std::collections::BTreeSet::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("json");
        let (store, sku) = (
            v["store_code"].as_str().expect("test value"),
            v["sku"].as_str().expect("test value"),
        );
        stores.insert(store.to_string());
        let (status, body) = get(
            addr,
            &format!("/rest/{store}/V1/products/{}", segment(sku)),
            ADMIN,
        )
        .await;
        assert_eq!(status, 200, "{store} {sku}: {body}");
        assert_eq!(body, as_magento_answers(line), "{store} {sku}");
        if store == "default" {
            let (status, plain) =
                get(addr, &format!("/rest/V1/products/{}", segment(sku)), ADMIN).await;
            assert_eq!((status, plain), (200, body), "default store view");
        }
    }
    assert!(stores.len() > 1, "multistore: {stores:?}");

    // Magento finds a SKU whatever its case.
    let v: Value = serde_json::from_str(lines[0]).expect("json");
    let (store, sku) = (
        v["store_code"].as_str().expect("test value"),
        v["sku"].as_str().expect("test value"),
    );
    let upper = segment(&sku.to_uppercase());
    let lower = segment(&sku.to_lowercase());
    for s in [&upper, &lower] {
        let (status, _) = get(addr, &format!("/rest/{store}/V1/products/{s}"), ADMIN).await;
        assert_eq!(status, 200);
    }

    // Errors in Magento's bodies.
    let (status, body) = get(addr, "/rest/default/V1/products/no-such-sku", ADMIN).await;
    assert_eq!((status, body.as_str()), (404, NOT_FOUND));
    let (status, body) = get(addr, "/rest/nowhere/V1/products/x", ADMIN).await;
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"message":"Request does not match any route."}"#)
    );
    let path = format!("/rest/{store}/V1/products/{}", segment(sku));
    let (status, body) = get(addr, &path, &[]).await;
    assert_eq!(status, 401, "a guest without guest access");
    assert_eq!(
        body,
        r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Catalog::products"}}"#
    );
    let (status, _) = get(
        addr,
        &path,
        &[(SECRET_HEADER, "guess"), (IDENTITY_HEADER, "admin")],
    )
    .await;
    assert_eq!(status, 401, "a wrong gateway secret");
    let (status, _) = get(addr, &path, &[(IDENTITY_HEADER, "admin")]).await;
    assert_eq!(status, 401, "an identity without the secret is a guest");
    let open = serve(catalog.clone(), true).await;
    let (status, _) = get(open, &path, &[]).await;
    assert_eq!(status, 200, "guest access switched on");
    let (status, body) = get(addr, "/healthz", &[]).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, _) = get(addr, "/readyz", &[]).await;
    assert_eq!(status, 200);

    // Ordered by position: an older change is ignored, a delete leaves a tombstone that older
    // upserts cannot pass, a newer upsert brings the product back.
    let uuid: uuid::Uuid = v["uuid"]
        .as_str()
        .expect("test value")
        .parse()
        .expect("test value");
    let id = v["id"].as_u64().expect("test value");
    let older = Position {
        file: at.file,
        offset: at.offset.saturating_sub(1),
    };
    let later = |n| Position {
        file: at.file + 1,
        offset: n,
    };
    let renamed = lines[0].replacen(
        &format!("\"name\":{}", v["name"]),
        "\"name\":\"Renamed\"",
        1,
    );
    assert_ne!(renamed, lines[0]);
    assert_eq!(
        catalog
            .upsert_product(&renamed, older)
            .await
            .expect("older"),
        Applied::Stale
    );
    let (_, body) = get(addr, &path, ADMIN).await;
    assert_eq!(body, as_magento_answers(lines[0]));
    assert_eq!(
        catalog
            .delete_product(uuid, id, later(10))
            .await
            .expect("delete"),
        Applied::Written
    );
    let (status, body) = get(addr, &path, ADMIN).await;
    assert_eq!((status, body.as_str()), (404, NOT_FOUND));
    assert_eq!(
        catalog
            .upsert_product(&renamed, later(5))
            .await
            .expect("late"),
        Applied::Stale
    );
    assert_eq!(
        catalog
            .delete_product(uuid, id, later(10))
            .await
            .expect("again"),
        Applied::Stale
    );
    let (status, _) = get(addr, &path, ADMIN).await;
    assert_eq!(status, 404);
    assert_eq!(
        catalog
            .upsert_product(&renamed, later(20))
            .await
            .expect("newer"),
        Applied::Written
    );
    let (status, body) = get(addr, &path, ADMIN).await;
    assert_eq!(status, 200);
    assert_eq!(body, as_magento_answers(&renamed));
    assert!(body.contains("\"name\":\"Renamed\""));

    // A document that is not one is refused, naming why.
    let err = catalog
        .upsert_product(r#"{"sku":"x"}"#, later(30))
        .await
        .expect_err("bad document");
    assert!(matches!(err, Error::BadDocument(_)), "{err}");
    assert!(err.to_string().contains("uuid"), "{err}");

    let _ = std::fs::remove_file(&out);
    for suffix in ["checkpoint.json", "manifest.json"] {
        let _ = std::fs::remove_file(out.with_extension(format!("jsonl.{suffix}")));
    }
    drop(catalog);
    drop_pg(&target).await;
    drop_magento(&magento).await;
}
