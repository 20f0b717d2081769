//! The customer service's database: migrations, the pipeline's write API for customers (with
//! their addresses) and the reads the routes need.

use serde::Deserialize;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::catalog::{CustomAttribute, attribute_map};
use crate::search::{Criteria, Kind, Sql};
use crate::shape::parse;
use crate::store::{self, Ledger, List, ListSpec, db};
pub use crate::{Applied, Batch, Checkpoint, DeadLetter, Error, ListError, Position};

/// The schema that holds the customers.
pub const SCHEMA: &str = "customer";
const SERVICE: &str = "customer";
store::service_database!(Customers, "./migrations/customer");

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
    prefix: Option<String>,
    suffix: Option<String>,
    default_billing: Option<String>,
    #[serde(default)]
    addresses: Vec<AddressFields>,
    #[serde(default)]
    custom_attributes: Vec<CustomAttribute>,
}

/// The address fields Magento's customer search filters on (`billing_*`).
#[derive(Debug, Deserialize)]
struct AddressFields {
    id: i64,
    postcode: Option<String>,
    city: Option<String>,
    telephone: Option<String>,
    region: Option<Region>,
    country_id: Option<String>,
    company: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Region {
    region: Option<String>,
}

impl CustomerFields {
    /// The name as Magento's customer collection joins it (`addNameToSelect`): the prefix and a
    /// space when there is one, the first name, a space, the middle name and a space when there
    /// is one, the last name, a space and the suffix when there is one, each trimmed; no name
    /// without a first and a last name (MySQL's CONCAT of a NULL).
    fn name(&self) -> Option<String> {
        let part = |v: &Option<String>| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| v.trim().to_string())
        };
        let (first, last) = (self.firstname.as_deref()?, self.lastname.as_deref()?);
        let mut name = String::new();
        if let Some(p) = part(&self.prefix) {
            name.push_str(&p);
            name.push(' ');
        }
        name.push_str(first.trim());
        name.push(' ');
        if let Some(m) = part(&self.middlename) {
            name.push_str(&m);
            name.push(' ');
        }
        name.push_str(last.trim());
        if let Some(s) = part(&self.suffix) {
            name.push(' ');
            name.push_str(&s);
        }
        Some(name)
    }

    /// The default billing address, if the customer has one among its addresses.
    fn billing(&self) -> Option<&AddressFields> {
        let id: i64 = self.default_billing.as_deref()?.parse().ok()?;
        self.addresses.iter().find(|a| a.id == id)
    }
}

/// The customer fields kept in columns, and what Magento's customer collection joins: the whole
/// name and the default billing address's fields.
const CUSTOMER_COLUMNS: store::Columns = &[
    ("entity_id", "c.legacy_id", Kind::Integer),
    ("id", "c.legacy_id", Kind::Integer),
    ("email", "c.email", Kind::Text),
    ("firstname", "c.firstname", Kind::Text),
    ("lastname", "c.lastname", Kind::Text),
    ("middlename", "c.middlename", Kind::Text),
    ("group_id", "c.group_id", Kind::Integer),
    ("store_id", "c.store_id", Kind::Integer),
    ("website_id", "c.website_id", Kind::Integer),
    ("gender", "c.gender", Kind::Integer),
    ("dob", "c.dob", Kind::Timestamp),
    ("taxvat", "c.taxvat", Kind::Text),
    ("created_in", "c.created_in", Kind::Text),
    ("created_at", "c.created_at", Kind::Timestamp),
    ("updated_at", "c.updated_at", Kind::Timestamp),
    ("name", "c.name", Kind::Text),
    ("billing_postcode", "c.billing_postcode", Kind::Text),
    ("billing_city", "c.billing_city", Kind::Text),
    ("billing_telephone", "c.billing_telephone", Kind::Text),
    ("billing_region", "c.billing_region", Kind::Text),
    ("billing_country_id", "c.billing_country_id", Kind::Text),
    ("billing_company", "c.billing_company", Kind::Text),
];

const CUSTOMER_LIST: ListSpec = ListSpec {
    service: SERVICE,
    codes: ("customer.attribute", "customer"),
    alias: "c",
    columns: CUSTOMER_COLUMNS,
    keys: "c.customer",
    document: "(SELECT d.document::text FROM customer.document d WHERE d.customer = k.customer)",
    from: "FROM customer.profile c",
    tiebreak: "c.legacy_id",
};

impl Customers {
    /// Applies one customer document (eav-extract's shape, addresses inside) read at `at`.
    /// Older than what the service holds for that customer, or than its deletion: ignored.
    pub async fn upsert_customer(&self, document: &str, at: Position) -> Result<Applied, Error> {
        store::retrying(|| self.upsert_customer_once(document, at)).await
    }

    async fn upsert_customer_once(&self, document: &str, at: Position) -> Result<Applied, Error> {
        let mut tx = self.pool.begin().await.map_err(db(SERVICE, "begin"))?;
        let applied = self.upsert_customer_in(&mut tx, document, at).await?;
        tx.commit().await.map_err(db(SERVICE, "commit"))?;
        Ok(applied)
    }

    async fn upsert_customer_in(
        &self,
        tx: &mut sqlx::PgConnection,
        document: &str,
        at: Position,
    ) -> Result<Applied, Error> {
        let (f, shape): (CustomerFields, String) = parse("customer", document)?;
        let name = f.name();
        let billing = f.billing();
        let b = |field: fn(&AddressFields) -> Option<&String>| billing.and_then(field).cloned();
        let billing_columns = [
            b(|a| a.postcode.as_ref()),
            b(|a| a.city.as_ref()),
            b(|a| a.telephone.as_ref()),
            b(|a| a.region.as_ref().and_then(|r| r.region.as_ref())),
            b(|a| a.country_id.as_ref()),
            b(|a| a.company.as_ref()),
        ];
        let attrs = attribute_map(f.custom_attributes);
        let codes = attrs.keys().collect();
        store::record_codes(SERVICE, &mut *tx, "customer.attribute", "customer", codes).await?;
        if !CUSTOMERS.advance(&mut *tx, f.uuid, f.id, at).await? {
            return Ok(Applied::Stale);
        }
        let written = sqlx::query(
            "WITH c AS (
               INSERT INTO customer.profile AS c (customer, legacy_id, email, firstname, lastname,
                 middlename, group_id, store_id, website_id, gender, dob, taxvat, created_in,
                 created_at, updated_at, attrs, source_file, source_offset, name,
                 billing_postcode, billing_city, billing_telephone, billing_region,
                 billing_country_id, billing_company)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::date, $12, $13,
                 $14::timestamp, $15::timestamp, $16, $18, $19, $20, $21, $22, $23, $24, $25,
                 $26)
               ON CONFLICT (customer) DO UPDATE SET
                 legacy_id = EXCLUDED.legacy_id, email = EXCLUDED.email,
                 firstname = EXCLUDED.firstname, lastname = EXCLUDED.lastname,
                 middlename = EXCLUDED.middlename, group_id = EXCLUDED.group_id,
                 store_id = EXCLUDED.store_id, website_id = EXCLUDED.website_id,
                 gender = EXCLUDED.gender, dob = EXCLUDED.dob, taxvat = EXCLUDED.taxvat,
                 created_in = EXCLUDED.created_in, created_at = EXCLUDED.created_at,
                 updated_at = EXCLUDED.updated_at, attrs = EXCLUDED.attrs,
                 source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset,
                 name = EXCLUDED.name, billing_postcode = EXCLUDED.billing_postcode,
                 billing_city = EXCLUDED.billing_city,
                 billing_telephone = EXCLUDED.billing_telephone,
                 billing_region = EXCLUDED.billing_region,
                 billing_country_id = EXCLUDED.billing_country_id,
                 billing_company = EXCLUDED.billing_company
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
        .bind(name)
        .bind(&billing_columns[0])
        .bind(&billing_columns[1])
        .bind(&billing_columns[2])
        .bind(&billing_columns[3])
        .bind(&billing_columns[4])
        .bind(&billing_columns[5])
        .execute(&mut *tx)
        .await
        .map_err(db(SERVICE, "write customer document"))?
        .rows_affected();
        Ok(store::applied(written))
    }

    /// The position each customer of `legacy_ids` that the service holds (or holds a tombstone
    /// of) was last written at: its documents show Magento as of that position. cdc-sync skips
    /// re-reading an entity whose changes all lie before it.
    pub async fn positions(&self, legacy_ids: &[i64]) -> Result<Vec<(i64, Position)>, Error> {
        CUSTOMERS.positions(&self.pool, legacy_ids).await
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
        let tables = ["customer.profile", "customer.document", "customer.customer"];
        store::vacuum(SERVICE, &self.pool, &tables).await
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
        CUSTOMER_LIST
            .list(&self.pool, criteria, Sql::default(), Vec::new())
            .await
    }
}

impl Batch<'_, Customers> {
    /// [`Customers::upsert_customer`], in the batch.
    pub async fn upsert_customer(
        &mut self,
        document: &str,
        at: Position,
    ) -> Result<Applied, Error> {
        self.service
            .upsert_customer_in(&mut self.tx, document, at)
            .await
    }

    /// [`Customers::delete_customer`], in the batch.
    pub async fn delete_customer(
        &mut self,
        uuid: Uuid,
        legacy_id: u64,
        at: Position,
    ) -> Result<Applied, Error> {
        CUSTOMERS
            .remove_in(&mut self.tx, uuid, legacy_id as i64, at)
            .await
    }
}

impl crate::single::Single for Customers {
    const NAME: &'static str = "customer";
    const KIND: crate::load::Kind = crate::load::Kind::Customer;

    async fn connect(dsn: &str) -> Result<Self, Error> {
        Customers::connect(dsn).await
    }

    async fn migrate(&self) -> Result<(), Error> {
        Customers::migrate(self).await
    }

    async fn upsert(&self, document: &str, at: Position) -> Result<Applied, Error> {
        self.upsert_customer(document, at).await
    }

    async fn vacuum(&self) -> Result<(), Error> {
        Customers::vacuum(self).await
    }

    fn router(self, gateway: crate::http::Gateway) -> axum::Router {
        crate::http::customer::router(self, gateway)
    }
}
