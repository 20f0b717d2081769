//! The catalog service against the real PostgreSQL and MariaDB, over real HTTP: a generated
//! multistore Magento is back-filled with eav-extract's documents through the write API, then
//! every product is read back per store view through the routes.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::*;
use ficus_services::Position;
use ficus_services::catalog::{Applied, Error};
use ficus_services::http::{IDENTITY_HEADER, SECRET_HEADER};
use futures_util::StreamExt;
use serde_json::Value;

/// Products as Magento's tables and rules give them, read here without eav-extract or the
/// service: entity columns, a few EAV attributes by Magento's scope rules, websites and
/// category links.
struct MagentoProducts {
    /// id → (sku, type_id, attribute_set_id, created_at, updated_at).
    entities: BTreeMap<u64, (String, String, u32, String, String)>,
    /// name, status, visibility and price by Magento's scope rules.
    eav: EavValues,
    websites: BTreeMap<u64, Vec<u64>>,
    /// product → (category_id, position), sorted.
    links: BTreeMap<u64, Vec<(u64, i64)>>,
    /// store code → store_id.
    stores: BTreeMap<String, u32>,
}

impl MagentoProducts {
    async fn read(dsn: &str) -> MagentoProducts {
        let entities = magento_rows::<(u64, String, String, u32, String, String)>(
            dsn,
            "SELECT entity_id, sku, type_id, attribute_set_id, CAST(created_at AS CHAR),
               CAST(updated_at AS CHAR) FROM catalog_product_entity",
        )
        .await
        .into_iter()
        .map(|(id, sku, t, set, c, u)| (id, (sku, t, set, c, u)))
        .collect();
        let price_per_website = magento_rows::<(String,)>(
            dsn,
            "SELECT value FROM core_config_data WHERE path = 'catalog/price/scope' AND scope_id = 0",
        )
        .await
        .first()
        .is_some_and(|(v,)| v == "1");
        let mut eav = EavValues::read(
            dsn,
            "catalog_product",
            &[
                ("varchar", &["name"]),
                ("int", &["status", "visibility"]),
                ("decimal", &["price"]),
            ],
        )
        .await;
        // With catalog/price/scope = 1 Magento treats price as website-scoped.
        if price_per_website {
            eav.global.insert("price".into(), false);
        }
        let mut websites: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (p, w) in magento_rows::<(u64, u64)>(
            dsn,
            "SELECT product_id, website_id FROM catalog_product_website ORDER BY website_id",
        )
        .await
        {
            websites.entry(p).or_default().push(w);
        }
        let mut links: BTreeMap<u64, Vec<(u64, i64)>> = BTreeMap::new();
        for (p, c, pos) in magento_rows::<(u64, u64, i64)>(
            dsn,
            "SELECT product_id, category_id, position FROM catalog_category_product",
        )
        .await
        {
            links.entry(p).or_default().push((c, pos));
        }
        for l in links.values_mut() {
            l.sort();
        }
        let stores = magento_rows::<(String, u32)>(dsn, "SELECT code, store_id FROM store")
            .await
            .into_iter()
            .collect();
        MagentoProducts {
            entities,
            eav,
            websites,
            links,
            stores,
        }
    }

    /// Checks the fields of `answer` (the service's product in store view `code`) that
    /// Magento's tables give directly.
    fn check(&self, code: &str, answer: &Value) {
        let id = answer["id"].as_u64().expect("id");
        let store = self.stores[code];
        let (sku, type_id, set, created, updated) = &self.entities[&id];
        let what = format!("product {id} in {code}");
        assert_eq!(answer["sku"], *sku, "{what}");
        assert_eq!(answer["type_id"], *type_id, "{what}");
        assert_eq!(answer["attribute_set_id"], *set, "{what}");
        assert_eq!(answer["created_at"], *created, "{what}");
        assert_eq!(answer["updated_at"], *updated, "{what}");
        assert_eq!(
            answer.get("name").and_then(Value::as_str),
            self.eav.value(id, store, "name"),
            "{what}: name"
        );
        for code in ["status", "visibility"] {
            let want = self
                .eav
                .value(id, store, code)
                .map(|v| v.parse::<i64>().expect("int"));
            assert_eq!(
                answer.get(code).and_then(Value::as_i64),
                want,
                "{what}: {code}"
            );
        }
        let want = self
            .eav
            .value(id, store, "price")
            .map(|v| v.parse::<f64>().expect("decimal"));
        assert_eq!(
            answer.get("price").and_then(Value::as_f64),
            want,
            "{what}: price"
        );
        let ext = &answer["extension_attributes"];
        let got: Vec<u64> = ext["website_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        assert_eq!(
            got,
            self.websites.get(&id).cloned().unwrap_or_default(),
            "{what}"
        );
        let mut got: Vec<(u64, i64)> = ext["category_links"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| {
                        let c = l["category_id"].as_str().expect("category ids are strings");
                        (
                            c.parse().expect("id"),
                            l["position"].as_i64().expect("position"),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        got.sort();
        assert_eq!(
            got,
            self.links.get(&id).cloned().unwrap_or_default(),
            "{what}"
        );
    }
}

#[tokio::test]
async fn backfilled_products_answer_in_magentos_shape_per_store_view() {
    let backfill = Backfill::new("svccat", "multistore").await;
    let (catalog, at) = (backfill.catalog.clone(), backfill.at);
    let lines = backfill.lines();
    assert!(lines.len() > 100, "{} documents", lines.len());
    // First writes of one product's store views racing each other all land.
    let racing = ficus_magento_fixture::testing::pg_database("svccat_race").await;
    let fresh = ficus_services::catalog::Catalog::connect(&racing)
        .await
        .expect("connect");
    fresh.migrate().await.expect("migrate");
    let results: Vec<_> = futures_util::stream::iter(lines.iter().map(|line| {
        let fresh = fresh.clone();
        let line = line.to_string();
        async move { fresh.upsert_product(&line, at).await }
    }))
    .buffer_unordered(16)
    .collect()
    .await;
    for r in results {
        assert_eq!(r.expect("concurrent first writes"), Applied::Written);
    }
    drop(fresh);
    ficus_magento_fixture::testing::drop_pg(&racing).await;

    // A replay of the back-fill changes nothing.
    assert_eq!(
        catalog.upsert_product(lines[0], at).await.expect("replay"),
        Applied::Stale
    );

    let addr = serve(catalog.clone(), false).await;
    let magento = MagentoProducts::read(&backfill.magento).await;
    let mut stores = std::collections::BTreeSet::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("json");
        let (store, sku) = (
            v["store_code"].as_str().expect("test value"),
            v["sku"].as_str().expect("test value"),
        );
        stores.insert(store.to_string());
        let (status, body) = get(
            addr,
            &format!("/rest/{store}/V1/products/{}", segment(sku)),
            ADMIN,
        )
        .await;
        assert_eq!(status, 200, "{store} {sku}: {body}");
        assert_eq!(body, as_magento_answers(line), "{store} {sku}");
        magento.check(store, &serde_json::from_str(&body).expect("json"));
        if store == "admin" {
            let (status, all) = get(
                addr,
                &format!("/rest/all/V1/products/{}", segment(sku)),
                ADMIN,
            )
            .await;
            assert_eq!(
                (status, all),
                (200, body.clone()),
                "/rest/all/ is the admin store"
            );
        }
        if store == "default" {
            let (status, plain) =
                get(addr, &format!("/rest/V1/products/{}", segment(sku)), ADMIN).await;
            assert_eq!((status, plain), (200, body), "default store view");
        }
    }
    assert!(stores.len() > 1, "multistore: {stores:?}");
    assert!(
        stores.contains("admin"),
        "the back-fill includes the admin store"
    );

    // Magento finds a SKU whatever its case.
    let v: Value = serde_json::from_str(lines[0]).expect("json");
    let (store, sku) = (
        v["store_code"].as_str().expect("test value"),
        v["sku"].as_str().expect("test value"),
    );
    let upper = segment(&sku.to_uppercase());
    let lower = segment(&sku.to_lowercase());
    for s in [&upper, &lower] {
        let (status, _) = get(addr, &format!("/rest/{store}/V1/products/{s}"), ADMIN).await;
        assert_eq!(status, 200);
    }

    // Partial responses (`fields=`): only the members named, in the document's order.
    let (status, body) = get(
        addr,
        &format!(
            "/rest/{store}/V1/products/{}?fields=name,sku,extension_attributes[website_ids]",
            segment(sku)
        ),
        ADMIN,
    )
    .await;
    assert_eq!(status, 200);
    let want = format!(
        r#"{{"sku":{},"name":{},"extension_attributes":{{"website_ids":{}}}}}"#,
        v["sku"], v["name"], v["extension_attributes"]["website_ids"]
    );
    assert_eq!(body, want);
    let (_, body) = get(
        addr,
        &format!(
            "/rest/{store}/V1/products?searchCriteria[pageSize]=2&fields=total_count,items[sku]"
        ),
        ADMIN,
    )
    .await;
    let got: Value = serde_json::from_str(&body).expect("json");
    assert!(body.starts_with(r#"{"items":[{"sku":"#), "{body}");
    assert_eq!(got["items"].as_array().map(Vec::len), Some(2), "{body}");
    assert!(got["total_count"].as_u64().is_some_and(|n| n > 2), "{body}");
    assert!(got.get("search_criteria").is_none(), "{body}");
    for bad in ["sku%20name", "items%5Bsku"] {
        let (status, body) = get(
            addr,
            &format!("/rest/{store}/V1/products/{}?fields={bad}", segment(sku)),
            ADMIN,
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "[]"), "{bad}");
    }
    let (status, body) = get(
        addr,
        "/rest/default/V1/products/no-such-sku?fields=sku",
        ADMIN,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (404, NOT_FOUND),
        "errors are not filtered"
    );

    // Errors in Magento's bodies.
    let (status, body) = get(addr, "/rest/default/V1/products/no-such-sku", ADMIN).await;
    assert_eq!((status, body.as_str()), (404, NOT_FOUND));
    let (status, body) = get(addr, "/rest/nowhere/V1/products/x", ADMIN).await;
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"message":"Request does not match any route."}"#)
    );
    let path = format!("/rest/{store}/V1/products/{}", segment(sku));
    let (status, body) = get(addr, &path, &[]).await;
    assert_eq!(status, 401, "a guest without guest access");
    assert_eq!(
        body,
        r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Catalog::products"}}"#
    );
    let (status, _) = get(
        addr,
        &path,
        &[(SECRET_HEADER, "guess"), (IDENTITY_HEADER, "admin")],
    )
    .await;
    assert_eq!(status, 401, "a wrong gateway secret");
    let (status, _) = get(addr, &path, &[(IDENTITY_HEADER, "admin")]).await;
    assert_eq!(status, 401, "an identity without the secret is a guest");
    let open = serve(catalog.clone(), true).await;
    let (status, _) = get(open, &path, &[]).await;
    assert_eq!(status, 200, "guest access switched on");
    let (status, body) = get(addr, "/healthz", &[]).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, _) = get(addr, "/readyz", &[]).await;
    assert_eq!(status, 200);

    // Ordered by position: an older change is ignored, a delete leaves a tombstone that older
    // upserts cannot pass, a newer upsert brings the product back.
    let uuid: uuid::Uuid = v["uuid"]
        .as_str()
        .expect("test value")
        .parse()
        .expect("test value");
    let id = v["id"].as_u64().expect("test value");
    let older = Position {
        file: at.file,
        offset: at.offset.saturating_sub(1),
    };
    let later = |n| Position {
        file: at.file + 1,
        offset: n,
    };
    let renamed = lines[0].replacen(
        &format!("\"name\":{}", v["name"]),
        "\"name\":\"Renamed\"",
        1,
    );
    assert_ne!(renamed, lines[0]);
    assert_eq!(
        catalog
            .upsert_product(&renamed, older)
            .await
            .expect("older"),
        Applied::Stale
    );
    let (_, body) = get(addr, &path, ADMIN).await;
    assert_eq!(body, as_magento_answers(lines[0]));
    assert_eq!(
        catalog
            .delete_product(uuid, id, later(10))
            .await
            .expect("delete"),
        Applied::Written
    );
    let (status, body) = get(addr, &path, ADMIN).await;
    assert_eq!((status, body.as_str()), (404, NOT_FOUND));
    assert_eq!(
        catalog
            .upsert_product(&renamed, later(5))
            .await
            .expect("late"),
        Applied::Stale
    );
    assert_eq!(
        catalog
            .delete_product(uuid, id, later(10))
            .await
            .expect("again"),
        Applied::Stale
    );
    let (status, _) = get(addr, &path, ADMIN).await;
    assert_eq!(status, 404);
    // The batch write keeps the same order: older than the tombstone, nothing.
    assert_eq!(
        catalog
            .upsert_products(&[renamed.clone(), lines[0].to_string()], later(7))
            .await
            .expect("late batch"),
        (0, 2)
    );
    let (status, _) = get(addr, &path, ADMIN).await;
    assert_eq!(status, 404, "a batch older than the delete changes nothing");
    assert_eq!(
        catalog
            .upsert_product(&renamed, later(20))
            .await
            .expect("newer"),
        Applied::Written
    );
    let (status, body) = get(addr, &path, ADMIN).await;
    assert_eq!(status, 200);
    assert_eq!(body, as_magento_answers(&renamed));
    assert!(body.contains("\"name\":\"Renamed\""));

    // A newer batch: its last document for a product and store view wins; the rest of the
    // batch is stale against it.
    let (status, body) = get(addr, &path, ADMIN).await;
    assert_eq!((status, body), (200, as_magento_answers(&renamed)));
    assert_eq!(
        catalog
            .upsert_products(&[renamed.clone(), lines[0].to_string()], later(25))
            .await
            .expect("newer batch"),
        (1, 1)
    );
    let (_, body) = get(addr, &path, ADMIN).await;
    assert_eq!(body, as_magento_answers(lines[0]));
    let (index, err) = catalog
        .upsert_products(
            &[lines[0].to_string(), r#"{"sku":"x"}"#.to_string()],
            later(26),
        )
        .await
        .expect_err("a bad document in a batch");
    assert_eq!(index, Some(1), "{err}");

    // A document that is not one is refused, naming why.
    let err = catalog
        .upsert_product(r#"{"sku":"x"}"#, later(30))
        .await
        .expect_err("bad document");
    assert!(matches!(err, Error::BadDocument { .. }), "{err}");
    assert!(err.to_string().contains("uuid"), "{err}");

    backfill.drop().await;
}

/// `GET /rest/<store>/V1/products?<query>` as an admin: (status, body as JSON).
async fn list(addr: SocketAddr, store: &str, query: &str) -> (u16, Value) {
    let (status, body) = get(addr, &format!("/rest/{store}/V1/products?{query}"), ADMIN).await;
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{query}: {e}: {body}"));
    (status, v)
}

#[tokio::test]
async fn product_lists_follow_search_criteria() {
    let backfill = Backfill::new("svclist", "multistore").await;
    let catalog = backfill.catalog.clone();
    let addr = serve(catalog.clone(), false).await;
    // The model: the back-filled documents of store view "default", by id. Every expectation
    // below is computed from them here, not by the service's SQL.
    let store = "default";
    let mut docs: Vec<(String, Value)> = backfill
        .lines()
        .into_iter()
        .map(|l| {
            (
                as_magento_answers(l),
                serde_json::from_str::<Value>(l).expect("json"),
            )
        })
        .filter(|(_, v)| v["store_code"] == store)
        .collect();
    docs.sort_by_key(|(_, v)| v["id"].as_u64());
    assert!(docs.len() > 50, "{} products", docs.len());
    let id = |v: &Value| v["id"].as_u64().expect("id");
    let all_ids: Vec<u64> = docs.iter().map(|(_, v)| id(v)).collect();
    let select = |keep: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        docs.iter()
            .filter(|(_, v)| keep(v))
            .map(|(_, v)| id(v))
            .collect()
    };
    let price = |v: &Value| v["price"].as_f64();
    let text = |v: &Value, k: &str| v[k].as_str().map(str::to_lowercase);

    // No searchCriteria: Magento requires it.
    let (status, body) = get(addr, "/rest/default/V1/products", ADMIN).await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            r#"{"message":"\"%fieldName\" is required. Enter and try again.","parameters":{"fieldName":"searchCriteria"}}"#
        )
    );
    // Every product, by id, each item exactly its document as Magento answers it.
    let (status, v) = list(addr, store, "searchCriteria[currentPage]=1").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["total_count"], docs.len());
    let (_, raw) = get(
        addr,
        "/rest/default/V1/products?searchCriteria[currentPage]=1",
        ADMIN,
    )
    .await;
    let expected_items: Vec<&str> = docs.iter().map(|(m, _)| m.as_str()).collect();
    assert!(
        raw.starts_with(&format!("{{\"items\":[{}]", expected_items.join(","))),
        "items are the stored documents, in id order"
    );
    assert_eq!(
        v["search_criteria"],
        serde_json::json!({"filter_groups": [], "current_page": 1})
    );

    // eq on the SKU, whatever its case; the echo of what was sent.
    let (_, first) = &docs[3];
    let sku = first["sku"].as_str().expect("sku");
    let (_, v) = list(addr, store, &filter(0, 0, "sku", &sku.to_uppercase(), "eq")).await;
    assert_eq!(ids(&v), vec![id(first)]);
    assert_eq!(
        v["search_criteria"],
        serde_json::json!({"filter_groups": [{"filters": [
            {"field": "sku", "value": sku.to_uppercase(), "condition_type": "eq"}]}]})
    );
    // OR within a group, AND across groups; in and nin; neq.
    let (_, second) = &docs[10];
    let sku2 = second["sku"].as_str().expect("sku");
    let query = format!(
        "{}&{}",
        filter(0, 0, "sku", sku, "eq"),
        filter(0, 1, "sku", sku2, "eq")
    );
    assert_eq!(
        ids(&list(addr, store, &query).await.1),
        vec![id(first), id(second)]
    );
    let query = format!(
        "{}&{}",
        query,
        filter(1, 0, "entity_id", &id(second).to_string(), "eq")
    );
    assert_eq!(ids(&list(addr, store, &query).await.1), vec![id(second)]);
    let pair = format!("{sku},{sku2}");
    assert_eq!(
        ids(&list(addr, store, &filter(0, 0, "sku", &pair, "in")).await.1),
        vec![id(first), id(second)]
    );
    let want = select(&|v| v["sku"] != first["sku"] && v["sku"] != second["sku"]);
    assert_eq!(
        ids(&list(addr, store, &filter(0, 0, "sku", &pair, "nin"))
            .await
            .1),
        want
    );
    let type_id = first["type_id"].as_str().expect("type");
    let want = select(&|v| v["type_id"].as_str().is_some_and(|t| t != type_id));
    assert_eq!(
        ids(&list(addr, store, &filter(0, 0, "type_id", type_id, "neq"))
            .await
            .1),
        want
    );

    // like / nlike, case-insensitive, on the name.
    let name = first["name"].as_str().expect("name");
    let word: String = name.chars().skip(1).take(4).collect();
    let pattern = format!("%{}%", word.to_uppercase());
    let want = select(&|v| text(v, "name").is_some_and(|n| n.contains(&word.to_lowercase())));
    assert!(want.contains(&id(first)));
    assert_eq!(
        ids(&list(addr, store, &filter(0, 0, "name", &pattern, "like"))
            .await
            .1),
        want
    );
    let want = select(&|v| text(v, "name").is_some_and(|n| !n.contains(&word.to_lowercase())));
    assert_eq!(
        ids(&list(addr, store, &filter(0, 0, "name", &pattern, "nlike"))
            .await
            .1),
        want
    );

    // Numeric comparisons on the price, at a price that exists.
    let mut prices: Vec<f64> = docs.iter().filter_map(|(_, v)| price(v)).collect();
    prices.sort_by(f64::total_cmp);
    let mid = prices[prices.len() / 2];
    let mid_text = docs
        .iter()
        .find(|(_, v)| price(v) == Some(mid))
        .map(|(_, v)| v["price"].to_string())
        .expect("a price");
    for (cond, keep) in [
        ("gt", (|p: f64, m: f64| p > m) as fn(f64, f64) -> bool),
        ("gteq", |p, m| p >= m),
        ("moreq", |p, m| p >= m),
        ("from", |p, m| p >= m),
        ("lt", |p, m| p < m),
        ("lteq", |p, m| p <= m),
        ("to", |p, m| p <= m),
        ("eq", |p, m| p == m),
        ("neq", |p, m| p != m),
    ] {
        let want = select(&|v| price(v).is_some_and(|p| keep(p, mid)));
        let got = ids(&list(addr, store, &filter(0, 0, "price", &mid_text, cond))
            .await
            .1);
        assert_eq!(got, want, "price {cond} {mid_text}");
    }
    // A range as Magento's docs write it: from and to in two groups.
    let low = prices[prices.len() / 4];
    let query = format!(
        "{}&{}",
        filter(0, 0, "price", &low.to_string(), "from"),
        filter(1, 0, "price", &mid_text, "to")
    );
    let want = select(&|v| price(v).is_some_and(|p| p >= low && p <= mid));
    assert_eq!(ids(&list(addr, store, &query).await.1), want);

    // null / notnull, finset / nfinset on a custom attribute that some products lack.
    let counts = |code: &str| {
        docs.iter()
            .filter(|(_, v)| custom(v, code).is_some())
            .count()
    };
    let codes: std::collections::BTreeSet<String> = docs
        .iter()
        .flat_map(|(_, v)| {
            v["custom_attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["attribute_code"].as_str().map(str::to_string))
        })
        .collect();
    let partial = codes
        .iter()
        .find(|c| {
            let n = counts(c);
            n > 0
                && n < docs.len()
                && docs
                    .iter()
                    .any(|(_, v)| custom(v, c).is_some_and(Value::is_string))
        })
        .expect("an attribute only some products have")
        .clone();
    let want = select(&|v| custom(v, &partial).is_none());
    assert_eq!(
        ids(&list(addr, store, &filter(0, 0, &partial, "", "null"))
            .await
            .1),
        want
    );
    let want = select(&|v| custom(v, &partial).is_some());
    assert_eq!(
        ids(&list(addr, store, &filter(0, 0, &partial, "", "notnull"))
            .await
            .1),
        want
    );
    let sample = docs
        .iter()
        .find_map(|(_, v)| custom(v, &partial).and_then(Value::as_str))
        .expect("a value");
    let element = sample.split(',').next().expect("an element").to_string();
    let has = |v: &Value| {
        custom(v, &partial)
            .and_then(Value::as_str)
            .map(|s| s.split(',').any(|e| e == element))
    };
    let want = select(&|v| has(v) == Some(true));
    assert_eq!(
        ids(
            &list(addr, store, &filter(0, 0, &partial, &element, "finset"))
                .await
                .1
        ),
        want
    );
    let want = select(&|v| has(v) == Some(false));
    assert_eq!(
        ids(
            &list(addr, store, &filter(0, 0, &partial, &element, "nfinset"))
                .await
                .1
        ),
        want
    );

    // Sorting (price descending, NULLs last as MySQL; ties by id) and paging; camelCase keys.
    let mut by_price: Vec<(Option<f64>, u64)> =
        docs.iter().map(|(_, v)| (price(v), id(v))).collect();
    by_price.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.1.cmp(&b.1)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    });
    let sorted: Vec<u64> = by_price.iter().map(|(_, i)| *i).collect();
    let sort =
        "searchCriteria[sortOrders][0][field]=price&searchCriteria[sortOrders][0][direction]=desc";
    let (_, v) = list(
        addr,
        store,
        &format!("{sort}&searchCriteria[pageSize]=7&searchCriteria[currentPage]=2"),
    )
    .await;
    assert_eq!(ids(&v), sorted[7..14].to_vec());
    assert_eq!(v["total_count"], docs.len());
    assert_eq!(
        v["search_criteria"],
        serde_json::json!({"filter_groups": [], "sort_orders": [{"field": "price", "direction": "DESC"}],
            "page_size": 7, "current_page": 2})
    );
    let last = docs.len().div_ceil(7);
    let (_, v) = list(
        addr,
        store,
        &format!("{sort}&searchCriteria[page_size]=7&searchCriteria[current_page]=999"),
    )
    .await;
    assert_eq!(
        ids(&v),
        sorted[(last - 1) * 7..].to_vec(),
        "a page past the last is the last"
    );
    let (_, v) = list(
        addr,
        store,
        "searchCriteria[sort_orders][0][field]=no_such_code",
    )
    .await;
    assert_eq!(ids(&v), all_ids, "an unknown sort field is ignored");

    // Another store view answers with its own documents.
    let other = backfill
        .lines()
        .into_iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|v| v["store_code"] != store)
        .expect("another store view");
    let other_store = other["store_code"].as_str().expect("store");
    let (_, v) = list(
        addr,
        other_store,
        &filter(0, 0, "entity_id", &id(&other).to_string(), "eq"),
    )
    .await;
    assert_eq!(v["items"][0]["name"], other["name"]);

    // Bad requests, in Magento's bodies.
    for (query, status, body) in [
        (
            filter(0, 0, "no_such_code", "1", "eq"),
            400,
            r#"{"message":"Invalid attribute name: %1","parameters":["no_such_code"]}"#.to_string(),
        ),
        (
            "searchCriteria[sortOrders][0][field]=price&searchCriteria[sortOrders][0][direction]=up".into(),
            400,
            r#"{"message":"The sort order has to be specified as %1 for ascending order or %2 for descending order.","parameters":["ASC","DESC"]}"#.into(),
        ),
        (
            "searchCriteria[pageSize]=ten".into(),
            400,
            r#"{"message":"Error occurred during \"pageSize\" processing. The \"ten\" value's type is invalid. The \"int\" type was expected. Verify and try again."}"#.into(),
        ),
        (
            filter(0, 0, "sku", "x", "almost"),
            400,
            r#"{"message":"Invalid condition type: %1","parameters":["almost"]}"#.into(),
        ),
    ] {
        let (s, b) = get(addr, &format!("/rest/default/V1/products?{query}"), ADMIN).await;
        assert_eq!((s, b), (status, body), "{query}");
    }
    let (status, _) = get(
        addr,
        "/rest/default/V1/products?searchCriteria[pageSize]=1",
        &[],
    )
    .await;
    assert_eq!(status, 401, "a guest without guest access");
    let (status, _) = get(
        addr,
        "/rest/nowhere/V1/products?searchCriteria[pageSize]=1",
        ADMIN,
    )
    .await;
    assert_eq!(status, 404);

    // The common filters can use an index (sequential scans priced out), for values that select
    // few rows: with statistics as autovacuum gathers them, a filter matching most of the store
    // is rightly read in key order instead, stopping after a page.
    sqlx::query("ANALYZE catalog.product_store")
        .execute(catalog.pool())
        .await
        .expect("analyze");
    for (query, index) in [
        (filter(0, 0, "sku", sku, "eq"), "product_store_sku"),
        (
            filter(0, 0, "sku", "ab%", "like"),
            "product_store_sku_pattern",
        ),
        (filter(0, 0, "name", "ab%", "like"), "product_store_name"),
        (
            filter(0, 0, "updated_at", "2099-01-01 00:00:00", "gt"),
            "product_store_updated",
        ),
        (
            filter(0, 0, "price", "1000000", "from"),
            "product_store_price",
        ),
        (
            filter(0, 0, "type_id", "grouped", "eq"),
            "product_store_type",
        ),
    ] {
        let criteria = ficus_services::search::required(Some(&query)).expect("criteria");
        let plan = catalog
            .explain_products(store, &criteria)
            .await
            .expect("explain");
        assert!(plan.contains(index), "{query}: {plan}");
    }
    backfill.drop().await;
}
