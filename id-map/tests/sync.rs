//! id-map against the real MariaDB and PostgreSQL: PostgreSQL's own uuid_generate_v5 agrees,
//! sync records every Magento id (counted independently from the raw tables), re-runs and
//! interrupted runs lose and duplicate nothing, verify finds what is wrong.

use std::collections::BTreeSet;

use ficus_id_map::magento::{DEFAULT_ENTITIES, MagentoDsn};
use ficus_id_map::{
    DEFAULT_NAMESPACE, EntityReport, Error, Mapper, Namespace, Origin, Store, SyncEvent,
    SyncOptions, VerifyReport,
};
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use mysql_async::prelude::Queryable;
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

fn options(entities: &[&str], chunk_size: usize) -> SyncOptions {
    SyncOptions {
        namespace: DEFAULT_NAMESPACE,
        entities: entities.iter().map(|s| s.to_string()).collect(),
        chunk_size,
    }
}

/// Runs a sync to its end, without progress reports.
async fn sync_quietly(
    source: &MagentoDsn,
    store: &Store,
    options: &SyncOptions,
) -> Result<Vec<EntityReport>, Error> {
    ficus_id_map::sync(source, store, options, |_| {}, std::future::pending()).await
}

/// Verifies in the default namespace.
async fn verify(
    source: &MagentoDsn,
    store: &Store,
    entities: &[String],
    chunk_size: usize,
) -> Result<Vec<VerifyReport>, Error> {
    ficus_id_map::verify(
        source,
        store,
        DEFAULT_NAMESPACE,
        entities,
        chunk_size,
        std::future::pending(),
    )
    .await
}

/// The ids of an entity as Magento holds them, read with plain SQL written here.
async fn magento_ids(url: &str, table: &str, column: &str) -> BTreeSet<u64> {
    let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(url).expect("opts"))
        .await
        .expect("connect");
    let ids: Vec<u64> = conn
        .query(format!("SELECT DISTINCT {column} FROM {table}"))
        .await
        .expect("ids");
    ids.into_iter().collect()
}

/// Rows whose stored uuid differs from what PostgreSQL's uuid_generate_v5 computes.
async fn disagreeing_with_postgres(pg: &mut PgConnection, namespace: Uuid) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM ficus_id_map.mapping
         WHERE origin = 'magento' AND uuid <> uuid_generate_v5($1, entity || '/' || legacy_id)",
    )
    .bind(namespace)
    .fetch_one(pg)
    .await
    .expect("compare");
    n
}

#[tokio::test]
async fn postgres_uuid_generate_v5_agrees() {
    let url = pg_database("pgv5").await;
    let mut pg = PgConnection::connect(&url).await.expect("connect");
    pg.execute("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"")
        .await
        .expect("uuid-ossp");
    let namespace = Namespace::new(Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef));
    for (entity, ns) in [
        ("catalog_product", DEFAULT_NAMESPACE),
        ("customer_address", namespace),
        ("sales_order_item", namespace),
    ] {
        let rows: Vec<(i64, Uuid)> = sqlx::query_as(
            "SELECT g, uuid_generate_v5($1, $2 || '/' || g)
             FROM (SELECT generate_series(0, 20000) AS g
                   UNION ALL SELECT 9223372036854775807) ids",
        )
        .bind(ns.as_uuid())
        .bind(entity)
        .fetch_all(&mut pg)
        .await
        .expect("generate");
        let mapper = Mapper::new(ns, entity).expect("mapper");
        for (id, expected) in rows {
            assert_eq!(mapper.uuid(id as u64), expected, "{entity}/{id}");
        }
    }
    drop(pg);
    drop_pg(&url).await;
}

#[tokio::test]
async fn sync_records_every_id_and_is_idempotent() {
    let magento = magento_store("idsync", "small", 7, Edition::Ce).await;
    let target = pg_database("idsync").await;
    let source = MagentoDsn::parse(&magento).expect("dsn");
    let store = Store::open(&target).await.expect("store");

    let mut chunks = 0;
    let reports = ficus_id_map::sync(
        &source,
        &store,
        &options(DEFAULT_ENTITIES, 97),
        |e| {
            if let SyncEvent::Chunk { .. } = e {
                chunks += 1;
            }
        },
        std::future::pending(),
    )
    .await
    .expect("sync");
    assert!(chunks > 10, "chunks of 97 ids: {chunks}");

    let tables = [
        ("catalog_product", "catalog_product_entity", "entity_id"),
        ("catalog_category", "catalog_category_entity", "entity_id"),
        ("customer", "customer_entity", "entity_id"),
        ("customer_address", "customer_address_entity", "entity_id"),
        ("sales_order", "sales_order", "entity_id"),
        ("sales_order_item", "sales_order_item", "item_id"),
    ];
    let mut pg = PgConnection::connect(&target).await.expect("connect");
    pg.execute("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"")
        .await
        .expect("uuid-ossp");
    for (entity, table, column) in tables {
        let expected = magento_ids(&magento, table, column).await;
        assert!(!expected.is_empty(), "{table} has rows");
        let stored: Vec<(i64,)> =
            sqlx::query_as("SELECT legacy_id FROM ficus_id_map.mapping WHERE entity = $1")
                .bind(entity)
                .fetch_all(&mut pg)
                .await
                .expect("stored");
        let stored: BTreeSet<u64> = stored.into_iter().map(|(id,)| id as u64).collect();
        assert_eq!(stored, expected, "{entity}");
        let report = reports.iter().find(|r| r.entity == entity).expect("report");
        assert_eq!(report.inserted, expected.len() as u64, "{entity}");
    }
    assert_eq!(
        disagreeing_with_postgres(&mut pg, DEFAULT_NAMESPACE.as_uuid()).await,
        0
    );

    // A second run writes nothing.
    let again = sync_quietly(&source, &store, &options(DEFAULT_ENTITIES, 97))
        .await
        .expect("sync again");
    assert!(again.iter().all(|r| r.inserted == 0), "{again:?}");

    // Lose some rows in the middle of chunks: a re-run restores exactly those.
    let lost = pg
        .execute("DELETE FROM ficus_id_map.mapping WHERE entity = 'customer' AND legacy_id % 7 = 3")
        .await
        .expect("delete")
        .rows_affected();
    assert!(lost > 0);
    let repaired = sync_quietly(&source, &store, &options(&["customer"], 50))
        .await
        .expect("repair");
    assert_eq!(repaired[0].inserted, lost);

    // verify: clean, then a tampered uuid and a missing id are both found.
    let all: Vec<String> = DEFAULT_ENTITIES.iter().map(|s| s.to_string()).collect();
    let clean = verify(&source, &store, &all, 100).await.expect("verify");
    assert!(clean.iter().all(|r| r.is_clean()), "{clean:?}");
    pg.execute("UPDATE ficus_id_map.mapping SET uuid = '00000000-0000-4000-8000-000000000001' WHERE entity = 'catalog_product' AND legacy_id = 5")
        .await
        .expect("tamper");
    pg.execute("DELETE FROM ficus_id_map.mapping WHERE entity = 'sales_order' AND legacy_id = 3")
        .await
        .expect("lose");
    let found = verify(&source, &store, &all, 100).await.expect("verify");
    let product = found
        .iter()
        .find(|r| r.entity == "catalog_product")
        .expect("p");
    assert_eq!(product.wrong, 1);
    assert_eq!(product.wrong_examples[0].0, 5);
    let order = found.iter().find(|r| r.entity == "sales_order").expect("o");
    assert_eq!(
        (order.missing, order.missing_examples.clone()),
        (1, vec![3])
    );

    // Another namespace is refused on this store.
    let other = Namespace::new(Uuid::from_u128(1));
    let err = ficus_id_map::verify(&source, &store, other, &all, 100, std::future::pending())
        .await
        .expect_err("namespace");
    assert!(matches!(err, Error::NamespaceMismatch { .. }), "{err}");

    drop(pg);
    drop(store);
    drop_pg(&target).await;
    drop_magento(&magento).await;
}

/// The names of the map's indexes, sorted.
async fn map_indexes(store: &Store) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT indexname::text FROM pg_indexes
         WHERE schemaname = 'ficus_id_map' AND tablename = 'mapping' ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .expect("indexes");
    rows.into_iter().map(|(n,)| n).collect()
}

#[tokio::test]
async fn an_interrupted_first_load_continues_without_loss_or_duplicates() {
    let magento = magento_store("idresume", "small", 7, Edition::Ee).await;
    let target = pg_database("idresume").await;
    let source = MagentoDsn::parse(&magento).expect("dsn");
    let store = Store::open(&target).await.expect("store");
    let keys = vec![
        "mapping_entity_legacy_id_key".to_string(),
        "mapping_pkey".to_string(),
    ];
    assert_eq!(map_indexes(&store).await, keys);

    // Stop after the third committed chunk.
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut chunks = 0;
    let trigger = stop.clone();
    let err = ficus_id_map::sync(
        &source,
        &store,
        &options(&["catalog_product"], 40),
        |e| {
            if let SyncEvent::Chunk { .. } = e {
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
    let Error::Interrupted { committed } = err else {
        panic!("{err}")
    };
    // Chunks are written two at a time: the stop lands after the third or fourth chunk.
    assert!(committed == 120 || committed == 160, "{committed}");

    // The store was empty, so this was a first load: no keys until it completes, and verify
    // refuses to look at a half-built map.
    assert!(map_indexes(&store).await.is_empty());
    let products = vec!["catalog_product".to_string()];
    let refused = verify(&source, &store, &products, 100)
        .await
        .expect_err("verify during the first load");
    assert!(
        matches!(refused, Error::FirstLoadUnfinished(_)),
        "{refused}"
    );

    // A crash can leave a chunk committed ahead of its neighbour: a row past the recorded mark,
    // here with a wrong uuid. Resuming deletes it and writes the id again, once.
    let (mark,): (i64,) = sqlx::query_as(
        "SELECT last_id FROM ficus_id_map.bulk_load WHERE entity = 'catalog_product'",
    )
    .fetch_one(store.pool())
    .await
    .expect("mark");
    let expected = magento_ids(&magento, "catalog_product_entity", "entity_id").await;
    let stored_before: BTreeSet<u64> = expected
        .iter()
        .copied()
        .filter(|id| *id <= mark as u64)
        .collect();
    assert_eq!(stored_before.len() as u64, committed);
    let ahead = *expected
        .iter()
        .find(|id| **id > mark as u64)
        .expect("an id after the mark");
    sqlx::query(
        "INSERT INTO ficus_id_map.mapping (uuid, entity, legacy_id, origin)
         VALUES ('00000000-0000-4000-8000-00000000abcd', 'catalog_product', $1, 'magento')",
    )
    .bind(ahead as i64)
    .execute(store.pool())
    .await
    .expect("orphan row");

    let resumed = sync_quietly(&source, &store, &options(&["catalog_product"], 40))
        .await
        .expect("resume");
    // EE: one row per staged version, one id per product.
    let versions = magento_ids(&magento, "catalog_product_entity", "row_id").await;
    assert!(
        versions.len() > expected.len(),
        "the EE store has staged versions"
    );
    // The resumed run reads only the ids after the mark.
    assert_eq!(resumed[0].ids, expected.len() as u64 - committed);
    assert_eq!(resumed[0].inserted, expected.len() as u64 - committed);
    let stored: Vec<(i64,)> = sqlx::query_as(
        "SELECT legacy_id FROM ficus_id_map.mapping WHERE entity = 'catalog_product'",
    )
    .fetch_all(store.pool())
    .await
    .expect("stored");
    assert_eq!(stored.len(), expected.len(), "no id twice");
    let stored: BTreeSet<u64> = stored.into_iter().map(|(id,)| id as u64).collect();
    assert_eq!(stored, expected);
    assert_eq!(map_indexes(&store).await, keys, "keys built at the end");
    let (loading,): (i64,) = sqlx::query_as("SELECT count(*) FROM ficus_id_map.bulk_load")
        .fetch_one(store.pool())
        .await
        .expect("bulk_load");
    assert_eq!(loading, 0);
    let mut pg = PgConnection::connect(&target).await.expect("connect");
    pg.execute("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"")
        .await
        .expect("uuid-ossp");
    assert_eq!(
        disagreeing_with_postgres(&mut pg, DEFAULT_NAMESPACE.as_uuid()).await,
        0
    );
    let clean = verify(&source, &store, &products, 100)
        .await
        .expect("verify");
    assert!(clean.iter().all(|r| r.is_clean()), "{clean:?}");

    // With rows in the map, a later sync merges under the keys instead of reloading.
    let again = sync_quietly(
        &source,
        &store,
        &options(&["catalog_product", "customer"], 40),
    )
    .await
    .expect("sync more");
    assert_eq!(again[0].inserted, 0);
    let customers = magento_ids(&magento, "customer_entity", "entity_id").await;
    assert_eq!(again[1].inserted, customers.len() as u64);
    assert_eq!(map_indexes(&store).await, keys);

    drop(pg);
    drop(store);
    drop_pg(&target).await;
    drop_magento(&magento).await;
}

#[tokio::test]
async fn service_born_entities_get_v7_and_later_a_legacy_id() {
    let magento = magento_store("idservice", "small", 7, Edition::Ce).await;
    let target = pg_database("idservice").await;
    let store = Store::open(&target).await.expect("store");
    // Running the migrations twice is harmless.
    let store2 = Store::open(&target).await.expect("reopen");
    drop(store2);

    let uuid = store.register_service("customer").await.expect("register");
    assert_eq!(uuid.get_version_num(), 7);
    let row = store.reverse(uuid).await.expect("reverse").expect("found");
    assert_eq!((row.origin, row.legacy_id), (Origin::Service, None));

    // Reverse sync created it in Magento as customer 100000.
    store.assign_legacy_id(uuid, 100_000).await.expect("assign");
    store
        .assign_legacy_id(uuid, 100_000)
        .await
        .expect("same again");
    assert_eq!(
        store.lookup("customer", 100_000).await.expect("lookup"),
        Some(uuid)
    );
    let other = store.register_service("customer").await.expect("register");
    let err = store
        .assign_legacy_id(other, 100_000)
        .await
        .expect_err("taken");
    assert!(
        matches!(err, Error::LegacyIdTaken { existing, .. } if existing == uuid),
        "{err}"
    );

    // Its Magento row now exists: sync keeps the service's uuid, verify does not flag it.
    let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(&magento).expect("o"))
        .await
        .expect("connect");
    conn.query_drop(
        "INSERT INTO customer_entity (entity_id, website_id, email, group_id, store_id, created_in, firstname, lastname)
         VALUES (100000, 1, 'born@service.example', 1, 1, 'Default Store View', 'Born', 'Service')",
    )
    .await
    .expect("insert customer");
    let source = MagentoDsn::parse(&magento).expect("dsn");
    sync_quietly(&source, &store, &options(&["customer"], 64))
        .await
        .expect("sync");
    assert_eq!(
        store.lookup("customer", 100_000).await.expect("lookup"),
        Some(uuid)
    );
    let report = verify(&source, &store, &["customer".to_string()], 64)
        .await
        .expect("verify");
    assert!(report[0].is_clean(), "{report:?}");

    drop(store);
    drop_pg(&target).await;
    drop_magento(&magento).await;
}

#[tokio::test]
async fn unknown_entities_and_tables_are_named() {
    let magento = magento_store("idunknown", "small", 7, Edition::Ce).await;
    let source = MagentoDsn::parse(&magento).expect("dsn");
    let mut conn = source.connect().await.expect("connect");
    let err = ficus_id_map::magento::IdSource::resolve(&mut conn, "order")
        .await
        .expect_err("order");
    assert!(err.to_string().contains("sales_order"), "{err}");
    let err = ficus_id_map::magento::IdSource::resolve(&mut conn, "wishlist")
        .await
        .expect_err("wishlist");
    assert!(
        err.to_string().contains("unknown entity 'wishlist'"),
        "{err}"
    );
    let ok = ficus_id_map::magento::IdSource::resolve(&mut conn, "sales_order_item")
        .await
        .expect("flat");
    assert_eq!(ok.column, "item_id");
    drop(conn);
    drop_magento(&magento).await;
}
