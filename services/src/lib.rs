//! The new services on PostgreSQL, answering Magento's REST URLs with Magento's JSON.
//!
//! Built so far: the catalog service's products — its schema (sqlx migrations in the service's
//! own database), the write API the pipeline uses ([`catalog::Catalog::upsert_product`] and
//! [`catalog::Catalog::delete_product`], ordered by source position) and
//! `GET /rest[/<store>]/V1/products/{sku}` ([`http`]).
#![forbid(unsafe_code)]

pub mod catalog;
pub mod http;
pub mod search;

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
