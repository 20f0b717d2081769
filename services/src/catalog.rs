//! The catalog service's database: migrations, the pipeline's write API for products and
//! categories, and the reads the routes need.

use serde::Deserialize;
use serde_json::value::RawValue;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::search::{Criteria, Kind, Param, Sql};
use crate::shape::parse;
use crate::store::{self, Ledger, List, ListSpec, db};
pub use crate::{Applied, Batch, Checkpoint, DeadLetter, Error, ListError, Position};

/// The schema that holds the catalog.
pub const SCHEMA: &str = "catalog";
const SERVICE: &str = "catalog";
store::service_database!(Catalog, "./migrations/catalog");

const PRODUCTS: Ledger = Ledger {
    service: SERVICE,
    entity: "catalog.product",
    views: "catalog.product_store",
    key: "product",
    with: &["catalog.product_document"],
};
const CATEGORIES: Ledger = Ledger {
    service: SERVICE,
    entity: "catalog.category",
    views: "catalog.category_store",
    key: "category",
    with: &[],
};

/// The catalog service's database.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: PgPool,
}

/// The fields of a product document the tables keep in columns.
#[derive(Debug, Deserialize)]
struct ProductFields<'a> {
    uuid: Uuid,
    store_code: &'a str,
    id: i64,
    sku: String,
    name: Option<String>,
    price: Option<&'a RawValue>,
    status: Option<i16>,
    visibility: Option<i16>,
    type_id: Option<String>,
    attribute_set_id: Option<i32>,
    created_at: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    extension_attributes: Links,
    #[serde(default)]
    custom_attributes: Vec<CustomAttribute>,
}

/// A product document parsed: the fields kept in columns and the shape Magento answers.
type Parsed<'a> = (ProductFields<'a>, String);

#[derive(Debug, Default, Deserialize)]
struct Links {
    #[serde(default)]
    website_ids: Vec<i32>,
    #[serde(default)]
    category_links: Vec<CategoryLink>,
}

#[derive(Debug, Deserialize)]
struct CategoryLink {
    category_id: String,
}

/// The fields of a category document the tables keep in columns.
#[derive(Debug, Deserialize)]
struct CategoryFields<'a> {
    uuid: Uuid,
    store_code: &'a str,
    id: i64,
    parent_id: Option<i64>,
    name: Option<String>,
    is_active: Option<bool>,
    position: Option<i32>,
    level: Option<i32>,
    path: String,
    include_in_menu: Option<bool>,
    created_at: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    custom_attributes: Vec<CustomAttribute>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CustomAttribute {
    pub(crate) attribute_code: String,
    pub(crate) value: serde_json::Value,
}

/// `custom_attributes` as a code → value object.
pub(crate) fn attribute_map(
    list: Vec<CustomAttribute>,
) -> serde_json::Map<String, serde_json::Value> {
    list.into_iter()
        .map(|a| (a.attribute_code, a.value))
        .collect()
}

/// The product fields kept in columns.
const PRODUCT_COLUMNS: store::Columns = &[
    ("entity_id", "s.legacy_id", Kind::Integer),
    ("id", "s.legacy_id", Kind::Integer),
    ("sku", "s.sku", Kind::Text),
    ("name", "s.name", Kind::Text),
    ("price", "s.price", Kind::Number),
    ("status", "s.status", Kind::Integer),
    ("visibility", "s.visibility", Kind::Integer),
    ("attribute_set_id", "s.attribute_set_id", Kind::Integer),
    ("type_id", "s.type_id", Kind::Text),
    ("created_at", "s.created_at", Kind::Timestamp),
    ("updated_at", "s.updated_at", Kind::Timestamp),
];

/// The category fields kept in columns.
const CATEGORY_COLUMNS: store::Columns = &[
    ("entity_id", "s.legacy_id", Kind::Integer),
    ("id", "s.legacy_id", Kind::Integer),
    ("parent_id", "s.parent_id", Kind::Integer),
    ("name", "s.name", Kind::Text),
    ("is_active", "s.is_active::integer", Kind::Integer),
    (
        "include_in_menu",
        "s.include_in_menu::integer",
        Kind::Integer,
    ),
    ("position", "s.position", Kind::Integer),
    ("level", "s.level", Kind::Integer),
    ("path", "s.path", Kind::Text),
    ("created_at", "s.created_at", Kind::Timestamp),
    ("updated_at", "s.updated_at", Kind::Timestamp),
];

const PRODUCT_LIST: ListSpec = ListSpec {
    service: SERVICE,
    codes: ("catalog.attribute", "catalog_product"),
    alias: "s",
    columns: PRODUCT_COLUMNS,
    keys: "s.product, s.store_code",
    document: "(SELECT d.document::text FROM catalog.product_document d
               WHERE d.product = k.product AND d.store_code = k.store_code)",
    from: "FROM catalog.product_store s",
    tiebreak: "s.legacy_id",
};

const CATEGORY_LIST: ListSpec = ListSpec {
    service: SERVICE,
    codes: ("catalog.attribute", "catalog_category"),
    alias: "s",
    columns: CATEGORY_COLUMNS,
    keys: "s.document::text AS document",
    document: "k.document",
    from: "FROM catalog.category_store s",
    tiebreak: "s.legacy_id",
};

/// One node of the category tree, as `CategoryTreeInterface` answers it.
#[derive(Debug, sqlx::FromRow)]
struct Node {
    #[sqlx(rename = "legacy_id")]
    id: i64,
    parent_id: Option<i64>,
    name: Option<String>,
    is_active: Option<bool>,
    position: Option<i32>,
    level: Option<i32>,
    product_count: i64,
}

impl Node {
    /// Appends the node and, `depth` levels down (`None`: all), its children ordered by
    /// position; `children` maps a parent's id to its children's indices in `nodes`.
    fn write(
        &self,
        out: &mut String,
        nodes: &[Node],
        children: &std::collections::HashMap<i64, Vec<usize>>,
        depth: Option<u32>,
        level: u32,
    ) {
        use std::fmt::Write as _;
        let _ = write!(out, r#"{{"id":{}"#, self.id);
        if let Some(p) = self.parent_id {
            let _ = write!(out, r#","parent_id":{p}"#);
        }
        if let Some(n) = &self.name {
            out.push_str(r#","name":"#);
            out.push_str(&serde_json::Value::from(n.as_str()).to_string());
        }
        if let Some(a) = self.is_active {
            let _ = write!(out, r#","is_active":{a}"#);
        }
        if let Some(p) = self.position {
            let _ = write!(out, r#","position":{p}"#);
        }
        if let Some(l) = self.level {
            let _ = write!(out, r#","level":{l}"#);
        }
        let _ = write!(
            out,
            r#","product_count":{},"children_data":["#,
            self.product_count
        );
        if depth.is_none_or(|d| level < d) {
            for (i, c) in children.get(&self.id).into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nodes[*c].write(out, nodes, children, depth, level + 1);
            }
        }
        out.push_str("]}");
    }
}

/// Why store views could not be copied from Magento.
#[derive(Debug, thiserror::Error)]
pub enum StoresError {
    /// Magento's database could not be read (password masked).
    #[error("Magento: {0}")]
    Magento(String),
    /// The catalog's database failed.
    #[error(transparent)]
    Db(#[from] Error),
}

/// Why a category tree could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// No category with that id in that store view (404).
    #[error("no category {0}")]
    NoSuchCategory(i64),
    /// The database failed (500).
    #[error(transparent)]
    Db(#[from] Error),
}

impl Catalog {
    /// Records a store view's website and root category (Magento's `store` and `store_group`),
    /// which the category tree needs: its default root and which products it counts.
    pub async fn set_store(
        &self,
        code: &str,
        website_id: u32,
        root_category_id: u64,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO catalog.store (code, website_id, root_category_id) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET website_id = EXCLUDED.website_id,
               root_category_id = EXCLUDED.root_category_id",
        )
        .bind(code)
        .bind(website_id as i32)
        .bind(root_category_id as i64)
        .execute(&self.pool)
        .await
        .map_err(db(SERVICE, "record store"))?;
        Ok(())
    }

    /// Records every store view's website and root category from Magento's `store` and
    /// `store_group` tables (see [`Catalog::set_store`]); returns how many.
    pub async fn copy_stores(&self, magento: &str) -> Result<usize, StoresError> {
        use mysql_async::prelude::Queryable;
        let dsn = ficus_id_map::magento::MagentoDsn::parse(magento)
            .map_err(|e| StoresError::Magento(e.to_string()))?;
        let mut conn = dsn
            .connect()
            .await
            .map_err(|e| StoresError::Magento(e.to_string()))?;
        let rows: Vec<(String, u32, u64)> = conn
            .query(
                "SELECT s.code, s.website_id, g.root_category_id FROM store s
                 JOIN store_group g ON g.group_id = s.group_id",
            )
            .await
            .map_err(|e| StoresError::Magento(format!("{}: reading stores: {e}", dsn.masked())))?;
        let _ = conn.disconnect().await;
        for (code, website, root) in &rows {
            self.set_store(code, *website, *root).await?;
        }
        Ok(rows.len())
    }

    /// Applies one product document (eav-extract's shape: one product in one store view) read
    /// at `at`. Older than what the service holds for that product and store view, or than the
    /// product's deletion: ignored.
    pub async fn upsert_product(&self, document: &str, at: Position) -> Result<Applied, Error> {
        store::retrying(|| self.upsert_product_once(document, at)).await
    }

    async fn upsert_product_once(&self, document: &str, at: Position) -> Result<Applied, Error> {
        let mut tx = self.pool.begin().await.map_err(db(SERVICE, "begin"))?;
        let applied = self.upsert_product_in(&mut tx, document, at).await?;
        tx.commit().await.map_err(db(SERVICE, "commit"))?;
        Ok(applied)
    }

    async fn upsert_product_in(
        &self,
        tx: &mut sqlx::PgConnection,
        document: &str,
        at: Position,
    ) -> Result<Applied, Error> {
        let (f, shape): (ProductFields<'_>, String) = parse("product", document)?;
        let attrs = attribute_map(f.custom_attributes);
        let price = f.price.map(|p| p.get().trim_matches('"').to_string());
        let categories: Vec<i64> = f
            .extension_attributes
            .category_links
            .iter()
            .filter_map(|l| l.category_id.parse().ok())
            .collect();

        self.record_store(&mut *tx, f.store_code).await?;
        let codes = attrs.keys().collect();
        store::record_codes(
            SERVICE,
            &mut *tx,
            "catalog.attribute",
            "catalog_product",
            codes,
        )
        .await?;
        if !PRODUCTS.advance(&mut *tx, f.uuid, f.id, at).await? {
            return Ok(Applied::Stale);
        }
        // The store-view row, and when it moved to this position its document, in one
        // statement.
        let written = sqlx::query(
            "WITH s AS (
               INSERT INTO catalog.product_store AS s (product, store_code, sku, name, price,
                 status, visibility, type_id, attribute_set_id, created_at, updated_at, attrs,
                 category_ids, website_ids, source_file, source_offset, legacy_id)
               VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10::timestamp,
                 $11::timestamp, $12, $13, $14, $16, $17, $18)
               ON CONFLICT (product, store_code) DO UPDATE SET
                 sku = EXCLUDED.sku, name = EXCLUDED.name, price = EXCLUDED.price,
                 status = EXCLUDED.status, visibility = EXCLUDED.visibility,
                 type_id = EXCLUDED.type_id, attribute_set_id = EXCLUDED.attribute_set_id,
                 created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
                 attrs = EXCLUDED.attrs, category_ids = EXCLUDED.category_ids,
                 website_ids = EXCLUDED.website_ids,
                 source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset
               WHERE (s.source_file, s.source_offset)
                   < (EXCLUDED.source_file, EXCLUDED.source_offset)
               RETURNING product, store_code)
             INSERT INTO catalog.product_document (product, store_code, document)
             SELECT product, store_code, $15::json FROM s
             ON CONFLICT (product, store_code) DO UPDATE SET document = EXCLUDED.document",
        )
        .bind(f.uuid)
        .bind(f.store_code)
        .bind(&f.sku)
        .bind(&f.name)
        .bind(price)
        .bind(f.status)
        .bind(f.visibility)
        .bind(&f.type_id)
        .bind(f.attribute_set_id)
        .bind(&f.created_at)
        .bind(&f.updated_at)
        .bind(serde_json::Value::Object(attrs))
        .bind(categories)
        .bind(&f.extension_attributes.website_ids)
        .bind(shape)
        .bind(at.file as i64)
        .bind(at.offset as i64)
        .bind(f.id)
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "write product document"))?
        .rows_affected();
        Ok(store::applied(written))
    }

    /// Applies many product documents read at one position `at` (a back-fill) in one
    /// transaction of four statements: the same result as [`Catalog::upsert_product`] on each.
    /// Returns (written, stale); on error, the index of the document at fault when one is.
    pub async fn upsert_products(
        &self,
        documents: &[String],
        at: Position,
    ) -> Result<(u64, u64), (Option<usize>, Error)> {
        let rows = Self::parse_products(documents)?;
        let keep = Self::last_per_view(&rows);
        let written = store::retrying(|| self.write_products(&rows, &keep, at))
            .await
            .map_err(|e| (None, e))?;
        Ok((written, documents.len() as u64 - written))
    }

    /// Parses product documents, naming the index of the first that does not parse.
    fn parse_products(documents: &[String]) -> Result<Vec<Parsed<'_>>, (Option<usize>, Error)> {
        let mut rows = Vec::with_capacity(documents.len());
        for (i, d) in documents.iter().enumerate() {
            let parsed: (ProductFields<'_>, String) =
                parse("product", d).map_err(|e| (Some(i), e))?;
            rows.push(parsed);
        }
        Ok(rows)
    }

    /// One row per product and store view: the last document wins, as applied in order.
    fn last_per_view(rows: &[Parsed<'_>]) -> Vec<usize> {
        let mut last: std::collections::HashMap<(Uuid, &str), usize> = Default::default();
        for (i, (f, _)) in rows.iter().enumerate() {
            last.insert((f.uuid, f.store_code), i);
        }
        let mut keep: Vec<usize> = last.into_values().collect();
        keep.sort_unstable();
        keep
    }

    async fn write_products(
        &self,
        rows: &[(ProductFields<'_>, String)],
        keep: &[usize],
        at: Position,
    ) -> Result<u64, Error> {
        let mut tx = self.pool.begin().await.map_err(db(SERVICE, "begin"))?;
        let written = self.write_products_in(&mut tx, rows, keep, at).await?;
        tx.commit().await.map_err(db(SERVICE, "commit"))?;
        Ok(written)
    }

    async fn write_products_in(
        &self,
        tx: &mut sqlx::PgConnection,
        rows: &[(ProductFields<'_>, String)],
        keep: &[usize],
        at: Position,
    ) -> Result<u64, Error> {
        let mut stores: Vec<&str> = rows.iter().map(|(f, _)| f.store_code).collect();
        stores.sort_unstable();
        stores.dedup();
        sqlx::query(
            "INSERT INTO catalog.store (code) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(&stores)
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "record store"))?;
        let mut codes: Vec<&String> = rows
            .iter()
            .flat_map(|(f, _)| f.custom_attributes.iter().map(|a| &a.attribute_code))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        store::record_codes(
            SERVICE,
            &mut *tx,
            "catalog.attribute",
            "catalog_product",
            codes,
        )
        .await?;
        let mut ids: Vec<(Uuid, i64)> = rows.iter().map(|(f, _)| (f.uuid, f.id)).collect();
        ids.sort_unstable();
        ids.dedup();
        let (uuids, legacy): (Vec<Uuid>, Vec<i64>) = ids.into_iter().unzip();
        sqlx::query(
            "INSERT INTO catalog.product AS e (uuid, legacy_id, source_file, source_offset)
             SELECT u, l, $3, $4 FROM unnest($1::uuid[], $2::bigint[]) AS t(u, l)
             ON CONFLICT (uuid) DO UPDATE SET source_file = EXCLUDED.source_file,
               source_offset = EXCLUDED.source_offset, deleted = false
             WHERE (e.source_file, e.source_offset)
                 < (EXCLUDED.source_file, EXCLUDED.source_offset)",
        )
        .bind(&uuids)
        .bind(&legacy)
        .bind(at.file as i64)
        .bind(at.offset as i64)
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "write products"))?;
        let pick = |i: &usize| &rows[*i];
        let column = |f: fn(&ProductFields<'_>) -> Option<String>| -> Vec<Option<String>> {
            keep.iter().map(|i| f(&pick(i).0)).collect()
        };
        let list = |v: Vec<String>| format!("{{{}}}", v.join(","));
        let written = sqlx::query(
            "WITH t AS (
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::smallint[], $7::smallint[], $8::text[], $9::integer[], $10::text[],
                 $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[])
                 AS t(product, store, sku, name, price, status, visibility, type_id, set_id,
                   created, updated, attrs, cats, webs, doc, legacy)),
             v AS (
               INSERT INTO catalog.product_store AS s (product, store_code, sku, name, price,
                 status, visibility, type_id, attribute_set_id, created_at, updated_at, attrs,
                 category_ids, website_ids, source_file, source_offset, legacy_id)
               SELECT t.product, t.store, t.sku, t.name, t.price::numeric, t.status,
                 t.visibility, t.type_id, t.set_id, t.created::timestamp, t.updated::timestamp,
                 t.attrs::jsonb, t.cats::bigint[], t.webs::integer[], $17, $18, t.legacy
               FROM t JOIN catalog.product p ON p.uuid = t.product AND NOT p.deleted
               ON CONFLICT (product, store_code) DO UPDATE SET
                 sku = EXCLUDED.sku, name = EXCLUDED.name, price = EXCLUDED.price,
                 status = EXCLUDED.status, visibility = EXCLUDED.visibility,
                 type_id = EXCLUDED.type_id, attribute_set_id = EXCLUDED.attribute_set_id,
                 created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
                 attrs = EXCLUDED.attrs, category_ids = EXCLUDED.category_ids,
                 website_ids = EXCLUDED.website_ids, legacy_id = EXCLUDED.legacy_id,
                 source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset
               WHERE (s.source_file, s.source_offset)
                   < (EXCLUDED.source_file, EXCLUDED.source_offset)
               RETURNING product, store_code)
             INSERT INTO catalog.product_document (product, store_code, document)
             SELECT v.product, v.store_code, t.doc::json
             FROM v JOIN t ON t.product = v.product AND t.store = v.store_code
             ON CONFLICT (product, store_code) DO UPDATE SET document = EXCLUDED.document",
        )
        .bind(keep.iter().map(|i| pick(i).0.uuid).collect::<Vec<_>>())
        .bind(column(|f| Some(f.store_code.to_string())))
        .bind(column(|f| Some(f.sku.clone())))
        .bind(column(|f| f.name.clone()))
        .bind(column(|f| {
            f.price.map(|p| p.get().trim_matches('"').to_string())
        }))
        .bind(keep.iter().map(|i| pick(i).0.status).collect::<Vec<_>>())
        .bind(
            keep.iter()
                .map(|i| pick(i).0.visibility)
                .collect::<Vec<_>>(),
        )
        .bind(column(|f| f.type_id.clone()))
        .bind(
            keep.iter()
                .map(|i| pick(i).0.attribute_set_id)
                .collect::<Vec<_>>(),
        )
        .bind(column(|f| f.created_at.clone()))
        .bind(column(|f| f.updated_at.clone()))
        .bind(
            keep.iter()
                .map(|i| {
                    let attrs: serde_json::Map<String, serde_json::Value> = pick(i)
                        .0
                        .custom_attributes
                        .iter()
                        .map(|a| (a.attribute_code.clone(), a.value.clone()))
                        .collect();
                    serde_json::Value::Object(attrs).to_string()
                })
                .collect::<Vec<_>>(),
        )
        .bind(
            keep.iter()
                .map(|i| {
                    let links = &pick(i).0.extension_attributes.category_links;
                    list(
                        links
                            .iter()
                            .filter_map(|l| l.category_id.parse::<i64>().ok())
                            .map(|c| c.to_string())
                            .collect(),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .bind(
            keep.iter()
                .map(|i| {
                    let webs = &pick(i).0.extension_attributes.website_ids;
                    list(webs.iter().map(|w| w.to_string()).collect())
                })
                .collect::<Vec<_>>(),
        )
        .bind(keep.iter().map(|i| pick(i).1.as_str()).collect::<Vec<_>>())
        .bind(keep.iter().map(|i| pick(i).0.id).collect::<Vec<_>>())
        .bind(at.file as i64)
        .bind(at.offset as i64)
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "write products"))?
        .rows_affected();
        Ok(written)
    }

    /// The position each product of `legacy_ids` that the service holds (or holds a tombstone
    /// of) was last written at: its documents show Magento as of that position. cdc-sync skips
    /// re-reading an entity whose changes all lie before it.
    pub async fn product_positions(
        &self,
        legacy_ids: &[i64],
    ) -> Result<Vec<(i64, Position)>, Error> {
        PRODUCTS.positions(&self.pool, legacy_ids).await
    }

    /// [`Catalog::product_positions`] of categories.
    pub async fn category_positions(
        &self,
        legacy_ids: &[i64],
    ) -> Result<Vec<(i64, Position)>, Error> {
        CATEGORIES.positions(&self.pool, legacy_ids).await
    }

    /// Deletes a product (every store view) as of `at`, leaving a tombstone so that older
    /// upserts arriving later are ignored. A delete older than the product's newest change is
    /// ignored.
    pub async fn delete_product(
        &self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        PRODUCTS
            .remove(&self.pool, uuid, legacy_id as i64, at)
            .await
    }

    /// Applies one category document (eav-extract's shape: one category in one store view)
    /// read at `at`, ordered as [`Catalog::upsert_product`] orders products.
    pub async fn upsert_category(&self, document: &str, at: Position) -> Result<Applied, Error> {
        store::retrying(|| self.upsert_category_once(document, at)).await
    }

    async fn upsert_category_once(&self, document: &str, at: Position) -> Result<Applied, Error> {
        let mut tx = self.pool.begin().await.map_err(db(SERVICE, "begin"))?;
        let applied = self.upsert_category_in(&mut tx, document, at).await?;
        tx.commit().await.map_err(db(SERVICE, "commit"))?;
        Ok(applied)
    }

    async fn upsert_category_in(
        &self,
        tx: &mut sqlx::PgConnection,
        document: &str,
        at: Position,
    ) -> Result<Applied, Error> {
        let (f, shape): (CategoryFields<'_>, String) = parse("category", document)?;
        let attrs = attribute_map(f.custom_attributes);
        let anchor = attrs
            .get("is_anchor")
            .and_then(|v| v.as_str())
            .is_some_and(|v| v != "0");
        self.record_store(&mut *tx, f.store_code).await?;
        let codes = attrs.keys().collect();
        store::record_codes(
            SERVICE,
            &mut *tx,
            "catalog.attribute",
            "catalog_category",
            codes,
        )
        .await?;
        if !CATEGORIES.advance(&mut *tx, f.uuid, f.id, at).await? {
            return Ok(Applied::Stale);
        }
        let written = sqlx::query(
            "INSERT INTO catalog.category_store AS s (category, store_code, legacy_id, parent_id,
               name, is_active, position, level, path, include_in_menu, is_anchor, created_at,
               updated_at, attrs, document, source_file, source_offset)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::timestamp,
               $13::timestamp, $14, $15::json, $16, $17)
             ON CONFLICT (category, store_code) DO UPDATE SET
               legacy_id = EXCLUDED.legacy_id, parent_id = EXCLUDED.parent_id,
               name = EXCLUDED.name, is_active = EXCLUDED.is_active,
               position = EXCLUDED.position, level = EXCLUDED.level, path = EXCLUDED.path,
               include_in_menu = EXCLUDED.include_in_menu, is_anchor = EXCLUDED.is_anchor,
               created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
               attrs = EXCLUDED.attrs, document = EXCLUDED.document,
               source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset
             WHERE (s.source_file, s.source_offset)
                 < (EXCLUDED.source_file, EXCLUDED.source_offset)",
        )
        .bind(f.uuid)
        .bind(f.store_code)
        .bind(f.id)
        .bind(f.parent_id)
        .bind(&f.name)
        .bind(f.is_active)
        .bind(f.position)
        .bind(f.level)
        .bind(&f.path)
        .bind(f.include_in_menu)
        .bind(anchor)
        .bind(&f.created_at)
        .bind(&f.updated_at)
        .bind(serde_json::Value::Object(attrs))
        .bind(shape)
        .bind(at.file as i64)
        .bind(at.offset as i64)
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "write category document"))?
        .rows_affected();
        Ok(store::applied(written))
    }

    /// Deletes a category (every store view) as of `at`, leaving a tombstone.
    pub async fn delete_category(
        &self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        CATEGORIES
            .remove(&self.pool, uuid, legacy_id as i64, at)
            .await
    }

    async fn record_store(&self, tx: &mut sqlx::PgConnection, code: &str) -> Result<(), Error> {
        sqlx::query("INSERT INTO catalog.store (code) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(code)
            .execute(&mut *tx)
            .await
            .map_err(db(SERVICE, "record store"))?;
        Ok(())
    }

    /// The product document of `sku` in store view `store`, as Magento answers it.
    pub async fn product(&self, store: &str, sku: &str) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT d.document::text FROM catalog.product_store s
             JOIN catalog.product_document d
               ON d.product = s.product AND d.store_code = s.store_code
             WHERE s.store_code = $1 AND lower(s.sku) = lower($2)",
        )
        .bind(store)
        .bind(sku)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(SERVICE, "read product"))?;
        Ok(row.map(|(d,)| d))
    }

    /// The category document of `id` in store view `store`, as Magento answers it.
    pub async fn category(&self, store: &str, id: i64) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT document::text FROM catalog.category_store
             WHERE store_code = $1 AND legacy_id = $2",
        )
        .bind(store)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(SERVICE, "read category"))?;
        Ok(row.map(|(d,)| d))
    }

    /// The products of store view `store` that `criteria` selects, as Magento's list answers:
    /// the page's documents and the total count.
    pub async fn products(
        &self,
        store: &str,
        criteria: &Criteria,
    ) -> Result<(Vec<String>, i64), ListError> {
        self.product_list(store, criteria)
            .await?
            .run(&self.pool, criteria)
            .await
    }

    /// PostgreSQL's plan for a product list (see [`List::explain`]).
    pub async fn explain_products(
        &self,
        store: &str,
        criteria: &Criteria,
    ) -> Result<String, ListError> {
        self.product_list(store, criteria)
            .await?
            .explain(&self.pool)
            .await
    }

    /// The categories of store view `store` that `criteria` selects.
    pub async fn categories(
        &self,
        store: &str,
        criteria: &Criteria,
    ) -> Result<(Vec<String>, i64), ListError> {
        self.category_list(store, criteria)
            .await?
            .run(&self.pool, criteria)
            .await
    }

    /// PostgreSQL's plan for a category list.
    pub async fn explain_categories(
        &self,
        store: &str,
        criteria: &Criteria,
    ) -> Result<String, ListError> {
        self.category_list(store, criteria)
            .await?
            .explain(&self.pool)
            .await
    }

    async fn product_list(&self, store: &str, criteria: &Criteria) -> Result<List, ListError> {
        self.in_store(&PRODUCT_LIST, store, criteria).await
    }

    async fn category_list(&self, store: &str, criteria: &Criteria) -> Result<List, ListError> {
        self.in_store(&CATEGORY_LIST, store, criteria).await
    }

    /// A list of one entity type's rows of store view `store`.
    async fn in_store(
        &self,
        spec: &ListSpec,
        store: &str,
        criteria: &Criteria,
    ) -> Result<List, ListError> {
        let mut sql = Sql::default();
        let store_param = sql.bind(Param::Text(store.to_string()));
        let wheres = vec![format!("s.store_code = {store_param}")];
        spec.list(&self.pool, criteria, sql, wheres).await
    }

    /// The category tree of store view `store` (`CategoryManagementInterface::getTree`): from
    /// `root` (`None`: the store view's root category, or the top-level category when the
    /// store's root is not known or the store is the admin store), `depth` levels down (`None`:
    /// all). Each node's product count is the number of the store's website's products in the
    /// category or, for an anchor category, in it or any category below it.
    pub async fn category_tree(
        &self,
        store: &str,
        root: Option<i64>,
        depth: Option<u32>,
    ) -> Result<String, TreeError> {
        let (website, store_root): (Option<i32>, Option<i64>) = sqlx::query_as(
            "SELECT website_id, root_category_id FROM catalog.store WHERE code = $1
             UNION ALL SELECT NULL, NULL LIMIT 1",
        )
        .bind(store)
        .fetch_one(&self.pool)
        .await
        .map_err(db(SERVICE, "read store"))?;
        // The admin store's group has root 0: the top-level category, as Magento answers.
        let store_root = store_root.filter(|r| *r > 0);
        let root_path: Option<(String,)> = match root.or(store_root) {
            Some(id) => sqlx::query_as(
                "SELECT path FROM catalog.category_store WHERE store_code = $1 AND legacy_id = $2",
            )
            .bind(store)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(SERVICE, "read category"))?,
            None => sqlx::query_as(
                "SELECT path FROM catalog.category_store WHERE store_code = $1 AND level = 0
                 ORDER BY legacy_id LIMIT 1",
            )
            .bind(store)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(SERVICE, "read category"))?,
        };
        let Some((path,)) = root_path else {
            return Err(TreeError::NoSuchCategory(root.or(store_root).unwrap_or(1)));
        };
        // The subtree, and per node the products counted: directly linked ones, or for an
        // anchor the distinct products linked anywhere in its own subtree.
        let nodes: Vec<Node> = sqlx::query_as(
            "WITH tree AS (
                   SELECT legacy_id, parent_id, name, is_active, position, level, path, is_anchor
                   FROM catalog.category_store
                   WHERE store_code = $1 AND (path = $2 OR path LIKE $2 || '/%'))
                 SELECT t.legacy_id, t.parent_id, t.name, t.is_active, t.position, t.level,
                   (SELECT count(*) FROM catalog.product_store p
                    WHERE p.store_code = $1
                      AND ($3::integer IS NULL OR $3 = 0 OR p.website_ids @> ARRAY[$3])
                      AND p.category_ids && CASE WHEN t.is_anchor THEN ARRAY(
                            SELECT d.legacy_id FROM catalog.category_store d
                            WHERE d.store_code = $1
                              AND (d.path = t.path OR d.path LIKE t.path || '/%'))
                          ELSE ARRAY[t.legacy_id] END) AS product_count
                 FROM tree t
                 ORDER BY t.level, t.position, t.legacy_id",
        )
        .bind(store)
        .bind(&path)
        .bind(website)
        .fetch_all(&self.pool)
        .await
        .map_err(db(SERVICE, "read category tree"))?;

        let mut children: std::collections::HashMap<i64, Vec<usize>> = Default::default();
        for (i, n) in nodes.iter().enumerate().skip(1) {
            if let Some(p) = n.parent_id {
                children.entry(p).or_default().push(i);
            }
        }
        let mut out = String::new();
        if let Some(top) = nodes.first() {
            top.write(&mut out, &nodes, &children, depth, 0);
        }
        Ok(out)
    }

    /// Refreshes the planner's statistics and the visibility map of the catalog's tables (after
    /// a back-fill, before autovacuum would).
    pub async fn vacuum(&self) -> Result<(), Error> {
        let tables = [
            "catalog.product_store",
            "catalog.product_document",
            "catalog.category_store",
            "catalog.product",
        ];
        store::vacuum(SERVICE, &self.pool, &tables).await
    }

    /// Whether the service holds documents of store view `code`.
    pub async fn has_store(&self, code: &str) -> Result<bool, Error> {
        let (known,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM catalog.store WHERE code = $1)")
                .bind(code)
                .fetch_one(&self.pool)
                .await
                .map_err(db(SERVICE, "read stores"))?;
        Ok(known)
    }
}

impl Batch<'_, Catalog> {
    /// [`Catalog::upsert_product`], in the batch.
    pub async fn upsert_product(&mut self, document: &str, at: Position) -> Result<Applied, Error> {
        self.service
            .upsert_product_in(&mut self.tx, document, at)
            .await
    }

    /// [`Catalog::upsert_products`], in the batch: (written, stale), or the index of the
    /// document at fault.
    pub async fn upsert_products(
        &mut self,
        documents: &[String],
        at: Position,
    ) -> Result<(u64, u64), (Option<usize>, Error)> {
        let rows = Catalog::parse_products(documents)?;
        let keep = Catalog::last_per_view(&rows);
        let written = self
            .service
            .write_products_in(&mut self.tx, &rows, &keep, at)
            .await
            .map_err(|e| (None, e))?;
        Ok((written, documents.len() as u64 - written))
    }

    /// [`Catalog::delete_product`], in the batch.
    pub async fn delete_product(
        &mut self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        PRODUCTS
            .remove_in(&mut self.tx, uuid, legacy_id as i64, at)
            .await
    }

    /// [`Catalog::upsert_category`], in the batch.
    pub async fn upsert_category(
        &mut self,
        document: &str,
        at: Position,
    ) -> Result<Applied, Error> {
        self.service
            .upsert_category_in(&mut self.tx, document, at)
            .await
    }

    /// [`Catalog::delete_category`], in the batch.
    pub async fn delete_category(
        &mut self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        CATEGORIES
            .remove_in(&mut self.tx, uuid, legacy_id as i64, at)
            .await
    }
}
