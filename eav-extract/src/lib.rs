//! eav-extract: pivots Magento's EAV rows into one document per entity and store view.
//!
//! Products and categories come out once per store view, customers (with their addresses) once,
//! each in the shape Magento's REST API returns (`GET /rest/<store>/V1/products/{sku}`, …) plus a
//! top-level `uuid` (id-map) and `store_code`. Attributes are resolved by `attribute_code` at run
//! time and Magento's store-scope rules are applied in Rust ([`pivot`]): per chunk of entity ids,
//! one query per value table, never a join per attribute and never a server-side pivot.
//!
//! The run reads inside one `START TRANSACTION WITH CONSISTENT SNAPSHOT` and records the
//! snapshot's binlog position. A resumed run opens a new snapshot and continues after the last
//! checkpointed entity; its manifest keeps the *first* run's position. That stays correct after
//! the first snapshot is gone: every change committed after that position is in the binlog, and
//! cdc-sync replays from there, so an entity read later than the first snapshot is rewritten
//! with full row images up to and past the moment it was read — entities changed between the two
//! runs end in their current state, none is skipped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ficus_eav_extract::Error> {
//! use ficus_eav_extract::{Kind, Options, SinkSpec, extract};
//! let options = Options {
//!     source: ficus_id_map::magento::MagentoDsn::parse("mysql://ficus:ficus@127.0.0.1/magento")?,
//!     kinds: vec![Kind::Product],
//!     stores: vec!["default".into()],
//!     labels: false,
//!     chunk_size: 2000,
//!     max_rows_per_second: None,
//!     namespace: ficus_id_map::DEFAULT_NAMESPACE,
//!     sink: SinkSpec::Jsonl("products.jsonl".into()),
//!     resume: false,
//!     value_reads: ficus_eav_extract::ValueReads::Scan,
//!     spill_dir: None,
//!     bucket_bytes: ficus_eav_extract::DEFAULT_BUCKET_BYTES,
//!     admin: false,
//! };
//! let summary = extract(&options, |_| {}, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod checkpoint;
mod doc;
mod error;
mod extract;
mod json;
pub mod lookup;
mod meta;
mod order;
pub mod pivot;
mod sink;
mod source;
mod spill;
mod wire;

pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use extract::{Event, KindSummary, Options, Summary, ValueReads, extract};
pub use meta::{Kind, Scope};
pub use sink::SinkSpec;
pub use source::Position;
pub use spill::DEFAULT_BUCKET_BYTES;
