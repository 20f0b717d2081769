//! Shared helpers for the generator's integration tests: a database per test on the real MariaDB,
//! and checks of Magento's invariants computed from the raw rows.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ficus_magento_fixture::{Dsn, Edition, Options, Profile, Report, create, quote_ident};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

pub use ficus_magento_fixture::testing::{db_name, mysql_server as server};

/// Generates a store into a fresh database; returns the report and a connection to it.
pub async fn generate(test: &str, profile: &str, seed: u64, edition: Edition) -> (Report, Conn) {
    let name = db_name(test);
    let url = format!("{}/{name}", server());
    let options = Options {
        dsn: Dsn::parse(&url).expect("dsn"),
        profile: Profile::by_name(profile).expect("profile"),
        seed,
        edition,
        drop: true,
        log_bin: false,
        workers: 3,
    };
    let report = create(&options, |_| {}, std::future::pending())
        .await
        .expect("generate");
    let conn = Conn::new(mysql_async::Opts::from_url(&url).expect("opts"))
        .await
        .expect("connect");
    (report, conn)
}

/// Drops a test database.
pub async fn drop_db(conn: Conn, name: &str) {
    let mut conn = conn;
    conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(name)))
        .await
        .expect("drop");
    let _ = conn.disconnect().await;
}

pub async fn count(conn: &mut Conn, sql: &str) -> u64 {
    let v: Option<u64> = conn
        .query_first(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    v.unwrap_or(0)
}

pub async fn rows(conn: &mut Conn, sql: &str) -> Vec<Row> {
    conn.query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every unique key holds (the load runs with unique_checks off, so this is worth checking).
pub async fn check_unique_keys(conn: &mut Conn) {
    let keys: Vec<(String, String, String)> = conn
        .query(
            "SELECT table_name, index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) \
             FROM information_schema.statistics WHERE table_schema = DATABASE() AND non_unique = 0 \
             GROUP BY table_name, index_name",
        )
        .await
        .expect("keys");
    assert!(keys.len() > 60, "found {} unique keys", keys.len());
    for (table, index, cols) in keys {
        let not_null: Vec<String> = cols
            .split(',')
            .map(|c| format!("`{c}` IS NOT NULL"))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM `{table}` WHERE {} GROUP BY {cols} HAVING COUNT(*) > 1) d",
            not_null.join(" AND ")
        );
        assert_eq!(
            count(conn, &sql).await,
            0,
            "duplicates in {table}.{index} ({cols})"
        );
    }
}

/// Every foreign key holds (the load runs with foreign_key_checks off).
pub async fn check_foreign_keys(conn: &mut Conn) {
    let fks: Vec<(String, String, String, String)> = conn
        .query(
            "SELECT table_name, column_name, referenced_table_name, referenced_column_name \
             FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL",
        )
        .await
        .expect("fks");
    assert!(fks.len() > 60, "found {} foreign keys", fks.len());
    for (table, col, rtable, rcol) in fks {
        let sql = format!(
            "SELECT COUNT(*) FROM `{table}` c LEFT JOIN `{rtable}` p ON p.`{rcol}` = c.`{col}` \
             WHERE c.`{col}` IS NOT NULL AND p.`{rcol}` IS NULL"
        );
        assert_eq!(
            count(conn, &sql).await,
            0,
            "{table}.{col} has rows without {rtable}.{rcol}"
        );
    }
}

/// Each value row's attribute belongs to the row's entity type and has the table's backend type.
pub async fn check_value_rows_match_attributes(conn: &mut Conn) {
    let entities = [
        ("catalog_product_entity", "catalog_product"),
        ("catalog_category_entity", "catalog_category"),
        ("customer_entity", "customer"),
        ("customer_address_entity", "customer_address"),
    ];
    let mut checked = 0;
    for (table, type_code) in entities {
        for backend in ["int", "varchar", "decimal", "text", "datetime"] {
            let sql = format!(
                "SELECT COUNT(*) FROM `{table}_{backend}` v JOIN eav_attribute a ON a.attribute_id = v.attribute_id \
                 JOIN eav_entity_type t ON t.entity_type_id = a.entity_type_id \
                 WHERE t.entity_type_code <> '{type_code}' OR a.backend_type <> '{backend}'"
            );
            assert_eq!(
                count(conn, &sql).await,
                0,
                "{table}_{backend} holds another type's attributes"
            );
            checked += count(conn, &format!("SELECT COUNT(*) FROM `{table}_{backend}`")).await;
        }
    }
    assert!(checked > 1000, "only {checked} value rows");
}

/// Select values are option ids of their attribute; multiselect values are comma-separated,
/// de-duplicated option ids of their attribute.
pub async fn check_option_values(conn: &mut Conn) {
    let options: Vec<(u32, u32)> = conn
        .query("SELECT attribute_id, option_id FROM eav_attribute_option")
        .await
        .expect("options");
    let mut by_attr: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    for (a, o) in options {
        by_attr.entry(a).or_default().insert(o);
    }
    let mut multiselects = 0;
    for table in [
        "catalog_product_entity_int",
        "catalog_product_entity_text",
        "catalog_product_entity_varchar",
    ] {
        let sql = format!(
            "SELECT v.attribute_id, a.frontend_input, v.value FROM `{table}` v JOIN eav_attribute a USING (attribute_id) \
             WHERE a.frontend_input IN ('select', 'multiselect') AND a.source_model LIKE '%Source%Table' AND v.value IS NOT NULL"
        );
        let got: Vec<(u32, String, String)> = conn.query(sql).await.expect("values");
        for (attr, input, value) in got {
            let allowed = by_attr
                .get(&attr)
                .unwrap_or_else(|| panic!("attribute {attr} has no options"));
            let ids: Vec<u32> = value
                .split(',')
                .map(|s| {
                    s.parse()
                        .unwrap_or_else(|_| panic!("{table}: '{value}' is not option ids"))
                })
                .collect();
            if input == "select" {
                assert_eq!(ids.len(), 1, "{table}: select value '{value}'");
            } else {
                multiselects += 1;
                let distinct: BTreeSet<u32> = ids.iter().copied().collect();
                assert_eq!(
                    distinct.len(),
                    ids.len(),
                    "{table}: repeated option in '{value}'"
                );
            }
            for id in ids {
                assert!(
                    allowed.contains(&id),
                    "{table}: option {id} is not an option of attribute {attr}"
                );
            }
        }
    }
    assert!(multiselects > 0, "no multiselect values");
}

/// Category paths, levels, parents and children counts agree.
pub async fn check_category_tree(conn: &mut Conn, entity_key: &str) {
    let live = if entity_key == "row_id" {
        " WHERE updated_in = 2147483647"
    } else {
        ""
    };
    let cats: Vec<(u32, u32, String, i64, i64)> = conn
        .query(format!("SELECT entity_id, parent_id, path, level, children_count FROM catalog_category_entity{live}"))
        .await
        .expect("categories");
    let paths: Vec<&str> = cats.iter().map(|c| c.2.as_str()).collect();
    for (id, parent, path, level, children) in &cats {
        let parts: Vec<u32> = path
            .split('/')
            .map(|p| p.parse().expect("path segment"))
            .collect();
        assert_eq!(
            parts.last(),
            Some(id),
            "path {path} ends with the category's id"
        );
        assert_eq!(*level as usize, parts.len() - 1, "level of {id}");
        let expected_parent = if parts.len() > 1 {
            parts[parts.len() - 2]
        } else {
            0
        };
        assert_eq!(*parent, expected_parent, "parent of {id}");
        let prefix = format!("{path}/");
        let descendants = paths.iter().filter(|p| p.starts_with(&prefix)).count() as i64;
        assert_eq!(*children, descendants, "children_count of {id}");
    }
}

/// Order numbers: unique per store, issued from the store's sequence table; totals add up.
pub async fn check_orders(conn: &mut Conn) {
    let per_store: Vec<(u32, u64)> = conn
        .query("SELECT store_id, COUNT(*) FROM sales_order GROUP BY store_id")
        .await
        .expect("orders");
    assert!(!per_store.is_empty());
    for (store, n) in per_store {
        assert_eq!(
            count(
                conn,
                &format!("SELECT COUNT(*) FROM sequence_order_{store}")
            )
            .await,
            n,
            "sequence_order_{store}"
        );
        let prefix = if store > 1 {
            store.to_string()
        } else {
            String::new()
        };
        let bad = count(conn, &format!("SELECT COUNT(*) FROM sales_order WHERE store_id = {store} AND increment_id NOT REGEXP '^{prefix}[0-9]{{9}}$'")).await;
        assert_eq!(bad, 0, "increment ids of store {store}");
    }
    let off = count(conn, "SELECT COUNT(*) FROM sales_order WHERE grand_total <> subtotal + discount_amount + tax_amount + shipping_amount").await;
    assert_eq!(off, 0, "grand totals");
    let items_off = count(
        conn,
        "SELECT COUNT(*) FROM sales_order o JOIN (SELECT order_id, SUM(row_total) s, SUM(tax_amount) t FROM sales_order_item \
         WHERE parent_item_id IS NULL GROUP BY order_id) i ON i.order_id = o.entity_id WHERE i.s <> o.subtotal OR i.t <> o.tax_amount",
    )
    .await;
    assert_eq!(items_off, 0, "order subtotals equal their lines");
    let children_without_parent_line = count(
        conn,
        "SELECT COUNT(*) FROM sales_order_item c JOIN sales_order_item p ON p.item_id = c.parent_item_id WHERE p.order_id <> c.order_id OR p.product_type <> 'configurable'",
    )
    .await;
    assert_eq!(children_without_parent_line, 0);
}

/// All the invariants every generated store keeps.
pub async fn check_magento_rules(conn: &mut Conn, entity_key: &str) {
    check_unique_keys(conn).await;
    check_foreign_keys(conn).await;
    check_value_rows_match_attributes(conn).await;
    check_option_values(conn).await;
    check_category_tree(conn, entity_key).await;
    check_orders(conn).await;
    // Customer EAV has no store dimension.
    let store_cols = count(
        conn,
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
         AND table_name LIKE 'customer%entity\\_%' AND column_name = 'store_id'",
    )
    .await;
    assert_eq!(store_cols, 0, "customer value tables have no store_id");
}

/// Store id → website id, and website id → its store views (admin excluded).
pub async fn websites(conn: &mut Conn) -> (HashMap<u32, u32>, BTreeMap<u32, BTreeSet<u32>>) {
    let stores: Vec<(u32, u32)> = conn
        .query("SELECT store_id, website_id FROM store WHERE store_id > 0")
        .await
        .expect("stores");
    let mut of_website: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for (s, w) in &stores {
        of_website.entry(*w).or_default().insert(*s);
    }
    (stores.into_iter().collect(), of_website)
}
