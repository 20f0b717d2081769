//! A batch written through two lanes (two PostgreSQL transactions per service) when one lane
//! fails: the checkpoint stays before the batch, whatever the other lane committed, and once
//! the fault is gone a new run brings every document to what a fresh back-fill holds.

mod common;

use std::time::Duration;

use common::*;
use ficus_cdc_sync::binlog::Position;
use ficus_cdc_sync::pipeline::{self, Options};
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use mysql_async::prelude::Queryable;

/// Every product in one batch, split between the two lanes.
fn one_batch(magento: &str, from: Position, server_id: u32) -> Options {
    Options {
        batch_entities: 100_000,
        max_wait: Duration::from_millis(200),
        ..common::options(magento, from, server_id)
    }
}

async fn catalog_sql(dsn: &str, sql: &str) {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(dsn).await.expect("catalog");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut c)
        .await
        .expect(sql);
}

#[tokio::test]
async fn a_failing_lane_keeps_the_checkpoint_before_its_batch() {
    let magento = magento_store("cdclanes", "small", 11, Edition::Ce).await;
    let out = std::env::temp_dir().join(format!("ficus-cdclanes-{}.jsonl", std::process::id()));
    let synced = Services::new("cdclanes").await;
    let from = synced.backfill(&magento, &out).await;
    let server_id = 30_000 + std::process::id() % 30_000;
    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    let name = attribute(&mut conn, "catalog_product", "name").await;
    let products: Vec<u32> = conn
        .query("SELECT entity_id FROM catalog_product_entity ORDER BY entity_id")
        .await
        .expect("products");
    assert!(products.len() >= 4, "{} products", products.len());
    // The last product is in the second lane's piece; PostgreSQL refuses to write it.
    let refused = *products.last().expect("a product");
    catalog_sql(
        &synced.dsns[0],
        &format!(
            "CREATE FUNCTION catalog.lanes_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'refused by the lanes test'; END $$;
             CREATE TRIGGER lanes_test_refuse BEFORE UPDATE ON catalog.product_store
               FOR EACH ROW WHEN (NEW.legacy_id = {refused})
               EXECUTE FUNCTION catalog.lanes_test_refuse();"
        ),
    )
    .await;
    // One transaction renames every product.
    conn.exec_drop(
        "UPDATE catalog_product_entity_varchar SET value = CONCAT('Lanes ', entity_id)
         WHERE attribute_id = ? AND store_id = 0",
        (name,),
    )
    .await
    .expect("rename");
    let until = master(&mut conn).await;
    let want = ficus_services::Position::from_binlog(&until.0, until.1).expect("position");

    let outcome = tokio::time::timeout(
        Duration::from_secs(90),
        pipeline::run(
            &one_batch(&magento, from.clone(), server_id),
            &synced.targets,
            |_| {},
            std::future::pending(),
        ),
    )
    .await
    .expect("the pipeline stops on the refused write");
    let error = outcome.expect_err("a refused write stops the pipeline");
    assert!(
        format!("{error:?}").contains("refused by the lanes test"),
        "{error:?}"
    );
    let held = pipeline::resume_point(&synced.targets, "binlog")
        .await
        .expect("checkpoints")
        .and_then(|c| c.position());
    assert!(
        held.is_none_or(|h| h < want),
        "the checkpoint {held:?} passed the batch ending at {want:?}"
    );
    let refused_docs = synced
        .documents()
        .await
        .into_iter()
        .filter(|(kind, _, id, _)| kind == "product" && *id == i64::from(refused))
        .collect::<Vec<_>>();
    assert!(!refused_docs.is_empty());
    assert!(
        refused_docs
            .iter()
            .all(|(_, _, _, doc)| !doc.contains(&format!("Lanes {refused}"))),
        "the refused lane's writes were rolled back"
    );

    // The fault gone, a new run continues from what the services hold.
    catalog_sql(
        &synced.dsns[0],
        "DROP TRIGGER lanes_test_refuse ON catalog.product_store",
    )
    .await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let targets = synced.targets.clone();
    let run_options = one_batch(&magento, from, server_id + 1);
    let mut running = tokio::spawn(async move {
        pipeline::run(&run_options, &targets, |_| {}, async {
            let _ = stopped.await;
        })
        .await
    });
    caught_up(&synced.targets, &until, async || {
        if running.is_finished() {
            return Err(format!("{:?}", (&mut running).await));
        }
        Ok(())
    })
    .await;
    stop.send(()).expect("stop");
    running.await.expect("task").expect("pipeline");
    let fresh = Services::new("cdclanes_fresh").await;
    fresh.backfill(&magento, &out).await;
    let (got, want) = (synced.documents().await, fresh.documents().await);
    assert!(
        got.iter().any(|(kind, _, id, d)| kind == "product"
            && *id == i64::from(refused)
            && d.contains(&format!("Lanes {refused}"))),
        "the refused product is renamed after the fault is gone"
    );
    let only_synced: Vec<_> = got.difference(&want).take(3).collect();
    let only_fresh: Vec<_> = want.difference(&got).take(3).collect();
    assert!(
        only_synced.is_empty() && only_fresh.is_empty(),
        "synced but not fresh: {only_synced:#?}\nfresh but not synced: {only_fresh:#?}"
    );

    drop(conn);
    pool.disconnect().await.expect("disconnect");
    for s in [synced, fresh] {
        s.drop().await;
    }
    let _ = std::fs::remove_file(&out);
    drop_magento(&magento).await;
}
