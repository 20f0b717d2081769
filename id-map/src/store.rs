//! The mapping store in PostgreSQL: schema `ficus_id_map`, created by migrations that each run in
//! a transaction (sqlx's migrator, with its bookkeeping table inside the same schema).

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::identity::{Namespace, check_entity};
use crate::magento::mask_password;

/// The schema that holds the map.
pub const SCHEMA: &str = "ficus_id_map";

/// Where a mapping came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A Magento id, mapped deterministically.
    Magento,
    /// Born in a new service: a UUIDv7, with a legacy id once reverse sync has created it.
    Service,
}

impl Origin {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Magento => "magento",
            Origin::Service => "service",
        }
    }
}

/// One row of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Entity type code or table name.
    pub entity: String,
    /// Magento's id, if it has one yet.
    pub legacy_id: Option<u64>,
    /// The UUID.
    pub uuid: Uuid,
    /// Where it came from.
    pub origin: Origin,
}

/// A connection pool on the mapping store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    dsn: String,
}

pub(crate) fn pg(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
    let what = what.into();
    move |source| Error::Pg { what, source }
}

impl Store {
    /// Connects to `postgres://…` and applies pending migrations.
    pub async fn open(dsn: &str) -> Result<Store> {
        let masked = mask_password(dsn);
        let options = PgConnectOptions::from_str(dsn).map_err(|e| Error::BadDsn {
            dsn: masked.clone(),
            reason: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| Error::PgConnect {
                dsn: masked.clone(),
                source,
            })?;
        let mut migrator = sqlx::migrate!("./migrations");
        migrator.create_schema(SCHEMA);
        migrator.dangerous_set_table_name(format!("{SCHEMA}._sqlx_migrations"));
        migrator.run(&pool).await?;
        Ok(Store { pool, dsn: masked })
    }

    /// The pool, for callers that run their own statements on the store.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The store's DSN, password masked.
    pub fn dsn(&self) -> &str {
        &self.dsn
    }

    /// Fails when a first sync was interrupted and its keys are not built yet.
    pub async fn check_loaded(&self) -> Result<()> {
        let (loading,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM ficus_id_map.bulk_load)")
                .fetch_one(&self.pool)
                .await
                .map_err(pg("read the first load's state"))?;
        if loading {
            return Err(Error::FirstLoadUnfinished(self.dsn.clone()));
        }
        Ok(())
    }

    /// The namespace the store was filled with, if any.
    pub async fn namespace(&self) -> Result<Option<Namespace>> {
        let row: Option<(Uuid,)> = sqlx::query_as("SELECT namespace FROM ficus_id_map.namespace")
            .fetch_optional(&self.pool)
            .await
            .map_err(pg("read namespace"))?;
        Ok(row.map(|(u,)| Namespace::new(u)))
    }

    /// Records `namespace` if the store has none; fails if it holds another.
    pub async fn claim_namespace(&self, namespace: Namespace) -> Result<()> {
        sqlx::query(
            "INSERT INTO ficus_id_map.namespace (namespace) VALUES ($1) ON CONFLICT DO NOTHING",
        )
        .bind(namespace.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(pg("record namespace"))?;
        self.check_namespace(namespace).await
    }

    /// Fails if the store holds ids of another namespace.
    pub async fn check_namespace(&self, namespace: Namespace) -> Result<()> {
        match self.namespace().await? {
            Some(stored) if stored != namespace => Err(Error::NamespaceMismatch {
                dsn: self.dsn.clone(),
                stored: stored.as_uuid(),
                given: namespace.as_uuid(),
            }),
            _ => Ok(()),
        }
    }

    /// The stored UUID of `entity/legacy_id`.
    pub async fn lookup(&self, entity: &str, legacy_id: u64) -> Result<Option<Uuid>> {
        let row: Option<(Uuid,)> = sqlx::query_as(
            "SELECT uuid FROM ficus_id_map.mapping WHERE entity = $1 AND legacy_id = $2",
        )
        .bind(entity)
        .bind(legacy_id as i64)
        .fetch_optional(&self.pool)
        .await
        .map_err(pg("look up"))?;
        Ok(row.map(|(u,)| u))
    }

    /// The mapping of a UUID.
    pub async fn reverse(&self, uuid: Uuid) -> Result<Option<Mapping>> {
        let row = sqlx::query(
            "SELECT entity, legacy_id, origin FROM ficus_id_map.mapping WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(&self.pool)
        .await
        .map_err(pg("reverse look-up"))?;
        Ok(row.map(|r| Mapping {
            entity: r.get(0),
            legacy_id: r.get::<Option<i64>, _>(1).map(|v| v as u64),
            uuid,
            origin: if r.get::<String, _>(2) == "service" {
                Origin::Service
            } else {
                Origin::Magento
            },
        }))
    }

    /// Records an entity born in a service: a new UUIDv7, no legacy id yet.
    pub async fn register_service(&self, entity: &str) -> Result<Uuid> {
        check_entity(entity)?;
        self.check_loaded().await?;
        let uuid = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO ficus_id_map.mapping (uuid, entity, origin) VALUES ($1, $2, 'service')",
        )
        .bind(uuid)
        .bind(entity)
        .execute(&self.pool)
        .await
        .map_err(pg("register service entity"))?;
        Ok(uuid)
    }

    /// Records the legacy id reverse sync got when it created a service-born entity in Magento.
    /// Assigning the same id again is a no-op; an id held by another UUID is an error.
    pub async fn assign_legacy_id(&self, uuid: Uuid, legacy_id: u64) -> Result<()> {
        self.check_loaded().await?;
        let mut conn = self.pool.acquire().await.map_err(pg("assign legacy id"))?;
        let mut tx = conn.begin().await.map_err(pg("assign legacy id"))?;
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT entity, legacy_id FROM ficus_id_map.mapping WHERE uuid = $1 FOR UPDATE",
        )
        .bind(uuid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(pg("assign legacy id"))?;
        let Some((entity, current)) = row else {
            return Err(Error::NotFound(uuid.to_string()));
        };
        if current == Some(legacy_id as i64) {
            return Ok(());
        }
        let holder: Option<(Uuid,)> = sqlx::query_as(
            "SELECT uuid FROM ficus_id_map.mapping WHERE entity = $1 AND legacy_id = $2",
        )
        .bind(&entity)
        .bind(legacy_id as i64)
        .fetch_optional(&mut *tx)
        .await
        .map_err(pg("assign legacy id"))?;
        if let Some((existing,)) = holder {
            return Err(Error::LegacyIdTaken {
                entity,
                legacy_id,
                existing,
            });
        }
        sqlx::query("UPDATE ficus_id_map.mapping SET legacy_id = $2 WHERE uuid = $1")
            .bind(uuid)
            .bind(legacy_id as i64)
            .execute(&mut *tx)
            .await
            .map_err(pg("assign legacy id"))?;
        tx.commit().await.map_err(pg("assign legacy id"))?;
        Ok(())
    }
}
