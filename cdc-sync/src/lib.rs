//! cdc-sync: applies Magento's changes (Debezium on Kafka, or the binlog read directly) to the
//! new services' databases.
//!
//! Not built yet: the cdc-sync issue fills this crate.
#![forbid(unsafe_code)]
