//! Magento's metadata, read at run time: stores, entity types, attributes (by `attribute_code`,
//! never by id), attribute sets, price scope, option labels and the table layout (Open Source or
//! Adobe Commerce staging).

use std::collections::{BTreeSet, HashMap};

use ficus_id_map::magento::columns;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::error::{Error, Result, mysql};

/// What an attribute's value is stored as (`eav_attribute.backend_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// A column of the entity table.
    Static,
    /// `_int`.
    Int,
    /// `_varchar`.
    Varchar,
    /// `_decimal`.
    Decimal,
    /// `_text`.
    Text,
    /// `_datetime`.
    Datetime,
}

impl Backend {
    fn parse(s: &str) -> Option<Backend> {
        Some(match s {
            "static" => Backend::Static,
            "int" => Backend::Int,
            "varchar" => Backend::Varchar,
            "decimal" => Backend::Decimal,
            "text" => Backend::Text,
            "datetime" => Backend::Datetime,
            _ => return None,
        })
    }
}

/// Where a value applies (`catalog_eav_attribute.is_global`, or the price scope for prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// 0: per store view.
    Store,
    /// 1: one value for all; store rows are ignored.
    Global,
    /// 2: per website, stored once per store view of the website.
    Website,
}

/// One attribute.
#[derive(Debug, Clone)]
pub struct Attr {
    /// `attribute_id` of this install.
    pub id: u16,
    /// `attribute_code`.
    pub code: String,
    /// Storage.
    pub backend: Backend,
    /// The value table (empty for static attributes).
    pub table: String,
    /// Effective scope (price scope applied).
    pub scope: Scope,
    /// `frontend_input`.
    pub input: String,
    /// Whether option labels come from `eav_attribute_option_value` (table source model).
    pub table_options: bool,
}

/// The kinds of document eav-extract writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `catalog_product`.
    Product,
    /// `catalog_category`.
    Category,
    /// `customer`, with its addresses.
    Customer,
    /// `sales_order`, with its items, addresses, payment and history (flat tables, no EAV).
    Order,
}

impl Kind {
    /// All kinds, in extraction order.
    pub const ALL: [Kind; 4] = [Kind::Product, Kind::Category, Kind::Customer, Kind::Order];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::Category => "category",
            Kind::Customer => "customer",
            Kind::Order => "order",
        }
    }

    /// Magento's entity type code, which is also the id-map entity.
    pub fn type_code(self) -> &'static str {
        match self {
            Kind::Product => "catalog_product",
            Kind::Category => "catalog_category",
            Kind::Customer => "customer",
            Kind::Order => "sales_order",
        }
    }

    /// Parses a CLI name (or the type code).
    pub fn parse(name: &str) -> Result<Kind> {
        Ok(match name {
            "product" | "products" | "catalog_product" => Kind::Product,
            "category" | "categories" | "catalog_category" => Kind::Category,
            "customer" | "customers" => Kind::Customer,
            "order" | "orders" | "sales_order" => Kind::Order,
            _ => return Err(Error::UnknownEntity { name: name.into() }),
        })
    }
}

/// One EAV entity type as this database has it.
#[derive(Debug, Clone)]
pub struct EntityType {
    /// `entity_type_code`.
    pub code: String,
    /// `entity_table`.
    pub table: String,
    /// The entity table's columns.
    pub columns: Vec<String>,
    /// Adobe Commerce staging layout: `row_id` keys the value tables.
    pub staged: bool,
    /// Attributes, by id.
    pub attrs: HashMap<u16, Attr>,
    /// Attribute ids per attribute set.
    pub sets: HashMap<u16, BTreeSet<u16>>,
}

impl EntityType {
    /// The value tables of the type's attributes, sorted.
    pub fn value_tables(&self) -> Vec<&str> {
        let tables: std::collections::BTreeSet<&str> = self
            .attrs
            .values()
            .filter(|a| a.backend != Backend::Static)
            .map(|a| a.table.as_str())
            .collect();
        tables.into_iter().collect()
    }
}

/// One store view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// `store_id`.
    pub id: u16,
    /// `code`.
    pub code: String,
    /// `website_id`.
    pub website_id: u16,
}

/// Option labels: (option_id, store_id) → label, duplicates resolved to the lowest value_id.
pub type Labels = HashMap<(u32, u16), String>;

/// Everything read before the first entity.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The database name.
    pub database: String,
    /// Store views, admin (0) included.
    pub stores: Vec<Store>,
    /// Whether price attributes are website-scoped (`catalog/price/scope` = 1).
    pub price_per_website: bool,
    /// The staging version live now (Adobe Commerce), if the layout is staged.
    pub staging_version: Option<u64>,
    /// Entity types by code.
    pub types: HashMap<String, EntityType>,
    /// Option labels, when asked for.
    pub labels: Option<Labels>,
    /// `directory_country_region`'s (country, code) by region id, for orders' addresses.
    pub regions: HashMap<u32, (String, String)>,
}

const PRICE_BACKEND: &str = "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Price";
const TABLE_SOURCE: &str = "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table";

/// Tables every Magento 2 database has and the extract reads.
const REQUIRED: &[&str] = &[
    "eav_entity_type",
    "eav_attribute",
    "eav_entity_attribute",
    "eav_attribute_option_value",
    "catalog_eav_attribute",
    "store",
    "store_website",
    "core_config_data",
];

/// The entity types each kind needs.
pub fn type_codes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Product => &["catalog_product"],
        Kind::Category => &["catalog_category"],
        Kind::Customer => &["customer", "customer_address"],
        Kind::Order => &[],
    }
}

impl Meta {
    /// Reads the metadata the given kinds need.
    pub async fn load(conn: &mut Conn, kinds: &[Kind], labels: bool) -> Result<Meta> {
        let database: String = conn
            .query_first("SELECT DATABASE()")
            .await
            .map_err(mysql("current database"))?
            .unwrap_or_default();
        let present: BTreeSet<String> = conn
            .query(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            )
            .await
            .map_err(mysql("information_schema.TABLES"))?
            .into_iter()
            .collect();
        let orders = kinds.contains(&Kind::Order);
        let missing: Vec<&str> = REQUIRED
            .iter()
            .chain(if orders { crate::order::TABLES } else { &[] })
            .copied()
            .filter(|t| !present.contains(*t))
            .collect();
        if !missing.is_empty() {
            return Err(Error::NotMagento {
                database,
                missing: missing.join(", "),
            });
        }
        let stores: Vec<(u16, String, u16)> = conn
            .query("SELECT store_id, code, website_id FROM store ORDER BY store_id")
            .await
            .map_err(mysql("store"))?;
        let stores = stores
            .into_iter()
            .map(|(id, code, website_id)| Store {
                id,
                code,
                website_id,
            })
            .collect();
        let scope: Option<Option<String>> = conn
            .query_first(
                "SELECT value FROM core_config_data WHERE path = 'catalog/price/scope' AND scope = 'default' AND scope_id = 0",
            )
            .await
            .map_err(mysql("core_config_data"))?;
        let price_per_website = scope.flatten().as_deref().map(str::trim) == Some("1");

        let mut types = HashMap::new();
        let mut staged_any = false;
        for kind in kinds {
            for code in type_codes(*kind) {
                let t = load_type(conn, &database, &present, code, price_per_website).await?;
                staged_any |= t.staged;
                types.insert(code.to_string(), t);
            }
        }
        let staging_version = if staged_any {
            Some(staging_version(conn).await?)
        } else {
            None
        };
        let labels = if labels {
            let rows: Vec<(u32, u16, String)> = conn
                .query(
                    "SELECT option_id, store_id, value FROM eav_attribute_option_value WHERE value IS NOT NULL ORDER BY value_id",
                )
                .await
                .map_err(mysql("eav_attribute_option_value"))?;
            let mut labels = Labels::new();
            for (option, store, value) in rows {
                // Old data holds duplicate rows per (option, store): the first one counts.
                labels.entry((option, store)).or_insert(value);
            }
            Some(labels)
        } else {
            None
        };
        let regions = if orders {
            crate::order::regions(conn, present.contains("directory_country_region")).await?
        } else {
            HashMap::new()
        };
        Ok(Meta {
            database,
            stores,
            price_per_website,
            staging_version,
            types,
            labels,
            regions,
        })
    }

    /// The store with this code.
    pub fn store(&self, code: &str) -> Result<&Store> {
        self.stores
            .iter()
            .find(|s| s.code == code)
            .ok_or_else(|| Error::UnknownStore {
                code: code.into(),
                known: self
                    .stores
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The code of a store id, if it exists.
    pub fn store_code(&self, id: u16) -> Option<&str> {
        self.stores
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.code.as_str())
    }

    /// An entity type that [`Meta::load`] loaded.
    pub fn entity_type(&self, code: &str) -> &EntityType {
        &self.types[code]
    }
}

async fn load_type(
    conn: &mut Conn,
    database: &str,
    present: &BTreeSet<String>,
    code: &str,
    price_per_website: bool,
) -> Result<EntityType> {
    let row: Option<(u16, String)> = conn
        .exec_first(
            "SELECT entity_type_id, entity_table FROM eav_entity_type WHERE entity_type_code = ? ORDER BY entity_type_id LIMIT 1",
            (code,),
        )
        .await
        .map_err(mysql("eav_entity_type"))?;
    let Some((type_id, table)) = row else {
        return Err(Error::NotMagento {
            database: database.into(),
            missing: format!("(eav_entity_type has no '{code}')"),
        });
    };
    let catalog = code.starts_with("catalog_");
    let sql = if catalog {
        "SELECT a.attribute_id, a.attribute_code, a.backend_type, a.backend_table, a.frontend_input,
                a.source_model, a.backend_model, c.is_global
         FROM eav_attribute a LEFT JOIN catalog_eav_attribute c ON c.attribute_id = a.attribute_id
         WHERE a.entity_type_id = ?"
    } else {
        "SELECT a.attribute_id, a.attribute_code, a.backend_type, a.backend_table, a.frontend_input,
                a.source_model, a.backend_model, 1
         FROM eav_attribute a WHERE a.entity_type_id = ?"
    };
    type AttrRow = (
        u16,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<u16>,
    );
    let rows: Vec<AttrRow> = conn
        .exec(sql, (type_id,))
        .await
        .map_err(mysql("eav_attribute"))?;
    let mut attrs = HashMap::new();
    let mut needed: BTreeSet<String> = BTreeSet::from([table.clone()]);
    for (id, attr_code, backend, backend_table, input, source, backend_model, is_global) in rows {
        let Some(backend) = Backend::parse(&backend) else {
            continue; // an unknown backend type has no table to read
        };
        let table_name = match (backend, backend_table) {
            (Backend::Static, _) => String::new(),
            (_, Some(t)) if !t.is_empty() => t,
            (b, _) => format!("{table}_{}", format!("{b:?}").to_lowercase()),
        };
        if !table_name.is_empty() {
            needed.insert(table_name.clone());
        }
        let price = backend_model.as_deref() == Some(PRICE_BACKEND);
        let scope = match (price, is_global.unwrap_or(1)) {
            (true, _) if price_per_website => Scope::Website,
            (true, _) => Scope::Global,
            (false, 0) => Scope::Store,
            (false, 2) => Scope::Website,
            _ => Scope::Global,
        };
        let input = input.unwrap_or_default();
        let table_options = matches!(input.as_str(), "select" | "multiselect")
            && source
                .as_deref()
                .is_none_or(|s| s.is_empty() || s == TABLE_SOURCE);
        attrs.insert(
            id,
            Attr {
                id,
                code: attr_code,
                backend,
                table: table_name,
                scope,
                input,
                table_options,
            },
        );
    }
    let missing: Vec<String> = needed
        .iter()
        .filter(|t| !present.contains(*t))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(Error::NotMagento {
            database: database.into(),
            missing: missing.join(", "),
        });
    }
    let members: Vec<(u16, u16)> = conn
        .exec(
            "SELECT attribute_set_id, attribute_id FROM eav_entity_attribute WHERE entity_type_id = ?",
            (type_id,),
        )
        .await
        .map_err(mysql("eav_entity_attribute"))?;
    let mut sets: HashMap<u16, BTreeSet<u16>> = HashMap::new();
    for (set, attr) in members {
        sets.entry(set).or_default().insert(attr);
    }
    let columns = columns(conn, &table).await?;
    let staged = columns.iter().any(|c| c == "row_id");
    Ok(EntityType {
        code: code.into(),
        table,
        columns,
        staged,
        attrs,
        sets,
    })
}

/// The staging version live now: `flag` 'staging' → `current_version` (Magento's VersionManager),
/// 1 when the flag is absent (no update was ever applied).
async fn staging_version(conn: &mut Conn) -> Result<u64> {
    let data: Option<Option<String>> = conn
        .query_first("SELECT flag_data FROM flag WHERE flag_code = 'staging'")
        .await
        .map_err(mysql("flag (staging)"))?;
    let Some(Some(data)) = data else {
        return Ok(1);
    };
    let parsed: serde_json::Value = serde_json::from_str(&data).map_err(|_| Error::BadValue {
        table: "flag".into(),
        entity_id: 0,
        column: "flag_data".into(),
        value: data.clone(),
        expected: "JSON with current_version",
    })?;
    let version = match &parsed["current_version"] {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    };
    version.ok_or(Error::BadValue {
        table: "flag".into(),
        entity_id: 0,
        column: "flag_data".into(),
        value: data,
        expected: "JSON with current_version",
    })
}
