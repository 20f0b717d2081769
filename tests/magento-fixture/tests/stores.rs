//! Generated stores against the real MariaDB: Magento's rules hold for every profile and edition.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use ficus_magento_fixture::Edition;
use mysql_async::prelude::Queryable;

#[tokio::test(flavor = "multi_thread")]
async fn small_store_has_the_profile_sizes_and_obeys_magento_rules() {
    let (report, mut c) = generate("small", "small", 42, Edition::Ce).await;
    // Sizes from the issue: 800 simple + 16 configurable with 24 children each, 30 categories
    // (depth 3) below one root, 10 sets of 5 attributes with 5 values, 200 customers with 2
    // addresses, 80 orders of 2 products.
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM catalog_product_entity").await,
        800 + 16 + 16 * 24
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM catalog_product_entity WHERE type_id = 'configurable'"
        )
        .await,
        16
    );
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM catalog_product_super_link").await,
        16 * 24
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM catalog_category_entity WHERE level >= 2"
        )
        .await,
        30
    );
    assert_eq!(
        count(&mut c, "SELECT MAX(level) - 1 FROM catalog_category_entity").await,
        3
    );
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM eav_attribute_set WHERE entity_type_id = 4 AND attribute_set_name <> 'Default'").await, 10);
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM eav_attribute WHERE entity_type_id = 4 AND attribute_code LIKE 'set%\\_attr%'").await, 50);
    let per_attr: Vec<u64> = c
        .query("SELECT COUNT(*) FROM eav_attribute a JOIN eav_attribute_option o USING (attribute_id) WHERE a.attribute_code LIKE 'set%\\_attr%' GROUP BY a.attribute_id")
        .await
        .unwrap_or_default();
    assert!(
        !per_attr.is_empty() && per_attr.iter().all(|n| *n == 5),
        "{per_attr:?}"
    );
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM customer_entity").await,
        200
    );
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM customer_address_entity").await,
        400
    );
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM sales_order").await, 80);
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM sales_order_item WHERE parent_item_id IS NULL"
        )
        .await,
        160
    );
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM store WHERE store_id > 0").await,
        1
    );
    // The report counts what was written.
    let real = count(
        &mut c,
        "SELECT COUNT(*) FROM catalog_product_entity_varchar",
    )
    .await;
    assert_eq!(report.rows_in("catalog_product_entity_varchar"), real);

    check_magento_rules(&mut c, "entity_id").await;

    // Magento's untidy habits are present: NULL values, values outside the product's set,
    // 6-place decimals, multi-line streets, duplicate option labels.
    assert!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM catalog_product_entity_text WHERE value IS NULL"
        )
        .await
            > 0
    );
    assert!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM catalog_product_entity_decimal WHERE value IS NULL"
        )
        .await
            > 0
    );
    let outside_set = count(
        &mut c,
        "SELECT COUNT(*) FROM catalog_product_entity_varchar v JOIN catalog_product_entity p USING (entity_id) \
         LEFT JOIN eav_entity_attribute ea ON ea.attribute_set_id = p.attribute_set_id AND ea.attribute_id = v.attribute_id \
         WHERE ea.entity_attribute_id IS NULL",
    )
    .await;
    assert!(
        outside_set > 0,
        "no values of attributes outside the product's set"
    );
    let decimal_type: Option<String> = c
        .query_first("SELECT column_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'catalog_product_entity_decimal' AND column_name = 'value'")
        .await
        .unwrap_or_default();
    assert_eq!(decimal_type.as_deref(), Some("decimal(20,6)"));
    let price: Option<String> = c
        .query_first("SELECT CAST(v.value AS CHAR) FROM catalog_product_entity_decimal v JOIN eav_attribute a USING (attribute_id) WHERE a.attribute_code = 'price' AND v.store_id = 0 LIMIT 1")
        .await
        .unwrap_or_default();
    assert!(price.is_some_and(|p| p.split('.').nth(1).map(str::len) == Some(6)));
    assert!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM customer_address_entity WHERE street LIKE '%\\n%'"
        )
        .await
            > 0
    );
    assert!(count(&mut c, "SELECT COUNT(*) FROM (SELECT option_id FROM eav_attribute_option_value GROUP BY option_id, store_id HAVING COUNT(*) > 1) d").await > 0);
    // Multiselects: admin-created in _text, an installer one in _varchar.
    for table in [
        "catalog_product_entity_text",
        "catalog_product_entity_varchar",
    ] {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} v JOIN eav_attribute a USING (attribute_id) WHERE a.frontend_input = 'multiselect' AND v.value LIKE '%,%'"
        );
        assert!(
            count(&mut c, &sql).await > 0,
            "comma-separated multiselects in {table}"
        );
    }
    drop_db(c, &db_name("small")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn multistore_has_store_view_overrides_and_website_fan_out() {
    let (_, mut c) = generate("multistore", "multistore", 42, Edition::Ce).await;
    check_magento_rules(&mut c, "entity_id").await;
    let (website_of, stores_of) = websites(&mut c).await;
    assert_eq!(stores_of.len(), 3);
    assert!(stores_of.values().all(|s| s.len() == 2), "{stores_of:?}");

    // Store-view overrides: a store row that differs from the store 0 default.
    let overrides = count(
        &mut c,
        "SELECT COUNT(*) FROM catalog_product_entity_varchar s JOIN catalog_product_entity_varchar d \
         ON d.entity_id = s.entity_id AND d.attribute_id = s.attribute_id AND d.store_id = 0 \
         JOIN eav_attribute a ON a.attribute_id = s.attribute_id \
         WHERE s.store_id > 0 AND a.attribute_code = 'name' AND s.value <> d.value",
    )
    .await;
    assert!(overrides > 10, "{overrides} name overrides");

    // Website scope: every attribute that is website-scoped (is_global = 2, or a price attribute
    // while catalog/price/scope = 1) has a row in every store view of each website it touches.
    let price_scope: Option<String> = c.query_first("SELECT value FROM core_config_data WHERE path = 'catalog/price/scope' AND scope = 'default'").await.unwrap_or_default();
    assert_eq!(price_scope.as_deref(), Some("1"));
    let mut groups: BTreeMap<(u32, u32), BTreeSet<u32>> = BTreeMap::new();
    for backend in ["int", "varchar", "decimal", "text", "datetime"] {
        let sql = format!(
            "SELECT v.entity_id, v.attribute_id, v.store_id FROM catalog_product_entity_{backend} v \
             JOIN catalog_eav_attribute ca USING (attribute_id) JOIN eav_attribute a USING (attribute_id) \
             WHERE v.store_id > 0 AND (ca.is_global = 2 OR a.backend_model LIKE '%Backend\\\\Price')"
        );
        let got: Vec<(u32, u32, u32)> = c.query(sql).await.expect("website rows");
        for (e, a, s) in got {
            groups.entry((e, a)).or_default().insert(s);
        }
    }
    assert!(
        groups.len() > 20,
        "{} website-scoped overrides",
        groups.len()
    );
    for ((entity, attr), stores) in &groups {
        let touched: BTreeSet<u32> = stores.iter().map(|s| website_of[s]).collect();
        let expected: BTreeSet<u32> = touched
            .iter()
            .flat_map(|w| stores_of[w].iter().copied())
            .collect();
        assert_eq!(
            stores, &expected,
            "entity {entity} attribute {attr}: one row per store view of its websites"
        );
    }

    // Global attributes may carry stale store rows (which Magento ignores).
    let stale = count(
        &mut c,
        "SELECT COUNT(*) FROM catalog_product_entity_decimal v JOIN catalog_eav_attribute ca USING (attribute_id) \
         JOIN eav_attribute a USING (attribute_id) WHERE v.store_id > 0 AND ca.is_global = 1 AND a.backend_model NOT LIKE '%Price'",
    )
    .await;
    assert!(stale > 0, "no stale store rows of global attributes");
    // Store labels for options and attributes.
    assert!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM eav_attribute_option_value WHERE store_id > 0"
        )
        .await
            > 0
    );
    assert!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM eav_attribute_label WHERE store_id > 0"
        )
        .await
            > 0
    );
    // Orders are numbered per store: stores above 1 use their id as prefix.
    assert!(count(&mut c, "SELECT COUNT(DISTINCT store_id) FROM sales_order").await > 1);
    assert!(count(&mut c, "SELECT COUNT(*) FROM sales_order WHERE store_id > 1 AND increment_id LIKE CONCAT(store_id, '%')").await > 0);
    drop_db(c, &db_name("multistore")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_variant_keys_values_by_row_id_with_one_live_version() {
    let (_, mut c) = generate("staging", "multistore", 42, Edition::Ee).await;
    check_magento_rules(&mut c, "row_id").await;
    for backend in ["int", "varchar", "decimal", "text", "datetime"] {
        let cols: Vec<String> = c
            .query(format!("SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'catalog_product_entity_{backend}' ORDER BY ordinal_position"))
            .await
            .expect("columns");
        assert!(
            cols.contains(&"row_id".to_string()) && !cols.contains(&"entity_id".to_string()),
            "{backend}: {cols:?}"
        );
        // Value rows reference existing entity versions.
        let orphans = count(&mut c, &format!("SELECT COUNT(*) FROM catalog_product_entity_{backend} v LEFT JOIN catalog_product_entity e USING (row_id) WHERE e.row_id IS NULL")).await;
        assert_eq!(orphans, 0, "{backend}");
    }
    let flag: Option<String> = c
        .query_first("SELECT flag_data FROM flag WHERE flag_code = 'staging'")
        .await
        .unwrap_or_default();
    let current: u64 = flag
        .as_deref()
        .and_then(|f| {
            f.split('"')
                .find(|s| !s.is_empty() && s.chars().all(|ch| ch.is_ascii_digit()))
        })
        .and_then(|s| s.parse().ok())
        .expect("current version in the staging flag");
    let live = format!("created_in <= {current} AND updated_in > {current}");
    let products = count(&mut c, "SELECT COUNT(*) FROM sequence_product").await;
    assert_eq!(products, 1200);
    assert_eq!(
        count(
            &mut c,
            &format!("SELECT COUNT(DISTINCT entity_id) FROM catalog_product_entity WHERE {live}")
        )
        .await,
        products
    );
    assert_eq!(
        count(
            &mut c,
            &format!("SELECT COUNT(*) FROM catalog_product_entity WHERE {live}")
        )
        .await,
        products,
        "exactly one live version per product"
    );
    assert!(
        count(&mut c, "SELECT COUNT(*) FROM catalog_product_entity").await > products,
        "some products have several versions"
    );
    assert!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM catalog_product_entity WHERE row_id <> entity_id"
        )
        .await
            > 0
    );
    // Versions differ: the live ones carry neither the past nor the scheduled name.
    let live_names_from_other_versions = count(
        &mut c,
        &format!(
            "SELECT COUNT(*) FROM catalog_product_entity e JOIN catalog_product_entity_varchar v USING (row_id) JOIN eav_attribute a USING (attribute_id) \
             WHERE {live} AND a.attribute_code = 'name' AND v.store_id = 0 AND (v.value LIKE '%(last season)' OR v.value LIKE '%(coming soon)')"
        ),
    )
    .await;
    assert_eq!(live_names_from_other_versions, 0);
    assert!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM catalog_product_entity_varchar WHERE value LIKE '%(coming soon)'"
        )
        .await
            > 0
    );
    drop_db(c, &db_name("staging")).await;
}
