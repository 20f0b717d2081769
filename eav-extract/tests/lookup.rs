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

/// A snapshot's connection handed back with `release` carries the next snapshot, which sees what
/// was committed in between; it holds no transaction while it waits; one the server closed
/// meanwhile is replaced; a snapshot dropped instead leaves nothing to reuse.
#[tokio::test]
async fn a_released_snapshot_connection_starts_a_fresh_snapshot() {
    use mysql_async::prelude::Queryable;

    let magento = magento_store("lookupreuse", "small", 9, Edition::Ce).await;
    let dsn = MagentoDsn::parse(&magento).expect("dsn");
    let lookup = Lookup::open(dsn, ficus_id_map::DEFAULT_NAMESPACE)
        .await
        .expect("lookup");
    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    let name: u32 = conn
        .query_first(
            "SELECT a.attribute_id FROM eav_attribute a JOIN eav_entity_type t USING (entity_type_id)
             WHERE t.entity_type_code = 'catalog_product' AND a.attribute_code = 'name'",
        )
        .await
        .expect("query")
        .expect("the name attribute");
    // INNODB_TRX is a cache that InnoDB refreshes only when it has not been read for 100 ms:
    // look every 200 ms (up to 3 s) for the count wanted, and return the last count seen.
    let open_transactions = |id: u32, wanted: u64| {
        let pool = pool.clone();
        async move {
            let mut c = pool.get_conn().await.expect("magento");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            loop {
                let n: Option<u64> = c
                    .exec_first(
                        "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?",
                        (id,),
                    )
                    .await
                    .expect("INNODB_TRX");
                let n = n.unwrap_or(0);
                if n == wanted || std::time::Instant::now() > deadline {
                    return n;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    // Product 1's admin name, as the snapshot reads it.
    let read_name = async |reads: &mut ficus_eav_extract::lookup::SnapshotReads<'_>| -> String {
        let doc = reads
            .document(Kind::Product, 1, "admin")
            .await
            .expect("read")
            .expect("product 1");
        let doc: serde_json::Value = serde_json::from_str(&doc).expect("json");
        doc["name"].as_str().expect("a name").to_string()
    };

    let mut first = lookup.snapshot().await.expect("snapshot");
    let id = first.connection_id();
    let before = first.position.clone().expect("binlog on");
    let old = read_name(&mut first).await;
    assert_eq!(
        open_transactions(id, 1).await,
        1,
        "the snapshot is a transaction"
    );
    conn.exec_drop(
        "UPDATE catalog_product_entity_varchar SET value = 'Renamed between snapshots'
         WHERE attribute_id = ? AND store_id = 0 AND entity_id = 1",
        (name,),
    )
    .await
    .expect("rename");
    // The open snapshot does not see the rename.
    let same = read_name(&mut first).await;
    assert_eq!(same, old);
    assert_ne!(old, "Renamed between snapshots");
    first.release().await;
    assert_eq!(
        open_transactions(id, 0).await,
        0,
        "released: no transaction held"
    );

    let mut second = lookup.snapshot().await.expect("snapshot");
    assert_eq!(second.connection_id(), id, "the released connection again");
    let after = second.position.clone().expect("binlog on");
    assert!(
        (after.file.as_str(), after.position) > (before.file.as_str(), before.position),
        "{after:?} after {before:?}"
    );
    let new = read_name(&mut second).await;
    assert_eq!(new, "Renamed between snapshots");
    second.release().await;

    // A kept connection that the server closed meanwhile (a restart, `wait_timeout`, a DBA's
    // KILL): the next snapshot opens a new one and reads.
    conn.query_drop(format!("KILL {id}")).await.expect("kill");
    let mut third = lookup.snapshot().await.expect("snapshot after the kill");
    let replaced = third.connection_id();
    assert_ne!(replaced, id, "the killed connection is not used");
    let read = read_name(&mut third).await;
    assert_eq!(read, "Renamed between snapshots");
    drop(third);

    let fourth = lookup.snapshot().await.expect("snapshot");
    assert_ne!(
        fourth.connection_id(),
        replaced,
        "a dropped snapshot's connection is not kept"
    );
    drop(fourth);
    drop(conn);
    pool.disconnect().await.expect("disconnect");
    drop_magento(&magento).await;
}
