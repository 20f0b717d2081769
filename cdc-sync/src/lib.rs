//! cdc-sync: applies Magento's changes (Debezium on Kafka, or the binlog read directly) to the
//! new services' databases.
//!
//! Both sources produce the same [`Change`] events: Debezium's envelope decoded
//! ([`debezium::Format::decode`]), every value typed ([`Value`]) and printable as Magento's
//! database prints it. Column types that the JSON (without schemas) or the binlog leave out come
//! from a [`Catalog`] of Magento's `information_schema`.
//!
//! ```
//! use ficus_cdc_sync::{Catalog, Record, debezium::Format};
//! let format = Format { schemas: false, decimal_strings: false };
//! let mut catalog = Catalog::new();
//! catalog.insert("magento", "t", vec![("price".into(), ficus_cdc_sync::ColumnType::Decimal { scale: 4 })]);
//! let event = br#"{"before":null,"after":{"price":"AY/J"},"op":"c",
//!   "source":{"db":"magento","table":"t","file":"binlog.000042","pos":4,"row":0,"ts_ms":0}}"#;
//! let Record::Change(change) = format.decode(Some(event), &catalog).unwrap() else { panic!() };
//! let price = ficus_cdc_sync::change::column(change.after.as_ref().unwrap(), "price").unwrap();
//! assert_eq!(price.to_mysql_text().as_deref(), Some("10.2345"));
//! ```
#![forbid(unsafe_code)]

pub mod binlog;
pub mod catalog;
pub mod change;
pub mod config;
pub mod daemon;
pub mod debezium;
pub mod kafka;
pub mod pipeline;
pub mod transform;
pub mod value;

pub use catalog::{Catalog, ColumnType};
pub use change::{Change, Op, Row, Source, Transaction};
pub use debezium::{DecodeError, Record};
pub use value::{Decimal, Value};
