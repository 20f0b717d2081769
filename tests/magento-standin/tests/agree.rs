//! The stand-in and the new services agree: for a generated multistore Magento, every product
//! (by SKU), category (by id), customer (by id) and order (by id) answered by the stand-in — read
//! live from MariaDB one entity at a time — is byte for byte what the catalog, customer and order
//! services answer after a back-fill of the same store. So ficus-proxy can switch between them and a client sees
//! no difference.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ficus_eav_extract::lookup::Lookup;
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use ficus_services::catalog::Catalog;
use ficus_services::customer::Customers;
use ficus_services::order::Orders;
use serde_json::Value;
use tower::ServiceExt;

/// One GET through the stand-in's routes: (status, body).
async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get("x-magento-standin")
            .map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8(body.to_vec()).expect("utf-8"))
}

fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_standin_answers_what_the_services_answer() {
    let magento = magento_store("standin", "multistore", 5, Edition::Ce).await;
    let catalog_db = pg_database("standin").await;
    let customer_db = pg_database("standin_cust").await;
    let order_db = pg_database("standin_ord").await;
    let extracted = ficus_magento_standin::testing::extract(&magento, Some(300)).await;
    let at = extracted.at;
    let catalog = Catalog::connect(&catalog_db).await.expect("connect");
    catalog.migrate().await.expect("migrate");
    let customers = Customers::connect(&customer_db).await.expect("connect");
    customers.migrate().await.expect("migrate");
    let orders = Orders::connect(&order_db).await.expect("connect");
    orders.migrate().await.expect("migrate");
    let text = &extracted.text;
    let mut docs = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("json");
        match ficus_services::load::Kind::of(line).expect("a document") {
            ficus_services::load::Kind::Product => catalog.upsert_product(line, at).await,
            ficus_services::load::Kind::Category => catalog.upsert_category(line, at).await,
            ficus_services::load::Kind::Customer => customers.upsert_customer(line, at).await,
            ficus_services::load::Kind::Order => orders.upsert_order(line, at).await,
        }
        .expect("upsert");
        docs.push(v);
    }

    let lookup = Lookup::open(
        MagentoDsn::parse(&magento).expect("dsn"),
        ficus_id_map::DEFAULT_NAMESPACE,
    )
    .await
    .expect("lookup");
    let app = ficus_magento_standin::router(lookup, "default".into());
    let (mut products, mut categories, mut people, mut sales) = (0, 0, 0, 0);
    // Every entity; products in two store views (the default and another), as each lookup
    // costs the stand-in a dozen queries.
    let other = docs
        .iter()
        .filter_map(|v| v["store_code"].as_str())
        .find(|s| *s != "default")
        .expect("a second store view")
        .to_string();
    for v in &docs {
        if v.get("sku").is_some() && v["store_code"] != "default" && v["store_code"] != *other {
            continue;
        }
        if v.get("increment_id").is_some() {
            let id = v["entity_id"].as_i64().expect("entity_id");
            let want = orders.order(id).await.expect("read").expect("held");
            let got = get(&app, &format!("/rest/V1/orders/{id}")).await;
            assert_eq!(got, (StatusCode::OK, want), "order {id}");
            sales += 1;
            continue;
        }
        let id = v["id"].as_i64().expect("id");
        if let Some(sku) = v["sku"].as_str() {
            let store = v["store_code"].as_str().expect("store");
            let want = catalog
                .product(store, sku)
                .await
                .expect("read")
                .expect("held");
            let got = get(&app, &format!("/rest/{store}/V1/products/{}", segment(sku))).await;
            assert_eq!(got, (StatusCode::OK, want), "product {sku} in {store}");
            products += 1;
        } else if v.get("email").is_some() {
            let want = customers.customer(id).await.expect("read").expect("held");
            let got = get(&app, &format!("/rest/V1/customers/{id}")).await;
            assert_eq!(got, (StatusCode::OK, want), "customer {id}");
            people += 1;
        } else {
            let store = v["store_code"].as_str().expect("store");
            let want = catalog
                .category(store, id)
                .await
                .expect("read")
                .expect("held");
            let got = get(&app, &format!("/rest/{store}/V1/categories/{id}")).await;
            assert_eq!(got, (StatusCode::OK, want), "category {id} in {store}");
            categories += 1;
        }
    }
    assert!(products > 100 && categories > 10 && people > 10 && sales > 10);

    // Magento's answers for what is not there.
    let (status, body) = get(&app, "/rest/default/V1/products/no-such-sku").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("doesn't exist"), "{body}");
    let (status, body) = get(&app, "/rest/V1/categories/999999").await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::NOT_FOUND,
            r#"{"message":"No such entity with %fieldName = %fieldValue","parameters":{"fieldName":"id","fieldValue":999999}}"#
        )
    );
    let (status, _) = get(&app, "/rest/nowhere/V1/products/x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&app, "/rest/V1/customers/abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = get(&app, "/rest/V1/orders/999999").await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::NOT_FOUND,
            r#"{"message":"The entity that was requested doesn't exist. Verify the entity and try again."}"#
        )
    );

    drop((catalog, customers, orders));
    let out = &extracted.path;
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(out.with_extension("jsonl.manifest.json"));
    let _ = std::fs::remove_file(out.with_extension("jsonl.checkpoint.json"));
    drop_pg(&catalog_db).await;
    drop_pg(&customer_db).await;
    drop_pg(&order_db).await;
    drop_magento(&magento).await;
}
