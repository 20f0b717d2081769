//! The order service's database: migrations, the pipeline's write API for orders (one document
//! each, items, addresses, payment and histories inside) and the reads the routes need.

use serde::Deserialize;
use serde_json::value::RawValue;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::search::{Criteria, Kind, Sql};
use crate::shape::Members;
use crate::store::{self, Ledger, List, ListSpec, db};
pub use crate::{Applied, Batch, Checkpoint, DeadLetter, Error, ListError, Position};

/// The schema that holds the orders.
pub const SCHEMA: &str = "sales";
const SERVICE: &str = "order";
store::service_database!(Orders, "./migrations/order");

const ORDERS: Ledger = Ledger {
    service: SERVICE,
    entity: "sales.sales_order",
    views: "sales.order_grid",
    key: "sales_order",
    with: &["sales.order_document"],
};

/// The order service's database.
#[derive(Debug, Clone)]
pub struct Orders {
    pool: PgPool,
}

/// The fields of an order document the grid keeps in columns.
#[derive(Debug, Deserialize)]
struct OrderFields<'a> {
    uuid: Uuid,
    entity_id: i64,
    increment_id: Option<String>,
    store_id: Option<i32>,
    customer_id: Option<i64>,
    customer_email: Option<String>,
    customer_firstname: Option<String>,
    customer_lastname: Option<String>,
    customer_group_id: Option<i32>,
    status: Option<String>,
    state: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    #[serde(borrow)]
    grand_total: Option<&'a RawValue>,
    #[serde(borrow)]
    base_grand_total: Option<&'a RawValue>,
    order_currency_code: Option<String>,
}

/// The `cast` a field kept in `attrs` (as text) needs to compare as its kind.
macro_rules! cast {
    (Text) => {
        ""
    };
    (Number) => {
        "::numeric"
    };
    (Integer) => {
        "::bigint"
    };
    (Timestamp) => {
        "::timestamp"
    };
}

/// The grid's columns, then the fields read from `attrs`.
macro_rules! columns {
    ([$(($name:literal, $sql:literal, $kind:ident)),* $(,)?],
     [$(($attr:literal, $akind:ident)),* $(,)?]) => {
        &[
            $(($name, $sql, Kind::$kind),)*
            $(($attr, concat!("((o.attrs->>'", $attr, "')", cast!($akind), ")"), Kind::$akind),)*
        ]
    };
}

/// Every scalar field of `OrderInterface`, as Magento's order collection filters on the
/// `sales_order` columns of the same names.
const ORDER_COLUMNS: store::Columns = columns!(
    [
        ("entity_id", "o.legacy_id", Integer),
        ("increment_id", "o.increment_id", Text),
        ("store_id", "o.store_id", Integer),
        ("customer_id", "o.customer_id", Integer),
        ("customer_email", "o.customer_email", Text),
        ("customer_firstname", "o.customer_firstname", Text),
        ("customer_lastname", "o.customer_lastname", Text),
        ("customer_group_id", "o.customer_group_id", Integer),
        ("status", "o.status", Text),
        ("state", "o.state", Text),
        ("created_at", "o.created_at", Timestamp),
        ("updated_at", "o.updated_at", Timestamp),
        ("grand_total", "o.grand_total", Number),
        ("base_grand_total", "o.base_grand_total", Number),
        ("order_currency_code", "o.order_currency_code", Text),
    ],
    [
        ("adjustment_negative", Number),
        ("adjustment_positive", Number),
        ("applied_rule_ids", Text),
        ("base_adjustment_negative", Number),
        ("base_adjustment_positive", Number),
        ("base_currency_code", Text),
        ("base_discount_amount", Number),
        ("base_discount_canceled", Number),
        ("base_discount_invoiced", Number),
        ("base_discount_refunded", Number),
        ("base_discount_tax_compensation_amount", Number),
        ("base_discount_tax_compensation_invoiced", Number),
        ("base_discount_tax_compensation_refunded", Number),
        ("base_shipping_amount", Number),
        ("base_shipping_canceled", Number),
        ("base_shipping_discount_amount", Number),
        ("base_shipping_discount_tax_compensation_amnt", Number),
        ("base_shipping_incl_tax", Number),
        ("base_shipping_invoiced", Number),
        ("base_shipping_refunded", Number),
        ("base_shipping_tax_amount", Number),
        ("base_shipping_tax_refunded", Number),
        ("base_subtotal", Number),
        ("base_subtotal_canceled", Number),
        ("base_subtotal_incl_tax", Number),
        ("base_subtotal_invoiced", Number),
        ("base_subtotal_refunded", Number),
        ("base_tax_amount", Number),
        ("base_tax_canceled", Number),
        ("base_tax_invoiced", Number),
        ("base_tax_refunded", Number),
        ("base_total_canceled", Number),
        ("base_total_due", Number),
        ("base_total_invoiced", Number),
        ("base_total_invoiced_cost", Number),
        ("base_total_offline_refunded", Number),
        ("base_total_online_refunded", Number),
        ("base_total_paid", Number),
        ("base_total_qty_ordered", Number),
        ("base_total_refunded", Number),
        ("base_to_global_rate", Number),
        ("base_to_order_rate", Number),
        ("billing_address_id", Integer),
        ("can_ship_partially", Integer),
        ("can_ship_partially_item", Integer),
        ("coupon_code", Text),
        ("customer_dob", Timestamp),
        ("customer_gender", Integer),
        ("customer_is_guest", Integer),
        ("customer_middlename", Text),
        ("customer_note", Text),
        ("customer_note_notify", Integer),
        ("customer_prefix", Text),
        ("customer_suffix", Text),
        ("customer_taxvat", Text),
        ("discount_amount", Number),
        ("discount_canceled", Number),
        ("discount_description", Text),
        ("discount_invoiced", Number),
        ("discount_refunded", Number),
        ("edit_increment", Integer),
        ("email_sent", Integer),
        ("ext_customer_id", Text),
        ("ext_order_id", Text),
        ("forced_shipment_with_invoice", Integer),
        ("global_currency_code", Text),
        ("discount_tax_compensation_amount", Number),
        ("discount_tax_compensation_invoiced", Number),
        ("discount_tax_compensation_refunded", Number),
        ("hold_before_state", Text),
        ("hold_before_status", Text),
        ("is_virtual", Integer),
        ("original_increment_id", Text),
        ("payment_authorization_amount", Number),
        ("payment_auth_expiration", Integer),
        ("protect_code", Text),
        ("quote_address_id", Integer),
        ("quote_id", Integer),
        ("relation_child_id", Text),
        ("relation_child_real_id", Text),
        ("relation_parent_id", Text),
        ("relation_parent_real_id", Text),
        ("remote_ip", Text),
        ("shipping_amount", Number),
        ("shipping_canceled", Number),
        ("shipping_description", Text),
        ("shipping_discount_amount", Number),
        ("shipping_discount_tax_compensation_amount", Number),
        ("shipping_incl_tax", Number),
        ("shipping_invoiced", Number),
        ("shipping_refunded", Number),
        ("shipping_tax_amount", Number),
        ("shipping_tax_refunded", Number),
        ("store_currency_code", Text),
        ("store_name", Text),
        ("store_to_base_rate", Number),
        ("store_to_order_rate", Number),
        ("subtotal", Number),
        ("subtotal_canceled", Number),
        ("subtotal_incl_tax", Number),
        ("subtotal_invoiced", Number),
        ("subtotal_refunded", Number),
        ("tax_amount", Number),
        ("tax_canceled", Number),
        ("tax_invoiced", Number),
        ("tax_refunded", Number),
        ("total_canceled", Number),
        ("total_due", Number),
        ("total_invoiced", Number),
        ("total_item_count", Integer),
        ("total_offline_refunded", Number),
        ("total_online_refunded", Number),
        ("total_paid", Number),
        ("total_qty_ordered", Number),
        ("total_refunded", Number),
        ("weight", Number),
        ("x_forwarded_for", Text),
    ]
);

const ORDER_LIST: ListSpec = ListSpec {
    service: SERVICE,
    codes: ("sales.attribute", "sales_order"),
    alias: "o",
    columns: ORDER_COLUMNS,
    keys: "o.sales_order",
    document: "(SELECT d.document::text FROM sales.order_document d WHERE d.sales_order = k.sales_order)",
    from: "FROM sales.order_grid o",
    tiebreak: "o.legacy_id",
};

/// The top-level scalar members of a document (strings and numbers) as a text-valued object:
/// what `attrs` holds for the fields without a column.
fn scalars(members: &Members<'_>) -> serde_json::Map<String, serde_json::Value> {
    let mut attrs = serde_json::Map::new();
    for (key, raw) in &members.0 {
        if *key == "uuid" || *key == "store_code" {
            continue;
        }
        let text = raw.get();
        let value = match text.as_bytes().first() {
            Some(b'"') => match serde_json::from_str::<String>(text) {
                Ok(s) => s,
                Err(_) => continue,
            },
            Some(b'-' | b'0'..=b'9') => text.to_string(),
            _ => continue,
        };
        attrs.insert((*key).to_string(), serde_json::Value::String(value));
    }
    attrs
}

impl Orders {
    /// Applies one order document (eav-extract's shape) read at `at`. Older than what the
    /// service holds for that order, or than its deletion: ignored.
    pub async fn upsert_order(&self, document: &str, at: Position) -> Result<Applied, Error> {
        store::retrying(|| self.upsert_order_once(document, at)).await
    }

    async fn upsert_order_once(&self, document: &str, at: Position) -> Result<Applied, Error> {
        let mut tx = self.pool.begin().await.map_err(db(SERVICE, "begin"))?;
        let applied = self.upsert_order_in(&mut tx, document, at).await?;
        tx.commit().await.map_err(db(SERVICE, "commit"))?;
        Ok(applied)
    }

    async fn upsert_order_in(
        &self,
        tx: &mut sqlx::PgConnection,
        document: &str,
        at: Position,
    ) -> Result<Applied, Error> {
        let bad = |e: serde_json::Error| Error::BadDocument {
            entity: "order",
            reason: e.to_string(),
        };
        let members = Members::parse(document).map_err(bad)?;
        let f: OrderFields<'_> = members.fields().map_err(bad)?;
        let shape = members.magento_shape().map_err(bad)?;
        let attrs = scalars(&members);
        let number = |v: Option<&RawValue>| v.map(|r| r.get().to_string());
        if !ORDERS.advance(&mut *tx, f.uuid, f.entity_id, at).await? {
            return Ok(Applied::Stale);
        }
        let written = sqlx::query(
            "WITH o AS (
               INSERT INTO sales.order_grid AS o (sales_order, legacy_id, increment_id, store_id,
                 customer_id, customer_email, customer_firstname, customer_lastname,
                 customer_group_id, status, state, created_at, updated_at, grand_total,
                 base_grand_total, order_currency_code, attrs, source_file, source_offset)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::timestamp,
                 $13::timestamp, $14::numeric, $15::numeric, $16, $17, $19, $20)
               ON CONFLICT (sales_order) DO UPDATE SET
                 legacy_id = EXCLUDED.legacy_id, increment_id = EXCLUDED.increment_id,
                 store_id = EXCLUDED.store_id, customer_id = EXCLUDED.customer_id,
                 customer_email = EXCLUDED.customer_email,
                 customer_firstname = EXCLUDED.customer_firstname,
                 customer_lastname = EXCLUDED.customer_lastname,
                 customer_group_id = EXCLUDED.customer_group_id, status = EXCLUDED.status,
                 state = EXCLUDED.state, created_at = EXCLUDED.created_at,
                 updated_at = EXCLUDED.updated_at, grand_total = EXCLUDED.grand_total,
                 base_grand_total = EXCLUDED.base_grand_total,
                 order_currency_code = EXCLUDED.order_currency_code, attrs = EXCLUDED.attrs,
                 source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset
               WHERE (o.source_file, o.source_offset)
                   < (EXCLUDED.source_file, EXCLUDED.source_offset)
               RETURNING sales_order)
             INSERT INTO sales.order_document (sales_order, document)
             SELECT sales_order, $18::json FROM o
             ON CONFLICT (sales_order) DO UPDATE SET document = EXCLUDED.document",
        )
        .bind(f.uuid)
        .bind(f.entity_id)
        .bind(&f.increment_id)
        .bind(f.store_id)
        .bind(f.customer_id)
        .bind(&f.customer_email)
        .bind(&f.customer_firstname)
        .bind(&f.customer_lastname)
        .bind(f.customer_group_id)
        .bind(&f.status)
        .bind(&f.state)
        .bind(&f.created_at)
        .bind(&f.updated_at)
        .bind(number(f.grand_total))
        .bind(number(f.base_grand_total))
        .bind(&f.order_currency_code)
        .bind(serde_json::Value::Object(attrs))
        .bind(shape)
        .bind(at.file as i64)
        .bind(at.offset as i64)
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "write order document"))?
        .rows_affected();
        Ok(store::applied(written))
    }

    /// The position each order of `legacy_ids` that the service holds (or holds a tombstone
    /// of) was last written at: its documents show Magento as of that position. cdc-sync skips
    /// re-reading an entity whose changes all lie before it.
    pub async fn positions(&self, legacy_ids: &[i64]) -> Result<Vec<(i64, Position)>, Error> {
        ORDERS.positions(&self.pool, legacy_ids).await
    }

    /// Deletes an order as of `at`, leaving a tombstone.
    pub async fn delete_order(
        &self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        ORDERS.remove(&self.pool, uuid, legacy_id as i64, at).await
    }

    /// Refreshes the planner's statistics and the visibility map (after a back-fill).
    pub async fn vacuum(&self) -> Result<(), Error> {
        let tables = [
            "sales.order_grid",
            "sales.order_document",
            "sales.sales_order",
        ];
        store::vacuum(SERVICE, &self.pool, &tables).await
    }

    /// The document of order `id`, as Magento answers it.
    pub async fn order(&self, id: i64) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT d.document::text FROM sales.order_grid o
                 JOIN sales.order_document d ON d.sales_order = o.sales_order
                 WHERE o.legacy_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(SERVICE, "read order"))?;
        Ok(row.map(|(d,)| d))
    }

    /// The orders `criteria` selects (`GET /V1/orders`): the page and the total.
    pub async fn search(&self, criteria: &Criteria) -> Result<(Vec<String>, i64), ListError> {
        self.list(criteria).await?.run(&self.pool, criteria).await
    }

    /// PostgreSQL's plan for an order search.
    pub async fn explain_search(&self, criteria: &Criteria) -> Result<String, ListError> {
        self.list(criteria).await?.explain(&self.pool).await
    }

    async fn list(&self, criteria: &Criteria) -> Result<List, ListError> {
        ORDER_LIST
            .list(&self.pool, criteria, Sql::default(), Vec::new())
            .await
    }
}

impl Batch<'_, Orders> {
    /// [`Orders::upsert_order`], in the batch.
    pub async fn upsert_order(&mut self, document: &str, at: Position) -> Result<Applied, Error> {
        self.service
            .upsert_order_in(&mut self.tx, document, at)
            .await
    }

    /// [`Orders::delete_order`], in the batch.
    pub async fn delete_order(
        &mut self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        ORDERS
            .remove_in(&mut self.tx, uuid, legacy_id as i64, at)
            .await
    }
}

impl crate::single::Single for Orders {
    const NAME: &'static str = "order";
    const KIND: crate::load::Kind = crate::load::Kind::Order;

    async fn connect(dsn: &str) -> Result<Self, Error> {
        Orders::connect(dsn).await
    }

    async fn migrate(&self) -> Result<(), Error> {
        Orders::migrate(self).await
    }

    async fn upsert(&self, document: &str, at: Position) -> Result<Applied, Error> {
        self.upsert_order(document, at).await
    }

    async fn vacuum(&self) -> Result<(), Error> {
        Orders::vacuum(self).await
    }

    fn router(self, gateway: crate::http::Gateway) -> axum::Router {
        crate::http::order::router(self, gateway)
    }
}
