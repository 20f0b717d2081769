//! The change events both sources produce: Debezium's envelope, decoded (`op`, `before`,
//! `after`, `source`, `transaction`), with every value typed ([`Value`]).

use crate::value::Value;

/// What a change did (Debezium's `op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `c`: a row inserted (or the second half of a primary-key change).
    Create,
    /// `u`: a row updated, its key kept.
    Update,
    /// `d`: a row deleted (or the first half of a primary-key change).
    Delete,
    /// `r`: a row read by a snapshot.
    Read,
    /// `t`: a table truncated.
    Truncate,
}

impl Op {
    /// Debezium's code: `c`, `u`, `d`, `r`, `t`.
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
            Op::Truncate => "t",
        }
    }

    /// The op of a code; `None` for anything else (`m`, which MySQL never emits, included).
    pub fn parse(code: &str) -> Option<Op> {
        Some(match code {
            "c" => Op::Create,
            "u" => Op::Update,
            "d" => Op::Delete,
            "r" => Op::Read,
            "t" => Op::Truncate,
            _ => return None,
        })
    }
}

/// A row image: columns in table order with their values.
pub type Row = Vec<(String, Value)>;

/// The value of `column` in `row`.
pub fn column<'r>(row: &'r Row, column: &str) -> Option<&'r Value> {
    row.iter().find(|(c, _)| c == column).map(|(_, v)| v)
}

/// Where in Magento's binlog a change was read (Debezium's `source` block).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// The database.
    pub db: String,
    /// The table.
    pub table: String,
    /// The binlog file.
    pub file: String,
    /// The offset of the change's event in it.
    pub pos: u64,
    /// The row's index within a multi-row binlog event.
    pub row: u32,
    /// The transaction's GTID (`0-1-2337` on MariaDB), when GTIDs are on.
    pub gtid: Option<String>,
    /// The source's commit time in ms (whole seconds from the binlog header).
    pub ts_ms: i64,
    /// The server that wrote the change (0 on snapshot reads).
    pub server_id: u64,
    /// Whether a snapshot read it.
    pub snapshot: bool,
}

/// The transaction a change belongs to (Debezium's `transaction` block, with transaction
/// metadata on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The GTID, or `file=<binlog>,pos=<n>` without GTIDs.
    pub id: String,
    /// The change's place among all the transaction's events (from 1).
    pub total_order: u64,
    /// Its place among the transaction's events of the same table (from 1).
    pub data_collection_order: u64,
}

/// One row change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What it did.
    pub op: Op,
    /// The row before (updates and deletes).
    pub before: Option<Row>,
    /// The row after (creates, updates, reads).
    pub after: Option<Row>,
    /// Where it was read.
    pub source: Source,
    /// Its transaction, when known.
    pub transaction: Option<Transaction>,
}

impl Change {
    /// The row image that identifies the row: `after`, or `before` for a delete.
    pub fn image(&self) -> Option<&Row> {
        self.after.as_ref().or(self.before.as_ref())
    }
}
