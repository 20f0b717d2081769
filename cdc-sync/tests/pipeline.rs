//! cdc-sync end to end on the real MariaDB and PostgreSQL: the `small` store is back-filled into
//! the catalog, customer and order services; the pipeline starts from the back-fill's snapshot
//! position; a workload writes to Magento (store-view overrides and their revert, prices,
//! multiselects, website assignment, a new and a deleted product, a category, a customer and an
//! address, an order's status and history); once the services' checkpoints have passed the
//! workload, every document equals what a fresh back-fill of the changed store holds. Then the
//! pipeline is stopped, more is written, and a new pipeline continues from the checkpoints.

mod common;

use common::*;
use ficus_cdc_sync::pipeline::{self, Options};
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use mysql_async::prelude::Queryable;

type Running = tokio::task::JoinHandle<Result<(), pipeline::PipelineError>>;

/// `alive` for [`caught_up`]: the task's error once it has stopped.
async fn still_running(running: &mut Running) -> Result<(), String> {
    if running.is_finished() {
        return Err(format!("{:?}", running.await));
    }
    Ok(())
}

#[tokio::test]
async fn changes_reach_the_services_as_a_fresh_backfill_would_have_them() {
    let magento = magento_store("cdcsync", "small", 3, Edition::Ce).await;
    let out = std::env::temp_dir().join(format!("ficus-cdcsync-{}.jsonl", std::process::id()));
    let synced = Services::new("cdcsync").await;
    let from = synced.backfill(&magento, &out).await;
    let server_id = 20_000 + std::process::id() % 40_000;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = common::options(&magento, from.clone(), server_id);
    let targets = synced.targets.clone();
    let mut running: Running = tokio::spawn(async move {
        pipeline::run(&options, &targets, |_| {}, async {
            let _ = stopped.await;
        })
        .await
    });

    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    // Nothing written yet: the idle binlog's heartbeats move the checkpoints to its end.
    let idle = master(&mut conn).await;
    caught_up(&synced.targets, &idle, async || {
        still_running(&mut running).await
    })
    .await;
    let name = attribute(&mut conn, "catalog_product", "name").await;
    let price = attribute(&mut conn, "catalog_product", "price").await;
    let cat_name = attribute(&mut conn, "catalog_category", "name").await;
    let products: Vec<u32> = conn
        .query("SELECT entity_id FROM catalog_product_entity ORDER BY entity_id LIMIT 8")
        .await
        .expect("products");
    let store: u32 = conn
        .query_first("SELECT store_id FROM store WHERE store_id > 0 ORDER BY store_id")
        .await
        .expect("store")
        .expect("a store view");
    // One product save across three tables, as Magento's admin does it.
    conn.query_drop("START TRANSACTION").await.expect("begin");
    conn.exec_drop(
        "INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value)
         VALUES (?, ?, ?, 'Store-view name') ON DUPLICATE KEY UPDATE value = VALUES(value)",
        (name, store, products[0]),
    )
    .await
    .expect("override");
    conn.exec_drop(
        "UPDATE catalog_product_entity_decimal SET value = 1234.567800
         WHERE attribute_id = ? AND entity_id = ? AND store_id = 0",
        (price, products[0]),
    )
    .await
    .expect("price");
    conn.exec_drop(
        "UPDATE catalog_product_entity SET updated_at = '2026-12-01 10:00:00' WHERE entity_id = ?",
        (products[0],),
    )
    .await
    .expect("touch");
    conn.query_drop("COMMIT").await.expect("commit");
    // "Use default value": the store-view row of another product goes.
    conn.exec_drop(
        "INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value)
         VALUES (?, ?, ?, 'Soon reverted') ON DUPLICATE KEY UPDATE value = VALUES(value)",
        (name, store, products[1]),
    )
    .await
    .expect("override");
    conn.exec_drop(
        "DELETE FROM catalog_product_entity_varchar WHERE attribute_id = ? AND store_id = ? AND entity_id = ?",
        (name, store, products[1]),
    )
    .await
    .expect("revert");
    // A multiselect's options change.
    let multi: Option<(u32, u32, String)> = conn
        .query_first(
            "SELECT v.attribute_id, v.entity_id, v.value FROM catalog_product_entity_text v
             JOIN eav_attribute a USING (attribute_id)
             WHERE a.frontend_input = 'multiselect' AND v.store_id = 0 AND v.value IS NOT NULL LIMIT 1",
        )
        .await
        .expect("multiselect");
    let (m_attr, m_entity, _) = multi.expect("a multiselect value");
    let options: Vec<u32> = conn
        .exec("SELECT option_id FROM eav_attribute_option WHERE attribute_id = ? ORDER BY option_id DESC LIMIT 2", (m_attr,))
        .await
        .expect("options");
    let joined: Vec<String> = options.iter().map(u32::to_string).collect();
    conn.exec_drop(
        "UPDATE catalog_product_entity_text SET value = ? WHERE attribute_id = ? AND entity_id = ? AND store_id = 0",
        (joined.join(","), m_attr, m_entity),
    )
    .await
    .expect("multiselect");
    // Website assignment, a deleted product, a new product.
    conn.exec_drop(
        "DELETE FROM catalog_product_website WHERE product_id = ?",
        (products[2],),
    )
    .await
    .expect("unassign");
    conn.exec_drop(
        "DELETE FROM catalog_product_entity WHERE entity_id = ?",
        (products[3],),
    )
    .await
    .expect("delete product");
    conn.query_drop("START TRANSACTION").await.expect("begin");
    conn.query_drop(
        "INSERT INTO catalog_product_entity (attribute_set_id, type_id, sku, created_at, updated_at)
         SELECT attribute_set_id, 'simple', 'cdc-new-1', '2026-12-01 10:00:00', '2026-12-01 10:00:00'
         FROM catalog_product_entity ORDER BY entity_id LIMIT 1",
    )
    .await
    .expect("new product");
    let new_id: u32 = conn
        .query_first("SELECT LAST_INSERT_ID()")
        .await
        .expect("id")
        .expect("id");
    conn.exec_drop(
        "INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value) VALUES (?, 0, ?, 'Brand new')",
        (name, new_id),
    )
    .await
    .expect("name");
    conn.exec_drop(
        "INSERT INTO catalog_product_website (product_id, website_id) SELECT ?, website_id FROM store_website WHERE website_id > 0",
        (new_id,),
    )
    .await
    .expect("websites");
    conn.query_drop("COMMIT").await.expect("commit");
    // A category renamed; a customer renamed with a new address; an order moved on.
    conn.exec_drop(
        "UPDATE catalog_category_entity_varchar SET value = 'Renamed by CDC'
         WHERE attribute_id = ? AND store_id = 0 AND entity_id = (SELECT MAX(entity_id) FROM catalog_category_entity)",
        (cat_name,),
    )
    .await
    .expect("category");
    let customer: u32 = conn
        .query_first("SELECT MIN(entity_id) FROM customer_entity")
        .await
        .expect("customer")
        .expect("a customer");
    conn.query_drop("START TRANSACTION").await.expect("begin");
    conn.exec_drop(
        "UPDATE customer_entity SET firstname = 'Renamed' WHERE entity_id = ?",
        (customer,),
    )
    .await
    .expect("customer");
    conn.exec_drop(
        "INSERT INTO customer_address_entity (parent_id, city, country_id, firstname, lastname, postcode, street, telephone)
         VALUES (?, 'Lyon', 'FR', 'Renamed', 'Person', '69001', '1 Rue Neuve\nBât. B', '+33 4 00 00 00 00')",
        (customer,),
    )
    .await
    .expect("address");
    conn.query_drop("COMMIT").await.expect("commit");
    let order: u32 = conn
        .query_first("SELECT MIN(entity_id) FROM sales_order")
        .await
        .expect("order")
        .expect("an order");
    conn.query_drop("START TRANSACTION").await.expect("begin");
    conn.exec_drop(
        "UPDATE sales_order SET status = 'holded', state = 'holded', updated_at = '2026-12-01 11:00:00' WHERE entity_id = ?",
        (order,),
    )
    .await
    .expect("order");
    conn.exec_drop(
        "INSERT INTO sales_order_status_history (parent_id, is_customer_notified, is_visible_on_front, comment, status, created_at, entity_name)
         VALUES (?, 0, 0, 'Put on hold by CDC', 'holded', '2026-12-01 11:00:00', 'order')",
        (order,),
    )
    .await
    .expect("history");
    conn.query_drop("COMMIT").await.expect("commit");

    let until = master(&mut conn).await;
    caught_up(&synced.targets, &until, async || {
        still_running(&mut running).await
    })
    .await;

    let fresh = Services::new("cdcsync_fresh").await;
    fresh.backfill(&magento, &out).await;
    let (got, want) = (synced.documents().await, fresh.documents().await);
    let only_synced: Vec<_> = got.difference(&want).take(3).collect();
    let only_fresh: Vec<_> = want.difference(&got).take(3).collect();
    assert!(
        only_synced.is_empty() && only_fresh.is_empty(),
        "synced but not fresh: {only_synced:#?}\nfresh but not synced: {only_fresh:#?}"
    );
    assert!(got.iter().any(|(_, _, _, d)| d.contains("Store-view name")));
    assert!(
        got.iter()
            .any(|(_, _, _, d)| d.contains("Put on hold by CDC"))
    );
    assert!(
        !got.iter()
            .any(|(k, _, id, _)| k == "product" && *id == products[3] as i64),
        "deleted"
    );

    // Stopped, then more changes: a new pipeline continues from the checkpoints.
    stop.send(()).expect("stop");
    running.await.expect("task").expect("pipeline");
    conn.exec_drop(
        "UPDATE catalog_product_entity_varchar SET value = 'After the restart' WHERE attribute_id = ? AND entity_id = ? AND store_id = 0",
        (name, products[4]),
    )
    .await
    .expect("rename");
    conn.exec_drop(
        "UPDATE customer_entity SET lastname = 'Later' WHERE entity_id = ?",
        (customer,),
    )
    .await
    .expect("customer");
    let until = master(&mut conn).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // No start position: it must come from the checkpoints.
    let options = Options {
        start: None,
        start_gtid: None,
        server_id: server_id + 1,
        ..common::options(&magento, from, server_id)
    };
    let targets = synced.targets.clone();
    let mut running: Running = tokio::spawn(async move {
        pipeline::run(&options, &targets, |_| {}, async {
            let _ = stopped.await;
        })
        .await
    });
    caught_up(&synced.targets, &until, async || {
        still_running(&mut running).await
    })
    .await;
    let refreshed = Services::new("cdcsync_again").await;
    refreshed.backfill(&magento, &out).await;
    assert_eq!(synced.documents().await, refreshed.documents().await);
    stop.send(()).expect("stop");
    running.await.expect("task").expect("pipeline");

    drop(conn);
    pool.disconnect().await.expect("disconnect");
    for s in [synced, fresh, refreshed] {
        s.drop().await;
    }
    let _ = std::fs::remove_file(&out);
    drop_magento(&magento).await;
}
