//! eav-extract: pivots Magento's EAV rows into one document per entity and store view.
//!
//! Not built yet: the eav-extract issue fills this crate.
#![forbid(unsafe_code)]
