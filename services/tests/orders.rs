//! The order service against the real PostgreSQL and MariaDB, over real HTTP: a generated
//! multistore Magento's orders back-filled through the write API into the order service's own
//! database, then read back by id and by search under Magento's ACL. Every answer is checked
//! against Magento's flat sales tables read here: the getters' key order (transcribed below from
//! `Sales/Api/Data/*Interface.php`), the values cast as the columns' types say, nulls omitted
//! unless the getter is declared non-null, and what `OrderRepository::get` computes (items with
//! their parent line, product options, street lines, payment information, newest history first,
//! the shipping assignment).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use common::*;
use ficus_services::http::{IDENTITY_HEADER, SECRET_HEADER};
use ficus_services::{Applied, Position};
use serde::de::{MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// `OrderInterface`'s scalar getters in declaration order; `!` marks a getter declared
/// non-null (`float`, `string`), which Magento writes as `null` rather than omitting.
const ORDER_GETTERS: &str = "adjustment_negative adjustment_positive applied_rule_ids
  base_adjustment_negative base_adjustment_positive base_currency_code base_discount_amount
  base_discount_canceled base_discount_invoiced base_discount_refunded base_grand_total!
  base_discount_tax_compensation_amount! base_discount_tax_compensation_invoiced!
  base_discount_tax_compensation_refunded! base_shipping_amount base_shipping_canceled
  base_shipping_discount_amount base_shipping_discount_tax_compensation_amnt!
  base_shipping_incl_tax base_shipping_invoiced base_shipping_refunded base_shipping_tax_amount
  base_shipping_tax_refunded base_subtotal base_subtotal_canceled base_subtotal_incl_tax
  base_subtotal_invoiced base_subtotal_refunded base_tax_amount base_tax_canceled
  base_tax_invoiced base_tax_refunded base_total_canceled base_total_due base_total_invoiced
  base_total_invoiced_cost base_total_offline_refunded base_total_online_refunded
  base_total_paid base_total_qty_ordered base_total_refunded base_to_global_rate
  base_to_order_rate billing_address_id can_ship_partially can_ship_partially_item coupon_code
  created_at customer_dob customer_email! customer_firstname customer_gender customer_group_id
  customer_id customer_is_guest customer_lastname customer_middlename customer_note
  customer_note_notify customer_prefix customer_suffix customer_taxvat discount_amount
  discount_canceled discount_description discount_invoiced discount_refunded edit_increment
  email_sent entity_id ext_customer_id ext_order_id forced_shipment_with_invoice
  global_currency_code grand_total! discount_tax_compensation_amount!
  discount_tax_compensation_invoiced! discount_tax_compensation_refunded! hold_before_state
  hold_before_status increment_id is_virtual order_currency_code original_increment_id
  payment_authorization_amount payment_auth_expiration protect_code quote_address_id quote_id
  relation_child_id relation_child_real_id relation_parent_id relation_parent_real_id remote_ip
  shipping_amount shipping_canceled shipping_description shipping_discount_amount
  shipping_discount_tax_compensation_amount! shipping_incl_tax shipping_invoiced
  shipping_refunded shipping_tax_amount shipping_tax_refunded state status store_currency_code
  store_id store_name store_to_base_rate store_to_order_rate subtotal subtotal_canceled
  subtotal_incl_tax subtotal_invoiced subtotal_refunded tax_amount tax_canceled tax_invoiced
  tax_refunded total_canceled total_due total_invoiced total_item_count total_offline_refunded
  total_online_refunded total_paid total_qty_ordered total_refunded updated_at weight
  x_forwarded_for";

/// `OrderItemInterface`'s scalar getters.
const ITEM_GETTERS: &str = "additional_data amount_refunded applied_rule_ids
  base_amount_refunded base_cost base_discount_amount base_discount_invoiced
  base_discount_refunded base_discount_tax_compensation_amount
  base_discount_tax_compensation_invoiced base_discount_tax_compensation_refunded
  base_original_price base_price base_price_incl_tax base_row_invoiced base_row_total
  base_row_total_incl_tax base_tax_amount base_tax_before_discount base_tax_invoiced
  base_tax_refunded base_weee_tax_applied_amount base_weee_tax_applied_row_amnt
  base_weee_tax_disposition base_weee_tax_row_disposition created_at description
  discount_amount discount_invoiced discount_percent discount_refunded event_id
  ext_order_item_id free_shipping gw_base_price gw_base_price_invoiced gw_base_price_refunded
  gw_base_tax_amount gw_base_tax_amount_invoiced gw_base_tax_amount_refunded gw_id gw_price
  gw_price_invoiced gw_price_refunded gw_tax_amount gw_tax_amount_invoiced
  gw_tax_amount_refunded discount_tax_compensation_amount discount_tax_compensation_canceled
  discount_tax_compensation_invoiced discount_tax_compensation_refunded is_qty_decimal
  is_virtual item_id locked_do_invoice locked_do_ship name no_discount order_id original_price
  parent_item_id price price_incl_tax product_id product_type qty_backordered qty_canceled
  qty_invoiced qty_ordered qty_refunded qty_returned qty_shipped quote_item_id row_invoiced
  row_total row_total_incl_tax row_weight sku! store_id tax_amount tax_before_discount
  tax_canceled tax_invoiced tax_percent tax_refunded updated_at weee_tax_applied
  weee_tax_applied_amount weee_tax_applied_row_amount weee_tax_disposition
  weee_tax_row_disposition weight";

/// `OrderAddressInterface`'s getters; `region_code` and `street` are computed.
const ADDRESS_GETTERS: &str = "address_type! city! company country_id! customer_address_id
  customer_id email entity_id fax firstname! lastname! middlename parent_id postcode! prefix
  quote_address_id region region_code region_id street suffix telephone! vat_id vat_is_valid
  vat_request_date vat_request_id vat_request_success";

/// `OrderPaymentInterface`'s getters; `additional_information` is computed, `cc_last4` reads
/// `cc_last_4`.
const PAYMENT_GETTERS: &str = "account_status! additional_data additional_information
  address_status amount_authorized amount_canceled amount_ordered amount_paid amount_refunded
  anet_trans_method base_amount_authorized base_amount_canceled base_amount_ordered
  base_amount_paid base_amount_paid_online base_amount_refunded base_amount_refunded_online
  base_shipping_amount base_shipping_captured base_shipping_refunded cc_approval cc_avs_status
  cc_cid_status cc_debug_request_body cc_debug_response_body cc_debug_response_serialized
  cc_exp_month cc_exp_year cc_last4! cc_number_enc cc_owner cc_secure_verify cc_ss_issue
  cc_ss_start_month cc_ss_start_year cc_status cc_status_description cc_trans_id cc_type
  echeck_account_name echeck_account_type echeck_bank_name echeck_routing_number echeck_type
  entity_id last_trans_id method! parent_id po_number protection_eligibility quote_payment_id
  shipping_amount shipping_captured shipping_refunded";

/// `OrderStatusHistoryInterface`'s getters.
const HISTORY_GETTERS: &str = "comment! created_at entity_id entity_name is_customer_notified!
  is_visible_on_front! parent_id! status";

/// `TotalInterface`'s getters (copied from the order's columns).
const TOTAL_GETTERS: &str = "base_shipping_amount base_shipping_canceled
  base_shipping_discount_amount base_shipping_discount_tax_compensation_amnt
  base_shipping_incl_tax base_shipping_invoiced base_shipping_refunded base_shipping_tax_amount
  base_shipping_tax_refunded shipping_amount shipping_canceled shipping_discount_amount
  shipping_discount_tax_compensation_amount shipping_incl_tax shipping_invoiced
  shipping_refunded shipping_tax_amount shipping_tax_refunded";

/// A JSON object's members in document order, values as their JSON text.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = map.next_entry()? {
                    v.push(e);
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn members(text: &str) -> Members {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

impl Members {
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
    fn raw(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.get())
    }
    fn value(&self, key: &str) -> Value {
        self.raw(key)
            .map(|r| serde_json::from_str(r).expect("json"))
            .unwrap_or(Value::Null)
    }
}

/// A row of a Magento table: column → text (NULL as `None`), and the column's SQL type.
type Raw = BTreeMap<String, Option<String>>;

/// Every row of `sql` (text protocol: decimals exactly as stored).
async fn raw_rows(magento: &str, sql: &str) -> Vec<Raw> {
    let rows = magento_rows::<mysql_async::Row>(magento, sql).await;
    rows.into_iter()
        .map(|row| {
            let names: Vec<String> = row
                .columns_ref()
                .iter()
                .map(|c| c.name_str().into_owned())
                .collect();
            names
                .into_iter()
                .zip(row.unwrap())
                .map(|(n, v)| {
                    let text = match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => Some(String::from_utf8(b).expect("utf8")),
                        other => panic!("{n}: {other:?} in the text protocol"),
                    };
                    (n, text)
                })
                .collect()
        })
        .collect()
}

/// The SQL data type of every column of the sales tables (`decimal`, `int`, `varchar`, …).
async fn column_types(magento: &str) -> HashMap<(String, String), String> {
    magento_rows::<(String, String, String)>(
        magento,
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'sales_order%'",
    )
    .await
    .into_iter()
    .map(|(t, c, d)| ((t, c), d))
    .collect()
}

/// Checks the scalar members of `got` named in `getters` against `row` of `table`: present
/// exactly when the column has a value (or as `null` when the getter is non-null), in getter
/// order, each cast as its column's type says (a decimal as PHP's float of it, an integer as
/// one, anything else as the text). Returns the keys checked, in order.
fn check_scalars(
    what: &str,
    got: &Members,
    getters: &str,
    skip: &[&str],
    table: &str,
    row: &Raw,
    types: &HashMap<(String, String), String>,
) -> Vec<String> {
    let mut keys = Vec::new();
    for getter in getters.split_whitespace() {
        let (key, required) = match getter.strip_suffix('!') {
            Some(k) => (k, true),
            None => (getter, false),
        };
        if skip.contains(&key) {
            keys.push(key.to_string());
            continue;
        }
        let column = if key == "cc_last4" { "cc_last_4" } else { key };
        let raw = row.get(column).cloned().flatten();
        let Some(raw) = raw else {
            if required {
                assert_eq!(got.raw(key), Some("null"), "{what}: {key} is null");
                keys.push(key.to_string());
            } else {
                assert_eq!(got.raw(key), None, "{what}: {key} is omitted");
            }
            continue;
        };
        keys.push(key.to_string());
        let v = got.value(key);
        let ty = types
            .get(&(table.to_string(), column.to_string()))
            .unwrap_or_else(|| panic!("{table}.{column} has a type"));
        match ty.as_str() {
            "decimal" => {
                let text = got.raw(key).expect("present");
                assert!(
                    !(text.contains(['e', 'E']) || text.contains('.') && text.ends_with('0')),
                    "{what}: {key} = {text} prints as PHP prints a float"
                );
                assert_eq!(
                    v.as_f64(),
                    Some(raw.parse::<f64>().expect("decimal")),
                    "{what}: {key}"
                );
            }
            "int" | "smallint" | "tinyint" | "bigint" | "mediumint" => {
                assert_eq!(v.as_i64(), Some(raw.parse().expect("int")), "{what}: {key}")
            }
            _ => assert_eq!(v.as_str(), Some(raw.as_str()), "{what}: {key}"),
        }
    }
    keys
}

/// The members of `got` must be `keys` followed by `tail` (those `got` has), in that order.
fn assert_keys(what: &str, got: &Members, keys: &[String], tail: &[&str]) {
    let mut want: Vec<&str> = keys.iter().map(String::as_str).collect();
    want.extend(tail.iter().filter(|k| got.raw(k).is_some()));
    assert_eq!(got.keys(), want, "{what}: keys in getter order");
}

fn by<'r>(rows: &'r [Raw], column: &str) -> BTreeMap<u64, Vec<&'r Raw>> {
    let mut map: BTreeMap<u64, Vec<&Raw>> = BTreeMap::new();
    for r in rows {
        let k = r[column].as_deref().expect("key").parse().expect("id");
        map.entry(k).or_default().push(r);
    }
    map
}

fn id_of(r: &Raw, column: &str) -> u64 {
    r[column].as_deref().expect(column).parse().expect("id")
}

/// An address as `OrderAddressInterface` writes it.
fn check_address(what: &str, raw: &str, row: &Raw, types: &HashMap<(String, String), String>) {
    let got = members(raw);
    let keys = check_scalars(
        what,
        &got,
        ADDRESS_GETTERS,
        &["region_code", "street"],
        "sales_order_address",
        row,
        types,
    );
    // No directory_country_region here: the region code is the region's name.
    let keys: Vec<String> = keys
        .into_iter()
        .filter(|k| k != "region_code" || row["region"].is_some())
        .collect();
    assert_keys(what, &got, &keys, &[]);
    assert_eq!(got.value("region_code").as_str(), row["region"].as_deref());
    let street: Vec<&str> = row["street"].as_deref().unwrap_or("").split('\n').collect();
    assert_eq!(
        got.value("street"),
        serde_json::json!(street),
        "{what}: street"
    );
}

#[tokio::test]
async fn orders_answer_by_id_and_search_as_magentos_tables_say() {
    let backfill = Backfill::new("svcord", "multistore").await;
    let orders = backfill.orders.clone();
    let addr = serve_orders(orders.clone()).await;
    let magento = backfill.magento.clone();
    let types = column_types(&magento).await;
    let order_rows = raw_rows(&magento, "SELECT * FROM sales_order ORDER BY entity_id").await;
    let item_rows = raw_rows(
        &magento,
        "SELECT * FROM sales_order_item ORDER BY order_id, item_id",
    )
    .await;
    let address_rows = raw_rows(&magento, "SELECT * FROM sales_order_address").await;
    let payment_rows = raw_rows(&magento, "SELECT * FROM sales_order_payment").await;
    let history_rows = raw_rows(
        &magento,
        "SELECT * FROM sales_order_status_history ORDER BY parent_id, created_at DESC, entity_id DESC",
    )
    .await;
    let (items_of, addresses_of, payments_of, histories_of) = (
        by(&item_rows, "order_id"),
        by(&address_rows, "parent_id"),
        by(&payment_rows, "parent_id"),
        by(&history_rows, "parent_id"),
    );
    let lines = backfill.lines_of(Doc::Order);
    assert_eq!(lines.len(), order_rows.len(), "one document per order");
    assert!(
        order_rows
            .iter()
            .any(|o| o["increment_id"].as_deref() == Some("2000000001")),
        "orders of a second store view"
    );
    let mut children = 0;
    for (line, row) in lines.iter().zip(&order_rows) {
        let id = id_of(row, "entity_id");
        let what = format!("order {id}");
        let (status, body) = get(addr, &format!("/rest/V1/orders/{id}"), ADMIN).await;
        assert_eq!(status, 200, "{what}: {body}");
        assert_eq!(
            body,
            without_ficus_members(line),
            "{what}: the stored document"
        );
        let (status, in_store) = get(addr, &format!("/rest/europe_fr/V1/orders/{id}"), ADMIN).await;
        assert_eq!(
            (status, &in_store),
            (200, &body),
            "orders have no store dimension"
        );
        let got = members(&body);
        let keys = check_scalars(&what, &got, ORDER_GETTERS, &[], "sales_order", row, &types);
        let tail = [
            "items",
            "billing_address",
            "payment",
            "status_histories",
            "extension_attributes",
        ];
        assert_keys(&what, &got, &keys, &tail);

        // Items: every line by item_id, a child line with its parent line inside.
        let items = items_of.get(&id).cloned().unwrap_or_default();
        let got_items: Vec<Box<RawValue>> =
            serde_json::from_str(got.raw("items").expect("items")).expect("items");
        assert_eq!(got_items.len(), items.len(), "{what}: lines");
        let text_of: HashMap<u64, &str> = items
            .iter()
            .zip(&got_items)
            .map(|(r, g)| (id_of(r, "item_id"), g.get()))
            .collect();
        for (r, g) in items.iter().zip(&got_items) {
            let item_id = id_of(r, "item_id");
            let what = format!("{what} item {item_id}");
            let gi = members(g.get());
            let keys = check_scalars(&what, &gi, ITEM_GETTERS, &[], "sales_order_item", r, &types);
            assert_keys(&what, &gi, &keys, &["parent_item", "product_option"]);
            match r["parent_item_id"].as_deref() {
                Some(parent) => {
                    children += 1;
                    let parent: u64 = parent.parse().expect("id");
                    assert_eq!(gi.raw("parent_item"), Some(text_of[&parent]), "{what}");
                    assert_eq!(gi.raw("product_option"), None, "{what}");
                }
                None => {
                    // The buy request's super attributes (in the order the JSON has them), for
                    // a configurable line.
                    let options = members(r["product_options"].as_deref().unwrap_or("{}"));
                    let request = options.raw("info_buyRequest").map(members);
                    let super_attribute = request
                        .as_ref()
                        .and_then(|q| q.raw("super_attribute"))
                        .map(members);
                    match (r["product_type"].as_deref(), super_attribute) {
                        (Some("configurable"), Some(attrs)) if !attrs.0.is_empty() => {
                            let want: Vec<Value> = attrs
                                .0
                                .iter()
                                .map(|(k, v)| {
                                    let v: Value = serde_json::from_str(v.get()).expect("json");
                                    let n: i64 = match v.as_str() {
                                        Some(s) => s.parse().expect("an option id"),
                                        None => v.as_i64().expect("a number"),
                                    };
                                    serde_json::json!({"option_id": k, "option_value": n})
                                })
                                .collect();
                            let po = gi.value("product_option");
                            assert_eq!(
                                po["extension_attributes"]["configurable_item_options"],
                                Value::Array(want),
                                "{what}"
                            );
                        }
                        _ => assert_eq!(gi.raw("product_option"), None, "{what}"),
                    }
                }
            }
        }

        // The billing address; the shipping address only in the shipping assignment.
        let addresses = addresses_of.get(&id).cloned().unwrap_or_default();
        let of_type = |t: &str| {
            addresses
                .iter()
                .find(|a| a["address_type"].as_deref() == Some(t))
                .copied()
        };
        let billing = of_type("billing").expect("billing address");
        check_address(
            &format!("{what} billing"),
            got.raw("billing_address").expect("billing"),
            billing,
            &types,
        );

        // The payment, with additional_information as Magento unpacks it.
        let payment = payments_of[&id][0];
        let got_payment = members(got.raw("payment").expect("payment"));
        let keys = check_scalars(
            &format!("{what} payment"),
            &got_payment,
            PAYMENT_GETTERS,
            &["additional_information"],
            "sales_order_payment",
            payment,
            &types,
        );
        assert_keys(&what, &got_payment, &keys, &[]);
        let info = members(payment["additional_information"].as_deref().unwrap_or("{}"));
        let info_values: Vec<Value> = info
            .0
            .iter()
            .map(|(_, v)| serde_json::from_str(v.get()).expect("json"))
            .collect();
        assert_eq!(
            got_payment.value("additional_information"),
            Value::Array(info_values.clone()),
            "{what}"
        );

        // Status histories, newest first as MariaDB ordered them above.
        let histories = histories_of.get(&id).cloned().unwrap_or_default();
        let got_histories: Vec<Box<RawValue>> =
            serde_json::from_str(got.raw("status_histories").expect("histories")).expect("json");
        assert_eq!(got_histories.len(), histories.len(), "{what}");
        for (h, g) in histories.iter().zip(&got_histories) {
            let gh = members(g.get());
            let what = format!("{what} history {}", id_of(h, "entity_id"));
            let keys = check_scalars(
                &what,
                &gh,
                HISTORY_GETTERS,
                &[],
                "sales_order_status_history",
                h,
                &types,
            );
            assert_keys(&what, &gh, &keys, &[]);
        }

        // Extension attributes as OrderRepository::get sets them.
        let ext = members(
            got.raw("extension_attributes")
                .expect("extension_attributes"),
        );
        assert_eq!(
            ext.keys(),
            [
                "shipping_assignments",
                "payment_additional_info",
                "applied_taxes",
                "item_applied_taxes"
            ]
        );
        let assignments: Vec<Box<RawValue>> =
            serde_json::from_str(ext.raw("shipping_assignments").expect("sa")).expect("json");
        assert_eq!(assignments.len(), 1, "{what}: one shipping assignment");
        let assignment = members(assignments[0].get());
        assert_eq!(assignment.keys(), ["shipping", "items"]);
        assert_eq!(
            assignment.raw("items"),
            got.raw("items"),
            "{what}: the same lines"
        );
        let shipping = members(assignment.raw("shipping").expect("shipping"));
        assert_eq!(shipping.keys(), ["address", "method", "total"], "{what}");
        check_address(
            &format!("{what} shipping"),
            shipping.raw("address").expect("address"),
            of_type("shipping").expect("shipping address"),
            &types,
        );
        assert_eq!(
            shipping.value("method").as_str(),
            row["shipping_method"].as_deref()
        );
        let total = members(shipping.raw("total").expect("total"));
        let keys = check_scalars(
            &what,
            &total,
            TOTAL_GETTERS,
            &[],
            "sales_order",
            row,
            &types,
        );
        assert_keys(&what, &total, &keys, &[]);
        let pairs: Vec<Value> = info
            .0
            .iter()
            .zip(&info_values)
            .map(|((k, _), v)| serde_json::json!({"key": k, "value": v}))
            .collect();
        assert_eq!(ext.value("payment_additional_info"), Value::Array(pairs));
        assert_eq!(ext.raw("applied_taxes"), Some("[]"));
    }
    assert!(children > 0, "some orders have configurable lines");

    // Magento's ACL and error bodies.
    let refused = r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Sales::actions_view"}}"#;
    let as_customer = [(SECRET_HEADER, SECRET), (IDENTITY_HEADER, "customer:1")];
    for path in [
        "/rest/V1/orders/1",
        "/rest/V1/orders?searchCriteria[pageSize]=1",
    ] {
        for headers in [&[][..], &as_customer[..], &[(IDENTITY_HEADER, "admin")][..]] {
            assert_eq!(
                get(addr, path, headers).await,
                (401, refused.to_string()),
                "{path} {headers:?}"
            );
        }
        let forged = [(SECRET_HEADER, "guess"), (IDENTITY_HEADER, "admin")];
        let (status, _) = get(addr, path, &forged).await;
        assert_eq!(status, 401, "a wrong gateway secret");
    }
    assert_eq!(
        get(addr, "/rest/V1/orders/99999999", ADMIN).await,
        (
            404,
            r#"{"message":"The entity that was requested doesn't exist. Verify the entity and try again."}"#.to_string()
        )
    );
    let (status, _) = get(addr, "/rest/V1/orders/abc", ADMIN).await;
    assert_eq!(status, 400);
    let (status, _) = get(addr, "/rest/V1/orders", ADMIN).await;
    assert_eq!(status, 400, "searchCriteria is required");

    // Search: every expectation from MariaDB running the same filter over sales_order.
    let search = |query: String| async move {
        let (status, body) = get(addr, &format!("/rest/V1/orders?{query}"), ADMIN).await;
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, v)
    };
    let entity_ids = |v: &Value| -> Vec<u64> {
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("items in {v}"))
            .iter()
            .map(|i| i["entity_id"].as_u64().expect("entity_id"))
            .collect()
    };
    let expect = |sql: String| {
        let magento = magento.clone();
        async move {
            magento_rows::<(u64,)>(&magento, &sql)
                .await
                .into_iter()
                .map(|(id,)| id)
                .collect::<Vec<u64>>()
        }
    };
    let sort = |field: &str, dir: &str| {
        format!(
            "searchCriteria[sortOrders][0][field]={field}&searchCriteria[sortOrders][0][direction]={dir}"
        )
    };
    let cases: Vec<(String, String)> = vec![
        (
            // OR within a group, AND across groups, sorted, paged.
            format!(
                "{}&{}&{}&{}&searchCriteria[pageSize]=5&searchCriteria[currentPage]=2",
                filter(0, 0, "status", "COMPLETE", "eq"),
                filter(0, 1, "status", "closed", "eq"),
                filter(1, 0, "grand_total", "500", "gt"),
                sort("created_at", "DESC"),
            ),
            "SELECT entity_id FROM sales_order WHERE status IN ('complete', 'closed')
             AND grand_total > 500 ORDER BY created_at DESC, entity_id LIMIT 5 OFFSET 5"
                .into(),
        ),
        (
            format!(
                "{}&{}",
                filter(0, 0, "customer_email", "%@example.org", "like"),
                sort("grand_total", "ASC")
            ),
            "SELECT entity_id FROM sales_order WHERE customer_email LIKE '%@example.org'
             ORDER BY grand_total, entity_id"
                .into(),
        ),
        (
            filter(0, 0, "increment_id", "000000003,2000000001,000000007", "in"),
            "SELECT entity_id FROM sales_order
             WHERE increment_id IN ('000000003', '2000000001', '000000007') ORDER BY entity_id"
                .into(),
        ),
        (
            format!(
                "{}&{}",
                filter(0, 0, "created_at", "2023-03-01 00:00:00", "from"),
                filter(1, 0, "created_at", "2023-06-30 23:59:59", "to"),
            ),
            "SELECT entity_id FROM sales_order WHERE created_at >= '2023-03-01 00:00:00'
             AND created_at <= '2023-06-30 23:59:59' ORDER BY entity_id"
                .into(),
        ),
        (
            // Fields without a column of their own: attrs, cast as the field's kind.
            format!(
                "{}&{}&{}",
                filter(0, 0, "base_subtotal", "1000", "gteq"),
                filter(1, 0, "customer_is_guest", "1", "neq"),
                sort("total_qty_ordered", "DESC"),
            ),
            "SELECT entity_id FROM sales_order WHERE base_subtotal >= 1000
             AND customer_is_guest <> 1 ORDER BY total_qty_ordered DESC, entity_id"
                .into(),
        ),
        (
            format!(
                "{}&{}",
                filter(0, 0, "coupon_code", "", "notnull"),
                filter(1, 0, "store_id", "1", "neq"),
            ),
            "SELECT entity_id FROM sales_order WHERE coupon_code IS NOT NULL
             AND store_id <> 1 ORDER BY entity_id"
                .into(),
        ),
    ];
    for (query, sql) in cases {
        let all = expect(sql.replace(" LIMIT 5 OFFSET 5", "")).await;
        let want = expect(sql.clone()).await;
        assert!(!all.is_empty(), "{sql} selects some orders");
        let (status, v) = search(query.clone()).await;
        assert_eq!(status, 200, "{query}: {v}");
        assert_eq!(entity_ids(&v), want, "{query}");
        assert_eq!(v["total_count"], all.len(), "{query}");
    }
    let (status, v) = search(filter(0, 0, "no_such_field", "1", "eq")).await;
    assert_eq!(status, 400, "{v}");
    // The common filters use indexes (statistics as autovacuum gathers them).
    sqlx::query("ANALYZE sales.order_grid")
        .execute(orders.pool())
        .await
        .expect("analyze");
    for (query, index) in [
        (
            filter(0, 0, "increment_id", "000000042", "eq"),
            "order_grid_increment",
        ),
        (
            filter(0, 0, "customer_id", "99999", "eq"),
            "order_grid_customer",
        ),
        (
            filter(0, 0, "customer_email", "nobody@example.com", "eq"),
            "order_grid_email",
        ),
        (
            filter(0, 0, "updated_at", "2099-01-01 00:00:00", "gt"),
            "order_grid_updated",
        ),
    ] {
        let criteria = ficus_services::search::required(Some(&query)).expect("criteria");
        let plan = orders.explain_search(&criteria).await.expect("explain");
        assert!(plan.contains(index), "{query}: {plan}");
    }

    // Ordered by position: a delete leaves a tombstone older upserts cannot pass.
    let line = lines[0];
    let first: Value = serde_json::from_str(line).expect("json");
    let id = first["entity_id"].as_u64().expect("id");
    let uuid: uuid::Uuid = first["uuid"].as_str().expect("uuid").parse().expect("uuid");
    assert_eq!(
        orders.upsert_order(line, backfill.at).await.expect("again"),
        Applied::Stale,
        "a replay changes nothing"
    );
    let later = Position {
        file: backfill.at.file + 1,
        offset: 7,
    };
    assert_eq!(
        orders.delete_order(uuid, id, later).await.expect("delete"),
        Applied::Written
    );
    assert_eq!(
        orders.upsert_order(line, backfill.at).await.expect("older"),
        Applied::Stale
    );
    let (status, _) = get(addr, &format!("/rest/V1/orders/{id}"), ADMIN).await;
    assert_eq!(status, 404);
    let err = orders
        .upsert_order(r#"{"increment_id":"1"}"#, later)
        .await
        .expect_err("not an order document");
    assert!(err.to_string().contains("order"), "{err}");
    backfill.drop().await;
}
