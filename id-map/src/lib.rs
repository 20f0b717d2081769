//! id-map: deterministic UUIDs for Magento's integer ids, and the PostgreSQL mapping store.
//!
//! Not built yet: the id-map issue fills this crate.
#![forbid(unsafe_code)]
