//! eav-extract against generated Magento stores on the real MariaDB: every document is checked
//! against an expectation computed here from the raw rows, with the scope rules written out
//! independently of the extractor's pivot.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use ficus_eav_extract::{
    DEFAULT_BUCKET_BYTES, Error, Event, Kind, Options, SinkSpec, ValueReads, extract,
};
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use mysql_async::prelude::Queryable;
use serde_json::Value;

fn options(magento: &str, kinds: &[Kind], sink: SinkSpec) -> Options {
    Options {
        source: MagentoDsn::parse(magento).expect("dsn"),
        kinds: kinds.to_vec(),
        stores: Vec::new(),
        labels: false,
        chunk_size: 97,
        max_rows_per_second: None,
        namespace: ficus_id_map::DEFAULT_NAMESPACE,
        sink,
        resume: false,
        value_reads: ficus_eav_extract::ValueReads::Scan,
        spill_dir: None,
        bucket_bytes: ficus_eav_extract::DEFAULT_BUCKET_BYTES,
        admin: false,
    }
}

/// A generated store (seed 7) and an empty directory for the test's output.
async fn store_and_dir(test: &str, profile: &str, edition: Edition) -> (String, PathBuf) {
    let magento = magento_store(test, profile, 7, edition).await;
    let dir = std::env::temp_dir().join(db_name(test));
    std::fs::create_dir_all(&dir).expect("dir");
    (magento, dir)
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// Expected product values per (entity, store code): attribute code → value, from raw rows.
async fn expected_products(
    url: &str,
) -> (
    HashMap<(u64, String), BTreeMap<String, Option<String>>>,
    bool,
) {
    let mut c = mysql_async::Conn::new(mysql_async::Opts::from_url(url).expect("o"))
        .await
        .expect("c");
    let staged: Option<String> = c
        .query_first("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'catalog_product_entity' AND COLUMN_NAME = 'row_id'")
        .await
        .expect("layout");
    let staged = staged.is_some();
    let live = if staged {
        let flag: String = c
            .query_first("SELECT flag_data FROM flag WHERE flag_code = 'staging'")
            .await
            .expect("f")
            .expect("flag");
        let v: Value = serde_json::from_str(&flag).expect("flag json");
        let now = v["current_version"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v["current_version"].to_string());
        format!("WHERE e.created_in <= {now} AND e.updated_in > {now}")
    } else {
        String::new()
    };
    let key = if staged { "row_id" } else { "entity_id" };
    let per_website: Option<String> = c
        .query_first("SELECT value FROM core_config_data WHERE path = 'catalog/price/scope' AND scope_id = 0")
        .await
        .expect("scope");
    let per_website = per_website.as_deref() == Some("1");
    // attribute id → (code, global?)
    let attrs: Vec<(u16, String, u8, Option<String>)> = c
        .query("SELECT a.attribute_id, a.attribute_code, c.is_global, a.backend_model FROM eav_attribute a JOIN catalog_eav_attribute c USING (attribute_id) WHERE a.entity_type_id = (SELECT entity_type_id FROM eav_entity_type WHERE entity_type_code = 'catalog_product')")
        .await
        .expect("attrs");
    let attrs: HashMap<u16, (String, bool)> = attrs
        .into_iter()
        .map(|(id, code, g, backend)| {
            let price = backend.as_deref()
                == Some("Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Price");
            let global = if price { !per_website } else { g == 1 };
            (id, (code, global))
        })
        .collect();
    let stores: Vec<(u16, String)> = c
        .query("SELECT store_id, code FROM store WHERE store_id > 0")
        .await
        .expect("stores");
    let entities: Vec<(u64, u64, String, String)> = c
        .query(format!(
            "SELECT e.entity_id, e.{key}, e.has_options, e.required_options FROM catalog_product_entity e {live}"
        ))
        .await
        .expect("entities");
    let by_key: HashMap<u64, u64> = entities.iter().map(|(id, k, ..)| (*k, *id)).collect();
    // (entity, attr) → store → value
    let mut raw: HashMap<(u64, u16), HashMap<u16, Option<String>>> = HashMap::new();
    for t in ["int", "varchar", "decimal", "text", "datetime"] {
        let rows: Vec<(u64, u16, u16, Option<String>)> = c
            .query(format!("SELECT {key}, attribute_id, store_id, CAST(value AS CHAR) FROM catalog_product_entity_{t}"))
            .await
            .expect("values");
        for (k, attr, store, value) in rows {
            if let Some(&id) = by_key.get(&k) {
                raw.entry((id, attr)).or_default().insert(store, value);
            }
        }
    }
    let mut out: HashMap<(u64, String), BTreeMap<String, Option<String>>> = HashMap::new();
    for (id, _, has_options, required_options) in &entities {
        for (_, code) in &stores {
            // Static attributes come from the entity row, the same in every store view.
            let statics = BTreeMap::from([
                ("has_options".to_string(), Some(has_options.clone())),
                (
                    "required_options".to_string(),
                    Some(required_options.clone()),
                ),
            ]);
            out.insert((*id, code.clone()), statics);
        }
    }
    for ((id, attr), by_store) in &raw {
        let Some((code, global)) = attrs.get(attr) else {
            continue;
        };
        for (sid, scode) in &stores {
            // Magento's rule, written out: store 0 is the default; a non-global attribute's row
            // for this store view replaces it; other stores never count.
            let value = if *global {
                by_store.get(&0)
            } else {
                by_store.get(sid).or_else(|| by_store.get(&0))
            };
            if let Some(v) = value {
                out.get_mut(&(*id, scode.clone()))
                    .expect("doc")
                    .insert(code.clone(), v.clone());
            }
        }
    }
    (out, staged)
}

fn doc_values(doc: &Value) -> BTreeMap<String, String> {
    let mut got = BTreeMap::new();
    for key in ["name", "status", "visibility"] {
        if let Some(v) = doc.get(key) {
            got.insert(
                key.to_string(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            );
        }
    }
    if let Some(ca) = doc["custom_attributes"].as_array() {
        for a in ca {
            if let Some(v) = a["value"].as_str() {
                got.insert(
                    a["attribute_code"].as_str().expect("code").to_string(),
                    v.to_string(),
                );
            }
        }
    }
    got
}

async fn check_products(profile: &str, edition: Edition, test: &str) {
    let (magento, dir) = store_and_dir(test, profile, edition).await;
    let out = dir.join("products.jsonl");
    let mut notes = Vec::new();
    let summary = extract(
        &options(&magento, &[Kind::Product], SinkSpec::Jsonl(out.clone())),
        |e| {
            if let Event::Note(n) = e {
                notes.push(n)
            }
        },
        std::future::pending(),
    )
    .await
    .expect("extract");
    let docs = read_lines(&out);
    let (expected, staged) = expected_products(&magento).await;
    assert_eq!(staged, edition == Edition::Ee);
    // The value tables went through the wire reader (staged tables are read per chunk).
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        docs.len(),
        expected.len(),
        "one document per live product and store view"
    );
    assert_eq!(summary.kinds[0].documents as usize, docs.len());
    let mut seen = HashSet::new();
    let mut overrides = 0;
    for doc in &docs {
        let id = doc["id"].as_u64().expect("id");
        let store = doc["store_code"].as_str().expect("store").to_string();
        assert!(seen.insert((id, store.clone())), "duplicate {id} {store}");
        let want = &expected[&(id, store.clone())];
        let got = doc_values(doc);
        // Every value in the document is Magento's value for that store…
        for (code, v) in &got {
            assert_eq!(
                want.get(code),
                Some(&Some(v.clone())),
                "{id}@{store} {code}"
            );
        }
        // …and every non-null value of name/status/visibility is there.
        for key in ["name", "status", "visibility"] {
            if let Some(Some(v)) = want.get(key) {
                assert_eq!(got.get(key), Some(v), "{id}@{store} {key}");
            }
        }
        if let (Some(Some(price)), Some(p)) = (want.get("price"), doc.get("price")) {
            // Exact decimal text, trailing zeros dropped as Magento prints a float.
            let trimmed = price.trim_end_matches('0').trim_end_matches('.');
            assert_eq!(p.to_string(), trimmed, "{id}@{store} price");
        }
        if store != "default"
            && got.get("name")
                != expected[&(id, "default".to_string())]
                    .get("name")
                    .cloned()
                    .flatten()
                    .as_ref()
        {
            overrides += 1;
        }
        assert_eq!(
            doc["uuid"].as_str().expect("uuid"),
            // RFC 9562 UUIDv5 by the uuid crate, not by id-map's mapper.
            uuid::Uuid::new_v5(
                &ficus_id_map::DEFAULT_NAMESPACE.as_uuid(),
                format!("catalog_product/{id}").as_bytes()
            )
            .to_string()
        );
    }
    if profile == "multistore" {
        assert!(overrides > 0, "store views override names");
    }
    // The other ways of reading value rows give the same bytes: per chunk by entity id range,
    // table scans spread over many small buckets (chunks then span buckets), and table scans
    // decoded by mysql_async instead of the wire reader.
    let first = std::fs::read_to_string(&out).expect("output");
    for (reads, bucket_bytes) in [
        (ValueReads::Chunks, DEFAULT_BUCKET_BYTES),
        (ValueReads::Scan, 1),
        (ValueReads::ScanDriver, DEFAULT_BUCKET_BYTES),
    ] {
        let again = dir.join(format!("products-{reads:?}-{bucket_bytes}.jsonl"));
        let mut o = options(&magento, &[Kind::Product], SinkSpec::Jsonl(again.clone()));
        o.value_reads = reads;
        o.bucket_bytes = bucket_bytes;
        o.spill_dir = Some(dir.clone());
        extract(&o, |_| {}, std::future::pending())
            .await
            .expect("extract again");
        assert!(
            std::fs::read_to_string(&again).expect("output") == first,
            "{reads:?} with buckets of {bucket_bytes} bytes gives the same documents"
        );
    }
    // Bucket files are gone (unlinked when created).
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("spill"))
        .collect();
    assert!(left.is_empty(), "spill files left: {left:?}");
    std::fs::remove_dir_all(&dir).ok();
    drop_magento(&magento).await;
}

#[tokio::test]
async fn products_follow_store_scope_rules_multistore() {
    check_products("multistore", Edition::Ce, "xmulti").await;
}

#[tokio::test]
async fn products_follow_store_scope_rules_staged_ee() {
    check_products("small", Edition::Ee, "xee").await;
}

#[tokio::test]
async fn customers_carry_their_addresses_and_custom_attributes() {
    let (magento, dir) = store_and_dir("xcust", "small", Edition::Ce).await;
    let out = dir.join("c.jsonl");
    extract(
        &options(
            &magento,
            &[Kind::Customer, Kind::Category],
            SinkSpec::Jsonl(out.clone()),
        ),
        |_| {},
        std::future::pending(),
    )
    .await
    .expect("extract");
    let docs = read_lines(&out);
    let mut c = mysql_async::Conn::new(mysql_async::Opts::from_url(&magento).expect("o"))
        .await
        .expect("c");
    let customers: Vec<(u64, String, Option<u64>)> = c
        .query("SELECT entity_id, email, default_billing FROM customer_entity")
        .await
        .expect("c");
    let addresses: Vec<(u64, u64, String)> = c
        .query("SELECT entity_id, parent_id, street FROM customer_address_entity")
        .await
        .expect("a");
    let codes: Vec<(u64, String, String)> = c
        .query("SELECT v.entity_id, a.attribute_code, v.value FROM customer_entity_varchar v JOIN eav_attribute a USING (attribute_id)")
        .await
        .expect("v");
    let categories: u64 = c
        .query_first("SELECT COUNT(*) FROM catalog_category_entity")
        .await
        .expect("n")
        .expect("n");
    let stores: u64 = c
        .query_first("SELECT COUNT(*) FROM store WHERE store_id > 0")
        .await
        .expect("n")
        .expect("n");
    let customer_docs: Vec<&Value> = docs.iter().filter(|d| d.get("email").is_some()).collect();
    assert_eq!(
        customer_docs.len(),
        customers.len(),
        "one document per customer, no store fan-out"
    );
    assert_eq!(
        (docs.len() - customer_docs.len()) as u64,
        categories * stores
    );
    for (id, email, billing) in &customers {
        let d = customer_docs
            .iter()
            .find(|d| d["id"].as_u64() == Some(*id))
            .expect("doc");
        assert_eq!(d["email"].as_str(), Some(email.as_str()));
        assert_eq!(
            d["default_billing"].as_str().map(str::to_string),
            billing.map(|b| b.to_string())
        );
        let mine: Vec<&(u64, u64, String)> = addresses.iter().filter(|a| a.1 == *id).collect();
        let got = d["addresses"].as_array().expect("addresses");
        assert_eq!(got.len(), mine.len());
        for a in mine {
            let g = got
                .iter()
                .find(|g| g["id"].as_u64() == Some(a.0))
                .expect("address");
            let lines: Vec<&str> = a.2.split('\n').collect();
            assert_eq!(g["street"], serde_json::json!(lines));
            assert_eq!(
                g["default_billing"].as_bool().unwrap_or(false),
                billing == &Some(a.0)
            );
        }
        for (_, code, value) in codes.iter().filter(|v| v.0 == *id) {
            let ca = d["custom_attributes"].as_array().expect("custom");
            assert!(
                ca.iter()
                    .any(|x| x["attribute_code"] == code.as_str() && x["value"] == value.as_str()),
                "{id} {code}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    drop_magento(&magento).await;
}

#[tokio::test]
async fn an_interrupted_extract_resumes_without_gaps_or_duplicates() {
    let (magento, dir) = store_and_dir("xresume", "small", Edition::Ce).await;
    let whole = dir.join("whole.jsonl");
    extract(
        &options(&magento, &Kind::ALL, SinkSpec::Jsonl(whole.clone())),
        |_| {},
        std::future::pending(),
    )
    .await
    .expect("whole");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("whole.jsonl.manifest.json")).expect("m"),
    )
    .expect("m");
    assert!(
        manifest["snapshot"]["file"]
            .as_str()
            .expect("binlog file")
            .contains("bin"),
        "{manifest}"
    );
    assert_eq!(manifest["complete"], true);

    let out = dir.join("cut.jsonl");
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let trigger = stop.clone();
    let mut chunks = 0;
    let err = extract(
        &options(&magento, &Kind::ALL, SinkSpec::Jsonl(out.clone())),
        |e| {
            if let Event::Chunk { .. } = e {
                chunks += 1;
                if chunks == 3 {
                    trigger.notify_one();
                }
            }
        },
        async move { stop.notified().await },
    )
    .await
    .expect_err("interrupted");
    assert!(matches!(err, Error::Interrupted { .. }), "{err}");
    assert!(!out.exists(), "only the partial file exists");
    // A crash also leaves half a chunk behind the checkpoint: append garbage.
    use std::io::Write;
    let mut partial = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("cut.jsonl.partial"))
        .expect("partial");
    partial.write_all(b"{\"half a line").expect("garbage");
    drop(partial);
    // A fresh run refuses; --resume continues.
    let refused = extract(
        &options(&magento, &Kind::ALL, SinkSpec::Jsonl(out.clone())),
        |_| {},
        std::future::pending(),
    )
    .await;
    assert!(matches!(refused, Err(Error::Exists(_))));
    let mut resume = options(&magento, &Kind::ALL, SinkSpec::Jsonl(out.clone()));
    resume.resume = true;
    extract(&resume, |_| {}, std::future::pending())
        .await
        .expect("resume");
    let a = std::fs::read_to_string(&whole).expect("whole");
    let b = std::fs::read_to_string(&out).expect("cut");
    assert_eq!(a, b, "the resumed output equals an uninterrupted one");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("cut.jsonl.manifest.json")).expect("m"),
    )
    .expect("m");
    assert_eq!(manifest["resumed"].as_array().map(Vec::len), Some(1));
    std::fs::remove_dir_all(&dir).ok();
    drop_magento(&magento).await;
}

#[tokio::test]
async fn postgres_sink_commits_documents_with_the_checkpoint() {
    let magento = magento_store("xpg", "small", 7, Edition::Ce).await;
    let target = pg_database("xpg").await;
    let sink = SinkSpec::Postgres {
        dsn: target.clone(),
        table: "catalog.documents".into(),
    };
    let mut o = options(&magento, &[Kind::Product], sink.clone());
    o.stores = vec!["default".into()];
    let summary = extract(&o, |_| {}, std::future::pending())
        .await
        .expect("extract");
    let mut pg = <sqlx::PgConnection as sqlx::Connection>::connect(&target)
        .await
        .expect("pg");
    let (rows, skus): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT document->>'sku') FROM catalog.documents")
            .fetch_one(&mut pg)
            .await
            .expect("count");
    // One document per product, counted in Magento, and as many as the run reports.
    let mut c = mysql_async::Conn::new(mysql_async::Opts::from_url(&magento).expect("o"))
        .await
        .expect("c");
    let products: u64 = c
        .query_first("SELECT COUNT(*) FROM catalog_product_entity")
        .await
        .expect("n")
        .expect("n");
    drop(c);
    assert_eq!(rows as u64, products);
    assert_eq!(rows as u64, summary.kinds[0].documents);
    assert_eq!(skus, rows);
    let (complete,): (bool,) =
        sqlx::query_as("SELECT (state->>'complete')::bool FROM catalog.eav_extract_checkpoint")
            .fetch_one(&mut pg)
            .await
            .expect("state");
    assert!(complete);
    // Unknown store codes and unwritable output are named.
    let mut bad = options(
        &magento,
        &[Kind::Product],
        SinkSpec::Jsonl("/nonexistent/dir/x.jsonl".into()),
    );
    let err = extract(&bad, |_| {}, std::future::pending())
        .await
        .expect_err("unwritable");
    assert!(
        matches!(err, Error::Output { .. })
            && err.to_string().contains("/nonexistent/dir/x.jsonl.partial"),
        "{err}"
    );
    bad.stores = vec!["mars_en".into()];
    let err = extract(&bad, |_| {}, std::future::pending())
        .await
        .expect_err("store");
    assert!(
        err.to_string()
            .contains("unknown store code 'mars_en'; the store views are: admin, default"),
        "{err}"
    );
    // A second fresh run into the same table is refused.
    assert!(matches!(
        extract(&o, |_| {}, std::future::pending()).await,
        Err(Error::Exists(_))
    ));
    drop(pg);
    drop_pg(&target).await;
    drop_magento(&magento).await;
}

#[tokio::test]
async fn a_spill_directory_that_cannot_be_written_is_named_and_nothing_is_left() {
    let (magento, dir) = store_and_dir("xspill", "small", Edition::Ce).await;
    let out = dir.join("products.jsonl");
    let mut o = options(&magento, &[Kind::Product], SinkSpec::Jsonl(out.clone()));
    o.spill_dir = Some(dir.join("no-such-dir"));
    let err = extract(&o, |_| {}, std::future::pending())
        .await
        .expect_err("no spill directory");
    assert!(matches!(err, Error::Output { .. }), "{err}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    assert!(err.is_operator_error());
    assert!(!out.exists(), "no output under the final name");
    std::fs::remove_dir_all(&dir).ok();
    drop_magento(&magento).await;
}
