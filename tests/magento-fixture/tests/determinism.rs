//! The same seed gives the same database; another seed gives another one.

mod common;

use std::collections::BTreeMap;

use common::*;
use ficus_magento_fixture::Edition;
use mysql_async::prelude::Queryable;

async fn checksums(c: &mut mysql_async::Conn) -> BTreeMap<String, Option<u64>> {
    let tables: Vec<String> = c
        .query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name")
        .await
        .expect("tables");
    let list = tables
        .iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let sums: Vec<(String, Option<u64>)> = c
        .query(format!("CHECKSUM TABLE {list}"))
        .await
        .expect("checksum");
    sums.into_iter()
        .map(|(t, s)| (t.rsplit('.').next().unwrap_or_default().to_string(), s))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn same_seed_same_database() {
    let (_, mut a) = generate("seed7a", "multistore", 7, Edition::Ce).await;
    let (_, mut b) = generate("seed7b", "multistore", 7, Edition::Ce).await;
    let (_, mut other) = generate("seed8", "multistore", 8, Edition::Ce).await;
    let (sa, sb, so) = (
        checksums(&mut a).await,
        checksums(&mut b).await,
        checksums(&mut other).await,
    );
    assert!(sa.len() > 60);
    assert_eq!(sa, sb, "seed 7 twice");
    let differing: Vec<&String> = sa.keys().filter(|t| sa[*t] != so[*t]).collect();
    assert!(
        differing
            .iter()
            .any(|t| t.as_str() == "catalog_product_entity_varchar"),
        "seed 8 differs: {differing:?}"
    );
    // Attribute ids are shuffled per seed, never the stock ones in code order.
    let q = "SELECT GROUP_CONCAT(attribute_id ORDER BY attribute_code) FROM eav_attribute WHERE entity_type_id = 4";
    let ia: Option<String> = a.query_first(q).await.unwrap_or_default();
    let io: Option<String> = other.query_first(q).await.unwrap_or_default();
    assert_ne!(ia, io);
    let ids: Vec<u32> = ia
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_ne!(ids, sorted, "ids follow code order");
    for (conn, name) in [(a, "seed7a"), (b, "seed7b"), (other, "seed8")] {
        drop_db(conn, &db_name(name)).await;
    }
}
