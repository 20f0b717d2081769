//! Back-fill through the binaries: `ficus-catalog load`, `ficus-customer load` and
//! `ficus-order load` apply
//! eav-extract's output at its manifest's position, each taking only its own kinds; the result
//! equals the library back-fill's, a second load changes nothing, and bad input is refused
//! naming the file and line.

mod common;

use std::process::Command;

use common::*;
use ficus_magento_fixture::testing::{drop_pg, pg_database};

/// Runs a binary: (success, stderr).
fn run(binary: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(binary).args(args).output().expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A digest of a table's documents, in key order.
async fn digest(dsn: &str, sql: &str) -> (i64, String) {
    let pool = sqlx::PgPool::connect(dsn).await.expect("connect");
    let row: (i64, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&pool)
        .await
        .expect(sql);
    pool.close().await;
    (row.0, row.1.unwrap_or_default())
}

const PRODUCTS: &str = "SELECT count(*), md5(string_agg(concat_ws('|', s.store_code, p.legacy_id, s.legacy_id, d.document::text, s.sku, s.name, s.price, s.status, s.visibility, s.type_id, s.attribute_set_id, s.created_at, s.updated_at, s.attrs::text, s.category_ids::text, s.website_ids::text, s.source_file, s.source_offset), ',' ORDER BY s.store_code, p.legacy_id)) FROM catalog.product_store s JOIN catalog.product p ON p.uuid = s.product JOIN catalog.product_document d ON (d.product, d.store_code) = (s.product, s.store_code)";
const CATEGORIES: &str = "SELECT count(*), md5(string_agg(store_code || legacy_id || document::text, ',' ORDER BY store_code, legacy_id)) FROM catalog.category_store";
const STORES: &str = "SELECT count(*), md5(string_agg(code || ':' || website_id || ':' || root_category_id, ',' ORDER BY code)) FROM catalog.store";
const ORDERS: &str = "SELECT count(*), md5(string_agg(concat_ws('|', o.legacy_id, d.document::text, o.increment_id, o.status, o.grand_total, o.created_at, o.attrs::text, o.source_file, o.source_offset), ',' ORDER BY o.legacy_id)) FROM sales.order_grid o JOIN sales.order_document d ON d.sales_order = o.sales_order";
const CUSTOMERS: &str = "SELECT count(*), md5(string_agg(c.legacy_id || d.document::text || coalesce(c.email, ''), ',' ORDER BY c.legacy_id)) FROM customer.profile c JOIN customer.document d ON d.customer = c.customer";

#[tokio::test]
async fn binaries_load_extracts_as_the_library_does() {
    let backfill = Backfill::new("svcload", "small").await;
    let out = backfill.out.to_str().expect("utf-8").to_string();
    let catalog_db = pg_database("svcload_bin").await;
    let customer_db = pg_database("svcload_bin_cust").await;
    let order_db = pg_database("svcload_bin_ord").await;
    let catalog = env!("CARGO_BIN_EXE_ficus-catalog");
    let customer = env!("CARGO_BIN_EXE_ficus-customer");
    let order = env!("CARGO_BIN_EXE_ficus-order");

    let (ok, err) = run(
        catalog,
        &[
            "--database",
            &catalog_db,
            "load",
            &out,
            "--magento",
            &backfill.magento,
        ],
    );
    assert!(ok, "{err}");
    let products = backfill.lines_of(Doc::Product).len();
    let categories = backfill.lines_of(Doc::Category).len();
    let customers = backfill.lines_of(Doc::Customer).len();
    let orders = backfill.lines_of(Doc::Order).len();
    assert!(
        err.contains(&format!(
            "({} written, 0 stale, skipped {{\"customer\": {customers}, \"order\": {orders}}})",
            products + categories
        )),
        "{err}"
    );
    let (ok, err) = run(customer, &["--database", &customer_db, "load", &out]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("({customers} written, 0 stale")),
        "{err}"
    );
    let (ok, err) = run(order, &["--database", &order_db, "load", &out]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("({orders} written, 0 stale")),
        "{err}"
    );
    for (sql, library, binary) in [
        (PRODUCTS, &backfill.target, &catalog_db),
        (CATEGORIES, &backfill.target, &catalog_db),
        (STORES, &backfill.target, &catalog_db),
        (CUSTOMERS, &backfill.customer_target, &customer_db),
        (ORDERS, &backfill.order_target, &order_db),
    ] {
        let want = digest(library, sql).await;
        assert!(want.0 > 0, "{sql}");
        assert_eq!(digest(binary, sql).await, want, "{sql}");
    }

    // Again: nothing written.
    let (ok, err) = run(catalog, &["--database", &catalog_db, "load", &out]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("(0 written, {} stale", products + categories)),
        "{err}"
    );

    // Bad input: named, non-zero exit.
    let dir = std::env::temp_dir().join(format!("ficus-load-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.jsonl");
    let first = backfill.text.lines().next().expect("a document");
    std::fs::write(&bad, format!("{first}\n{{\"id\":1}}\n")).expect("write");
    let bad = bad.to_str().expect("utf-8");
    let (ok, err) = run(catalog, &["--database", &catalog_db, "load", bad]);
    assert!(!ok);
    assert!(
        err.contains("bad.jsonl.manifest.json"),
        "no manifest: {err}"
    );
    let (ok, err) = run(
        catalog,
        &[
            "--database",
            &catalog_db,
            "load",
            bad,
            "--position",
            "x.000001:4",
        ],
    );
    assert!(!ok);
    assert!(err.contains("bad.jsonl line 2"), "{err}");
    let manifest = format!("{out}.manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let incomplete = dir.join("partial.jsonl");
    std::fs::copy(&out, &incomplete).expect("copy");
    std::fs::write(
        dir.join("partial.jsonl.manifest.json"),
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .expect("write");
    let (ok, err) = run(
        catalog,
        &[
            "--database",
            &catalog_db,
            "load",
            incomplete.to_str().expect("utf-8"),
        ],
    );
    assert!(!ok);
    assert!(err.contains("did not complete"), "{err}");

    let _ = std::fs::remove_dir_all(&dir);
    drop_pg(&catalog_db).await;
    drop_pg(&customer_db).await;
    drop_pg(&order_db).await;
    backfill.drop().await;
}
