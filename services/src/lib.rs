//! The new services (catalog, customer, order) on PostgreSQL, answering Magento's REST shapes.
//!
//! Not built yet: the services issue fills this crate.
#![forbid(unsafe_code)]
