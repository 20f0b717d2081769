//! Orders, their items, addresses, payments and history (flat tables), the quotes they came from,
//! and Magento's per-store order number sequences.

use std::collections::HashMap;

use super::catalog::Sellable;
use super::customers::AddressInfo;
use super::{EPOCH, G, Gen, datetime, money};
use crate::rng::Rng;
use crate::sql::V;

/// The sales entities that get a sequence table per store.
pub const SEQUENCE_ENTITIES: [&str; 4] = ["order", "invoice", "creditmemo", "shipment"];

/// One order line before it is written (amounts in hundredths).
#[derive(Debug)]
struct Line {
    product: Sellable,
    qty: i64,
    total: i64,
    discount: i64,
    tax: i64,
}

const METHODS: &[(&str, &str)] = &[
    ("checkmo", "Check \\/ Money order"),
    ("purchaseorder", "Purchase Order"),
    ("banktransfer", "Bank Transfer Payment"),
    ("cashondelivery", "Cash On Delivery"),
];

/// Rounds `cents × 8.25 %` half up.
fn tax_of(cents: i64) -> i64 {
    (cents * 825 + 5_000) / 10_000
}

impl Gen<'_> {
    pub(super) fn sales(&mut self) -> G {
        self.sequences_meta()?;
        let p = self.plan.profile;
        let span: i64 = 86_400 * 1_400;
        let mut issued: HashMap<u32, u32> = HashMap::new();
        let store_ids: Vec<u32> = self.stores.iter().map(|s| s.id).collect();
        for order_id in 1..=p.orders {
            let mut rng = Rng::for_entity(self.plan.seed, 5, order_id as u64);
            let customer = if self.customers.is_empty() || rng.chance(20) {
                None
            } else {
                Some(self.customers[rng.below(self.customers.len() as u64) as usize].clone())
            };
            let store = match &customer {
                Some(c) => {
                    let views = self.website_stores(c.website);
                    views[rng.below(views.len() as u64) as usize]
                }
                None => store_ids[rng.below(store_ids.len() as u64) as usize],
            };
            let website = self
                .stores
                .iter()
                .find(|s| s.id == store)
                .map(|s| s.website)
                .unwrap_or(1);
            let discounted = rng.chance(10);
            let mut lines: Vec<Line> = Vec::new();
            for _ in 0..50 {
                if lines.len() as u32 >= p.items_per_order || self.catalog.sellable.is_empty() {
                    break;
                }
                let product =
                    &self.catalog.sellable[rng.below(self.catalog.sellable.len() as u64) as usize];
                if !product.websites.contains(&website)
                    || lines.iter().any(|l| l.product.id == product.id)
                {
                    continue;
                }
                let qty = rng.range(1, 3) as i64;
                let total = product.price_cents * qty;
                let discount = if discounted { (total + 5) / 10 } else { 0 };
                lines.push(Line {
                    product: product.clone(),
                    qty,
                    total,
                    discount,
                    tax: tax_of(total - discount),
                });
            }
            let n = issued.entry(store).or_insert(0);
            *n += 1;
            let sequence = *n;
            let prefix = if store > 1 {
                store.to_string()
            } else {
                String::new()
            };
            let increment_id = format!("{prefix}{sequence:09}");
            self.w.row(
                &format!("sequence_order_{store}"),
                &["sequence_value"],
                &[V::I(sequence as i64)],
            )?;
            let created =
                EPOCH + span * order_id as i64 / p.orders.max(1) as i64 + rng.below(3_600) as i64;
            self.order(
                order_id,
                store,
                &increment_id,
                created,
                customer.as_ref(),
                &lines,
                discounted,
                &mut rng,
            )?;
        }
        self.active_carts()
    }

    fn sequences_meta(&mut self) -> G {
        let mut stores: Vec<u32> = vec![0];
        stores.extend(self.stores.iter().map(|s| s.id));
        for store in stores {
            for entity in SEQUENCE_ENTITIES {
                let meta = self.w.next_id("sales_sequence_meta") as i64;
                let table = format!("sequence_{entity}_{store}");
                self.w.row(
                    "sales_sequence_meta",
                    &["meta_id", "entity_type", "store_id", "sequence_table"],
                    &[V::I(meta), V::S(entity), V::I(store as i64), V::S(&table)],
                )?;
                let prefix = if store > 1 {
                    Some(store.to_string())
                } else {
                    None
                };
                let profile = self.w.next_id("sales_sequence_profile") as i64;
                self.w.row(
                    "sales_sequence_profile",
                    &[
                        "profile_id",
                        "meta_id",
                        "prefix",
                        "suffix",
                        "start_value",
                        "step",
                        "max_value",
                        "warning_value",
                        "is_active",
                    ],
                    &[
                        V::I(profile),
                        V::I(meta),
                        prefix.as_deref().map(V::S).unwrap_or(V::Null),
                        V::Null,
                        V::I(1),
                        V::I(1),
                        V::I(4_294_967_295),
                        V::I(4_294_966_295),
                        V::I(1),
                    ],
                )?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        order_id: u32,
        store: u32,
        increment_id: &str,
        created: i64,
        customer: Option<&super::customers::CustomerInfo>,
        lines: &[Line],
        discounted: bool,
        rng: &mut Rng,
    ) -> G {
        let m4 = |c: i64| money(c, 4);
        let subtotal: i64 = lines.iter().map(|l| l.total).sum();
        let discount: i64 = lines.iter().map(|l| l.discount).sum();
        let tax: i64 = lines.iter().map(|l| l.tax).sum();
        let qty: i64 = lines.iter().map(|l| l.qty).sum();
        let shipping = 500 * qty;
        let grand = subtotal - discount + tax + shipping;
        let weight: i64 = lines.iter().map(|l| l.product.weight_cents * l.qty).sum();
        let (status, state) = match rng.below(100) {
            0..=49 => ("complete", "complete"),
            50..=69 => ("processing", "processing"),
            70..=84 => ("pending", "new"),
            85..=94 => ("canceled", "canceled"),
            _ => ("closed", "closed"),
        };
        let invoiced = matches!(status, "complete" | "processing" | "closed");
        let refunded = status == "closed";
        let canceled = status == "canceled";
        let (method, title) = METHODS[rng.below(METHODS.len() as u64) as usize];
        let store_info = self.stores.iter().find(|s| s.id == store).cloned();
        let website_name = store_info
            .as_ref()
            .and_then(|s| self.websites.iter().find(|w| w.id == s.website))
            .map(|w| w.name.clone())
            .unwrap_or_default();
        let store_name = format!(
            "{website_name}\n{website_name} Store\n{}",
            store_info.map(|s| s.name).unwrap_or_default()
        );
        let guest_address;
        let (billing, shipping_addr): (&AddressInfo, &AddressInfo) = match customer {
            Some(c) => (
                &c.addresses[0],
                c.addresses.get(1).unwrap_or(&c.addresses[0]),
            ),
            None => {
                guest_address = AddressInfo {
                    id: 0,
                    street: format!("{} Harbor Lane", rng.range(1, 999)),
                    city: "Portland".into(),
                    region: Some(("Oregon", 49)),
                    postcode: "97201".into(),
                    country: "US",
                    telephone: format!("(555) {:03}-{:04}", rng.below(1000), rng.below(10_000)),
                };
                (&guest_address, &guest_address)
            }
        };
        let (email, first, last) = match customer {
            Some(c) => (c.email.clone(), c.firstname.clone(), c.lastname.clone()),
            None => (
                format!("guest{order_id}@example.org"),
                "Guest".to_string(),
                format!("Buyer{order_id}"),
            ),
        };
        let created_at = datetime(created);
        let updated_at = datetime(created + if invoiced { 86_400 * 2 } else { 0 });
        let quote_id = self.w.next_id("quote") as i64;
        let billing_id = self.w.next_id("sales_order_address") as i64;
        let shipping_id = self.w.next_id("sales_order_address") as i64;
        let paid = if invoiced {
            V::Num(&m4(grand))
        } else {
            V::Null
        };
        let refunded_v = if refunded {
            V::Num(&m4(grand))
        } else {
            V::Null
        };
        let canceled_v = if canceled {
            V::Num(&m4(grand))
        } else {
            V::Null
        };
        let due = m4(if invoiced || canceled { 0 } else { grand });
        let (subtotal_s, discount_s, tax_s, shipping_s, grand_s) = (
            m4(subtotal),
            m4(-discount),
            m4(tax),
            m4(shipping),
            m4(grand),
        );
        let incl_tax = m4(subtotal + tax);
        let qty_s = money(qty * 100, 4);
        let weight_s = m4(weight);
        let remote_ip = format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.below(256)
        );
        let protect = format!("{:012x}", rng.next_u64() & 0xffff_ffff_ffff);
        let customer_id = customer.map(|c| V::I(c.id as i64)).unwrap_or(V::Null);
        let group = customer.map(|c| c.group as i64).unwrap_or(0);
        let coupon = if discounted { V::S("SAVE10") } else { V::Null };
        let rules = if discounted { V::S("1") } else { V::Null };
        let discount_description = if discounted { V::S("SAVE10") } else { V::Null };
        let cols = [
            "entity_id",
            "state",
            "status",
            "coupon_code",
            "protect_code",
            "shipping_description",
            "is_virtual",
            "store_id",
            "customer_id",
            "base_discount_amount",
            "base_grand_total",
            "base_shipping_amount",
            "base_shipping_tax_amount",
            "base_subtotal",
            "base_tax_amount",
            "base_to_global_rate",
            "base_to_order_rate",
            "discount_amount",
            "grand_total",
            "shipping_amount",
            "shipping_tax_amount",
            "store_to_base_rate",
            "store_to_order_rate",
            "subtotal",
            "tax_amount",
            "total_qty_ordered",
            "base_total_invoiced",
            "total_invoiced",
            "base_total_paid",
            "total_paid",
            "base_total_refunded",
            "total_refunded",
            "base_total_canceled",
            "total_canceled",
            "base_total_due",
            "total_due",
            "customer_is_guest",
            "customer_note_notify",
            "billing_address_id",
            "customer_group_id",
            "email_sent",
            "send_email",
            "quote_id",
            "shipping_address_id",
            "base_subtotal_incl_tax",
            "subtotal_incl_tax",
            "weight",
            "increment_id",
            "applied_rule_ids",
            "base_currency_code",
            "customer_email",
            "customer_firstname",
            "customer_lastname",
            "discount_description",
            "global_currency_code",
            "order_currency_code",
            "remote_ip",
            "shipping_method",
            "store_currency_code",
            "store_name",
            "created_at",
            "updated_at",
            "total_item_count",
            "shipping_incl_tax",
            "base_shipping_incl_tax",
        ];
        let vals = [
            V::I(order_id as i64),
            V::S(state),
            V::S(status),
            coupon,
            V::S(&protect),
            V::S("Flat Rate - Fixed"),
            V::I(0),
            V::I(store as i64),
            customer_id,
            V::Num(&discount_s),
            V::Num(&grand_s),
            V::Num(&shipping_s),
            V::Num("0.0000"),
            V::Num(&subtotal_s),
            V::Num(&tax_s),
            V::Num("1.0000"),
            V::Num("1.0000"),
            V::Num(&discount_s),
            V::Num(&grand_s),
            V::Num(&shipping_s),
            V::Num("0.0000"),
            V::Num("0.0000"),
            V::Num("0.0000"),
            V::Num(&subtotal_s),
            V::Num(&tax_s),
            V::Num(&qty_s),
            paid,
            paid,
            paid,
            paid,
            refunded_v,
            refunded_v,
            canceled_v,
            canceled_v,
            V::Num(&due),
            V::Num(&due),
            V::I(customer.is_none() as i64),
            V::I(1),
            V::I(billing_id),
            V::I(group),
            V::I(1),
            V::Null,
            V::I(quote_id),
            V::I(shipping_id),
            V::Num(&incl_tax),
            V::Num(&incl_tax),
            V::Num(&weight_s),
            V::S(increment_id),
            rules,
            V::S("USD"),
            V::S(&email),
            V::S(&first),
            V::S(&last),
            discount_description,
            V::S("USD"),
            V::S("USD"),
            V::S(&remote_ip),
            V::S("flatrate_flatrate"),
            V::S("USD"),
            V::S(&store_name),
            V::S(&created_at),
            V::S(&updated_at),
            V::I(lines.len() as i64),
            V::Num(&shipping_s),
            V::Num(&shipping_s),
        ];
        self.w.row("sales_order", &cols, &vals)?;

        for (id, kind, a) in [
            (billing_id, "billing", billing),
            (shipping_id, "shipping", shipping_addr),
        ] {
            let street = a.street.clone();
            self.w.row(
                "sales_order_address",
                &[
                    "entity_id",
                    "parent_id",
                    "customer_address_id",
                    "region_id",
                    "customer_id",
                    "region",
                    "postcode",
                    "lastname",
                    "street",
                    "city",
                    "email",
                    "telephone",
                    "country_id",
                    "firstname",
                    "address_type",
                ],
                &[
                    V::I(id),
                    V::I(order_id as i64),
                    if a.id > 0 { V::I(a.id as i64) } else { V::Null },
                    a.region.map(|r| V::I(r.1 as i64)).unwrap_or(V::Null),
                    customer.map(|c| V::I(c.id as i64)).unwrap_or(V::Null),
                    a.region.map(|r| V::S(r.0)).unwrap_or(V::Null),
                    V::S(&a.postcode),
                    V::S(&last),
                    V::S(&street),
                    V::S(&a.city),
                    V::S(&email),
                    V::S(&a.telephone),
                    V::S(a.country),
                    V::S(&first),
                    V::S(kind),
                ],
            )?;
        }
        let payment = self.w.next_id("sales_order_payment") as i64;
        let info = format!("{{\"method_title\":\"{title}\"}}");
        self.w.row(
            "sales_order_payment",
            &[
                "entity_id",
                "parent_id",
                "base_shipping_amount",
                "shipping_amount",
                "base_amount_paid",
                "amount_paid",
                "base_amount_ordered",
                "amount_ordered",
                "method",
                "additional_information",
            ],
            &[
                V::I(payment),
                V::I(order_id as i64),
                V::Num(&shipping_s),
                V::Num(&shipping_s),
                paid,
                paid,
                V::Num(&grand_s),
                V::Num(&grand_s),
                V::S(method),
                V::S(&info),
            ],
        )?;
        let mut history = vec![(created, "pending", "Order placed")];
        if status != "pending" {
            history.push((created + 86_400, status, "Order updated"));
        }
        for (at, st, comment) in history {
            let h = self.w.next_id("sales_order_status_history") as i64;
            self.w.row(
                "sales_order_status_history",
                &[
                    "entity_id",
                    "parent_id",
                    "is_customer_notified",
                    "is_visible_on_front",
                    "comment",
                    "status",
                    "created_at",
                    "entity_name",
                ],
                &[
                    V::I(h),
                    V::I(order_id as i64),
                    V::I(1),
                    V::I(0),
                    V::S(comment),
                    V::S(st),
                    V::S(&datetime(at)),
                    V::S("order"),
                ],
            )?;
        }

        // The quote the order was placed from, converted and inactive.
        self.quote(
            quote_id,
            store,
            created,
            customer,
            &email,
            &first,
            &last,
            Some(increment_id),
            lines,
            false,
        )?;

        let qty_factor = |b: bool, q: i64| {
            if b {
                money(q * 100, 4)
            } else {
                "0.0000".to_string()
            }
        };
        let mut quote_item = self.quote_first_item;
        for l in lines {
            let (price, total) = (m4(l.product.price_cents), m4(l.total));
            let qty_s = money(l.qty * 100, 4);
            let options = match &l.product.parent {
                Some((parent_id, _, _, color, size)) => format!(
                    "{{\"info_buyRequest\":{{\"qty\":\"{}\",\"product\":\"{parent_id}\",\"super_attribute\":{{\"color\":\"{color}\",\"size\":\"{size}\"}}}},\"simple_name\":\"{}\",\"simple_sku\":\"{}\",\"product_calculations\":1,\"shipment_type\":0}}",
                    l.qty, l.product.name, l.product.sku
                ),
                None => format!(
                    "{{\"info_buyRequest\":{{\"qty\":\"{}\",\"product\":\"{}\"}}}}",
                    l.qty, l.product.id
                ),
            };
            let parent_item = self.w.next_id("sales_order_item") as i64;
            let (product_id, product_type, name) = match &l.product.parent {
                Some((pid, _, pname, _, _)) => (*pid, "configurable", pname.clone()),
                None => (l.product.id, "simple", l.product.name.clone()),
            };
            let item_cols = [
                "item_id",
                "order_id",
                "parent_item_id",
                "quote_item_id",
                "store_id",
                "created_at",
                "updated_at",
                "product_id",
                "product_type",
                "product_options",
                "weight",
                "is_virtual",
                "sku",
                "name",
                "qty_ordered",
                "qty_invoiced",
                "qty_shipped",
                "qty_refunded",
                "qty_canceled",
                "price",
                "base_price",
                "original_price",
                "base_original_price",
                "tax_percent",
                "tax_amount",
                "base_tax_amount",
                "discount_percent",
                "discount_amount",
                "base_discount_amount",
                "row_total",
                "base_row_total",
                "price_incl_tax",
                "base_price_incl_tax",
                "row_total_incl_tax",
                "base_row_total_incl_tax",
                "row_weight",
                "no_discount",
                "free_shipping",
            ];
            let (tax, disc, weight) = (m4(l.tax), m4(l.discount), m4(l.product.weight_cents));
            let row_weight = m4(l.product.weight_cents * l.qty);
            let price_incl = m4(l.product.price_cents + tax_of(l.product.price_cents));
            let total_incl = m4(l.total + l.tax);
            let disc_pct = if discounted { "10.0000" } else { "0.0000" };
            let (inv, ship, refund, cancel) = (
                qty_factor(invoiced, l.qty),
                qty_factor(status == "complete" || refunded, l.qty),
                qty_factor(refunded, l.qty),
                qty_factor(canceled, l.qty),
            );
            self.w.row(
                "sales_order_item",
                &item_cols,
                &[
                    V::I(parent_item),
                    V::I(order_id as i64),
                    V::Null,
                    V::I(quote_item),
                    V::I(store as i64),
                    V::S(&created_at),
                    V::S(&updated_at),
                    V::I(product_id as i64),
                    V::S(product_type),
                    V::S(&options),
                    V::Num(&weight),
                    V::I(0),
                    V::S(&l.product.sku),
                    V::S(&name),
                    V::Num(&qty_s),
                    V::Num(&inv),
                    V::Num(&ship),
                    V::Num(&refund),
                    V::Num(&cancel),
                    V::Num(&price),
                    V::Num(&price),
                    V::Num(&price),
                    V::Num(&price),
                    V::Num("8.2500"),
                    V::Num(&tax),
                    V::Num(&tax),
                    V::Num(disc_pct),
                    V::Num(&disc),
                    V::Num(&disc),
                    V::Num(&total),
                    V::Num(&total),
                    V::Num(&price_incl),
                    V::Num(&price_incl),
                    V::Num(&total_incl),
                    V::Num(&total_incl),
                    V::Num(&row_weight),
                    V::I(0),
                    V::I(0),
                ],
            )?;
            quote_item += 1;
            if l.product.parent.is_some() {
                // The configurable's child line: points at the parent line, carries no amounts.
                let child = self.w.next_id("sales_order_item") as i64;
                let opts = format!(
                    "{{\"info_buyRequest\":{{\"qty\":\"{}\",\"product\":\"{}\"}}}}",
                    l.qty, l.product.id
                );
                self.w.row(
                    "sales_order_item",
                    &item_cols,
                    &[
                        V::I(child),
                        V::I(order_id as i64),
                        V::I(parent_item),
                        V::I(quote_item),
                        V::I(store as i64),
                        V::S(&created_at),
                        V::S(&updated_at),
                        V::I(l.product.id as i64),
                        V::S("simple"),
                        V::S(&opts),
                        V::Num(&weight),
                        V::I(0),
                        V::S(&l.product.sku),
                        V::S(&l.product.name),
                        V::Num(&qty_s),
                        V::Num(&inv),
                        V::Num(&ship),
                        V::Num(&refund),
                        V::Num(&cancel),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Null,
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Null,
                        V::Null,
                        V::Null,
                        V::Null,
                        V::Num(&row_weight),
                        V::I(0),
                        V::I(0),
                    ],
                )?;
                quote_item += 1;
            }
        }
        Ok(())
    }

    /// Writes a quote and its items; items get consecutive ids starting at `quote_first_item`
    /// (remembered so the order's items can point at them).
    #[allow(clippy::too_many_arguments)]
    fn quote(
        &mut self,
        quote_id: i64,
        store: u32,
        created: i64,
        customer: Option<&super::customers::CustomerInfo>,
        email: &str,
        first: &str,
        last: &str,
        reserved: Option<&str>,
        lines: &[Line],
        active: bool,
    ) -> G {
        let m4 = |c: i64| money(c, 4);
        let subtotal: i64 = lines.iter().map(|l| l.total).sum();
        let discount: i64 = lines.iter().map(|l| l.discount).sum();
        let tax: i64 = lines.iter().map(|l| l.tax).sum();
        let qty: i64 = lines.iter().map(|l| l.qty).sum();
        let grand = subtotal - discount + tax + 500 * qty;
        let at = datetime(created - 600);
        let converted = if active { V::Null } else { V::S(&at) };
        let (sub, sub_disc, grand_s, qty_s) = (
            m4(subtotal),
            m4(subtotal - discount),
            m4(grand),
            money(qty * 100, 4),
        );
        self.w.row(
            "quote",
            &[
                "entity_id",
                "store_id",
                "created_at",
                "updated_at",
                "converted_at",
                "is_active",
                "items_count",
                "items_qty",
                "base_currency_code",
                "store_currency_code",
                "quote_currency_code",
                "grand_total",
                "base_grand_total",
                "checkout_method",
                "customer_id",
                "customer_group_id",
                "customer_email",
                "customer_firstname",
                "customer_lastname",
                "customer_is_guest",
                "reserved_order_id",
                "global_currency_code",
                "base_to_global_rate",
                "base_to_quote_rate",
                "subtotal",
                "base_subtotal",
                "subtotal_with_discount",
                "base_subtotal_with_discount",
            ],
            &[
                V::I(quote_id),
                V::I(store as i64),
                V::S(&at),
                V::S(&at),
                converted,
                V::I(active as i64),
                V::I(lines.len() as i64),
                V::Num(&qty_s),
                V::S("USD"),
                V::S("USD"),
                V::S("USD"),
                V::Num(&grand_s),
                V::Num(&grand_s),
                V::S(if customer.is_some() {
                    "customer"
                } else {
                    "guest"
                }),
                customer.map(|c| V::I(c.id as i64)).unwrap_or(V::Null),
                V::I(customer.map(|c| c.group as i64).unwrap_or(0)),
                V::S(email),
                V::S(first),
                V::S(last),
                V::I(customer.is_none() as i64),
                reserved.map(V::S).unwrap_or(V::Null),
                V::S("USD"),
                V::Num("1.0000"),
                V::Num("1.0000"),
                V::Num(&sub),
                V::Num(&sub),
                V::Num(&sub_disc),
                V::Num(&sub_disc),
            ],
        )?;
        let cols = [
            "item_id",
            "quote_id",
            "created_at",
            "updated_at",
            "product_id",
            "store_id",
            "parent_item_id",
            "sku",
            "name",
            "qty",
            "price",
            "base_price",
            "row_total",
            "base_row_total",
            "product_type",
            "weight",
            "row_weight",
            "tax_percent",
            "tax_amount",
            "base_tax_amount",
            "discount_amount",
            "base_discount_amount",
        ];
        let mut first = None;
        for l in lines {
            let (price, total, tax, disc) = (
                m4(l.product.price_cents),
                m4(l.total),
                m4(l.tax),
                m4(l.discount),
            );
            let weight = m4(l.product.weight_cents);
            let row_weight = m4(l.product.weight_cents * l.qty);
            let q = money(l.qty * 100, 4);
            let (pid, ptype, name) = match &l.product.parent {
                Some((pid, _, pname, _, _)) => (*pid, "configurable", pname.clone()),
                None => (l.product.id, "simple", l.product.name.clone()),
            };
            let item = self.w.next_id("quote_item") as i64;
            first.get_or_insert(item);
            self.w.row(
                "quote_item",
                &cols,
                &[
                    V::I(item),
                    V::I(quote_id),
                    V::S(&at),
                    V::S(&at),
                    V::I(pid as i64),
                    V::I(store as i64),
                    V::Null,
                    V::S(&l.product.sku),
                    V::S(&name),
                    V::Num(&q),
                    V::Num(&price),
                    V::Num(&price),
                    V::Num(&total),
                    V::Num(&total),
                    V::S(ptype),
                    V::Num(&weight),
                    V::Num(&row_weight),
                    V::Num("8.2500"),
                    V::Num(&tax),
                    V::Num(&tax),
                    V::Num(&disc),
                    V::Num(&disc),
                ],
            )?;
            if l.product.parent.is_some() {
                let child = self.w.next_id("quote_item") as i64;
                self.w.row(
                    "quote_item",
                    &cols,
                    &[
                        V::I(child),
                        V::I(quote_id),
                        V::S(&at),
                        V::S(&at),
                        V::I(l.product.id as i64),
                        V::I(store as i64),
                        V::I(item),
                        V::S(&l.product.sku),
                        V::S(&l.product.name),
                        V::Num(&q),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::S("simple"),
                        V::Num(&weight),
                        V::Num(&row_weight),
                        V::Null,
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                        V::Num("0.0000"),
                    ],
                )?;
            }
        }
        self.quote_first_item = first.unwrap_or(0);
        Ok(())
    }

    /// Open carts of some customers: quotes that are still active and have no order.
    fn active_carts(&mut self) -> G {
        let customers = self.customers.clone();
        for c in customers {
            let mut rng = Rng::for_entity(self.plan.seed, 6, c.id as u64);
            if !rng.chance(10) || self.catalog.sellable.is_empty() {
                continue;
            }
            let product = self.catalog.sellable
                [rng.below(self.catalog.sellable.len() as u64) as usize]
                .clone();
            let qty = rng.range(1, 2) as i64;
            let total = product.price_cents * qty;
            let lines = [Line {
                product,
                qty,
                total,
                discount: 0,
                tax: tax_of(total),
            }];
            let quote_id = self.w.next_id("quote") as i64;
            let created = EPOCH + 86_400 * 1_400 + rng.below(86_400 * 30) as i64;
            self.quote(
                quote_id,
                c.store,
                created,
                Some(&c),
                &c.email.clone(),
                &c.firstname.clone(),
                &c.lastname.clone(),
                None,
                &lines,
                true,
            )?;
        }
        Ok(())
    }
}
