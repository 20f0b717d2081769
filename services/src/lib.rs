//! The new services on PostgreSQL, answering Magento's REST URLs with Magento's JSON.
//!
//! - [`catalog`]: products and categories, in the catalog service's own database;
//! - [`customer`]: customers with their addresses, in the customer service's own database;
//! - [`order`]: orders with their items, addresses, payment and history, in the order
//!   service's own database;
//! - [`http`]: the routes of each service, the caller's identity as ficus-proxy passes it, and
//!   the operations endpoints (`/healthz`, `/readyz`, `/metrics`) with JSON access logs.
//!
//! Each service's write API (`upsert_*`, `delete_*`, ordered by source position) is the one owner
//! of its schema: eav-extract's back-fill and cdc-sync both go through it.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod config;
pub mod customer;
pub mod http;
pub mod load;
pub mod order;
pub mod search;
pub mod shape;
pub mod single;
mod store;

pub use store::{Batch, BatchTx, Checkpoint, DeadLetter};

/// Where in Magento's binlog a change was read: the binlog file's number and the offset in it.
/// eav-extract's snapshot position for a back-fill; the end of the transaction for cdc-sync.
/// Positions compare file first, then offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The binlog file's number (`mariadb-bin.000042` → 42).
    pub file: u64,
    /// The offset in that file.
    pub offset: u64,
}

impl Position {
    /// The position of `offset` in the binlog file named `file` (its numeric suffix).
    pub fn from_binlog(file: &str, offset: u64) -> Option<Position> {
        let number = file.rsplit('.').next()?.parse().ok()?;
        Some(Position {
            file: number,
            offset,
        })
    }
}

/// Whether a change was applied or was older than what the service holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written.
    Written,
    /// Older than (or as old as) what is stored: ignored.
    Stale,
}

/// What can go wrong in a service's database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document is not of eav-extract's shape for its entity.
    #[error("not a {entity} document: {reason}")]
    BadDocument {
        /// The entity type expected.
        entity: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The database refused or failed.
    #[error("{service} database ({what}): {cause}")]
    Db {
        /// The service.
        service: &'static str,
        /// What was being done.
        what: &'static str,
        /// The driver's error (in the message, so not also a source).
        cause: sqlx::Error,
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
    #[error("migrating the {service} database failed: {cause}")]
    Migrate {
        /// The service.
        service: &'static str,
        /// What sqlx said.
        cause: sqlx::migrate::MigrateError,
    },
}

/// Why a list could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The request is wrong (400).
    #[error("{}", .0.message)]
    Bad(search::BadRequest),
    /// The database failed (500).
    #[error(transparent)]
    Db(#[from] Error),
}
