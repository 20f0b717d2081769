//! `ficus verify` on a back-filled catalog: clean after the back-fill; every kind of mismatch
//! found and described (missing, extra, different with the field); and a run killed half-way
//! continues from its state file to the same counts as an uninterrupted run.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::{magento_store, pg_database};
use ficus_services::catalog::Catalog;

use common::ficus;

#[test]
fn verify_finds_each_kind_of_mismatch_and_resumes() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let magento = rt.block_on(magento_store("verify", "small", 31, Edition::Ce));
    let service = rt.block_on(pg_database("verify_catalog"));
    let pool = rt.block_on(async {
        let extracted = ficus_magento_standin::testing::extract(&magento, None).await;
        let _ = std::fs::remove_file(&extracted.path);
        let catalog = Catalog::connect(&service).await.expect("connect");
        catalog.migrate().await.expect("migrate");
        for line in extracted.text.lines() {
            match ficus_services::load::Kind::of(line) {
                Some(ficus_services::load::Kind::Product) => {
                    catalog
                        .upsert_product(line, extracted.at)
                        .await
                        .expect("product");
                }
                Some(ficus_services::load::Kind::Category) => {
                    catalog
                        .upsert_category(line, extracted.at)
                        .await
                        .expect("category");
                }
                _ => {}
            }
        }
        sqlx::PgPool::connect(&service).await.expect("pool")
    });
    let base = [
        "verify",
        "--domain",
        "catalog",
        "--magento",
        &magento,
        "--service",
        &service,
        "--recheck-wait",
        "1",
        "--json",
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        ficus(&args, &[])
    };
    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    let clean: serde_json::Value = serde_json::from_str(&out).expect("json report");
    let products = clean["kinds"][0]["magento"].as_u64().expect("count");
    assert!(
        products > 0 && clean["kinds"][0]["service"] == clean["kinds"][0]["magento"],
        "{clean}"
    );

    // A run killed half-way resumes from its state file to the same counts.
    let state =
        std::env::temp_dir().join(format!("ficus-verify-state-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&state);
    let state_arg = state.display().to_string();
    let mut slow = Command::new(env!("CARGO_BIN_EXE_ficus"))
        .args(base)
        .args([
            "--chunk-size",
            "50",
            "--max-rows-per-second",
            "400",
            "--state",
            &state_arg,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ficus");
    let started = Instant::now();
    loop {
        let after = std::fs::read_to_string(&state)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["after"].as_u64())
            .unwrap_or(0);
        if after > 100 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    slow.kill().expect("kill");
    let _ = slow.wait();
    let (code, out) = run(&["--chunk-size", "50", "--state", &state_arg]);
    assert_eq!(code, 0, "{out}");
    let resumed: serde_json::Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(
        resumed["kinds"], clean["kinds"],
        "a resumed run counts like a whole one"
    );
    assert_eq!(resumed["entities"], clean["entities"]);
    assert!(!state.exists(), "the state file is removed at the end");

    // Documents stored in another layout and key order (as jsonb prints them) do not hash as the
    // extract's text: they are read again and compared canonically, and still match.
    let relaid = rt
        .block_on(
            sqlx::query(
                "UPDATE catalog.product_document SET document = document::jsonb::json
                 WHERE product IN (SELECT uuid FROM catalog.product ORDER BY legacy_id LIMIT 5)",
            )
            .execute(&pool),
        )
        .expect("relayout");
    assert!(relaid.rows_affected() >= 5);
    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    let again: serde_json::Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(again["kinds"], clean["kinds"]);
    assert_eq!(
        clean["compared_canonically"], 0,
        "after a back-fill the service stores the very text expected"
    );
    assert!(again["compared_canonically"].as_u64() >= Some(5), "{again}");

    // Three mismatches made behind cdc-sync's back: a product's document changed in one store
    // view, a product removed from the service, a product the service has that Magento has not.
    let ids: Vec<(i64,)> = rt
        .block_on(
            sqlx::query_as("SELECT legacy_id FROM catalog.product ORDER BY legacy_id LIMIT 2")
                .fetch_all(&pool),
        )
        .expect("ids");
    let (changed, removed) = (ids[0].0, ids[1].0);
    rt.block_on(async {
        sqlx::query(
            "UPDATE catalog.product_document d SET document = jsonb_set(d.document::jsonb, '{price}', '1234.5')::json
             FROM catalog.product p WHERE p.uuid = d.product AND p.legacy_id = $1 AND d.store_code = 'default'",
        )
        .bind(changed)
        .execute(&pool)
        .await
        .expect("change");
        sqlx::query("DELETE FROM catalog.product WHERE legacy_id = $1")
            .bind(removed)
            .execute(&pool)
            .await
            .expect("remove");
        // The extra one: a copy of the changed product's rows under an id Magento does not have.
        sqlx::query(
            "WITH p AS (INSERT INTO catalog.product (uuid, legacy_id, source_file, source_offset)
                        SELECT gen_random_uuid(), 999999, source_file, source_offset FROM catalog.product WHERE legacy_id = $1
                        RETURNING uuid)
             INSERT INTO catalog.product_document (product, store_code, document)
             SELECT p.uuid, d.store_code, d.document FROM p, catalog.product_document d
             JOIN catalog.product o ON o.uuid = d.product WHERE o.legacy_id = $1",
        )
        .bind(changed)
        .execute(&pool)
        .await
        .expect("extra");
    });
    let (code, out) = run(&[]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json report");
    let product = &report["kinds"][0];
    assert_eq!(product["kind"], "product");
    assert!(product["missing"].as_u64() >= Some(1), "{report}");
    assert!(product["extra"].as_u64() >= Some(1), "{report}");
    assert_eq!(product["different"], 1, "{report}");
    let examples = report["examples"].as_array().expect("examples");
    let different = examples
        .iter()
        .find(|m| m["what"] == "different")
        .expect("the different one");
    assert_eq!(different["id"], changed);
    assert_eq!(different["store"], "default");
    assert_eq!(different["fields"][0]["path"], "price");
    assert_eq!(different["fields"][0]["service"], 1234.5);
    assert!(
        examples
            .iter()
            .any(|m| m["what"] == "missing" && m["id"] == removed),
        "{report}"
    );
    assert!(
        examples
            .iter()
            .any(|m| m["what"] == "extra" && m["id"] == 999_999),
        "{report}"
    );
    let _ = std::fs::remove_file(&state);
}

/// Customers (whose addresses carry eav-extract's own keys too) and orders: clean after the
/// back-fill, and a field changed behind cdc-sync's back is found and named.
#[test]
fn verify_checks_customers_and_orders() {
    use ficus_services::customer::Customers;
    use ficus_services::load::Kind;
    use ficus_services::order::Orders;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let magento = rt.block_on(magento_store("verify_co", "small", 32, Edition::Ce));
    let customers = rt.block_on(pg_database("verify_co_customer"));
    let orders = rt.block_on(pg_database("verify_co_order"));
    let (customer_pool, order_pool) = rt.block_on(async {
        let extracted = ficus_magento_standin::testing::extract(&magento, None).await;
        let _ = std::fs::remove_file(&extracted.path);
        let c = Customers::connect(&customers).await.expect("connect");
        c.migrate().await.expect("migrate");
        let o = Orders::connect(&orders).await.expect("connect");
        o.migrate().await.expect("migrate");
        for line in extracted.text.lines() {
            match Kind::of(line) {
                Some(Kind::Customer) => {
                    c.upsert_customer(line, extracted.at)
                        .await
                        .expect("customer");
                }
                Some(Kind::Order) => {
                    o.upsert_order(line, extracted.at).await.expect("order");
                }
                _ => {}
            }
        }
        (
            sqlx::PgPool::connect(&customers).await.expect("pool"),
            sqlx::PgPool::connect(&orders).await.expect("pool"),
        )
    });
    let run = |domain: &str, service: &str| {
        ficus(
            &[
                "verify",
                "--domain",
                domain,
                "--magento",
                &magento,
                "--service",
                service,
                "--recheck-wait",
                "1",
                "--chunk-size",
                "100",
                "--json",
            ],
            &[],
        )
    };
    for (domain, service) in [("customer", &customers), ("order", &orders)] {
        let (code, out) = run(domain, service);
        assert_eq!(code, 0, "{domain}: {out}");
        let report: serde_json::Value = serde_json::from_str(&out).expect("json report");
        let kind = &report["kinds"][0];
        assert!(
            kind["magento"].as_u64() > Some(0) && kind["service"] == kind["magento"],
            "{report}"
        );
        // Each stored document hashes as the text expected from Magento's side.
        assert_eq!(report["compared_canonically"], 0, "{domain}: {report}");
    }
    // Every order's and customer's timestamps rewritten in ISO 8601 at another offset, and
    // booleans and their 0/1 swapped (by PostgreSQL, not by ficus): the same data, still clean.
    rt.block_on(async {
        sqlx::query(
            "UPDATE sales.order_document SET document = jsonb_set(jsonb_set(jsonb_set(document::jsonb,
               '{created_at}', to_jsonb(to_char((document->>'created_at')::timestamp + interval '2 hours',
                                                'YYYY-MM-DD\"T\"HH24:MI:SS\"+02:00\"'))),
               '{is_virtual}', to_jsonb((document->>'is_virtual')::int = 1)),
               '{email_sent}', to_jsonb((document->>'email_sent')::int = 1))::json",
        )
        .execute(&order_pool)
        .await
        .expect("orders in another notation");
        sqlx::query(
            "UPDATE customer.document SET document = jsonb_set(jsonb_set(document::jsonb,
               '{created_at}', to_jsonb(to_char((document->>'created_at')::timestamp, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))),
               '{addresses,0,default_billing}', '1')::json
             WHERE document->'addresses'->0->>'default_billing' = 'true'",
        )
        .execute(&customer_pool)
        .await
        .expect("customers in another notation");
    });
    for (domain, service) in [("customer", &customers), ("order", &orders)] {
        let (code, out) = run(domain, service);
        assert_eq!(code, 0, "{domain}: {out}");
        let report: serde_json::Value = serde_json::from_str(&out).expect("json report");
        assert!(
            report["compared_canonically"].as_u64() > Some(0),
            "{domain}: {report}"
        );
    }
    // One customer's and one order's document changed behind cdc-sync's back.
    let tampered: Vec<i64> = rt.block_on(async {
        let mut ids = Vec::new();
        for (pool, pick, change) in [
            (
                &customer_pool,
                "SELECT c.legacy_id FROM customer.profile c ORDER BY legacy_id LIMIT 1 OFFSET 3",
                "UPDATE customer.document d
                 SET document = jsonb_set(d.document::jsonb, '{firstname}', '\"Tampered\"')::json
                 FROM customer.profile c WHERE c.customer = d.customer AND c.legacy_id = $1",
            ),
            (
                &order_pool,
                "SELECT legacy_id FROM sales.order_grid ORDER BY legacy_id LIMIT 1 OFFSET 5",
                "UPDATE sales.order_document d
                 SET document = jsonb_set(d.document::jsonb, '{customer_email}', '\"x@example.com\"')::json
                 FROM sales.order_grid o WHERE o.sales_order = d.sales_order AND o.legacy_id = $1",
            ),
        ] {
            let (id,): (i64,) = sqlx::query_as(pick).fetch_one(pool).await.expect("pick");
            sqlx::query(change)
                .bind(id)
                .execute(pool)
                .await
                .expect("tamper");
            ids.push(id);
        }
        ids
    });
    let (customer, order) = (tampered[0], tampered[1]);
    for (domain, service, id, field) in [
        ("customer", &customers, customer, "firstname"),
        ("order", &orders, order, "customer_email"),
    ] {
        let (code, out) = run(domain, service);
        assert_eq!(code, 1, "{domain}: {out}");
        let report: serde_json::Value = serde_json::from_str(&out).expect("json report");
        assert_eq!(report["kinds"][0]["different"], 1, "{report}");
        let example = &report["examples"][0];
        assert_eq!(example["id"], id, "{report}");
        assert_eq!(example["fields"][0]["path"], field, "{report}");
        assert_eq!(
            example["fields"].as_array().map(Vec::len),
            Some(1),
            "another notation is not a difference: {report}"
        );
    }
}
