//! eav-extract's lookup against the extract on a generated multistore Magento: the documents it
//! reads for a set of entities at once — picked out of order, with ids that name nothing — are
//! byte for byte the extract's, for every product, category, customer and order, in every
//! store view (the admin store included).

use std::collections::BTreeMap;

use ficus_eav_extract::lookup::Lookup;
use ficus_eav_extract::{Kind, Options, SinkSpec};
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;

#[tokio::test]
async fn batched_lookups_read_what_the_extract_writes() {
    let magento = magento_store("lookup", "multistore", 8, Edition::Ce).await;
    let out = std::env::temp_dir().join(format!("ficus-lookup-{}.jsonl", std::process::id()));
    let dsn = MagentoDsn::parse(&magento).expect("dsn");
    let options = Options {
        admin: true,
        ..Options::new(dsn.clone(), SinkSpec::Jsonl(out.clone()))
    };
    ficus_eav_extract::extract(&options, |_| {}, std::future::pending())
        .await
        .expect("extract");
    let text = std::fs::read_to_string(&out).expect("documents");
    // The extract's documents by (kind, id, store code).
    let mut want: BTreeMap<(&str, u64, String), &str> = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let kind = if v.get("increment_id").is_some() {
            "order"
        } else if v.get("sku").is_some() {
            "product"
        } else if v.get("email").is_some() {
            "customer"
        } else {
            "category"
        };
        let id = v
            .get("id")
            .or(v.get("entity_id"))
            .and_then(|i| i.as_u64())
            .expect("id");
        let store = match kind {
            "product" | "category" => v["store_code"].as_str().expect("store").to_string(),
            _ => "admin".to_string(),
        };
        want.insert((kind, id, store), line);
    }
    let lookup = Lookup::open(dsn, ficus_id_map::DEFAULT_NAMESPACE)
        .await
        .expect("lookup");
    let stores = lookup.store_codes();
    let mut reads = lookup.snapshot().await.expect("snapshot");
    for (kind, name) in [
        (Kind::Product, "product"),
        (Kind::Category, "category"),
        (Kind::Customer, "customer"),
        (Kind::Order, "order"),
    ] {
        let mut ids: Vec<u32> = want
            .keys()
            .filter(|(k, _, _)| *k == name)
            .map(|(_, id, _)| *id as u32)
            .collect();
        ids.dedup();
        assert!(ids.len() > 10, "{name}: {}", ids.len());
        // Backwards, in uneven pieces, with ids that name nothing.
        ids.reverse();
        let mut seen = 0;
        for piece in ids.chunks(97) {
            let mut asked = piece.to_vec();
            asked.push(9_999_999);
            let docs = reads
                .documents(kind, &asked, &stores)
                .await
                .expect("documents");
            for (id, store, doc) in docs {
                let key = (name, id as u64, store.clone());
                assert_eq!(
                    Some(&doc.as_str()),
                    want.get(&key),
                    "{name} {id} in {store}"
                );
                seen += 1;
            }
        }
        let expected = want.keys().filter(|(k, _, _)| *k == name).count();
        assert_eq!(
            seen, expected,
            "{name}: every document, none for the missing id"
        );
    }
    // One by one agrees too.
    let (key, line) = want.iter().next().expect("a document");
    let kind = match key.0 {
        "order" => Kind::Order,
        "product" => Kind::Product,
        "customer" => Kind::Customer,
        _ => Kind::Category,
    };
    let one = reads
        .document(kind, key.1 as u32, &key.2)
        .await
        .expect("one")
        .expect("held");
    assert_eq!(&one, line);
    drop(reads);
    for suffix in ["", ".manifest.json", ".checkpoint.json"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", out.display()));
    }
    drop_magento(&magento).await;
}
