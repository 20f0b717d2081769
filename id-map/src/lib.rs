//! id-map: deterministic UUIDs for Magento's integer ids, and the PostgreSQL mapping store.
//!
//! Every Magento entity gets `UUIDv5(namespace, "<entity>/<legacy_id>")`, where `<entity>` is
//! Magento's entity type code (`catalog_product`, `customer`, …) or a flat entity's table name
//! (`sales_order`, …). Any tool computes the same id from the same two inputs — PostgreSQL too:
//! `uuid_generate_v5(namespace, 'catalog_product/42')`. The [`Store`] keeps the map in PostgreSQL
//! for reverse look-ups and for entities born in the new services (UUIDv7, legacy id assigned
//! later); [`sync`] fills it from Magento, [`verify`] checks it.
//!
//! ```
//! use ficus_id_map::{DEFAULT_NAMESPACE, Mapper};
//! let products = Mapper::new(DEFAULT_NAMESPACE, "catalog_product").unwrap();
//! assert_eq!(products.uuid(42), ficus_id_map::uuid_for(DEFAULT_NAMESPACE, "catalog_product", 42).unwrap());
//! ```
#![forbid(unsafe_code)]

mod error;
mod identity;
pub mod magento;
mod store;
mod sync;
mod verify;

pub use error::{Error, Result};
pub use identity::{DEFAULT_NAMESPACE, Mapper, Namespace, check_entity, decimal, uuid_for};
pub use store::{Mapping, Origin, SCHEMA, Store};
pub use sync::{EntityReport, SyncEvent, SyncOptions, sync};
pub use verify::{VerifyReport, verify};
