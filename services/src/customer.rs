//! The customer service's database: migrations, the pipeline's write API for customers (with
//! their addresses) and the reads the routes need.

use serde::Deserialize;
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::catalog::{CustomAttribute, attribute_column, attribute_map};
use crate::search::{self, Column, Criteria, Kind, Sort, Sql};
use crate::shape::Members;
use crate::store::{self, Ledger, List, db};
pub use crate::{Applied, Error, ListError, Position};

/// The schema that holds the customers.
pub const SCHEMA: &str = "customer";
const SERVICE: &str = "customer";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/customer");

const CUSTOMERS: Ledger = Ledger {
    service: SERVICE,
    entity: "customer.customer",
    views: "customer.profile",
    key: "customer",
    with: &["customer.document"],
};

/// The customer service's database.
#[derive(Debug, Clone)]
pub struct Customers {
    pool: PgPool,
}

/// The fields of a customer document the tables keep in columns.
#[derive(Debug, Deserialize)]
struct CustomerFields {
    uuid: Uuid,
    id: i64,
    email: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    middlename: Option<String>,
    group_id: Option<i32>,
    store_id: Option<i32>,
    website_id: Option<i32>,
    gender: Option<i32>,
    dob: Option<String>,
    taxvat: Option<String>,
    created_in: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    custom_attributes: Vec<CustomAttribute>,
}

/// The customer fields kept in columns.
fn customer_column(field: &str) -> Option<Column> {
    let (sql, kind) = match field {
        "entity_id" | "id" => ("c.legacy_id", Kind::Integer),
        "email" => ("c.email", Kind::Text),
        "firstname" => ("c.firstname", Kind::Text),
        "lastname" => ("c.lastname", Kind::Text),
        "middlename" => ("c.middlename", Kind::Text),
        "group_id" => ("c.group_id", Kind::Integer),
        "store_id" => ("c.store_id", Kind::Integer),
        "website_id" => ("c.website_id", Kind::Integer),
        "gender" => ("c.gender", Kind::Integer),
        "dob" => ("c.dob", Kind::Timestamp),
        "taxvat" => ("c.taxvat", Kind::Text),
        "created_in" => ("c.created_in", Kind::Text),
        "created_at" => ("c.created_at", Kind::Timestamp),
        "updated_at" => ("c.updated_at", Kind::Timestamp),
        _ => return None,
    };
    Some(Column {
        sql: sql.into(),
        kind,
    })
}

impl Customers {
    /// Connects to the customer service's database (`postgres://…`); does not migrate.
    pub async fn connect(dsn: &str) -> Result<Customers, Error> {
        Ok(Customers {
            pool: store::connect(SERVICE, dsn).await?,
        })
    }

    /// Applies pending migrations, each in a transaction.
    pub async fn migrate(&self) -> Result<(), Error> {
        store::migrate(
            SERVICE,
            &self.pool,
            sqlx::migrate!("./migrations/customer"),
            SCHEMA,
        )
        .await
    }

    /// Whether every migration this build knows is applied.
    pub async fn migrations_current(&self) -> Result<bool, Error> {
        store::migrations_current(SERVICE, &self.pool, &MIGRATOR, SCHEMA).await
    }

    /// The pool, for callers with their own statements (tests, readiness).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies one customer document (eav-extract's shape, addresses inside) read at `at`.
    /// Older than what the service holds for that customer, or than its deletion: ignored.
    pub async fn upsert_customer(&self, document: &str, at: Position) -> Result<Applied, Error> {
        store::retrying(|| self.upsert_customer_once(document, at)).await
    }

    async fn upsert_customer_once(&self, document: &str, at: Position) -> Result<Applied, Error> {
        let bad = |e: serde_json::Error| Error::BadDocument {
            entity: "customer",
            reason: e.to_string(),
        };
        let members = Members::parse(document).map_err(bad)?;
        let f: CustomerFields = members.fields().map_err(bad)?;
        let shape = members.magento_shape().map_err(bad)?;
        let attrs = attribute_map(f.custom_attributes);
        let mut conn = self.pool.acquire().await.map_err(db(SERVICE, "connect"))?;
        let mut tx = conn.begin().await.map_err(db(SERVICE, "begin"))?;
        let codes = attrs.keys().collect();
        store::record_codes(SERVICE, &mut tx, "customer.attribute", "customer", codes).await?;
        if !CUSTOMERS.advance(&mut tx, f.uuid, f.id, at).await? {
            tx.commit().await.map_err(db(SERVICE, "commit"))?;
            return Ok(Applied::Stale);
        }
        let written = sqlx::query(
            "WITH c AS (
               INSERT INTO customer.profile AS c (customer, legacy_id, email, firstname, lastname,
                 middlename, group_id, store_id, website_id, gender, dob, taxvat, created_in,
                 created_at, updated_at, attrs, source_file, source_offset)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::date, $12, $13,
                 $14::timestamp, $15::timestamp, $16, $18, $19)
               ON CONFLICT (customer) DO UPDATE SET
                 legacy_id = EXCLUDED.legacy_id, email = EXCLUDED.email,
                 firstname = EXCLUDED.firstname, lastname = EXCLUDED.lastname,
                 middlename = EXCLUDED.middlename, group_id = EXCLUDED.group_id,
                 store_id = EXCLUDED.store_id, website_id = EXCLUDED.website_id,
                 gender = EXCLUDED.gender, dob = EXCLUDED.dob, taxvat = EXCLUDED.taxvat,
                 created_in = EXCLUDED.created_in, created_at = EXCLUDED.created_at,
                 updated_at = EXCLUDED.updated_at, attrs = EXCLUDED.attrs,
                 source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset
               WHERE (c.source_file, c.source_offset)
                   < (EXCLUDED.source_file, EXCLUDED.source_offset)
               RETURNING customer)
             INSERT INTO customer.document (customer, document)
             SELECT customer, $17::json FROM c
             ON CONFLICT (customer) DO UPDATE SET document = EXCLUDED.document",
        )
        .bind(f.uuid)
        .bind(f.id)
        .bind(&f.email)
        .bind(&f.firstname)
        .bind(&f.lastname)
        .bind(&f.middlename)
        .bind(f.group_id)
        .bind(f.store_id)
        .bind(f.website_id)
        .bind(f.gender)
        .bind(&f.dob)
        .bind(&f.taxvat)
        .bind(&f.created_in)
        .bind(&f.created_at)
        .bind(&f.updated_at)
        .bind(serde_json::Value::Object(attrs))
        .bind(shape)
        .bind(at.file as i64)
        .bind(at.offset as i64)
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "write customer document"))?
        .rows_affected();
        tx.commit().await.map_err(db(SERVICE, "commit"))?;
        Ok(if written == 1 {
            Applied::Written
        } else {
            Applied::Stale
        })
    }

    /// Deletes a customer as of `at`, leaving a tombstone.
    pub async fn delete_customer(
        &self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        CUSTOMERS
            .remove(&self.pool, uuid, legacy_id as i64, at)
            .await
    }

    /// Refreshes the planner's statistics and the visibility map (after a back-fill).
    pub async fn vacuum(&self) -> Result<(), Error> {
        for table in ["customer.profile", "customer.document", "customer.customer"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) {table}")))
                .execute(&self.pool)
                .await
                .map_err(db(SERVICE, "vacuum"))?;
        }
        Ok(())
    }

    /// The document of customer `id`, as Magento answers it.
    pub async fn customer(&self, id: i64) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT d.document::text FROM customer.profile c
                 JOIN customer.document d ON d.customer = c.customer WHERE c.legacy_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(SERVICE, "read customer"))?;
        Ok(row.map(|(d,)| d))
    }

    /// The customers `criteria` selects (`/V1/customers/search`): the page and the total.
    pub async fn search(&self, criteria: &Criteria) -> Result<(Vec<String>, i64), ListError> {
        self.list(criteria).await?.run(&self.pool, criteria).await
    }

    /// PostgreSQL's plan for a customer search.
    pub async fn explain_search(&self, criteria: &Criteria) -> Result<String, ListError> {
        self.list(criteria).await?.explain(&self.pool).await
    }

    async fn list(&self, criteria: &Criteria) -> Result<List, ListError> {
        let wanted = search::other_fields(criteria, |f| customer_column(f).is_some());
        let known = store::known_codes(
            SERVICE,
            &self.pool,
            "customer.attribute",
            "customer",
            wanted,
        )
        .await?;
        let mut sql = Sql::default();
        let column = |f: &str| {
            customer_column(f).or_else(|| {
                known
                    .iter()
                    .any(|k| k == f)
                    .then(|| attribute_column("c", f))
            })
        };
        let (conditions, mut order) =
            search::clauses(criteria, &mut sql, column).map_err(ListError::Bad)?;
        let mut wheres = vec!["true".to_string()];
        wheres.extend(conditions);
        order.push(Sort::key("c.legacy_id"));
        Ok(List {
            service: SERVICE,
            keys: "c.customer",
            document: "(SELECT d.document::text FROM customer.document d
               WHERE d.customer = k.customer)",
            from: format!("FROM customer.profile c WHERE {}", wheres.join(" AND ")),
            order,
            sql,
        })
    }
}
