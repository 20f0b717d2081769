//! The catalog service's categories against the real PostgreSQL and MariaDB, over real HTTP:
//! categories by id and lists against eav-extract's documents, and the category tree against a
//! tree computed here straight from Magento's tables by Magento's rules (store-view values over
//! store 0, global attributes from store 0 only, product counts per website, anchors counting
//! their whole subtree).

mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use serde_json::{Value, json};

/// Magento's category data, read straight from its tables.
struct Magento {
    /// id → (parent_id, path, position, level).
    categories: HashMap<u64, (u64, String, i64, i64)>,
    /// name, is_active and is_anchor by Magento's scope rules.
    eav: EavValues,
    /// category → products linked.
    links: HashMap<u64, BTreeSet<u64>>,
    /// product → websites.
    websites: HashMap<u64, BTreeSet<u32>>,
}

impl Magento {
    async fn read(dsn: &str) -> Magento {
        let categories = magento_rows::<(u64, u64, String, i64, i64)>(
            dsn,
            "SELECT entity_id, parent_id, path, position, level FROM catalog_category_entity",
        )
        .await
        .into_iter()
        .map(|(id, p, path, pos, l)| (id, (p, path, pos, l)))
        .collect();
        let eav = EavValues::read(
            dsn,
            "catalog_category",
            &[("varchar", &["name"]), ("int", &["is_active", "is_anchor"])],
        )
        .await;
        let mut links: HashMap<u64, BTreeSet<u64>> = HashMap::new();
        for (c, p) in magento_rows::<(u64, u64)>(
            dsn,
            "SELECT category_id, product_id FROM catalog_category_product",
        )
        .await
        {
            links.entry(c).or_default().insert(p);
        }
        let mut websites: HashMap<u64, BTreeSet<u32>> = HashMap::new();
        for (p, w) in magento_rows::<(u64, u32)>(
            dsn,
            "SELECT product_id, website_id FROM catalog_product_website",
        )
        .await
        {
            websites.entry(p).or_default().insert(w);
        }
        Magento {
            categories,
            eav,
            links,
            websites,
        }
    }

    /// A category's value in store view `store` by Magento's scope rules.
    fn value(&self, id: u64, store: u32, code: &str) -> Option<&str> {
        self.eav.value(id, store, code)
    }

    /// The tree node of `id` in store view `store` of `website`, `depth` levels down.
    fn node(&self, id: u64, store: u32, website: u32, depth: Option<u32>, level: u32) -> Value {
        let (parent, path, position, lvl) = &self.categories[&id];
        let subtree: Vec<u64> = if self.value(id, store, "is_anchor") == Some("1") {
            let prefix = format!("{path}/");
            self.categories
                .iter()
                .filter(|(_, c)| c.1 == *path || c.1.starts_with(&prefix))
                .map(|(i, _)| *i)
                .collect()
        } else {
            vec![id]
        };
        let products: BTreeSet<u64> = subtree
            .iter()
            .flat_map(|c| self.links.get(c).into_iter().flatten())
            .filter(|p| website == 0 || self.websites.get(p).is_some_and(|w| w.contains(&website)))
            .copied()
            .collect();
        let mut children: Vec<(i64, u64)> = self
            .categories
            .iter()
            .filter(|(_, c)| c.0 == id)
            .map(|(i, c)| (c.2, *i))
            .collect();
        children.sort();
        let children: Vec<Value> = if depth.is_none_or(|d| level < d) {
            children
                .iter()
                .map(|(_, c)| self.node(*c, store, website, depth, level + 1))
                .collect()
        } else {
            Vec::new()
        };
        let mut node = json!({ "id": id, "parent_id": parent });
        if let Some(name) = self.value(id, store, "name") {
            node["name"] = name.into();
        }
        if let Some(active) = self.value(id, store, "is_active") {
            node["is_active"] = (active != "0").into();
        }
        node["position"] = (*position).into();
        node["level"] = (*lvl).into();
        node["product_count"] = products.len().into();
        node["children_data"] = children.into();
        node
    }
}

/// The members of a JSON object's text, in order (top level only).
fn keys(object: &str) -> Vec<String> {
    let v: serde_json::Map<String, Value> = serde_json::from_str(object).expect("object");
    let mut found: Vec<(usize, String)> = v
        .keys()
        .map(|k| {
            let needle = format!("{}:", Value::from(k.as_str()));
            (object.find(&needle).expect("key in text"), k.clone())
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, k)| k).collect()
}

#[tokio::test]
async fn categories_answer_by_id_list_and_tree_as_magento() {
    let backfill = Backfill::new("svccats", "multistore").await;
    let catalog = backfill.catalog.clone();
    let addr = serve(catalog.clone(), false).await;
    let lines = backfill.lines_of(Doc::Category);
    assert!(lines.len() > 10, "{} category documents", lines.len());

    // Every category in every store view, by id: exactly its document as Magento answers it.
    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("json");
        let (store, id) = (v["store_code"].as_str().expect("store"), &v["id"]);
        let (status, body) = get(addr, &format!("/rest/{store}/V1/categories/{id}"), ADMIN).await;
        assert_eq!(
            (status, body),
            (200, as_magento_answers(line)),
            "{store} {id}"
        );
    }
    let (status, body) = get(addr, "/rest/default/V1/categories/999999", ADMIN).await;
    assert_eq!(
        (status, body.as_str()),
        (
            404,
            r#"{"message":"No such entity with %fieldName = %fieldValue","parameters":{"fieldName":"id","fieldValue":999999}}"#
        )
    );
    let (status, body) = get(addr, "/rest/default/V1/categories/abc", ADMIN).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(addr, "/rest/default/V1/categories/3", &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (
            401,
            r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Catalog::categories"}}"#
        )
    );

    // The tree of each store view, from its root category, against Magento's tables.
    let magento = Magento::read(&backfill.magento).await;
    let stores = magento_rows::<(u32, String, u32, u64)>(
        &backfill.magento,
        "SELECT s.store_id, s.code, s.website_id, g.root_category_id FROM store s
         JOIN store_group g ON g.group_id = s.group_id WHERE s.store_id <> 0",
    )
    .await;
    let roots: BTreeSet<u64> = stores.iter().map(|s| s.3).collect();
    assert!(roots.len() > 1, "multistore has several roots: {roots:?}");
    let mut counted = 0;
    for (store_id, code, website, root) in &stores {
        let (status, body) = get(addr, &format!("/rest/{code}/V1/categories"), ADMIN).await;
        assert_eq!(status, 200, "{code}: {body}");
        let got: Value = serde_json::from_str(&body).expect("json");
        let want = magento.node(*root, *store_id, *website, None, 0);
        assert_eq!(got, want, "tree of {code}");
        counted += got["product_count"].as_u64().unwrap_or(0);
        assert_eq!(
            keys(&body),
            [
                "id",
                "parent_id",
                "name",
                "is_active",
                "position",
                "level",
                "product_count",
                "children_data"
            ],
            "CategoryTreeInterface's getter order"
        );
        // One level down only; and a subtree from another root.
        let (_, body) = get(addr, &format!("/rest/{code}/V1/categories?depth=1"), ADMIN).await;
        let got: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(got, magento.node(*root, *store_id, *website, Some(1), 0));
        let child = want["children_data"][0]["id"].as_u64().expect("a child");
        let (_, body) = get(
            addr,
            &format!("/rest/{code}/V1/categories?rootCategoryId={child}"),
            ADMIN,
        )
        .await;
        let got: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(got, magento.node(child, *store_id, *website, None, 0));
    }
    assert!(counted > 0, "products are counted");
    // /rest/all/: the admin store, from the top-level category, every website's products.
    let (status, body) = get(addr, "/rest/all/V1/categories", ADMIN).await;
    assert_eq!(status, 200, "{body}");
    let got: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        got,
        magento.node(1, 0, 0, None, 0),
        "the admin store's tree"
    );
    let (status, body) = get(
        addr,
        "/rest/default/V1/categories?rootCategoryId=999999",
        ADMIN,
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // Lists: filters and sorts computed from the documents of store view "default".
    let docs: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|v| v["store_code"] == "default")
        .collect();
    let parent = docs
        .iter()
        .map(|v| v["parent_id"].as_u64().expect("parent"))
        .max_by_key(|p| docs.iter().filter(|v| v["parent_id"] == *p).count())
        .expect("a parent");
    let mut want: Vec<&Value> = docs.iter().filter(|v| v["parent_id"] == parent).collect();
    want.sort_by_key(|v| (std::cmp::Reverse(v["position"].as_i64()), v["id"].as_u64()));
    let query = format!(
        "{}&searchCriteria[sortOrders][0][field]=position&searchCriteria[sortOrders][0][direction]=DESC",
        filter(0, 0, "parent_id", &parent.to_string(), "eq")
    );
    let (status, body) = get(
        addr,
        &format!("/rest/default/V1/categories/list?{query}"),
        ADMIN,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let got: Value = serde_json::from_str(&body).expect("json");
    let want_ids: Vec<u64> = want.iter().map(|v| v["id"].as_u64().expect("id")).collect();
    assert_eq!(ids(&got), want_ids);
    assert_eq!(got["total_count"], want_ids.len());
    let name = docs
        .iter()
        .find_map(|v| v["name"].as_str())
        .expect("a name");
    let prefix: String = name.chars().take(3).collect();
    let want_ids: Vec<u64> = {
        let mut v: Vec<u64> = docs
            .iter()
            .filter(|v| {
                v["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().starts_with(&prefix.to_lowercase()))
            })
            .map(|v| v["id"].as_u64().expect("id"))
            .collect();
        v.sort();
        v
    };
    let query = filter(0, 0, "name", &format!("{}%", prefix.to_uppercase()), "like");
    let (_, body) = get(
        addr,
        &format!("/rest/default/V1/categories/list?{query}"),
        ADMIN,
    )
    .await;
    assert_eq!(ids(&serde_json::from_str(&body).expect("json")), want_ids);
    let query = filter(0, 0, "no_such_attribute", "1", "eq");
    let (status, body) = get(
        addr,
        &format!("/rest/default/V1/categories/list?{query}"),
        ADMIN,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            r#"{"message":"Invalid attribute name: %1","parameters":["no_such_attribute"]}"#
        )
    );
    // Values that select few rows, statistics as autovacuum gathers them (see the products').
    sqlx::query("ANALYZE catalog.category_store")
        .execute(catalog.pool())
        .await
        .expect("analyze");
    for (query, index) in [
        (
            filter(0, 0, "parent_id", "999999", "eq"),
            "category_store_parent",
        ),
        (filter(0, 0, "name", "ab%", "like"), "category_store_name"),
        (filter(0, 0, "entity_id", "5", "eq"), "category_store_id"),
    ] {
        let criteria = ficus_services::search::required(Some(&query)).expect("criteria");
        let plan = catalog
            .explain_categories("default", &criteria)
            .await
            .expect("explain");
        assert!(plan.contains(index), "{query}: {plan}");
    }

    // Ordered by position like products: a delete leaves a tombstone.
    let v: Value = serde_json::from_str(lines[0]).expect("json");
    let uuid: uuid::Uuid = v["uuid"].as_str().expect("uuid").parse().expect("uuid");
    let id = v["id"].as_u64().expect("id");
    let later = ficus_services::Position {
        file: backfill.at.file + 1,
        offset: 4,
    };
    use ficus_services::Applied;
    assert_eq!(
        catalog
            .delete_category(uuid, id, later)
            .await
            .expect("delete"),
        Applied::Written
    );
    assert_eq!(
        catalog
            .upsert_category(lines[0], backfill.at)
            .await
            .expect("older"),
        Applied::Stale
    );
    let store = v["store_code"].as_str().expect("store");
    let (status, _) = get(addr, &format!("/rest/{store}/V1/categories/{id}"), ADMIN).await;
    assert_eq!(status, 404);
    backfill.drop().await;
}
