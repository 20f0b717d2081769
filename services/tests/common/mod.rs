//! What the services' integration tests share: a generated Magento back-filled through
//! eav-extract's documents, the services on free loopback ports, and plain HTTP/1.1 GETs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::SocketAddr;

use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use ficus_services::Position;
use ficus_services::catalog::{Applied, Catalog};
use ficus_services::customer::Customers;
use ficus_services::http::{
    Gateway, IDENTITY_HEADER, SECRET_HEADER, catalog, customer, ops, order,
};
use ficus_services::order::Orders;
use serde_json::Value;

pub const SECRET: &str = "s3cret-from-the-proxy";
pub const NOT_FOUND: &str = r#"{"message":"The product that was requested doesn't exist. Verify the product and try again."}"#;

/// Serves `app` on a free loopback port.
pub async fn serve_app(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Serves the catalog's routes (with the operations layer, no access log).
pub async fn serve(db: Catalog, guest_access: bool) -> SocketAddr {
    let config = catalog::Config {
        default_store: "default".into(),
        admin_store: "admin".into(),
        gateway: Gateway {
            secret: Some(SECRET.into()),
        },
        guest_access,
    };
    serve_app(ops::wrap("catalog", catalog::router(db, config), false)).await
}

/// Serves the customer service's routes (with the operations layer, no access log).
pub async fn serve_customers(db: Customers) -> SocketAddr {
    let gateway = Gateway {
        secret: Some(SECRET.into()),
    };
    serve_app(ops::wrap("customer", customer::router(db, gateway), false)).await
}

/// Serves the order service's routes (with the operations layer, no access log).
pub async fn serve_orders(db: Orders) -> SocketAddr {
    let gateway = Gateway {
        secret: Some(SECRET.into()),
    };
    serve_app(ops::wrap("order", order::router(db, gateway), false)).await
}

/// One HTTP/1.1 GET on its own connection: (status, body).
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let (status, _, body) = get_full(addr, path, headers).await;
    (status, body)
}

/// One HTTP/1.1 GET on its own connection: (status, head, body), the head's lines as sent.
pub async fn get_full(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        s.read_to_string(&mut response).expect("read");
        let status = response[9..12].parse().expect("status");
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (status, head.to_string(), body.to_string())
    })
    .await
    .expect("request")
}

pub const ADMIN: &[(&str, &str)] = &[(SECRET_HEADER, SECRET), (IDENTITY_HEADER, "admin")];

/// Percent-encodes a path segment.
pub fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What Magento answers for an eav-extract document: the document without the two members ficus
/// puts first (`uuid`, `store_code`), everything else as it stands.
pub fn as_magento_answers(line: &str) -> String {
    let v: Value = serde_json::from_str(line).expect("json");
    let prefix = format!(
        "{{\"uuid\":{},\"store_code\":{},",
        v["uuid"], v["store_code"]
    );
    let rest = line
        .strip_prefix(&prefix)
        .expect("uuid and store_code lead");
    format!("{{{rest}")
}

/// eav-extract's document as Magento answers it, for any entity: without the `uuid` members
/// (the entity's, and its addresses') and the `store_code` that ficus adds.
pub fn without_ficus_members(line: &str) -> String {
    let mut out = line.to_string();
    for key in ["\"uuid\":\"", "\"store_code\":\""] {
        while let Some(at) = out.find(key) {
            let value_end =
                out[at + key.len()..].find('"').expect("closing quote") + at + key.len();
            let end = if out[value_end + 1..].starts_with(',') {
                value_end + 2
            } else {
                value_end + 1
            };
            out.replace_range(at..end, "");
        }
    }
    out
}

/// What a line of eav-extract's output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    Product,
    Category,
    Customer,
    Order,
}

/// The kind of an eav-extract document, told by the members only its kind has.
pub fn kind(v: &Value) -> Doc {
    if v.get("increment_id").is_some() {
        Doc::Order
    } else if v.get("sku").is_some() {
        Doc::Product
    } else if v.get("email").is_some() || v.get("addresses").is_some() {
        Doc::Customer
    } else {
        assert!(v.get("path").is_some(), "unknown document {v}");
        Doc::Category
    }
}

/// A generated Magento store back-filled through eav-extract and the write API: products and
/// categories into a catalog database, customers into a customer database, orders into an order
/// database (one database per service).
pub struct Backfill {
    pub magento: String,
    pub target: String,
    pub customer_target: String,
    pub order_target: String,
    pub out: std::path::PathBuf,
    pub catalog: Catalog,
    pub customers: Customers,
    pub orders: Orders,
    pub text: String,
    pub at: Position,
}

impl Backfill {
    pub async fn new(name: &str, profile: &str) -> Backfill {
        let magento = magento_store(name, profile, 11, Edition::Ce).await;
        let target = pg_database(name).await;
        let customer_target = pg_database(&format!("{name}_cust")).await;
        let order_target = pg_database(&format!("{name}_ord")).await;
        let extracted = ficus_magento_standin::testing::extract(&magento, Some(500)).await;
        let (out, text, at) = (extracted.path, extracted.text, extracted.at);
        let catalog = Catalog::connect(&target).await.expect("connect");
        catalog.migrate().await.expect("migrate");
        catalog.migrate().await.expect("migrate twice is a no-op");
        let customers = Customers::connect(&customer_target).await.expect("connect");
        customers.migrate().await.expect("migrate");
        let orders = Orders::connect(&order_target).await.expect("connect");
        orders.migrate().await.expect("migrate");
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("json");
            let applied = match kind(&v) {
                Doc::Product => catalog.upsert_product(line, at).await,
                Doc::Category => catalog.upsert_category(line, at).await,
                Doc::Customer => customers.upsert_customer(line, at).await,
                Doc::Order => orders.upsert_order(line, at).await,
            };
            assert_eq!(applied.expect("upsert"), Applied::Written, "{line}");
        }
        // Each store view's website and root category, as Magento's store tables say.
        for (code, website, root) in magento_rows::<(String, u32, u64)>(
            &magento,
            "SELECT s.code, s.website_id, g.root_category_id FROM store s
             JOIN store_group g ON g.group_id = s.group_id",
        )
        .await
        {
            catalog
                .set_store(&code, website, root)
                .await
                .expect("store");
        }
        Backfill {
            magento,
            target,
            customer_target,
            order_target,
            out,
            catalog,
            customers,
            orders,
            text,
            at,
        }
    }

    /// The documents of one kind.
    pub fn lines_of(&self, doc: Doc) -> Vec<&str> {
        self.text
            .lines()
            .filter(|l| kind(&serde_json::from_str(l).expect("json")) == doc)
            .collect()
    }

    /// The product documents.
    pub fn lines(&self) -> Vec<&str> {
        self.lines_of(Doc::Product)
    }

    pub async fn drop(self) {
        let _ = std::fs::remove_file(&self.out);
        for suffix in ["checkpoint.json", "manifest.json"] {
            let _ = std::fs::remove_file(self.out.with_extension(format!("jsonl.{suffix}")));
        }
        drop(self.catalog);
        drop(self.customers);
        drop(self.orders);
        drop_pg(&self.target).await;
        drop_pg(&self.customer_target).await;
        drop_pg(&self.order_target).await;
        drop_magento(&self.magento).await;
    }
}

/// The rows of a query on the Magento database.
pub async fn magento_rows<T: mysql_async::prelude::FromRow + Send + 'static>(
    magento: &str,
    sql: &str,
) -> Vec<T> {
    use mysql_async::prelude::Queryable;
    let pool = mysql_async::Pool::new(magento);
    let mut conn = pool.get_conn().await.expect("magento");
    let rows = conn.query(sql).await.expect(sql);
    drop(conn);
    pool.disconnect().await.expect("disconnect");
    rows
}

/// Percent-encodes a query component.
pub fn q(s: &str) -> String {
    segment(s)
}

/// The ids of a list answer's items, in order.
pub fn ids(v: &Value) -> Vec<u64> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {v}"))
        .iter()
        .map(|i| i["id"].as_u64().expect("id"))
        .collect()
}

/// A custom attribute's value in a document.
pub fn custom<'v>(doc: &'v Value, code: &str) -> Option<&'v Value> {
    doc["custom_attributes"]
        .as_array()?
        .iter()
        .find(|a| a["attribute_code"] == code)
        .map(|a| &a["value"])
}

/// One filter as query parameters: group `g`, filter `f`.
pub fn filter(g: usize, f: usize, field: &str, value: &str, condition: &str) -> String {
    let p = format!("searchCriteria[filter_groups][{g}][filters][{f}]");
    format!(
        "{}={}&{}={}&{}={}",
        q(&format!("{p}[field]")),
        q(field),
        q(&format!("{p}[value]")),
        q(value),
        q(&format!("{p}[condition_type]")),
        q(condition)
    )
}

/// Attribute values read straight from Magento's value tables, and Magento's store-scope rule.
pub struct EavValues {
    /// code → global (`is_global` = 1: store rows ignored).
    pub global: std::collections::HashMap<String, bool>,
    /// (entity id, store id, code) → value.
    pub values: std::collections::HashMap<(u64, u32, String), Option<String>>,
}

impl EavValues {
    /// The values of the attributes `codes` of entity type `entity` (e.g. `catalog_product`)
    /// in the value tables named by their type (`varchar`, `int`, …).
    pub async fn read(dsn: &str, entity: &str, tables: &[(&str, &[&str])]) -> EavValues {
        let attrs = format!(
            "FROM eav_attribute a JOIN eav_entity_type t
               ON t.entity_type_id = a.entity_type_id AND t.entity_type_code = '{entity}'"
        );
        let global = magento_rows::<(String, u8)>(
            dsn,
            &format!(
                "SELECT a.attribute_code, c.is_global {attrs}
                 JOIN catalog_eav_attribute c ON c.attribute_id = a.attribute_id"
            ),
        )
        .await
        .into_iter()
        .map(|(code, g)| (code, g == 1))
        .collect();
        let mut values = std::collections::HashMap::new();
        for (table, codes) in tables {
            let codes: Vec<String> = codes.iter().map(|c| format!("'{c}'")).collect();
            let rows = magento_rows::<(u64, u32, String, Option<String>)>(
                dsn,
                &format!(
                    "SELECT v.entity_id, v.store_id, a.attribute_code, CAST(v.value AS CHAR) {attrs}
                     JOIN {entity}_entity_{table} v ON v.attribute_id = a.attribute_id
                     WHERE a.attribute_code IN ({})",
                    codes.join(", ")
                ),
            )
            .await;
            for (id, store, code, value) in rows {
                values.insert((id, store, code), value);
            }
        }
        EavValues { global, values }
    }

    /// An attribute's value in store view `store`: its row there over store 0's; store 0's
    /// only for a global attribute.
    pub fn value(&self, id: u64, store: u32, code: &str) -> Option<&str> {
        let global = self.global.get(code).copied().unwrap_or(false);
        let own = (!global)
            .then(|| self.values.get(&(id, store, code.to_string())))
            .flatten();
        own.or_else(|| self.values.get(&(id, 0, code.to_string())))
            .and_then(|v| v.as_deref())
    }
}
