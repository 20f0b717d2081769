//! Documents in Magento's REST shapes (reference §3.2), one per entity and store view, with the
//! entity's `uuid` from id-map and the `store_code` on top.

use ficus_id_map::Mapper;

use crate::error::{Error, Result};
use crate::json::{self, Object, is_integer, magento_number};
use crate::meta::{Attr, Backend, EntityType, Meta, Store};
use crate::pivot;
use crate::source::{Chunk, Entity, col};

/// Product attributes that are top-level keys of `ProductInterface`, not custom attributes.
const PRODUCT_TOP: &[&str] = &[
    "sku",
    "name",
    "price",
    "status",
    "visibility",
    "created_at",
    "updated_at",
    "weight",
];
/// Attributes whose values live outside the value tables (gallery, tier prices, stock): not
/// part of these documents.
const NOT_SCALAR: &[&str] = &["media_gallery", "tier_price", "quantity_and_stock_status"];
/// Category attributes that are top-level keys of `CategoryInterface`.
const CATEGORY_TOP: &[&str] = &[
    "name",
    "is_active",
    "include_in_menu",
    "available_sort_by",
    "position",
    "level",
    "created_at",
    "updated_at",
    "parent_id",
];

/// Resolved values of one entity in one store: attribute id → value (None = NULL).
struct Values<'a> {
    t: &'a EntityType,
    resolved: Vec<(u16, Option<&'a str>)>,
}

impl<'a> Values<'a> {
    fn new(t: &'a EntityType, e: &'a Entity, store: u16) -> Self {
        let mut resolved = Vec::with_capacity(e.values.len());
        pivot::resolve(
            &e.values,
            store,
            |a| {
                t.attrs
                    .get(&a)
                    .map(|a| a.scope)
                    .unwrap_or(crate::meta::Scope::Global)
            },
            |a, v| resolved.push((a, v)),
        );
        Values { t, resolved }
    }

    fn get(&self, code: &str) -> Option<&'a str> {
        let attr = self.t.attr(code)?;
        self.by_id(attr.id)
    }

    fn by_id(&self, id: u16) -> Option<&'a str> {
        self.resolved
            .binary_search_by_key(&id, |(a, _)| *a)
            .ok()
            .and_then(|i| self.resolved[i].1)
    }
}

fn bad(table: &str, id: u32, column: &str, value: &str, expected: &'static str) -> Error {
    Error::BadValue {
        table: table.into(),
        entity_id: id as u64,
        column: column.into(),
        value: value.into(),
        expected,
    }
}

/// Writes `"key":<integer>` after checking the text is one.
fn int(o: &mut Object<'_>, table: &str, id: u32, key: &str, v: Option<&str>) -> Result<()> {
    if let Some(v) = v {
        if !is_integer(v) {
            return Err(bad(table, id, key, v, "an integer"));
        }
        o.raw(key, v);
    }
    Ok(())
}

/// Writes `"key":<number>` the way Magento prints a float getter.
fn number(o: &mut Object<'_>, table: &str, id: u32, key: &str, v: Option<&str>) -> Result<()> {
    if let Some(v) = v {
        let n = magento_number(v).ok_or_else(|| bad(table, id, key, v, "a decimal"))?;
        o.raw(key, n);
    }
    Ok(())
}

/// The label of an option in a store: the store's row, else the admin row.
fn label<'m>(meta: &'m Meta, option: &str, store: u16) -> Option<&'m str> {
    let labels = meta.labels.as_ref()?;
    let option: u32 = option.trim().parse().ok()?;
    labels
        .get(&(option, store))
        .or_else(|| labels.get(&(option, 0)))
        .map(String::as_str)
}

/// Writes `custom_attributes` for the attributes in `members` (sorted by code) that have a value.
fn custom_attributes(
    o: &mut Object<'_>,
    meta: &Meta,
    members: &[&Attr],
    values: &Values<'_>,
    statics: &dyn Fn(&str) -> Option<StaticValue>,
    store: u16,
) {
    let mut list = String::new();
    let mut first = true;
    for a in members {
        let value = if a.backend == Backend::Static {
            statics(&a.code)
        } else {
            values.by_id(a.id).map(|v| StaticValue::One(v.to_string()))
        };
        let Some(value) = value else { continue };
        list.push(if first { '[' } else { ',' });
        first = false;
        let mut item = Object::new(&mut list);
        item.str("attribute_code", &a.code);
        match &value {
            StaticValue::One(v) => item.str("value", v),
            StaticValue::Many(vs) => {
                let out = item.key("value");
                out.push('[');
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json::string(out, v);
                }
                out.push(']');
            }
        }
        if let (true, true, StaticValue::One(v)) = (a.table_options, meta.labels.is_some(), &value)
        {
            if a.input == "multiselect" {
                let out = item.key("label");
                out.push('[');
                for (i, option) in v.split(',').enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match label(meta, option, store) {
                        Some(l) => json::string(out, l),
                        None => out.push_str("null"),
                    }
                }
                out.push(']');
            } else if let Some(l) = label(meta, v, store) {
                item.str("label", l);
            }
        }
        item.end();
    }
    if !first {
        list.push(']');
        o.key("custom_attributes").push_str(&list);
    }
}

/// A static attribute's value: one string, or a list (`category_ids`).
enum StaticValue {
    One(String),
    Many(Vec<String>),
}

/// The attributes of a set that go into `custom_attributes`, sorted by code.
fn members<'t>(t: &'t EntityType, set: Option<u16>, top: &[&str]) -> Vec<&'t Attr> {
    let mut out: Vec<&Attr> = match set {
        Some(set) => t
            .sets
            .get(&set)
            .map(|ids| ids.iter().filter_map(|id| t.attrs.get(id)).collect())
            .unwrap_or_default(),
        None => t
            .attrs
            .values()
            .filter(|a| a.backend != Backend::Static)
            .collect(),
    };
    out.retain(|a| !top.contains(&a.code.as_str()) && !NOT_SCALAR.contains(&a.code.as_str()));
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

/// Appends the product document of `e` in `store`, and a newline.
pub fn product(
    out: &mut String,
    meta: &Meta,
    mapper: &Mapper,
    chunk: &Chunk,
    e: &Entity,
    store: &Store,
) -> Result<()> {
    let t = meta.entity_type("catalog_product");
    let table = t.table.as_str();
    let c = |name: &str| e.cols[col("catalog_product", name)].as_deref();
    let values = Values::new(t, e, store.id);
    let mut uuid = uuid::Uuid::encode_buffer();
    let mut o = Object::new(out);
    o.str(
        "uuid",
        mapper
            .uuid(e.id as u64)
            .hyphenated()
            .encode_lower(&mut uuid),
    );
    o.str("store_code", &store.code);
    o.raw("id", &e.id.to_string());
    o.opt_str("sku", c("sku"));
    o.opt_str("name", values.get("name"));
    int(
        &mut o,
        table,
        e.id,
        "attribute_set_id",
        c("attribute_set_id"),
    )?;
    number(&mut o, table, e.id, "price", values.get("price"))?;
    int(&mut o, table, e.id, "status", values.get("status"))?;
    int(&mut o, table, e.id, "visibility", values.get("visibility"))?;
    o.opt_str("type_id", c("type_id"));
    o.opt_str("created_at", c("created_at"));
    o.opt_str("updated_at", c("updated_at"));
    number(&mut o, table, e.id, "weight", values.get("weight"))?;
    {
        let ext = o.key("extension_attributes");
        let mut x = Object::new(ext);
        let websites = chunk.websites.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
        let list: Vec<String> = websites.iter().map(u32::to_string).collect();
        x.raw("website_ids", &format!("[{}]", list.join(",")));
        if let Some(links) = chunk.categories.get(&e.id) {
            let out = x.key("category_links");
            out.push('[');
            for (i, (category, position)) in links.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let position = if is_integer(position) {
                    position.as_str()
                } else {
                    "0"
                };
                out.push_str(&format!(
                    "{{\"position\":{position},\"category_id\":\"{category}\"}}"
                ));
            }
            out.push(']');
        }
        x.end();
    }
    let set = c("attribute_set_id").and_then(|s| s.parse().ok());
    let statics = |code: &str| -> Option<StaticValue> {
        match code {
            "category_ids" => chunk
                .categories
                .get(&e.id)
                .map(|links| StaticValue::Many(links.iter().map(|(c, _)| c.to_string()).collect())),
            "has_options" | "required_options" => c(code).map(|v| StaticValue::One(v.into())),
            _ => None,
        }
    };
    custom_attributes(
        &mut o,
        meta,
        &members(t, set, PRODUCT_TOP),
        &values,
        &statics,
        store.id,
    );
    o.end();
    out.push('\n');
    Ok(())
}

/// Appends the category document of `e` in `store`, and a newline.
pub fn category(
    out: &mut String,
    meta: &Meta,
    mapper: &Mapper,
    chunk: &Chunk,
    e: &Entity,
    store: &Store,
) -> Result<()> {
    let t = meta.entity_type("catalog_category");
    let table = t.table.as_str();
    let c = |name: &str| e.cols[col("catalog_category", name)].as_deref();
    let values = Values::new(t, e, store.id);
    let mut uuid = uuid::Uuid::encode_buffer();
    let mut o = Object::new(out);
    o.str(
        "uuid",
        mapper
            .uuid(e.id as u64)
            .hyphenated()
            .encode_lower(&mut uuid),
    );
    o.str("store_code", &store.code);
    o.raw("id", &e.id.to_string());
    int(&mut o, table, e.id, "parent_id", c("parent_id"))?;
    o.opt_str("name", values.get("name"));
    if let Some(v) = values.get("is_active") {
        o.bool("is_active", v != "0");
    }
    int(&mut o, table, e.id, "position", c("position"))?;
    int(&mut o, table, e.id, "level", c("level"))?;
    let children = chunk.children.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
    let children: Vec<String> = children.iter().map(u32::to_string).collect();
    o.str("children", &children.join(","));
    o.opt_str("created_at", c("created_at"));
    o.opt_str("updated_at", c("updated_at"));
    o.opt_str("path", c("path"));
    if let Some(v) = values.get("available_sort_by") {
        let out = o.key("available_sort_by");
        out.push('[');
        for (i, s) in v.split(',').filter(|s| !s.is_empty()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::string(out, s);
        }
        out.push(']');
    }
    if let Some(v) = values.get("include_in_menu") {
        o.bool("include_in_menu", v != "0");
    }
    let set = c("attribute_set_id").and_then(|s| s.parse().ok());
    let statics = |code: &str| -> Option<StaticValue> {
        match code {
            "path" | "children_count" => c(code).map(|v| StaticValue::One(v.into())),
            _ => None,
        }
    };
    custom_attributes(
        &mut o,
        meta,
        &members(t, set, CATEGORY_TOP),
        &values,
        &statics,
        store.id,
    );
    o.end();
    out.push('\n');
    Ok(())
}

/// Appends the customer document of `e` (customers have no store dimension), and a newline.
pub fn customer(
    out: &mut String,
    meta: &Meta,
    mappers: (&Mapper, &Mapper),
    chunk: &Chunk,
    e: &Entity,
) -> Result<()> {
    let t = meta.entity_type("customer");
    let table = t.table.as_str();
    let c = |name: &str| e.cols[col("customer", name)].as_deref();
    let values = Values::new(t, e, 0);
    let mut uuid = uuid::Uuid::encode_buffer();
    let mut o = Object::new(out);
    o.str(
        "uuid",
        mappers
            .0
            .uuid(e.id as u64)
            .hyphenated()
            .encode_lower(&mut uuid),
    );
    let store_id: Option<u16> = c("store_id").and_then(|s| s.parse().ok());
    o.opt_str("store_code", store_id.and_then(|s| meta.store_code(s)));
    o.raw("id", &e.id.to_string());
    int(&mut o, table, e.id, "group_id", c("group_id"))?;
    o.opt_str("default_billing", c("default_billing"));
    o.opt_str("default_shipping", c("default_shipping"));
    o.opt_str("confirmation", c("confirmation"));
    o.opt_str("created_at", c("created_at"));
    o.opt_str("updated_at", c("updated_at"));
    o.opt_str("created_in", c("created_in"));
    o.opt_str("dob", c("dob"));
    o.opt_str("email", c("email"));
    o.opt_str("firstname", c("firstname"));
    o.opt_str("lastname", c("lastname"));
    o.opt_str("middlename", c("middlename"));
    o.opt_str("prefix", c("prefix"));
    o.opt_str("suffix", c("suffix"));
    int(&mut o, table, e.id, "gender", c("gender"))?;
    int(&mut o, table, e.id, "store_id", c("store_id"))?;
    o.opt_str("taxvat", c("taxvat"));
    int(&mut o, table, e.id, "website_id", c("website_id"))?;
    let addresses = chunk.addresses.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
    {
        let out = o.key("addresses");
        out.push('[');
        for (i, a) in addresses.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            address(
                out,
                meta,
                mappers.1,
                a,
                e.id,
                c("default_billing"),
                c("default_shipping"),
            )?;
        }
        out.push(']');
    }
    int(
        &mut o,
        table,
        e.id,
        "disable_auto_group_change",
        c("disable_auto_group_change"),
    )?;
    let none = |_: &str| None;
    custom_attributes(&mut o, meta, &members(t, None, &[]), &values, &none, 0);
    o.end();
    out.push('\n');
    Ok(())
}

fn address(
    out: &mut String,
    meta: &Meta,
    mapper: &Mapper,
    a: &Entity,
    customer: u32,
    default_billing: Option<&str>,
    default_shipping: Option<&str>,
) -> Result<()> {
    let t = meta.entity_type("customer_address");
    let table = t.table.as_str();
    let c = |name: &str| a.cols[col("customer_address", name)].as_deref();
    let values = Values::new(t, a, 0);
    let id = a.id.to_string();
    let mut uuid = uuid::Uuid::encode_buffer();
    let mut o = Object::new(out);
    o.str(
        "uuid",
        mapper
            .uuid(a.id as u64)
            .hyphenated()
            .encode_lower(&mut uuid),
    );
    o.raw("id", &id);
    o.raw("customer_id", &customer.to_string());
    if c("region").is_some() || c("region_id").is_some() {
        let out = o.key("region");
        let mut r = Object::new(out);
        r.opt_str("region", c("region"));
        int(&mut r, table, a.id, "region_id", c("region_id"))?;
        r.end();
    }
    int(&mut o, table, a.id, "region_id", c("region_id"))?;
    o.opt_str("country_id", c("country_id"));
    if let Some(street) = c("street") {
        let out = o.key("street");
        out.push('[');
        for (i, line) in street.split('\n').enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::string(out, line);
        }
        out.push(']');
    }
    for key in [
        "company",
        "telephone",
        "fax",
        "postcode",
        "city",
        "firstname",
        "lastname",
    ] {
        o.opt_str(key, c(key));
    }
    for key in ["middlename", "prefix", "suffix", "vat_id"] {
        o.opt_str(key, c(key));
    }
    if default_shipping == Some(id.as_str()) {
        o.bool("default_shipping", true);
    }
    if default_billing == Some(id.as_str()) {
        o.bool("default_billing", true);
    }
    let none = |_: &str| None;
    custom_attributes(&mut o, meta, &members(t, None, &[]), &values, &none, 0);
    o.end();
    Ok(())
}
