//! Documents in Magento's REST shapes (reference §3.2), one per entity and store view, with the
//! entity's `uuid` from id-map and the `store_code` on top.

use std::collections::HashMap;
use std::fmt::Write;

use ficus_id_map::Mapper;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::json::{self, Object, is_integer, magento_number};
use crate::meta::{Attr, Backend, EntityType, Meta, Scope, Store};
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

/// What the documents of one entity type need, worked out once per run rather than per document.
#[derive(Debug)]
struct Shape<'m> {
    t: &'m EntityType,
    /// Attribute id by code.
    ids: HashMap<&'m str, u16>,
    /// The `custom_attributes` candidates per attribute set (`None`: every non-static attribute,
    /// for types without sets), sorted by code.
    members: HashMap<Option<u16>, Vec<&'m Attr>>,
}

impl<'m> Shape<'m> {
    fn new(t: &'m EntityType, top: &[&str], by_set: bool) -> Self {
        let wanted =
            |a: &&Attr| !top.contains(&a.code.as_str()) && !NOT_SCALAR.contains(&a.code.as_str());
        let sorted = |mut v: Vec<&'m Attr>| {
            v.sort_by(|a, b| a.code.cmp(&b.code));
            v
        };
        let members = if by_set {
            t.sets
                .iter()
                .map(|(set, ids)| {
                    let attrs = ids.iter().filter_map(|id| t.attrs.get(id)).filter(wanted);
                    (Some(*set), sorted(attrs.collect()))
                })
                .collect()
        } else {
            let attrs = t.attrs.values().filter(|a| a.backend != Backend::Static);
            HashMap::from([(None, sorted(attrs.filter(wanted).collect()))])
        };
        Shape {
            t,
            ids: t.attrs.values().map(|a| (a.code.as_str(), a.id)).collect(),
            members,
        }
    }

    fn members(&self, set: Option<u16>) -> &[&'m Attr] {
        self.members.get(&set).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Resolved values of one entity in one store: attribute id → value (None = NULL).
struct Values<'a> {
    shape: &'a Shape<'a>,
    resolved: Vec<(u16, Option<&'a str>)>,
}

impl<'a> Values<'a> {
    fn new(shape: &'a Shape<'a>, e: &'a Entity, store: u16) -> Self {
        let mut resolved = Vec::with_capacity(e.values.len());
        pivot::resolve(
            &e.values,
            store,
            |a| {
                shape
                    .t
                    .attrs
                    .get(&a)
                    .map(|a| a.scope)
                    .unwrap_or(Scope::Global)
            },
            |a, v| resolved.push((a, v)),
        );
        Values { shape, resolved }
    }

    fn get(&self, code: &str) -> Option<&'a str> {
        self.by_id(*self.shape.ids.get(code)?)
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

/// The value of a static attribute: one string, or the category ids of a product.
enum Static<'a> {
    One(&'a str),
    Categories(&'a [(u32, String)]),
}

/// Writes the uuid, store code and id that open every document.
fn head(o: &mut Object<'_>, uuid: &Uuid, store_code: Option<&str>, id: u32) {
    o.uuid("uuid", uuid);
    o.opt_str("store_code", store_code);
    o.raw("id", &id.to_string());
}

/// Builds documents from chunks; holds what is worked out once per run.
#[derive(Debug)]
pub struct Docs<'m> {
    meta: &'m Meta,
    shapes: HashMap<&'m str, Shape<'m>>,
}

impl<'m> Docs<'m> {
    /// Works out the document shapes of the entity types `meta` has loaded.
    pub fn new(meta: &'m Meta) -> Self {
        let shapes = meta
            .types
            .iter()
            .map(|(code, t)| {
                let shape = match code.as_str() {
                    "catalog_product" => Shape::new(t, PRODUCT_TOP, true),
                    "catalog_category" => Shape::new(t, CATEGORY_TOP, true),
                    _ => Shape::new(t, &[], false),
                };
                (code.as_str(), shape)
            })
            .collect();
        Docs { meta, shapes }
    }

    fn shape(&self, code: &str) -> &Shape<'m> {
        &self.shapes[code]
    }

    /// The label of an option in a store: the store's row, else the admin row.
    fn label(&self, option: &str, store: u16) -> Option<&'m str> {
        let labels = self.meta.labels.as_ref()?;
        let option: u32 = option.trim().parse().ok()?;
        labels
            .get(&(option, store))
            .or_else(|| labels.get(&(option, 0)))
            .map(String::as_str)
    }

    /// Writes `custom_attributes` for the attributes in `members` that have a value.
    fn custom_attributes<'a>(
        &self,
        o: &mut Object<'_>,
        members: &[&Attr],
        values: &Values<'a>,
        statics: impl Fn(&str) -> Option<Static<'a>>,
        store: u16,
    ) {
        let mut list = String::new();
        let mut first = true;
        let labels = self.meta.labels.is_some();
        for a in members {
            let value = if a.backend == Backend::Static {
                statics(&a.code)
            } else {
                values.by_id(a.id).map(Static::One)
            };
            let Some(value) = value else { continue };
            list.push(if first { '[' } else { ',' });
            first = false;
            let mut item = Object::new(&mut list);
            item.str("attribute_code", &a.code);
            match value {
                Static::One(v) => {
                    item.str("value", v);
                    if labels && a.table_options {
                        if a.input == "multiselect" {
                            json::array(item.key("label"), v.split(','), |out, option| match self
                                .label(option, store)
                            {
                                Some(l) => json::string(out, l),
                                None => out.push_str("null"),
                            });
                        } else if let Some(l) = self.label(v, store) {
                            item.str("label", l);
                        }
                    }
                }
                Static::Categories(links) => {
                    json::array(item.key("value"), links, |out, (c, _)| {
                        let _ = write!(out, "\"{c}\"");
                    });
                }
            }
            item.end();
        }
        if !first {
            list.push(']');
            o.key("custom_attributes").push_str(&list);
        }
    }

    /// Appends the product document of `e` in `store`, and a newline.
    pub fn product(
        &self,
        out: &mut String,
        uuid: &Uuid,
        chunk: &Chunk,
        e: &Entity,
        store: &Store,
    ) -> Result<()> {
        let shape = self.shape("catalog_product");
        let table = shape.t.table.as_str();
        let c = |name: &str| e.cols[col("catalog_product", name)].as_deref();
        let values = Values::new(shape, e, store.id);
        let mut o = Object::new(out);
        head(&mut o, uuid, Some(&store.code), e.id);
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
        let links = chunk.categories.get(&e.id);
        {
            let mut x = Object::new(o.key("extension_attributes"));
            let websites = chunk.websites.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
            json::array(x.key("website_ids"), websites, |out, w| {
                let _ = write!(out, "{w}");
            });
            if let Some(links) = links {
                json::array(
                    x.key("category_links"),
                    links,
                    |out, (category, position)| {
                        let position = if is_integer(position) {
                            position.as_str()
                        } else {
                            "0"
                        };
                        let _ = write!(
                            out,
                            "{{\"position\":{position},\"category_id\":\"{category}\"}}"
                        );
                    },
                );
            }
            x.end();
        }
        let set = c("attribute_set_id").and_then(|s| s.parse().ok());
        let statics = |code: &str| match code {
            "category_ids" => links.map(|l| Static::Categories(l)),
            "has_options" | "required_options" => c(code).map(Static::One),
            _ => None,
        };
        self.custom_attributes(&mut o, shape.members(set), &values, statics, store.id);
        o.end();
        out.push('\n');
        Ok(())
    }

    /// Appends the category document of `e` in `store`, and a newline.
    pub fn category(
        &self,
        out: &mut String,
        uuid: &Uuid,
        chunk: &Chunk,
        e: &Entity,
        store: &Store,
    ) -> Result<()> {
        let shape = self.shape("catalog_category");
        let table = shape.t.table.as_str();
        let c = |name: &str| e.cols[col("catalog_category", name)].as_deref();
        let values = Values::new(shape, e, store.id);
        let mut o = Object::new(out);
        head(&mut o, uuid, Some(&store.code), e.id);
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
            let sorts = v.split(',').filter(|s| !s.is_empty());
            json::array(o.key("available_sort_by"), sorts, json::string);
        }
        if let Some(v) = values.get("include_in_menu") {
            o.bool("include_in_menu", v != "0");
        }
        let set = c("attribute_set_id").and_then(|s| s.parse().ok());
        let statics = |code: &str| match code {
            "path" | "children_count" => c(code).map(Static::One),
            _ => None,
        };
        self.custom_attributes(&mut o, shape.members(set), &values, statics, store.id);
        o.end();
        out.push('\n');
        Ok(())
    }

    /// Appends the customer document of `e` (customers have no store dimension), and a newline.
    pub fn customer(
        &self,
        out: &mut String,
        uuid: &Uuid,
        addresses: &Mapper,
        chunk: &Chunk,
        e: &Entity,
    ) -> Result<()> {
        let shape = self.shape("customer");
        let table = shape.t.table.as_str();
        let c = |name: &str| e.cols[col("customer", name)].as_deref();
        let values = Values::new(shape, e, 0);
        let mut o = Object::new(out);
        let store_id: Option<u16> = c("store_id").and_then(|s| s.parse().ok());
        head(
            &mut o,
            uuid,
            store_id.and_then(|s| self.meta.store_code(s)),
            e.id,
        );
        int(&mut o, table, e.id, "group_id", c("group_id"))?;
        for key in [
            "default_billing",
            "default_shipping",
            "confirmation",
            "created_at",
            "updated_at",
            "created_in",
            "dob",
            "email",
            "firstname",
            "lastname",
            "middlename",
            "prefix",
            "suffix",
        ] {
            o.opt_str(key, c(key));
        }
        int(&mut o, table, e.id, "gender", c("gender"))?;
        int(&mut o, table, e.id, "store_id", c("store_id"))?;
        o.opt_str("taxvat", c("taxvat"));
        int(&mut o, table, e.id, "website_id", c("website_id"))?;
        let list = chunk.addresses.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
        let defaults = (c("default_billing"), c("default_shipping"));
        let mut failed = None;
        json::array(o.key("addresses"), list, |out, a| {
            let uuid = addresses.uuid(a.id as u64);
            if let Err(err) = self.address(out, &uuid, a, e.id, defaults) {
                failed.get_or_insert(err);
            }
        });
        if let Some(err) = failed {
            return Err(err);
        }
        int(
            &mut o,
            table,
            e.id,
            "disable_auto_group_change",
            c("disable_auto_group_change"),
        )?;
        self.custom_attributes(&mut o, shape.members(None), &values, |_| None, 0);
        o.end();
        out.push('\n');
        Ok(())
    }

    /// Writes one address of a customer; `defaults` are the customer's (billing, shipping) ids.
    fn address(
        &self,
        out: &mut String,
        uuid: &Uuid,
        a: &Entity,
        customer: u32,
        defaults: (Option<&str>, Option<&str>),
    ) -> Result<()> {
        let shape = self.shape("customer_address");
        let table = shape.t.table.as_str();
        let c = |name: &str| a.cols[col("customer_address", name)].as_deref();
        let values = Values::new(shape, a, 0);
        let id = a.id.to_string();
        let mut o = Object::new(out);
        o.uuid("uuid", uuid);
        o.raw("id", &id);
        o.raw("customer_id", &customer.to_string());
        if c("region").is_some() || c("region_id").is_some() {
            let mut r = Object::new(o.key("region"));
            r.opt_str("region", c("region"));
            int(&mut r, table, a.id, "region_id", c("region_id"))?;
            r.end();
        }
        int(&mut o, table, a.id, "region_id", c("region_id"))?;
        o.opt_str("country_id", c("country_id"));
        if let Some(street) = c("street") {
            json::array(o.key("street"), street.split('\n'), json::string);
        }
        for key in [
            "company",
            "telephone",
            "fax",
            "postcode",
            "city",
            "firstname",
            "lastname",
            "middlename",
            "prefix",
            "suffix",
            "vat_id",
        ] {
            o.opt_str(key, c(key));
        }
        if defaults.1 == Some(id.as_str()) {
            o.bool("default_shipping", true);
        }
        if defaults.0 == Some(id.as_str()) {
            o.bool("default_billing", true);
        }
        self.custom_attributes(&mut o, shape.members(None), &values, |_| None, 0);
        o.end();
        Ok(())
    }
}
