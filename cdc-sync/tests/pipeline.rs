//! cdc-sync end to end on the real MariaDB and PostgreSQL: the `small` store is back-filled into
//! the catalog, customer and order services; the pipeline starts from the back-fill's snapshot
//! position; a workload writes to Magento (store-view overrides and their revert, prices,
//! multiselects, website assignment, a new and a deleted product, a category, a customer and an
//! address, an order's status and history); once the services' checkpoints have passed the
//! workload, every document equals what a fresh back-fill of the changed store holds. Then the
//! pipeline is stopped, more is written, and a new pipeline continues from the checkpoints.

use std::collections::BTreeSet;
use std::time::Duration;

use ficus_cdc_sync::binlog::Position;
use ficus_cdc_sync::pipeline::{self, Options, Targets};
use ficus_eav_extract::SinkSpec;
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use ficus_services::catalog::Catalog;
use ficus_services::customer::Customers;
use ficus_services::load::Kind;
use ficus_services::order::Orders;
use mysql_async::prelude::Queryable;

/// The three services' databases.
struct Services {
    dsns: Vec<String>,
    targets: Targets,
}

impl Services {
    async fn new(name: &str) -> Services {
        let mut dsns = Vec::new();
        for s in ["cat", "cus", "ord"] {
            dsns.push(pg_database(&format!("{name}_{s}")).await);
        }
        let catalog = Catalog::connect(&dsns[0]).await.expect("catalog");
        catalog.migrate().await.expect("migrate");
        let customers = Customers::connect(&dsns[1]).await.expect("customers");
        customers.migrate().await.expect("migrate");
        let orders = Orders::connect(&dsns[2]).await.expect("orders");
        orders.migrate().await.expect("migrate");
        Services {
            dsns,
            targets: Targets {
                catalog: Some(catalog),
                customers: Some(customers),
                orders: Some(orders),
            },
        }
    }

    /// Back-fills from a fresh extract of `magento`; returns the snapshot position.
    async fn backfill(&self, magento: &str, out: &std::path::Path) -> Position {
        let _ = std::fs::remove_file(out);
        for suffix in ["manifest.json", "checkpoint.json"] {
            let _ = std::fs::remove_file(out.with_extension(format!("jsonl.{suffix}")));
        }
        let options = ficus_eav_extract::Options {
            admin: true,
            ..ficus_eav_extract::Options::new(
                MagentoDsn::parse(magento).expect("dsn"),
                SinkSpec::Jsonl(out.to_path_buf()),
            )
        };
        let summary = ficus_eav_extract::extract(&options, |_| {}, std::future::pending())
            .await
            .expect("extract");
        let snap = summary.position.expect("binlog on");
        let at =
            ficus_services::Position::from_binlog(&snap.file, snap.position).expect("position");
        let text = std::fs::read_to_string(out).expect("documents");
        let t = &self.targets;
        for line in text.lines() {
            match Kind::of(line).expect("a document") {
                Kind::Product => {
                    t.catalog
                        .as_ref()
                        .expect("catalog")
                        .upsert_product(line, at)
                        .await
                }
                Kind::Category => {
                    t.catalog
                        .as_ref()
                        .expect("catalog")
                        .upsert_category(line, at)
                        .await
                }
                Kind::Customer => {
                    t.customers
                        .as_ref()
                        .expect("customers")
                        .upsert_customer(line, at)
                        .await
                }
                Kind::Order => {
                    t.orders
                        .as_ref()
                        .expect("orders")
                        .upsert_order(line, at)
                        .await
                }
            }
            .expect("upsert");
        }
        Position {
            file: snap.file,
            pos: snap.position,
        }
    }

    /// Every document the services answer with, by entity and store view.
    async fn documents(&self) -> BTreeSet<(String, String, i64, String)> {
        let mut all = BTreeSet::new();
        let queries = [
            (
                &self.dsns[0],
                "SELECT 'product', s.store_code, s.legacy_id, d.document::text FROM catalog.product_store s
                 JOIN catalog.product_document d ON (d.product, d.store_code) = (s.product, s.store_code)",
            ),
            (
                &self.dsns[0],
                "SELECT 'category', store_code, legacy_id, document::text FROM catalog.category_store",
            ),
            (
                &self.dsns[1],
                "SELECT 'customer', '', c.legacy_id, d.document::text FROM customer.profile c
                 JOIN customer.document d ON d.customer = c.customer",
            ),
            (
                &self.dsns[2],
                "SELECT 'order', '', o.legacy_id, d.document::text FROM sales.order_grid o
                 JOIN sales.order_document d ON d.sales_order = o.sales_order",
            ),
        ];
        for (dsn, sql) in queries {
            let pool = sqlx::PgPool::connect(dsn).await.expect("connect");
            let rows: Vec<(String, String, i64, String)> =
                sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            all.extend(rows);
        }
        all
    }

    async fn drop(self) {
        drop(self.targets);
        for d in &self.dsns {
            drop_pg(d).await;
        }
    }
}

/// The binlog position now.
async fn master(conn: &mut mysql_async::Conn) -> (String, u64) {
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .expect("status")
        .expect("binlog on");
    (row.get(0).expect("file"), row.get(1).expect("pos"))
}

type Running = tokio::task::JoinHandle<Result<(), pipeline::PipelineError>>;

/// Waits until every service's checkpoint has reached `until`; fails if the pipeline stops.
async fn caught_up(targets: &Targets, until: &(String, u64), running: &mut Running) {
    let want = ficus_services::Position::from_binlog(&until.0, until.1).expect("position");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let at = pipeline::resume_point(targets, "binlog")
            .await
            .expect("checkpoints")
            .and_then(|c| c.position());
        if at.is_some_and(|a| a >= want) {
            return;
        }
        if running.is_finished() {
            let result = running.await;
            panic!("the pipeline stopped: {result:?}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not caught up: {at:?} < {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn attribute(conn: &mut mysql_async::Conn, entity: &str, code: &str) -> u32 {
    conn.exec_first(
        "SELECT a.attribute_id FROM eav_attribute a JOIN eav_entity_type t USING (entity_type_id)
         WHERE t.entity_type_code = ? AND a.attribute_code = ?",
        (entity, code),
    )
    .await
    .expect("attribute")
    .expect("attribute exists")
}

fn start(magento: &str, from: Position, server_id: u32) -> Options {
    Options {
        source: MagentoDsn::parse(magento).expect("dsn"),
        server_id,
        name: "binlog".into(),
        start: Some(from),
        namespace: ficus_id_map::DEFAULT_NAMESPACE,
        admin: true,
        batch_entities: 200,
        max_wait: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn changes_reach_the_services_as_a_fresh_backfill_would_have_them() {
    let magento = magento_store("cdcsync", "small", 3, Edition::Ce).await;
    let out = std::env::temp_dir().join(format!("ficus-cdcsync-{}.jsonl", std::process::id()));
    let synced = Services::new("cdcsync").await;
    let from = synced.backfill(&magento, &out).await;
    let server_id = 20_000 + std::process::id() % 40_000;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = start(&magento, from.clone(), server_id);
    let targets = synced.targets.clone();
    let mut running: Running = tokio::spawn(async move {
        pipeline::run(&options, &targets, |_| {}, async {
            let _ = stopped.await;
        })
        .await
    });

    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
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
    caught_up(&synced.targets, &until, &mut running).await;

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
        server_id: server_id + 1,
        ..start(&magento, from, server_id)
    };
    let targets = synced.targets.clone();
    let mut running: Running = tokio::spawn(async move {
        pipeline::run(&options, &targets, |_| {}, async {
            let _ = stopped.await;
        })
        .await
    });
    caught_up(&synced.targets, &until, &mut running).await;
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
