//! Which entities a change touches: Magento saves a product across its entity table, five value
//! tables and its link tables, a customer with its addresses, an order across the flat sales
//! tables. Each change names the entities whose documents it changes; cdc-sync then reads those
//! entities again from Magento (after the transaction's commit, so never half a save) and writes
//! their documents through the services' write API.

use crate::change::{Change, column};
use crate::value::Value;

/// An entity whose documents a change affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    /// A product (`entity_id`), every store view.
    Product(u32),
    /// A category (`entity_id`), every store view.
    Category(u32),
    /// A customer, with its addresses.
    Customer(u32),
    /// An order, with its lines, addresses, payment and history.
    Order(u32),
}

/// What a changed row points at, before the ids Magento's staging layout or an address's
/// owner hide are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Touch {
    /// The entity itself.
    Entity(Entity),
    /// A product version's `row_id` (Adobe Commerce's value tables).
    ProductRow(u32),
    /// A category version's `row_id`.
    CategoryRow(u32),
    /// A customer address (its value tables), whose owner must be looked up.
    Address(u32),
}

/// How a table's rows point at entities: the column holding an id, and what the id is of.
type Rule = (&'static str, fn(u32) -> Touch);

fn product(id: u32) -> Touch {
    Touch::Entity(Entity::Product(id))
}
fn category(id: u32) -> Touch {
    Touch::Entity(Entity::Category(id))
}
fn customer(id: u32) -> Touch {
    Touch::Entity(Entity::Customer(id))
}
fn order(id: u32) -> Touch {
    Touch::Entity(Entity::Order(id))
}

const VALUE_SUFFIXES: &[&str] = &["_int", "_varchar", "_decimal", "_text", "_datetime"];

/// The rules of `table`; empty for tables no document reads.
fn rules(table: &str, staged: bool) -> Vec<Rule> {
    let value_table = |entity: &str| {
        table
            .strip_prefix(entity)
            .is_some_and(|suffix| VALUE_SUFFIXES.contains(&suffix))
    };
    match table {
        "catalog_product_entity" => vec![("entity_id", product)],
        "catalog_product_website" => vec![("product_id", product)],
        "catalog_category_product" => vec![("product_id", product)],
        // A category's document lists its children: a new, moved or deleted category changes
        // its parent's too.
        "catalog_category_entity" => vec![("entity_id", category), ("parent_id", category)],
        "customer_entity" => vec![("entity_id", customer)],
        "customer_address_entity" => vec![("parent_id", customer)],
        "sales_order" => vec![("entity_id", order)],
        "sales_order_item" => vec![("order_id", order)],
        "sales_order_address" | "sales_order_payment" | "sales_order_status_history" => {
            vec![("parent_id", order)]
        }
        _ if value_table("catalog_product_entity") => vec![if staged {
            ("row_id", Touch::ProductRow)
        } else {
            ("entity_id", product)
        }],
        _ if value_table("catalog_category_entity") => vec![if staged {
            ("row_id", Touch::CategoryRow)
        } else {
            ("entity_id", category)
        }],
        _ if value_table("customer_entity") => vec![("entity_id", customer)],
        _ if value_table("customer_address_entity") => vec![("entity_id", Touch::Address)],
        _ => Vec::new(),
    }
}

/// What `change` touches, from its before and after images; `staged` says whether the table's
/// entity type has Adobe Commerce's staging layout (see [`Touch::ProductRow`]).
pub fn touched(change: &Change, staged: impl Fn(&str) -> bool) -> Vec<Touch> {
    let table = change.source.table.as_str();
    let is_staged = if table.starts_with("catalog_product") {
        staged("catalog_product")
    } else if table.starts_with("catalog_category") {
        staged("catalog_category")
    } else {
        false
    };
    let mut out = Vec::new();
    for rule in rules(table, is_staged) {
        let (col, make) = rule;
        for image in [&change.before, &change.after].into_iter().flatten() {
            let id = column(image, col)
                .and_then(Value::as_i64)
                .and_then(|id| u32::try_from(id).ok());
            // Category 0 is no category (the root's parent).
            if let Some(id) = id.filter(|id| *id > 0) {
                let t = make(id);
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Op, Source};

    fn change(
        table: &str,
        before: Option<&[(&str, i64)]>,
        after: Option<&[(&str, i64)]>,
    ) -> Change {
        let row = |r: &[(&str, i64)]| {
            r.iter()
                .map(|(c, v)| (c.to_string(), Value::Int(*v)))
                .collect()
        };
        Change {
            op: Op::Update,
            before: before.map(row),
            after: after.map(row),
            source: Source {
                table: table.into(),
                ..Source::default()
            },
            transaction: None,
        }
    }

    #[test]
    fn each_table_points_at_its_entities() {
        let ce = |_: &str| false;
        let c = change(
            "catalog_product_entity_varchar",
            None,
            Some(&[("entity_id", 42), ("store_id", 1)]),
        );
        assert_eq!(touched(&c, ce), [product(42)]);
        let c = change(
            "catalog_product_entity_varchar",
            None,
            Some(&[("row_id", 7), ("store_id", 1)]),
        );
        assert_eq!(
            touched(&c, |t| t == "catalog_product"),
            [Touch::ProductRow(7)]
        );
        // A category moved from parent 3 to parent 5: itself and both parents.
        let c = change(
            "catalog_category_entity",
            Some(&[("entity_id", 9), ("parent_id", 3)]),
            Some(&[("entity_id", 9), ("parent_id", 5)]),
        );
        assert_eq!(touched(&c, ce), [category(9), category(3), category(5)]);
        let c = change(
            "customer_address_entity",
            Some(&[("entity_id", 11), ("parent_id", 4)]),
            None,
        );
        assert_eq!(touched(&c, ce), [customer(4)]);
        let c = change(
            "customer_address_entity_varchar",
            None,
            Some(&[("entity_id", 11)]),
        );
        assert_eq!(touched(&c, ce), [Touch::Address(11)]);
        let c = change(
            "sales_order_status_history",
            None,
            Some(&[("entity_id", 99), ("parent_id", 12)]),
        );
        assert_eq!(touched(&c, ce), [order(12)]);
        let c = change(
            "catalog_category_product",
            None,
            Some(&[("category_id", 3), ("product_id", 8)]),
        );
        assert_eq!(touched(&c, ce), [product(8)]);
        let c = change("quote_item", None, Some(&[("item_id", 1)]));
        assert!(touched(&c, ce).is_empty(), "a table no document reads");
        let c = change(
            "catalog_category_entity",
            None,
            Some(&[("entity_id", 1), ("parent_id", 0)]),
        );
        assert_eq!(touched(&c, ce), [category(1)], "no parent 0");
    }
}
