//! Orders: Magento's flat sales tables (no EAV, no store dimension) as the document
//! `GET /V1/orders/{id}` answers, `OrderInterface` with its items, billing address, payment,
//! status histories and the extension attributes `OrderRepository::get` adds.
//!
//! Key order is each interface's getter order (`Sales/Api/Data/*Interface.php`), types are the
//! getters' declared types (`float` getters print as Magento prints a float, from the exact
//! decimal text), and a null is omitted where the getter may return null but written as `null`
//! where the getter's type says it never does (`customer_email`, `grand_total`, the payment's
//! `account_status` and `cc_last4`, …), as `DataObjectProcessor` does.
//!
//! What Magento computes on the way out:
//! - `items` are every line, children included, by `item_id`; a child line carries its parent
//!   line as `parent_item`; `product_option` comes from the line's `info_buyRequest`
//!   (`super_attribute` → `configurable_item_options`, `options` → `custom_options`), for lines
//!   without a parent, as `OrderItemRepository` adds it;
//! - an address's `street` is its lines split at newlines; `region_code` is
//!   `directory_country_region.code` when the region id is of the address's country, else the
//!   region's name;
//! - the payment's `additional_information` is the values of its JSON object, and
//!   `extension_attributes.payment_additional_info` its `{key, value}` pairs (a value that is
//!   not a string as JSON text);
//! - `status_histories` newest first (`created_at`, then `entity_id`, descending);
//! - `extension_attributes.shipping_assignments`: one assignment with the shipping address, the
//!   order's `shipping_method`, the shipping totals and the items again.
//!
//! Not written: `applied_taxes` and `item_applied_taxes` are always `[]` (`sales_order_tax`
//! is not read), and module extensions (gift messages, Adobe Commerce's gift cards and reward
//! points) are left out.

use std::collections::HashMap;
use std::fmt;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use uuid::Uuid;

use crate::error::{Error, Result, mysql};
use crate::json::{self, Object, is_integer, magento_number};
use crate::source::Span;

/// The tables an order document is built from.
pub const TABLES: &[&str] = &[
    "sales_order",
    "sales_order_item",
    "sales_order_address",
    "sales_order_payment",
    "sales_order_status_history",
];

/// How a getter's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    /// `float|null`.
    Float,
    /// `float` (null written as `null`).
    FloatRequired,
    /// `int|null`.
    Int,
    /// `int`.
    IntRequired,
    /// `string|null`.
    Str,
    /// `string`.
    StrRequired,
}

use T::{
    Float as F, FloatRequired as FR, Int as I, IntRequired as IR, Str as S, StrRequired as SR,
};

/// `OrderInterface`'s scalar getters, in declaration order.
const ORDER: &[(&str, T)] = &[
    ("adjustment_negative", F),
    ("adjustment_positive", F),
    ("applied_rule_ids", S),
    ("base_adjustment_negative", F),
    ("base_adjustment_positive", F),
    ("base_currency_code", S),
    ("base_discount_amount", F),
    ("base_discount_canceled", F),
    ("base_discount_invoiced", F),
    ("base_discount_refunded", F),
    ("base_grand_total", FR),
    ("base_discount_tax_compensation_amount", FR),
    ("base_discount_tax_compensation_invoiced", FR),
    ("base_discount_tax_compensation_refunded", FR),
    ("base_shipping_amount", F),
    ("base_shipping_canceled", F),
    ("base_shipping_discount_amount", F),
    ("base_shipping_discount_tax_compensation_amnt", FR),
    ("base_shipping_incl_tax", F),
    ("base_shipping_invoiced", F),
    ("base_shipping_refunded", F),
    ("base_shipping_tax_amount", F),
    ("base_shipping_tax_refunded", F),
    ("base_subtotal", F),
    ("base_subtotal_canceled", F),
    ("base_subtotal_incl_tax", F),
    ("base_subtotal_invoiced", F),
    ("base_subtotal_refunded", F),
    ("base_tax_amount", F),
    ("base_tax_canceled", F),
    ("base_tax_invoiced", F),
    ("base_tax_refunded", F),
    ("base_total_canceled", F),
    ("base_total_due", F),
    ("base_total_invoiced", F),
    ("base_total_invoiced_cost", F),
    ("base_total_offline_refunded", F),
    ("base_total_online_refunded", F),
    ("base_total_paid", F),
    ("base_total_qty_ordered", F),
    ("base_total_refunded", F),
    ("base_to_global_rate", F),
    ("base_to_order_rate", F),
    ("billing_address_id", I),
    ("can_ship_partially", I),
    ("can_ship_partially_item", I),
    ("coupon_code", S),
    ("created_at", S),
    ("customer_dob", S),
    ("customer_email", SR),
    ("customer_firstname", S),
    ("customer_gender", I),
    ("customer_group_id", I),
    ("customer_id", I),
    ("customer_is_guest", I),
    ("customer_lastname", S),
    ("customer_middlename", S),
    ("customer_note", S),
    ("customer_note_notify", I),
    ("customer_prefix", S),
    ("customer_suffix", S),
    ("customer_taxvat", S),
    ("discount_amount", F),
    ("discount_canceled", F),
    ("discount_description", S),
    ("discount_invoiced", F),
    ("discount_refunded", F),
    ("edit_increment", I),
    ("email_sent", I),
    ("entity_id", I),
    ("ext_customer_id", S),
    ("ext_order_id", S),
    ("forced_shipment_with_invoice", I),
    ("global_currency_code", S),
    ("grand_total", FR),
    ("discount_tax_compensation_amount", FR),
    ("discount_tax_compensation_invoiced", FR),
    ("discount_tax_compensation_refunded", FR),
    ("hold_before_state", S),
    ("hold_before_status", S),
    ("increment_id", S),
    ("is_virtual", I),
    ("order_currency_code", S),
    ("original_increment_id", S),
    ("payment_authorization_amount", F),
    ("payment_auth_expiration", I),
    ("protect_code", S),
    ("quote_address_id", I),
    ("quote_id", I),
    ("relation_child_id", S),
    ("relation_child_real_id", S),
    ("relation_parent_id", S),
    ("relation_parent_real_id", S),
    ("remote_ip", S),
    ("shipping_amount", F),
    ("shipping_canceled", F),
    ("shipping_description", S),
    ("shipping_discount_amount", F),
    ("shipping_discount_tax_compensation_amount", FR),
    ("shipping_incl_tax", F),
    ("shipping_invoiced", F),
    ("shipping_refunded", F),
    ("shipping_tax_amount", F),
    ("shipping_tax_refunded", F),
    ("state", S),
    ("status", S),
    ("store_currency_code", S),
    ("store_id", I),
    ("store_name", S),
    ("store_to_base_rate", F),
    ("store_to_order_rate", F),
    ("subtotal", F),
    ("subtotal_canceled", F),
    ("subtotal_incl_tax", F),
    ("subtotal_invoiced", F),
    ("subtotal_refunded", F),
    ("tax_amount", F),
    ("tax_canceled", F),
    ("tax_invoiced", F),
    ("tax_refunded", F),
    ("total_canceled", F),
    ("total_due", F),
    ("total_invoiced", F),
    ("total_item_count", I),
    ("total_offline_refunded", F),
    ("total_online_refunded", F),
    ("total_paid", F),
    ("total_qty_ordered", F),
    ("total_refunded", F),
    ("updated_at", S),
    ("weight", F),
    ("x_forwarded_for", S),
];

/// `OrderItemInterface`'s scalar getters, in declaration order (`parent_item` and
/// `product_option` follow).
const ITEM: &[(&str, T)] = &[
    ("additional_data", S),
    ("amount_refunded", F),
    ("applied_rule_ids", S),
    ("base_amount_refunded", F),
    ("base_cost", F),
    ("base_discount_amount", F),
    ("base_discount_invoiced", F),
    ("base_discount_refunded", F),
    ("base_discount_tax_compensation_amount", F),
    ("base_discount_tax_compensation_invoiced", F),
    ("base_discount_tax_compensation_refunded", F),
    ("base_original_price", F),
    ("base_price", F),
    ("base_price_incl_tax", F),
    ("base_row_invoiced", F),
    ("base_row_total", F),
    ("base_row_total_incl_tax", F),
    ("base_tax_amount", F),
    ("base_tax_before_discount", F),
    ("base_tax_invoiced", F),
    ("base_tax_refunded", F),
    ("base_weee_tax_applied_amount", F),
    ("base_weee_tax_applied_row_amnt", F),
    ("base_weee_tax_disposition", F),
    ("base_weee_tax_row_disposition", F),
    ("created_at", S),
    ("description", S),
    ("discount_amount", F),
    ("discount_invoiced", F),
    ("discount_percent", F),
    ("discount_refunded", F),
    ("event_id", I),
    ("ext_order_item_id", S),
    ("free_shipping", I),
    ("gw_base_price", F),
    ("gw_base_price_invoiced", F),
    ("gw_base_price_refunded", F),
    ("gw_base_tax_amount", F),
    ("gw_base_tax_amount_invoiced", F),
    ("gw_base_tax_amount_refunded", F),
    ("gw_id", I),
    ("gw_price", F),
    ("gw_price_invoiced", F),
    ("gw_price_refunded", F),
    ("gw_tax_amount", F),
    ("gw_tax_amount_invoiced", F),
    ("gw_tax_amount_refunded", F),
    ("discount_tax_compensation_amount", F),
    ("discount_tax_compensation_canceled", F),
    ("discount_tax_compensation_invoiced", F),
    ("discount_tax_compensation_refunded", F),
    ("is_qty_decimal", I),
    ("is_virtual", I),
    ("item_id", I),
    ("locked_do_invoice", I),
    ("locked_do_ship", I),
    ("name", S),
    ("no_discount", I),
    ("order_id", I),
    ("original_price", F),
    ("parent_item_id", I),
    ("price", F),
    ("price_incl_tax", F),
    ("product_id", I),
    ("product_type", S),
    ("qty_backordered", F),
    ("qty_canceled", F),
    ("qty_invoiced", F),
    ("qty_ordered", F),
    ("qty_refunded", F),
    ("qty_returned", F),
    ("qty_shipped", F),
    ("quote_item_id", I),
    ("row_invoiced", F),
    ("row_total", F),
    ("row_total_incl_tax", F),
    ("row_weight", F),
    ("sku", SR),
    ("store_id", I),
    ("tax_amount", F),
    ("tax_before_discount", F),
    ("tax_canceled", F),
    ("tax_invoiced", F),
    ("tax_percent", F),
    ("tax_refunded", F),
    ("updated_at", S),
    ("weee_tax_applied", S),
    ("weee_tax_applied_amount", F),
    ("weee_tax_applied_row_amount", F),
    ("weee_tax_disposition", F),
    ("weee_tax_row_disposition", F),
    ("weight", F),
];

/// `OrderAddressInterface`'s getters up to `region` (`region_code`, `region_id` and `street`
/// follow, then [`ADDRESS_TAIL`]).
const ADDRESS_HEAD: &[(&str, T)] = &[
    ("address_type", SR),
    ("city", SR),
    ("company", S),
    ("country_id", SR),
    ("customer_address_id", I),
    ("customer_id", I),
    ("email", S),
    ("entity_id", I),
    ("fax", S),
    ("firstname", SR),
    ("lastname", SR),
    ("middlename", S),
    ("parent_id", I),
    ("postcode", SR),
    ("prefix", S),
    ("quote_address_id", I),
    ("region", S),
];

const ADDRESS_TAIL: &[(&str, T)] = &[
    ("suffix", S),
    ("telephone", SR),
    ("vat_id", S),
    ("vat_is_valid", I),
    ("vat_request_date", S),
    ("vat_request_id", S),
    ("vat_request_success", I),
];

/// `OrderPaymentInterface`'s getters after `additional_information`.
const PAYMENT_TAIL: &[(&str, T)] = &[
    ("address_status", S),
    ("amount_authorized", F),
    ("amount_canceled", F),
    ("amount_ordered", F),
    ("amount_paid", F),
    ("amount_refunded", F),
    ("anet_trans_method", S),
    ("base_amount_authorized", F),
    ("base_amount_canceled", F),
    ("base_amount_ordered", F),
    ("base_amount_paid", F),
    ("base_amount_paid_online", F),
    ("base_amount_refunded", F),
    ("base_amount_refunded_online", F),
    ("base_shipping_amount", F),
    ("base_shipping_captured", F),
    ("base_shipping_refunded", F),
    ("cc_approval", S),
    ("cc_avs_status", S),
    ("cc_cid_status", S),
    ("cc_debug_request_body", S),
    ("cc_debug_response_body", S),
    ("cc_debug_response_serialized", S),
    ("cc_exp_month", S),
    ("cc_exp_year", S),
    ("cc_last4", SR),
    ("cc_number_enc", S),
    ("cc_owner", S),
    ("cc_secure_verify", S),
    ("cc_ss_issue", S),
    ("cc_ss_start_month", S),
    ("cc_ss_start_year", S),
    ("cc_status", S),
    ("cc_status_description", S),
    ("cc_trans_id", S),
    ("cc_type", S),
    ("echeck_account_name", S),
    ("echeck_account_type", S),
    ("echeck_bank_name", S),
    ("echeck_routing_number", S),
    ("echeck_type", S),
    ("entity_id", I),
    ("last_trans_id", S),
    ("method", SR),
    ("parent_id", I),
    ("po_number", S),
    ("protection_eligibility", S),
    ("quote_payment_id", I),
    ("shipping_amount", F),
    ("shipping_captured", F),
    ("shipping_refunded", F),
];

/// `OrderStatusHistoryInterface`'s getters.
const HISTORY: &[(&str, T)] = &[
    ("comment", SR),
    ("created_at", S),
    ("entity_id", I),
    ("entity_name", S),
    ("is_customer_notified", IR),
    ("is_visible_on_front", IR),
    ("parent_id", IR),
    ("status", S),
];

/// `TotalInterface`'s getters: the shipping totals of a shipping assignment, copied from the
/// order's columns of the same names.
const SHIPPING_TOTAL: &[(&str, T)] = &[
    ("base_shipping_amount", F),
    ("base_shipping_canceled", F),
    ("base_shipping_discount_amount", F),
    ("base_shipping_discount_tax_compensation_amnt", F),
    ("base_shipping_incl_tax", F),
    ("base_shipping_invoiced", F),
    ("base_shipping_refunded", F),
    ("base_shipping_tax_amount", F),
    ("base_shipping_tax_refunded", F),
    ("shipping_amount", F),
    ("shipping_canceled", F),
    ("shipping_discount_amount", F),
    ("shipping_discount_tax_compensation_amount", F),
    ("shipping_incl_tax", F),
    ("shipping_invoiced", F),
    ("shipping_refunded", F),
    ("shipping_tax_amount", F),
    ("shipping_tax_refunded", F),
];

/// The column behind a getter, where its name differs.
fn column_of(key: &str) -> &str {
    match key {
        "cc_last4" => "cc_last_4",
        k => k,
    }
}

/// One table's rows as the text protocol returns them: the column names once, values as text
/// (decimals exactly as stored).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    table: &'static str,
    names: HashMap<String, usize>,
    rows: Vec<Vec<Option<String>>>,
}

/// One row of [`Rows`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    rows: &'a Rows,
    values: &'a [Option<String>],
}

impl Rows {
    async fn read(conn: &mut Conn, table: &'static str, sql: String) -> Result<Rows> {
        let result: Vec<mysql_async::Row> = conn.query(sql).await.map_err(mysql(table))?;
        let mut rows = Rows {
            table,
            ..Rows::default()
        };
        if let Some(first) = result.first() {
            rows.names = first
                .columns_ref()
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name_str().into_owned(), i))
                .collect();
        }
        rows.rows = result
            .into_iter()
            .map(|r| r.unwrap().into_iter().map(text).collect())
            .collect();
        Ok(rows)
    }

    fn row(&self, i: usize) -> Row<'_> {
        Row {
            rows: self,
            values: &self.rows[i],
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Row indexes by the integer in `column`, in row order.
    fn by(&self, column: &str) -> HashMap<u32, Vec<usize>> {
        let mut map: HashMap<u32, Vec<usize>> = HashMap::new();
        for i in 0..self.len() {
            if let Some(k) = self.row(i).get(column).and_then(|v| v.parse().ok()) {
                map.entry(k).or_default().push(i);
            }
        }
        map
    }
}

fn text(v: Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

impl<'a> Row<'a> {
    /// The text of `column`; `None` for NULL or a column the table does not have.
    pub fn get(&self, column: &str) -> Option<&'a str> {
        let i = *self.rows.names.get(column)?;
        self.values.get(i)?.as_deref()
    }

    fn id(&self, column: &str) -> u32 {
        self.get(column).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// The orders of one chunk with everything their documents hold.
#[derive(Debug, Clone, Default)]
pub struct Orders {
    orders: Rows,
    items: Rows,
    items_of: HashMap<u32, Vec<usize>>,
    item_by_id: HashMap<u32, usize>,
    addresses: Rows,
    addresses_of: HashMap<u32, Vec<usize>>,
    payments: Rows,
    payments_of: HashMap<u32, Vec<usize>>,
    histories: Rows,
    histories_of: HashMap<u32, Vec<usize>>,
}

impl Orders {
    /// Reads up to `size` orders after entity id `after` (keyset pagination), then their
    /// items, addresses, payments and histories by the chunk's id range.
    pub async fn read(conn: &mut Conn, after: u32, size: usize) -> Result<Orders> {
        let orders = Rows::read(
            conn,
            "sales_order",
            format!(
                "SELECT * FROM sales_order WHERE entity_id > {after} ORDER BY entity_id LIMIT {size}"
            ),
        )
        .await?;
        if orders.len() == 0 {
            return Ok(Orders::default());
        }
        let (lo, hi) = (
            orders.row(0).id("entity_id"),
            orders.row(orders.len() - 1).id("entity_id"),
        );
        Orders::with_rows(conn, orders, Span::Range(lo, hi)).await
    }

    /// The orders of `span` (ids that do not exist are left out).
    pub(crate) async fn read_span(conn: &mut Conn, span: Span<'_>) -> Result<Orders> {
        let orders = Rows::read(
            conn,
            "sales_order",
            format!(
                "SELECT * FROM sales_order WHERE {} ORDER BY entity_id",
                span.sql("entity_id")
            ),
        )
        .await?;
        if orders.len() == 0 {
            return Ok(Orders::default());
        }
        Orders::with_rows(conn, orders, span).await
    }

    /// `orders` with their items, addresses, payments and histories, read by `span`.
    async fn with_rows(conn: &mut Conn, orders: Rows, span: Span<'_>) -> Result<Orders> {
        let range = |parent: &str| span.sql(parent);
        let items = Rows::read(
            conn,
            "sales_order_item",
            format!(
                "SELECT * FROM sales_order_item WHERE {} ORDER BY order_id, item_id",
                range("order_id")
            ),
        )
        .await?;
        let addresses = Rows::read(
            conn,
            "sales_order_address",
            format!(
                "SELECT * FROM sales_order_address WHERE {} ORDER BY parent_id, entity_id",
                range("parent_id")
            ),
        )
        .await?;
        let payments = Rows::read(
            conn,
            "sales_order_payment",
            format!(
                "SELECT * FROM sales_order_payment WHERE {} ORDER BY parent_id, entity_id",
                range("parent_id")
            ),
        )
        .await?;
        // Order::getStatusHistoryCollection: newest first.
        let histories = Rows::read(
            conn,
            "sales_order_status_history",
            format!(
                "SELECT * FROM sales_order_status_history WHERE {} ORDER BY parent_id, created_at DESC, entity_id DESC",
                range("parent_id")
            ),
        )
        .await?;
        let item_by_id = (0..items.len())
            .map(|i| (items.row(i).id("item_id"), i))
            .collect();
        Ok(Orders {
            items_of: items.by("order_id"),
            item_by_id,
            items,
            addresses_of: addresses.by("parent_id"),
            addresses,
            payments_of: payments.by("parent_id"),
            payments,
            histories_of: histories.by("parent_id"),
            histories,
            orders,
        })
    }

    /// The chunk's order ids, ascending.
    pub fn ids(&self) -> Vec<u32> {
        (0..self.orders.len())
            .map(|i| self.orders.row(i).id("entity_id"))
            .collect()
    }

    /// Rows read (orders and the rows that go with them), for the summary and the rate limit.
    pub fn rows(&self) -> u64 {
        [
            &self.orders,
            &self.items,
            &self.addresses,
            &self.payments,
            &self.histories,
        ]
        .iter()
        .map(|r| r.len() as u64)
        .sum()
    }

    /// The store id of the chunk's `n`th order.
    pub fn store_id(&self, n: usize) -> Option<u16> {
        self.orders.row(n).get("store_id")?.parse().ok()
    }

    /// Writes the document of the chunk's `n`th order: `uuid`, `store_code` (when the order's
    /// store is known), then Magento's `OrderInterface`; `regions` are
    /// `directory_country_region`'s codes by region id (with their country).
    pub fn write(
        &self,
        out: &mut String,
        n: usize,
        uuid: &Uuid,
        store_code: Option<&str>,
        regions: &HashMap<u32, (String, String)>,
    ) -> Result<()> {
        let order = self.orders.row(n);
        let id = order.id("entity_id");
        let mut o = Object::new(out);
        o.uuid("uuid", uuid);
        o.opt_str("store_code", store_code);
        scalars(&mut o, order, id, ORDER)?;
        let items = self.items_of.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        self.items(o.key("items"), items)?;
        let addresses = self.addresses_of.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let of_type = |kind: &str| {
            addresses
                .iter()
                .map(|&i| self.addresses.row(i))
                .find(|a| a.get("address_type") == Some(kind))
        };
        if let Some(billing) = of_type("billing") {
            address(o.key("billing_address"), billing, regions)?;
        }
        let payment = self
            .payments_of
            .get(&id)
            .and_then(|p| p.first())
            .map(|&i| self.payments.row(i));
        let info = match payment {
            Some(p) => {
                let info = additional_information(p)?;
                self.payment(o.key("payment"), p, &info)?;
                info
            }
            None => Vec::new(),
        };
        let histories = self.histories_of.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        if !histories.is_empty() {
            let mut failed = None;
            json::array(o.key("status_histories"), histories, |out, &i| {
                let h = self.histories.row(i);
                let mut ho = Object::new(out);
                if let Err(e) = scalars(&mut ho, h, h.id("entity_id"), HISTORY) {
                    failed.get_or_insert(e);
                }
                ho.end();
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        let mut ext = Object::new(o.key("extension_attributes"));
        {
            // ShippingAssignmentBuilder: one assignment, whatever the order.
            let out = ext.key("shipping_assignments");
            out.push('[');
            let mut assignment = Object::new(out);
            let mut shipping = Object::new(assignment.key("shipping"));
            if let Some(a) = of_type("shipping") {
                address(shipping.key("address"), a, regions)?;
            }
            shipping.opt_str("method", order.get("shipping_method"));
            let mut total = Object::new(shipping.key("total"));
            scalars(&mut total, order, id, SHIPPING_TOTAL)?;
            total.end();
            shipping.end();
            self.items(assignment.key("items"), items)?;
            assignment.end();
            out.push(']');
        }
        json::array(ext.key("payment_additional_info"), &info, |out, (k, v)| {
            let mut kv = Object::new(out);
            kv.str("key", k);
            kv.str("value", v);
            kv.end();
        });
        ext.raw("applied_taxes", "[]");
        ext.raw("item_applied_taxes", "[]");
        ext.end();
        o.end();
        out.push('\n');
        Ok(())
    }

    /// `[…]` of the order's lines `items` (indexes into the chunk's items).
    fn items(&self, out: &mut String, items: &[usize]) -> Result<()> {
        out.push('[');
        for (n, &i) in items.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            self.item(out, i)?;
        }
        out.push(']');
        Ok(())
    }

    fn item(&self, out: &mut String, i: usize) -> Result<()> {
        let item = self.items.row(i);
        let id = item.id("item_id");
        let mut o = Object::new(out);
        scalars(&mut o, item, id, ITEM)?;
        let parent = item
            .get("parent_item_id")
            .and_then(|p| p.parse::<u32>().ok());
        match parent {
            Some(p) => {
                if let Some(&pi) = self.item_by_id.get(&p) {
                    self.item(o.key("parent_item"), pi)?;
                }
            }
            None => product_option(&mut o, item),
        }
        o.end();
        Ok(())
    }

    fn payment(&self, out: &mut String, p: Row<'_>, info: &[(String, String)]) -> Result<()> {
        let id = p.id("entity_id");
        let mut o = Object::new(out);
        scalars(
            &mut o,
            p,
            id,
            &[("account_status", SR), ("additional_data", S)],
        )?;
        json::array(o.key("additional_information"), info, |out, (_, v)| {
            json::string(out, v)
        });
        scalars(&mut o, p, id, PAYMENT_TAIL)?;
        o.end();
        Ok(())
    }
}

/// Writes `fields` of `row` as Magento casts its getters.
fn scalars(o: &mut Object<'_>, row: Row<'_>, id: u32, fields: &[(&str, T)]) -> Result<()> {
    for &(key, t) in fields {
        let column = column_of(key);
        let Some(v) = row.get(column) else {
            if matches!(t, FR | IR | SR) {
                o.raw(key, "null");
            }
            continue;
        };
        match t {
            F | FR => {
                let n = magento_number(v).ok_or_else(|| bad(row, id, column, v, "a decimal"))?;
                o.raw(key, n);
            }
            I | IR => {
                if !is_integer(v) {
                    return Err(bad(row, id, column, v, "an integer"));
                }
                o.raw(key, v);
            }
            S | SR => o.str(key, v),
        }
    }
    Ok(())
}

fn bad(row: Row<'_>, id: u32, column: &str, value: &str, expected: &'static str) -> Error {
    Error::BadValue {
        table: row.rows.table.into(),
        entity_id: id as u64,
        column: column.into(),
        value: value.into(),
        expected,
    }
}

/// An `OrderAddressInterface`.
fn address(out: &mut String, a: Row<'_>, regions: &HashMap<u32, (String, String)>) -> Result<()> {
    let id = a.id("entity_id");
    let mut o = Object::new(out);
    scalars(&mut o, a, id, ADDRESS_HEAD)?;
    // Address::getRegionCode: the region's code when its id is one of the address's country,
    // else the region text.
    let region_id = a.get("region_id");
    let code = region_id
        .and_then(|r| r.parse::<u32>().ok())
        .and_then(|r| regions.get(&r))
        .filter(|(country, _)| Some(country.as_str()) == a.get("country_id"))
        .map(|(_, code)| code.as_str())
        .or(a.get("region"));
    o.opt_str("region_code", code);
    scalars(&mut o, a, id, &[("region_id", I)])?;
    // Address::getStreet: the text split at newlines (a NULL street splits into one empty line).
    let street = a.get("street").unwrap_or("");
    json::array(o.key("street"), street.split('\n'), json::string);
    scalars(&mut o, a, id, ADDRESS_TAIL)?;
    o.end();
    Ok(())
}

/// The payment's `additional_information` (a JSON object) as (key, value) pairs in its order,
/// values that are not strings as their JSON text.
fn additional_information(p: Row<'_>) -> Result<Vec<(String, String)>> {
    let Some(text) = p
        .get("additional_information")
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(Vec::new());
    };
    let members: Ordered = serde_json::from_str(text).map_err(|_| {
        bad(
            p,
            p.id("parent_id"),
            "additional_information",
            text,
            "a JSON object",
        )
    })?;
    Ok(members
        .0
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// A JSON object's members in document order (as PHP keeps them).
#[derive(Debug, Default)]
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    members.push(entry);
                }
                Ok(Ordered(members))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, Deserialize)]
struct ProductOptions {
    #[serde(rename = "info_buyRequest", default)]
    buy_request: Option<BuyRequest>,
}

#[derive(Debug, Deserialize)]
struct BuyRequest {
    #[serde(default)]
    super_attribute: Option<Ordered>,
    #[serde(default)]
    options: Option<Ordered>,
}

/// `product_option.extension_attributes` from the line's `info_buyRequest`, as
/// `OrderItemRepository::addProductOption` builds it: `custom_options` (`options`: option id →
/// value, lists joined with commas) and `configurable_item_options` (`super_attribute`:
/// attribute id → option id, cast to int). Nothing when the request has neither.
fn product_option(o: &mut Object<'_>, item: Row<'_>) {
    let Some(text) = item.get("product_options").filter(|t| !t.trim().is_empty()) else {
        return;
    };
    // Magento reads the column leniently: a value that is not an object has no buy request.
    let Ok(options) = serde_json::from_str::<ProductOptions>(text) else {
        return;
    };
    let Some(request) = options.buy_request else {
        return;
    };
    let custom = request.options.filter(|o| !o.0.is_empty());
    let configurable = request.super_attribute.filter(|s| !s.0.is_empty());
    let configurable = configurable.filter(|_| item.get("product_type") == Some("configurable"));
    if custom.is_none() && configurable.is_none() {
        return;
    }
    let mut po = Object::new(o.key("product_option"));
    let mut ext = Object::new(po.key("extension_attributes"));
    if let Some(custom) = custom {
        json::array(ext.key("custom_options"), &custom.0, |out, (k, v)| {
            let mut c = Object::new(out);
            c.str("option_id", k);
            let value = match v {
                serde_json::Value::Array(list) => {
                    list.iter().map(php_string).collect::<Vec<_>>().join(",")
                }
                v => php_string(v),
            };
            c.str("option_value", &value);
            c.end();
        });
    }
    if let Some(configurable) = configurable {
        json::array(
            ext.key("configurable_item_options"),
            &configurable.0,
            |out, (k, v)| {
                let mut c = Object::new(out);
                c.str("option_id", k);
                c.raw("option_value", &php_int(v).to_string());
                c.end();
            },
        );
    }
    ext.end();
    po.end();
}

/// A JSON scalar as PHP's string cast prints it.
fn php_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(true) => "1".into(),
        serde_json::Value::Bool(false) | serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A JSON value as PHP's `(int)` cast reads it: a number truncated, a string's leading integer
/// (after whitespace, with an optional sign), else 0.
fn php_int(v: &serde_json::Value) -> i64 {
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .unwrap_or(0),
        serde_json::Value::String(s) => {
            let s = s.trim_start();
            let (sign, digits) = match s.strip_prefix('-') {
                Some(rest) => (-1, rest),
                None => (1, s.strip_prefix('+').unwrap_or(s)),
            };
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            digits[..end].parse::<i64>().map(|n| sign * n).unwrap_or(0)
        }
        serde_json::Value::Bool(b) => *b as i64,
        _ => 0,
    }
}

/// `directory_country_region`'s (country, code) by region id, when the table is there.
pub async fn regions(conn: &mut Conn, present: bool) -> Result<HashMap<u32, (String, String)>> {
    if !present {
        return Ok(HashMap::new());
    }
    let rows: Vec<(u32, String, Option<String>)> = conn
        .query("SELECT region_id, country_id, code FROM directory_country_region")
        .await
        .map_err(mysql("directory_country_region"))?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, country, code)| code.map(|c| (id, (country, c))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_casts() {
        let j = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("json");
        assert_eq!(php_int(&j(r#""52""#)), 52);
        assert_eq!(php_int(&j(r#"" 7abc""#)), 7);
        assert_eq!(php_int(&j(r#""red""#)), 0);
        assert_eq!(php_int(&j("12.9")), 12);
        assert_eq!(php_int(&j(r#""-3""#)), -3);
        assert_eq!(php_string(&j("true")), "1");
        assert_eq!(php_string(&j("1.5")), "1.5");
    }

    #[test]
    fn ordered_keeps_document_order() {
        let o: Ordered = serde_json::from_str(r#"{"b":1,"a":"x","c":[1]}"#).expect("json");
        let keys: Vec<&str> = o.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }
}
