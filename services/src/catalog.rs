//! The catalog service's database: migrations, the pipeline's write API and the reads the routes
//! need. The write API is the one owner of the schema: eav-extract's back-fill and cdc-sync both
//! go through it.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::value::MapDeserializer;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use uuid::Uuid;

use ficus_id_map::magento::mask_password;

use crate::Position;
use crate::search::{self, BadRequest, Column, Criteria, Kind, Param, Sql};

/// The schema that holds the catalog.
pub const SCHEMA: &str = "catalog";

/// What can go wrong in the catalog's database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document is not a product document of eav-extract's shape.
    #[error("not a product document: {0}")]
    BadDocument(String),
    /// The database refused or failed.
    #[error("catalog database ({what}): {source}")]
    Db {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The connection string does not parse.
    #[error("invalid DSN {dsn}: {reason}")]
    BadDsn {
        /// The DSN, password masked.
        dsn: String,
        /// What the parser said.
        reason: String,
    },
    /// Migrations failed.
    #[error("migrating the catalog database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Db { what, source }
}

/// Whether a change was applied or was older than what the row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written.
    Written,
    /// Older than (or as old as) what is stored: ignored.
    Stale,
}

/// The catalog service's database.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: PgPool,
}

/// A JSON object's members in document order, values unparsed.
struct Members<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
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
    custom_attributes: Vec<CustomAttribute>,
}

#[derive(Debug, Deserialize)]
struct CustomAttribute {
    attribute_code: String,
    value: serde_json::Value,
}

/// The document as Magento answers it: eav-extract's document without the `uuid` and
/// `store_code` that ficus adds, members in their order.
fn magento_shape(members: &Members<'_>) -> String {
    let mut out = String::from("{");
    for (key, value) in &members.0 {
        if *key == "uuid" || *key == "store_code" {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    out
}

/// Why a list could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The request is wrong (400).
    #[error("{}", .0.message)]
    Bad(BadRequest),
    /// The database failed (500).
    #[error(transparent)]
    Db(#[from] Error),
}

/// Binds a list query's parameters, in order.
fn bind<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    sql: &'q Sql,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    for p in &sql.params {
        q = match p {
            Param::Text(t) => q.bind(t),
            Param::List(l) => q.bind(l),
        };
    }
    q
}

/// The product fields kept in columns.
fn product_column(field: &str) -> Option<Column> {
    let (sql, kind) = match field {
        "entity_id" | "id" => ("p.legacy_id", Kind::Number),
        "sku" => ("s.sku", Kind::Text),
        "name" => ("s.name", Kind::Text),
        "price" => ("s.price", Kind::Number),
        "status" => ("s.status", Kind::Number),
        "visibility" => ("s.visibility", Kind::Number),
        "attribute_set_id" => ("s.attribute_set_id", Kind::Number),
        "type_id" => ("s.type_id", Kind::Text),
        "created_at" => ("s.created_at", Kind::Timestamp),
        "updated_at" => ("s.updated_at", Kind::Timestamp),
        _ => return None,
    };
    Some(Column {
        sql: sql.into(),
        kind,
    })
}

/// An attribute code as Magento allows them (letters, digits, underscores), so it can be
/// written into SQL as a literal.
fn is_code(code: &str) -> bool {
    !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A custom attribute's value (callers have checked the code with [`is_code`]).
fn attribute_column(code: &str) -> Column {
    Column {
        sql: format!("(s.attrs->>'{code}')"),
        kind: Kind::Text,
    }
}

impl Catalog {
    /// Connects to the catalog's database (`postgres://…`); does not migrate.
    pub async fn connect(dsn: &str) -> Result<Catalog, Error> {
        let options = PgConnectOptions::from_str(dsn).map_err(|e| Error::BadDsn {
            dsn: mask_password(dsn),
            reason: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(db("connect"))?;
        Ok(Catalog { pool })
    }

    /// Applies pending migrations, each in a transaction.
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut migrator = sqlx::migrate!("./migrations/catalog");
        migrator.create_schema(SCHEMA);
        migrator.dangerous_set_table_name(format!("{SCHEMA}._sqlx_migrations"));
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether every migration this build knows is applied.
    pub async fn migrations_current(&self) -> Result<bool, Error> {
        let migrator = sqlx::migrate!("./migrations/catalog");
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<(i64,)> =
            sqlx::query_as("SELECT max(version) FROM catalog._sqlx_migrations WHERE success")
                .fetch_optional(&self.pool)
                .await
                .unwrap_or(None);
        Ok(applied.map(|(v,)| v) == Some(latest))
    }

    /// The pool, for callers with their own statements (tests, readiness).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies one product document (eav-extract's shape: one product in one store view) read
    /// at `at`. Older than what the service holds for that product and store view, or than the
    /// product's deletion: ignored.
    pub async fn upsert_product(&self, document: &str, at: Position) -> Result<Applied, Error> {
        let bad = |e: serde_json::Error| Error::BadDocument(e.to_string());
        // One parse of the document: its members, values left as text; the columns are then
        // read from those members.
        let members: Members<'_> = serde_json::from_str(document).map_err(bad)?;
        let f = ProductFields::deserialize(MapDeserializer::<_, serde_json::Error>::new(
            members.0.iter().copied(),
        ))
        .map_err(bad)?;
        let shape = magento_shape(&members);
        let attrs: serde_json::Map<String, serde_json::Value> = f
            .custom_attributes
            .into_iter()
            .map(|a| (a.attribute_code, a.value))
            .collect();
        let price = f.price.map(|p| p.get().trim_matches('"').to_string());
        let (file, offset) = (at.file as i64, at.offset as i64);

        let mut conn = self.pool.acquire().await.map_err(db("connect"))?;
        let mut tx = conn.begin().await.map_err(db("begin"))?;
        sqlx::query("INSERT INTO catalog.store (code) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(f.store_code)
            .execute(&mut *tx)
            .await
            .map_err(db("record store"))?;
        let codes: Vec<&String> = attrs.keys().collect();
        sqlx::query(
            "INSERT INTO catalog.attribute (code) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(codes)
        .execute(&mut *tx)
        .await
        .map_err(db("record attribute codes"))?;
        // Inserts the product, or moves it to this position when the position is newer (also
        // out of a tombstone). The conflicting row is locked either way; no row comes back when
        // the product is at this position or a newer one.
        let moved: Option<(bool,)> = sqlx::query_as(
            "INSERT INTO catalog.product AS p (uuid, legacy_id, sku, source_file, source_offset)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (uuid) DO UPDATE SET sku = EXCLUDED.sku,
               source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset,
               deleted = false
             WHERE (p.source_file, p.source_offset)
                 < (EXCLUDED.source_file, EXCLUDED.source_offset)
             RETURNING true",
        )
        .bind(f.uuid)
        .bind(f.id)
        .bind(&f.sku)
        .bind(file)
        .bind(offset)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("write product"))?;
        if moved.is_none() {
            let (deleted,): (bool,) =
                sqlx::query_as("SELECT deleted FROM catalog.product WHERE uuid = $1")
                    .bind(f.uuid)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("read product"))?;
            if deleted {
                tx.commit().await.map_err(db("commit"))?;
                return Ok(Applied::Stale);
            }
        }
        let written = sqlx::query(
            "INSERT INTO catalog.product_store AS s (product, store_code, sku, name, price, status,
               visibility, type_id, attribute_set_id, created_at, updated_at, attrs, document,
               source_file, source_offset)
             VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10::timestamp, $11::timestamp,
               $12, $13::json, $14, $15)
             ON CONFLICT (product, store_code) DO UPDATE SET
               sku = EXCLUDED.sku, name = EXCLUDED.name, price = EXCLUDED.price,
               status = EXCLUDED.status, visibility = EXCLUDED.visibility,
               type_id = EXCLUDED.type_id, attribute_set_id = EXCLUDED.attribute_set_id,
               created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
               attrs = EXCLUDED.attrs, document = EXCLUDED.document,
               source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset
             WHERE (s.source_file, s.source_offset)
                 < (EXCLUDED.source_file, EXCLUDED.source_offset)",
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
        .bind(shape)
        .bind(file)
        .bind(offset)
        .execute(&mut *tx)
        .await
        .map_err(db("write product document"))?
        .rows_affected();
        tx.commit().await.map_err(db("commit"))?;
        Ok(if written == 1 {
            Applied::Written
        } else {
            Applied::Stale
        })
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
        let (file, offset) = (at.file as i64, at.offset as i64);
        let mut conn = self.pool.acquire().await.map_err(db("connect"))?;
        let mut tx = conn.begin().await.map_err(db("begin"))?;
        let tombstone = sqlx::query(
            "INSERT INTO catalog.product (uuid, legacy_id, sku, source_file, source_offset, deleted)
             VALUES ($1, $2, NULL, $3, $4, true) ON CONFLICT (uuid) DO NOTHING",
        )
        .bind(uuid)
        .bind(legacy_id as i64)
        .bind(file)
        .bind(offset)
        .execute(&mut *tx)
        .await
        .map_err(db("delete product"))?
        .rows_affected();
        if tombstone == 1 {
            tx.commit().await.map_err(db("commit"))?;
            return Ok(Applied::Written);
        }
        let updated = sqlx::query(
            "UPDATE catalog.product SET deleted = true, source_file = $2, source_offset = $3
             WHERE uuid = $1 AND (source_file, source_offset) < ($2, $3)",
        )
        .bind(uuid)
        .bind(file)
        .bind(offset)
        .execute(&mut *tx)
        .await
        .map_err(db("delete product"))?
        .rows_affected();
        if updated == 1 {
            sqlx::query("DELETE FROM catalog.product_store WHERE product = $1")
                .bind(uuid)
                .execute(&mut *tx)
                .await
                .map_err(db("delete product"))?;
        }
        tx.commit().await.map_err(db("commit"))?;
        Ok(if updated == 1 {
            Applied::Written
        } else {
            Applied::Stale
        })
    }

    /// The product document of `sku` in store view `store`, as Magento answers it.
    pub async fn product(&self, store: &str, sku: &str) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT document::text FROM catalog.product_store
             WHERE store_code = $1 AND lower(sku) = lower($2)",
        )
        .bind(store)
        .bind(sku)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read product"))?;
        Ok(row.map(|(d,)| d))
    }

    /// The products of store view `store` that `criteria` selects, as Magento's list answers:
    /// the page's documents and the total count.
    pub async fn products(
        &self,
        store: &str,
        criteria: &Criteria,
    ) -> Result<(Vec<String>, i64), ListError> {
        let (from, order, sql) = self.product_query(store, criteria).await?;
        // The SQL holds only fixed column expressions, attribute codes checked by `is_code` and
        // `$n` parameters: every value sent is bound.
        let count_sql = format!("SELECT count(*) {from}");
        let (total,) = bind(
            sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(count_sql)),
            &sql,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| ListError::Db(db("count products")(e)))?;
        let page_sql = format!(
            "SELECT s.document::text {from} ORDER BY {order}{}",
            criteria.limit(total)
        );
        let docs = bind(
            sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(page_sql)),
            &sql,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| ListError::Db(db("list products")(e)))?;
        Ok((docs.into_iter().map(|(d,)| d).collect(), total))
    }

    /// PostgreSQL's plan for the page query of a product list, with sequential scans made as
    /// expensive as the planner allows, so the plan shows whether an index can serve it.
    pub async fn explain_products(
        &self,
        store: &str,
        criteria: &Criteria,
    ) -> Result<String, ListError> {
        let (from, order, sql) = self.product_query(store, criteria).await?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| ListError::Db(db("connect")(e)))?;
        let mut tx = conn
            .begin()
            .await
            .map_err(|e| ListError::Db(db("begin")(e)))?;
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await
            .map_err(|e| ListError::Db(db("explain")(e)))?;
        let explain = format!("EXPLAIN SELECT s.document::text {from} ORDER BY {order} LIMIT 20");
        let rows = bind(
            sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(explain)),
            &sql,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| ListError::Db(db("explain")(e)))?;
        Ok(rows
            .into_iter()
            .map(|(l,)| l)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// The `FROM … WHERE …` and `ORDER BY` of a product list, with their parameters.
    async fn product_query(
        &self,
        store: &str,
        criteria: &Criteria,
    ) -> Result<(String, String, Sql), ListError> {
        let mut sql = Sql::default();
        let store_param = sql.bind(Param::Text(store.to_string()));
        // The custom attribute codes among the filter and sort fields, looked up at once.
        let fields = criteria
            .filter_groups
            .iter()
            .flatten()
            .map(|f| &f.field)
            .chain(criteria.sort_orders.iter().flatten().map(|s| &s.field));
        let wanted: Vec<String> = fields
            .filter_map(|f| f.as_deref())
            .filter(|f| product_column(f).is_none())
            .map(str::to_string)
            .collect();
        let known = self.known_attributes(&wanted).await?;
        let mut conditions = format!("s.store_code = {store_param} AND NOT p.deleted");
        for group in &criteria.filter_groups {
            let mut any = Vec::new();
            for f in group {
                let field = f.field.as_deref().unwrap_or("");
                let col = match product_column(field) {
                    Some(c) => c,
                    None if known.iter().any(|k| k == field) => attribute_column(field),
                    None => {
                        return Err(ListError::Bad(BadRequest {
                            message: "Invalid attribute name: %1".into(),
                            parameters: Some(serde_json::json!([field])),
                        }));
                    }
                };
                let cond = search::Condition::parse(f.condition_type.as_deref())
                    .unwrap_or(search::Condition::Eq);
                any.push(search::condition(
                    &mut sql,
                    &col,
                    cond,
                    f.value.as_deref().unwrap_or(""),
                ));
            }
            if !any.is_empty() {
                conditions.push_str(&format!(" AND ({})", any.join(" OR ")));
            }
        }
        let mut order = Vec::new();
        for s in criteria.sort_orders.iter().flatten() {
            let field = s.field.as_deref().unwrap_or("");
            // Magento's EAV collections ignore a sort on an attribute they do not know.
            let col = match product_column(field) {
                Some(c) => c,
                None if known.iter().any(|k| k == field) => attribute_column(field),
                None => continue,
            };
            let expr = if col.kind == Kind::Text {
                format!("lower({})", col.sql)
            } else {
                col.sql
            };
            // MySQL puts NULLs first in ascending order.
            order.push(match s.direction.as_deref() {
                Some("DESC") => format!("{expr} DESC NULLS LAST"),
                _ => format!("{expr} ASC NULLS FIRST"),
            });
        }
        order.push("p.legacy_id".into());
        let from = format!(
            "FROM catalog.product_store s JOIN catalog.product p ON p.uuid = s.product WHERE {conditions}"
        );
        Ok((from, order.join(", "), sql))
    }

    async fn known_attributes(&self, codes: &[String]) -> Result<Vec<String>, ListError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT code FROM catalog.attribute WHERE code = ANY($1)")
                .bind(codes)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| ListError::Db(db("read attribute codes")(e)))?;
        Ok(rows
            .into_iter()
            .map(|(c,)| c)
            .filter(|c| is_code(c))
            .collect())
    }

    /// Whether the service holds documents of store view `code`.
    pub async fn has_store(&self, code: &str) -> Result<bool, Error> {
        let (known,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM catalog.store WHERE code = $1)")
                .bind(code)
                .fetch_one(&self.pool)
                .await
                .map_err(db("read stores"))?;
        Ok(known)
    }
}
