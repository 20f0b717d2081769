//! The customer service against the real PostgreSQL and MariaDB, over real HTTP: a generated
//! Magento's customers (with addresses) back-filled through the write API into the customer
//! service's own database, then read back by id, as `me` and by search, under Magento's ACL.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use ficus_services::http::{IDENTITY_HEADER, SECRET_HEADER};
use ficus_services::{Applied, Position};
use serde_json::Value;

fn customer(id: u64) -> String {
    format!("customer:{id}")
}

#[tokio::test]
async fn customers_answer_by_id_me_and_search_under_magentos_acl() {
    let backfill = Backfill::new("svccust", "small").await;
    let customers = backfill.customers.clone();
    let addr = serve_customers(customers.clone()).await;
    let lines = backfill.lines_of(Doc::Customer);
    assert!(lines.len() > 10, "{} customers", lines.len());

    // Magento's tables, read here: every customer's e-mail and address ids.
    let emails: BTreeMap<u64, String> = magento_rows::<(u64, String)>(
        &backfill.magento,
        "SELECT entity_id, email FROM customer_entity",
    )
    .await
    .into_iter()
    .collect();
    type Row = (
        u64,
        Option<u32>,
        Option<String>,
        Option<String>,
        Option<u32>,
        Option<String>,
    );
    let rows: BTreeMap<u64, Row> = magento_rows::<Row>(
        &backfill.magento,
        "SELECT entity_id, group_id, firstname, lastname, website_id, CAST(dob AS CHAR)
         FROM customer_entity",
    )
    .await
    .into_iter()
    .map(|r| (r.0, r))
    .collect();
    let mut addresses: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (id, parent) in magento_rows::<(u64, u64)>(
        &backfill.magento,
        "SELECT entity_id, parent_id FROM customer_address_entity",
    )
    .await
    {
        addresses.entry(parent).or_default().insert(id);
    }
    assert_eq!(lines.len(), emails.len(), "one document per customer");
    assert!(
        addresses.values().any(|a| a.len() > 1),
        "some customers have several addresses"
    );

    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("json");
        let id = v["id"].as_u64().expect("id");
        let (status, body) = get(addr, &format!("/rest/V1/customers/{id}"), ADMIN).await;
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body, without_ficus_members(line), "customer {id}");
        let got: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(got["email"].as_str(), emails.get(&id).map(String::as_str));
        let (_, group, first, last, website, dob) = &rows[&id];
        assert_eq!(got["group_id"].as_u64(), group.map(u64::from), "{id}");
        assert_eq!(got["firstname"].as_str(), first.as_deref(), "{id}");
        assert_eq!(got["lastname"].as_str(), last.as_deref(), "{id}");
        assert_eq!(got["website_id"].as_u64(), website.map(u64::from), "{id}");
        assert_eq!(got["dob"].as_str(), dob.as_deref(), "{id}");
        let got_addresses: BTreeSet<u64> = got["addresses"]
            .as_array()
            .expect("addresses")
            .iter()
            .map(|a| {
                assert!(a.get("uuid").is_none(), "no ficus members in {a}");
                a["id"].as_u64().expect("address id")
            })
            .collect();
        assert_eq!(
            got_addresses,
            addresses.get(&id).cloned().unwrap_or_default(),
            "addresses of {id}"
        );
        // The customer themself, through /me, with or without a store code.
        let me = customer(id);
        let as_customer = [(SECRET_HEADER, SECRET), (IDENTITY_HEADER, me.as_str())];
        for path in ["/rest/V1/customers/me", "/rest/default/V1/customers/me"] {
            let (status, mine) = get(addr, path, &as_customer).await;
            assert_eq!((status, &mine), (200, &body), "{path} as {me}");
        }
    }

    // Magento's ACL and error bodies.
    let (id, line) = (
        serde_json::from_str::<Value>(lines[0]).expect("json")["id"]
            .as_u64()
            .expect("id"),
        lines[0],
    );
    let refused = |resource: &str| {
        format!(
            r#"{{"message":"The consumer isn't authorized to access %resources.","parameters":{{"resources":"{resource}"}}}}"#
        )
    };
    let me = customer(id);
    let as_customer = [(SECRET_HEADER, SECRET), (IDENTITY_HEADER, me.as_str())];
    let path = format!("/rest/V1/customers/{id}");
    for (headers, status, body) in [
        (&[][..], 401, refused("Magento_Customer::customer")),
        (&as_customer[..], 401, refused("Magento_Customer::customer")),
        (
            &[(SECRET_HEADER, "guess"), (IDENTITY_HEADER, "admin")][..],
            401,
            r#"{"message":"The request did not come through the gateway."}"#.to_string(),
        ),
        (
            &[(IDENTITY_HEADER, "admin")][..],
            401,
            refused("Magento_Customer::customer"),
        ),
    ] {
        assert_eq!(
            get(addr, &path, headers).await,
            (status, body),
            "{headers:?}"
        );
    }
    for headers in [&[][..], ADMIN] {
        let (status, body) = get(addr, "/rest/V1/customers/me", headers).await;
        assert_eq!((status, body), (401, refused("self")), "{headers:?}");
    }
    let (status, body) = get(addr, "/rest/V1/customers/99999999", ADMIN).await;
    assert_eq!(
        (status, body.as_str()),
        (
            404,
            r#"{"message":"No such entity with %fieldName = %fieldValue","parameters":{"fieldName":"customerId","fieldValue":99999999}}"#
        )
    );
    let (status, _) = get(addr, "/rest/V1/customers/abc", ADMIN).await;
    assert_eq!(status, 400);
    let (status, _) = get(addr, &format!("/rest/9x/V1/customers/{id}"), ADMIN).await;
    assert_eq!(status, 404, "not a store code");

    // Search: every expectation computed from the documents here.
    let docs: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let search = |query: String| async move {
        let (status, body) = get(addr, &format!("/rest/V1/customers/search?{query}"), ADMIN).await;
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, v)
    };
    let email = emails[&id].to_uppercase();
    let (status, v) = search(filter(0, 0, "email", &email, "eq")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(ids(&v), [id], "e-mails compare case-insensitively");
    assert_eq!(
        serde_json::to_string(&v["items"][0]).expect("json"),
        serde_json::to_string(
            &serde_json::from_str::<Value>(&without_ficus_members(line)).expect("json")
        )
        .expect("json")
    );
    let letter = docs[0]["lastname"].as_str().expect("lastname")[..1].to_lowercase();
    let mut want: Vec<&Value> = docs
        .iter()
        .filter(|d| {
            d["lastname"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().starts_with(&letter))
                || d["group_id"] == 2
        })
        .collect();
    want.sort_by(|a, b| {
        let key = |d: &Value| d["email"].as_str().map(str::to_lowercase);
        key(b)
            .cmp(&key(a))
            .then(a["id"].as_u64().cmp(&b["id"].as_u64()))
    });
    let want_ids: Vec<u64> = want.iter().map(|d| d["id"].as_u64().expect("id")).collect();
    assert!(want_ids.len() > 3, "{want_ids:?}");
    let query = format!(
        "{}&{}&searchCriteria[sortOrders][0][field]=email&searchCriteria[sortOrders][0][direction]=DESC&searchCriteria[pageSize]=3&searchCriteria[currentPage]=2",
        filter(0, 0, "lastname", &format!("{letter}%"), "like"),
        filter(0, 1, "group_id", "2", "eq"),
    );
    let (_, v) = search(query).await;
    assert_eq!(v["total_count"], want_ids.len());
    assert_eq!(ids(&v), want_ids[3..want_ids.len().min(6)]);
    // The whole name and the default billing address, as Magento's customer collection joins
    // them: expectations from MariaDB computing the same expressions over Magento's tables.
    let last = docs[1]["lastname"].as_str().expect("lastname").to_string();
    let by_name: Vec<u64> = magento_rows::<(u64,)>(
        &backfill.magento,
        &format!(
            "SELECT entity_id FROM customer_entity WHERE CONCAT(
               IF(prefix IS NOT NULL AND prefix != '', CONCAT(TRIM(prefix), ' '), ''),
               TRIM(firstname), ' ',
               IF(middlename IS NOT NULL AND middlename != '', CONCAT(TRIM(middlename), ' '), ''),
               TRIM(lastname),
               IF(suffix IS NOT NULL AND suffix != '', CONCAT(' ', TRIM(suffix)), ''))
             LIKE '% {}' ORDER BY entity_id",
            last.replace('\'', "''")
        ),
    )
    .await
    .into_iter()
    .map(|(id,)| id)
    .collect();
    assert!(!by_name.is_empty());
    let (status, v) = search(filter(
        0,
        0,
        "name",
        &format!("% {}", last.to_uppercase()),
        "like",
    ))
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(ids(&v), by_name, "name like '% {last}'");
    let (postcode,): (String,) = magento_rows::<(String,)>(
        &backfill.magento,
        "SELECT a.postcode FROM customer_entity c
         JOIN customer_address_entity a ON a.entity_id = c.default_billing
         ORDER BY c.entity_id LIMIT 1",
    )
    .await
    .remove(0);
    let by_postcode: Vec<u64> = magento_rows::<(u64,)>(
        &backfill.magento,
        &format!(
            "SELECT c.entity_id FROM customer_entity c
             JOIN customer_address_entity a ON a.entity_id = c.default_billing
             WHERE a.postcode = '{}' ORDER BY c.entity_id",
            postcode.replace('\'', "''")
        ),
    )
    .await
    .into_iter()
    .map(|(id,)| id)
    .collect();
    let (_, v) = search(filter(0, 0, "billing_postcode", &postcode, "eq")).await;
    assert_eq!(ids(&v), by_postcode, "billing_postcode = {postcode}");
    let by_country: Vec<u64> = magento_rows::<(u64,)>(
        &backfill.magento,
        "SELECT c.entity_id FROM customer_entity c
         JOIN customer_address_entity a ON a.entity_id = c.default_billing
         WHERE a.country_id IN ('DE', 'FR') ORDER BY c.entity_id",
    )
    .await
    .into_iter()
    .map(|(id,)| id)
    .collect();
    assert!(!by_country.is_empty());
    let (_, v) = search(filter(0, 0, "billing_country_id", "de,fr", "in")).await;
    assert_eq!(ids(&v), by_country, "billing_country_id in (de, fr)");

    let (status, v) = search(filter(0, 0, "no_such_attribute", "1", "eq")).await;
    assert_eq!(status, 400);
    assert_eq!(v["message"], "Invalid attribute name: %1");
    let (status, _) = get(
        addr,
        "/rest/V1/customers/search?searchCriteria[pageSize]=1",
        &as_customer,
    )
    .await;
    assert_eq!(status, 401, "searching needs an admin");
    // Statistics as autovacuum gathers them on a live database.
    sqlx::query("ANALYZE customer.profile")
        .execute(customers.pool())
        .await
        .expect("analyze");
    for (query, index) in [
        (
            filter(0, 0, "email", "a@example.com", "eq"),
            "profile_email",
        ),
        (filter(0, 0, "email", "ab%", "like"), "profile_email"),
        (filter(0, 0, "lastname", "ab%", "like"), "profile_lastname"),
        (filter(0, 0, "group_id", "99", "eq"), "profile_group"),
        (
            filter(0, 0, "updated_at", "2099-01-01 00:00:00", "gt"),
            "profile_updated",
        ),
    ] {
        let criteria = ficus_services::search::required(Some(&query)).expect("criteria");
        let plan = customers.explain_search(&criteria).await.expect("explain");
        assert!(plan.contains(index), "{query}: {plan}");
    }

    // Ordered by position: a delete leaves a tombstone older upserts cannot pass.
    let uuid: uuid::Uuid = serde_json::from_str::<Value>(line).expect("json")["uuid"]
        .as_str()
        .expect("uuid")
        .parse()
        .expect("uuid");
    let later = Position {
        file: backfill.at.file + 1,
        offset: 7,
    };
    assert_eq!(
        customers
            .delete_customer(uuid, id, later)
            .await
            .expect("delete"),
        Applied::Written
    );
    assert_eq!(
        customers
            .upsert_customer(line, backfill.at)
            .await
            .expect("older"),
        Applied::Stale
    );
    let (status, _) = get(addr, &path, ADMIN).await;
    assert_eq!(status, 404);
    let err = customers
        .upsert_customer(r#"{"email":"x"}"#, later)
        .await
        .expect_err("not a customer document");
    assert!(err.to_string().contains("customer"), "{err}");
    backfill.drop().await;
}
