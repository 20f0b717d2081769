//! Debezium's MySQL/MariaDB change events, decoded exactly (`../shared/reference/debezium-events.md`).
//!
//! A record's value is the envelope (`before`, `after`, `source`, `transaction`, `op`), wrapped in
//! `{"schema":…,"payload":…}` when the JSON converter has `schemas.enable=true`, bare when
//! `false` — which is configured, never guessed. With schemas each field's type comes from the
//! schema (a decimal's `scale`, `io.debezium.time.*` names); without, from a [`Catalog`] read from
//! Magento's `information_schema`. Row values are read from their JSON text, so a decimal sent as
//! a JSON number (`decimal.format=NUMERIC`) stays exact too.
//!
//! - `op` `c`/`u`/`d`/`r`/`t`; anything else is an error (for the dead-letter table);
//! - a null value is a tombstone ([`Record::Tombstone`]): skipped, its offset committed;
//! - `source.snapshot` as a string, a boolean or null;
//! - decimals as base64 two's-complement big-endian unscaled integers (`precise`), as strings
//!   (`decimal.handling.mode=string`) or numbers;
//! - `io.debezium.time.Date`, `Timestamp`, `MicroTimestamp`, `NanoTimestamp`, `ZonedTimestamp`,
//!   `Time`, `MicroTime`, `NanoTime`, `Year`; TINYINT(1) as a number or a boolean; BIT as
//!   little-endian bytes; BIGINT UNSIGNED as a precise decimal (a negative `long` is refused:
//!   set `bigint.unsigned.handling.mode=precise`).

use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::catalog::{Catalog, ColumnType};
use crate::change::{Change, Op, Row, Source, Transaction};
use crate::value::{Decimal, Value};

/// How the connector was configured, as far as decoding depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// The JSON converter's `schemas.enable`.
    pub schemas: bool,
    /// `decimal.handling.mode=string`: decimals sent as their digits. Only needed without
    /// schemas (with them the field's schema says); `false` is Debezium's default, `precise`.
    pub decimal_strings: bool,
}

/// A decoded record of a table topic.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A row change.
    Change(Box<Change>),
    /// A null value after a delete (log compaction): nothing to apply.
    Tombstone,
}

/// Why a record cannot be decoded. Each names what is wrong, for the dead-letter table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON, or not of the envelope's shape.
    #[error("not a Debezium envelope: {0}")]
    Shape(String),
    /// An `op` Debezium's MySQL connector does not emit.
    #[error("unknown op {0:?}")]
    UnknownOp(String),
    /// Schemas are off and the catalog does not know the table.
    #[error("no column types for table {0} (schemas.enable=false needs the catalog)")]
    UnknownTable(String),
    /// A column value that does not decode as its type says.
    #[error("column {column}: {reason}")]
    Value {
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },
}

fn shape(e: impl fmt::Display) -> DecodeError {
    DecodeError::Shape(e.to_string())
}

/// A JSON object's members in document order, values as their JSON text.
#[derive(Debug, Default)]
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    schema: Option<&'a RawValue>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    before: Option<&'a RawValue>,
    #[serde(borrow, default)]
    after: Option<&'a RawValue>,
    source: SourceBlock,
    #[serde(default)]
    transaction: Option<TransactionBlock>,
    op: String,
}

#[derive(Debug, Deserialize)]
struct SourceBlock {
    #[serde(default)]
    db: String,
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    file: String,
    #[serde(default)]
    pos: Option<Int>,
    #[serde(default)]
    row: Option<Int>,
    #[serde(default)]
    gtid: Option<String>,
    #[serde(default)]
    ts_ms: Option<Int>,
    #[serde(default)]
    server_id: Option<Int>,
    #[serde(default)]
    snapshot: Option<Snapshot>,
}

#[derive(Debug, Deserialize)]
struct TransactionBlock {
    id: String,
    total_order: Int,
    data_collection_order: Int,
}

/// An integer written as a number or as a string (the docs' samples quote some).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum Int {
    Number(i64),
    Text(#[serde(deserialize_with = "int_text")] i64),
}

fn int_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = String::deserialize(d)?;
    s.trim().parse().map_err(serde::de::Error::custom)
}

impl Int {
    fn get(self) -> i64 {
        match self {
            Int::Number(n) | Int::Text(n) => n,
        }
    }
}

/// `source.snapshot`: a string, a boolean (the legacy struct), or null while streaming.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Snapshot {
    Bool(bool),
    Text(String),
}

impl Snapshot {
    fn is_snapshot(&self) -> bool {
        match self {
            Snapshot::Bool(b) => *b,
            Snapshot::Text(s) => s != "false",
        }
    }
}

/// A field of a schema: its Connect type, semantic name and parameters.
#[derive(Debug, Deserialize)]
struct FieldSchema {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    parameters: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    fields: Vec<FieldSchema>,
}

/// How one column's JSON value is read.
#[derive(Debug, Clone, PartialEq)]
enum Decode {
    Integer,
    UnsignedLong,
    Boolean,
    Float,
    Text,
    Bytes,
    /// `precise`: base64 of the unscaled integer, at this scale (or a JSON number).
    Decimal(u32),
    /// `string`: the digits (or a JSON number), at this scale.
    DecimalText(u32),
    Date,
    Timestamp(u8),
    MicroTimestamp(u8),
    NanoTimestamp(u8),
    Zoned(u8),
    TimeMillis,
    MicroTime,
    NanoTime,
    Year,
    Bits,
}

impl Decode {
    /// From a field's schema (`schemas.enable=true`).
    fn of_schema(f: &FieldSchema) -> Decode {
        let param = |key: &str| {
            f.parameters
                .as_ref()
                .and_then(|p| p.get(key))
                .and_then(|v| match v {
                    serde_json::Value::String(s) => s.parse().ok(),
                    serde_json::Value::Number(n) => n.as_u64(),
                    _ => None,
                })
        };
        match f.name.as_deref() {
            Some("org.apache.kafka.connect.data.Decimal") => {
                Decode::Decimal(param("scale").unwrap_or(0) as u32)
            }
            Some("io.debezium.time.Date") => Decode::Date,
            Some("io.debezium.time.Timestamp") => Decode::Timestamp(0),
            Some("io.debezium.time.MicroTimestamp") => Decode::MicroTimestamp(6),
            Some("io.debezium.time.NanoTimestamp") => Decode::NanoTimestamp(6),
            Some("io.debezium.time.ZonedTimestamp") => Decode::Zoned(0),
            Some("io.debezium.time.Time") => Decode::TimeMillis,
            Some("io.debezium.time.MicroTime") => Decode::MicroTime,
            Some("io.debezium.time.NanoTime") => Decode::NanoTime,
            Some("io.debezium.time.Year") => Decode::Year,
            Some("io.debezium.data.Bits") => Decode::Bits,
            _ => match f.kind.as_str() {
                "int8" | "int16" | "int32" | "int64" => Decode::Integer,
                "boolean" => Decode::Boolean,
                "float" | "float32" | "float64" | "double" => Decode::Float,
                "bytes" => Decode::Bytes,
                _ => Decode::Text,
            },
        }
    }

    /// From Magento's column type (`schemas.enable=false`), with the connector's defaults
    /// (`decimal.handling.mode=precise`, `time.precision.mode=adaptive_time_microseconds`,
    /// `bigint.unsigned.handling.mode=precise`, `binary.handling.mode=bytes`).
    fn of_column(t: &ColumnType, decimal_strings: bool) -> Decode {
        match t {
            ColumnType::Integer { boolean: true, .. } => Decode::Boolean,
            ColumnType::Integer { unsigned: true, .. } => Decode::UnsignedLong,
            ColumnType::Integer { .. } | ColumnType::Year => Decode::Integer,
            ColumnType::Decimal { scale } if decimal_strings => Decode::DecimalText(*scale),
            ColumnType::Decimal { scale } => Decode::Decimal(*scale),
            ColumnType::Float => Decode::Float,
            ColumnType::Date => Decode::Date,
            ColumnType::DateTime { precision } if *precision <= 3 => Decode::Timestamp(*precision),
            ColumnType::DateTime { precision } => Decode::MicroTimestamp(*precision),
            ColumnType::Timestamp { precision } => Decode::Zoned(*precision),
            ColumnType::Time => Decode::MicroTime,
            ColumnType::Bit { length: 1 } => Decode::Boolean,
            ColumnType::Bit { .. } => Decode::Bits,
            ColumnType::Binary => Decode::Bytes,
            ColumnType::Enum(_) | ColumnType::Set(_) | ColumnType::Text => Decode::Text,
        }
    }
}

impl Format {
    /// Decodes a table topic's record value (`None`: a tombstone). `catalog` gives the column
    /// types when schemas are off.
    pub fn decode(&self, value: Option<&[u8]>, catalog: &Catalog) -> Result<Record, DecodeError> {
        self.decode_with(value, catalog, false)
    }

    /// What can still be read from a record [`Format::decode`] refused: its envelope with every
    /// column that decodes (a column of an unknown type when its value is a JSON integer), the
    /// others left out — enough to tell which entity the change was about (its ids are
    /// integers), never enough to apply its values. `None` when even the envelope does not
    /// parse.
    pub fn salvage(&self, value: Option<&[u8]>, catalog: &Catalog) -> Option<Change> {
        match self.decode_with(value, catalog, true) {
            Ok(Record::Change(c)) => Some(*c),
            _ => None,
        }
    }

    fn decode_with(
        &self,
        value: Option<&[u8]>,
        catalog: &Catalog,
        lenient: bool,
    ) -> Result<Record, DecodeError> {
        let Some(value) = value else {
            return Ok(Record::Tombstone);
        };
        let text = std::str::from_utf8(value).map_err(shape)?;
        if text.trim() == "null" {
            return Ok(Record::Tombstone);
        }
        let (schema, payload) = if self.schemas {
            let w: Wrapped<'_> = serde_json::from_str(text).map_err(shape)?;
            let payload = w
                .payload
                .ok_or_else(|| shape("schemas.enable is true but there is no payload"))?;
            let schema: Option<FieldSchema> = match w.schema {
                Some(s) => Some(serde_json::from_str(s.get()).map_err(shape)?),
                None => None,
            };
            (schema, payload.get())
        } else {
            (None, text)
        };
        if payload.trim() == "null" {
            return Ok(Record::Tombstone);
        }
        let e: Envelope<'_> = serde_json::from_str(payload).map_err(shape)?;
        let op = Op::parse(&e.op).ok_or_else(|| DecodeError::UnknownOp(e.op.clone()))?;
        let table = e.source.table.clone().unwrap_or_default();
        let source = Source {
            db: e.source.db.clone(),
            table: table.clone(),
            file: e.source.file.clone(),
            pos: e.source.pos.map_or(0, |p| p.get().max(0) as u64),
            row: e.source.row.map_or(0, |r| r.get().max(0) as u32),
            gtid: e.source.gtid.clone(),
            ts_ms: e.source.ts_ms.map_or(0, Int::get),
            server_id: e.source.server_id.map_or(0, |s| s.get().max(0) as u64),
            snapshot: e
                .source
                .snapshot
                .as_ref()
                .is_some_and(Snapshot::is_snapshot),
        };
        let transaction = e.transaction.as_ref().map(|t| Transaction {
            id: t.id.clone(),
            total_order: t.total_order.get().max(0) as u64,
            data_collection_order: t.data_collection_order.get().max(0) as u64,
        });
        let image_schema = |field: &str| {
            schema
                .as_ref()
                .and_then(|s| s.fields.iter().find(|f| f.field.as_deref() == Some(field)))
        };
        let row = |raw: Option<&RawValue>, field: &str| -> Result<Option<Row>, DecodeError> {
            let Some(raw) = raw.filter(|r| r.get().trim() != "null") else {
                return Ok(None);
            };
            let members: Members = serde_json::from_str(raw.get()).map_err(shape)?;
            let fields = image_schema(field).map(|s| s.fields.as_slice());
            let columns = match (fields, catalog.columns(&source.db, &table)) {
                (Some(_), _) => None,
                (None, Some(c)) => Some(c),
                // Salvaging: columns of an unknown table are read as integers or left out.
                (None, None) if lenient => None,
                (None, None) => {
                    return Err(DecodeError::UnknownTable(format!("{}.{table}", source.db)));
                }
            };
            let mut out = Vec::with_capacity(members.0.len());
            for (column, raw) in members.0 {
                let how = match (fields, columns) {
                    (Some(fields), _) => fields
                        .iter()
                        .find(|f| f.field.as_deref() == Some(column.as_str()))
                        .map(Decode::of_schema)
                        .unwrap_or(Decode::Text),
                    (None, Some(columns)) => match columns.iter().find(|(c, _)| *c == column) {
                        Some((_, t)) => Decode::of_column(t, self.decimal_strings),
                        None if lenient => Decode::Integer,
                        None => {
                            return Err(DecodeError::Value {
                                column: column.clone(),
                                reason: format!("not a column of {}.{table}", source.db),
                            });
                        }
                    },
                    (None, None) if lenient => Decode::Integer,
                    (None, None) => Decode::Text,
                };
                match decode_value(raw.get(), &how) {
                    Ok(value) => out.push((column, value)),
                    Err(_) if lenient => {}
                    Err(reason) => {
                        return Err(DecodeError::Value {
                            column: column.clone(),
                            reason,
                        });
                    }
                }
            }
            Ok(Some(out))
        };
        let before = row(e.before, "before")?;
        let after = row(e.after, "after")?;
        Ok(Record::Change(Box::new(Change {
            op,
            before,
            after,
            source,
            transaction,
        })))
    }
}

/// Decodes one value from its JSON text.
fn decode_value(raw: &str, how: &Decode) -> Result<Value, String> {
    let raw = raw.trim();
    if raw == "null" {
        return Ok(Value::Null);
    }
    let string = || serde_json::from_str::<String>(raw).map_err(|e| e.to_string());
    let int = || -> Result<i64, String> {
        match serde_json::from_str::<i64>(raw) {
            Ok(n) => Ok(n),
            Err(_) => string()?
                .trim()
                .parse()
                .map_err(|_| format!("{raw} is not an integer")),
        }
    };
    let micros = |v: i64, per_second: i64| -> Result<i64, String> {
        if per_second >= 1_000_000 {
            Ok(v.div_euclid(per_second / 1_000_000))
        } else {
            v.checked_mul(1_000_000 / per_second)
                .ok_or_else(|| format!("{raw} is out of range"))
        }
    };
    Ok(match how {
        Decode::Integer => Value::Int(int()?),
        Decode::UnsignedLong => {
            if raw.starts_with('"') {
                // bigint.unsigned.handling.mode=precise: a Decimal of scale 0, base64.
                let d = decimal_bytes(&string()?, 0)?;
                u64::try_from(d.unscaled)
                    .map(Value::UInt)
                    .map_err(|_| format!("{d} is not an unsigned BIGINT"))?
            } else {
                let n = int()?;
                if n < 0 {
                    return Err(format!(
                        "{n} is negative in an UNSIGNED column: set bigint.unsigned.handling.mode=precise"
                    ));
                }
                Value::Int(n)
            }
        }
        Decode::Boolean => match raw {
            "true" => Value::Int(1),
            "false" => Value::Int(0),
            _ => Value::Int(int()?),
        },
        Decode::Float => Value::Float(raw.parse().map_err(|_| format!("{raw} is not a number"))?),
        Decode::Text => {
            if raw.starts_with('"') {
                Value::Text(string()?)
            } else {
                // A number or boolean where text was expected: kept as its JSON text.
                Value::Text(raw.to_string())
            }
        }
        Decode::Bytes => Value::Bytes(base64(&string()?).ok_or("not base64")?),
        Decode::Decimal(scale) | Decode::DecimalText(scale) => {
            let d = if raw.starts_with('"') {
                let s = string()?;
                if matches!(how, Decode::DecimalText(_)) {
                    Decimal::parse(&s).ok_or_else(|| format!("{s:?} is not a decimal"))?
                } else {
                    decimal_bytes(&s, *scale)?
                }
            } else {
                // decimal.format=NUMERIC: the JSON number's own digits, exactly.
                Decimal::parse(raw).ok_or_else(|| format!("{raw} is not a decimal"))?
            };
            Value::Decimal(d.rescale(*scale).unwrap_or(d))
        }
        Decode::Date => Value::Date(i32::try_from(int()?).map_err(|e| e.to_string())?),
        Decode::Timestamp(p) => Value::DateTime {
            micros: micros(int()?, 1_000)?,
            precision: *p,
        },
        Decode::MicroTimestamp(p) => Value::DateTime {
            micros: int()?,
            precision: *p,
        },
        Decode::NanoTimestamp(p) => Value::DateTime {
            micros: micros(int()?, 1_000_000_000)?,
            precision: *p,
        },
        Decode::Zoned(p) => {
            let s = string()?;
            let t = chrono::DateTime::parse_from_rfc3339(&s)
                .map_err(|e| format!("{s:?} is not an ISO-8601 timestamp: {e}"))?;
            let micros = t.timestamp_micros();
            let precision = if *p == 0 && micros % 1_000_000 != 0 {
                6
            } else {
                *p
            };
            Value::DateTime { micros, precision }
        }
        Decode::TimeMillis => Value::Time(micros(int()?, 1_000)?),
        Decode::MicroTime => Value::Time(int()?),
        Decode::NanoTime => Value::Time(micros(int()?, 1_000_000_000)?),
        Decode::Year => Value::Year(i32::try_from(int()?).map_err(|e| e.to_string())?),
        Decode::Bits => {
            let bytes = base64(&string()?).ok_or("not base64")?;
            if bytes.len() > 8 {
                return Err(format!("BIT of {} bytes", bytes.len()));
            }
            // Little-endian, ⌈n/8⌉ bytes.
            let mut n = 0u64;
            for (i, b) in bytes.iter().enumerate() {
                n |= (*b as u64) << (8 * i);
            }
            Value::Bits(n)
        }
    })
}

fn decimal_bytes(s: &str, scale: u32) -> Result<Decimal, String> {
    let bytes = base64(s).ok_or_else(|| format!("{s:?} is not base64"))?;
    Decimal::from_twos_complement(&bytes, scale)
        .ok_or_else(|| format!("{s:?} is not a decimal of at most 38 digits"))
}

/// Standard base64 (with or without padding); `None` if `s` is not.
pub fn base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

/// A transaction-metadata record (`<prefix>.transaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionEvent {
    /// `BEGIN` or `END`.
    pub begin: bool,
    /// The transaction id (GTID, or `file=…,pos=…`).
    pub id: String,
    /// END only: the transaction's events.
    pub event_count: Option<u64>,
    /// END only: events per table (`db.table`).
    pub data_collections: Vec<(String, u64)>,
}

#[derive(Debug, Deserialize)]
struct TxValue {
    status: String,
    id: String,
    #[serde(default)]
    event_count: Option<Int>,
    #[serde(default)]
    data_collections: Option<Vec<TxCollection>>,
}

#[derive(Debug, Deserialize)]
struct TxCollection {
    data_collection: String,
    event_count: Int,
}

impl Format {
    /// Decodes a transaction-metadata record's value.
    pub fn decode_transaction(&self, value: &[u8]) -> Result<TransactionEvent, DecodeError> {
        let text = std::str::from_utf8(value).map_err(shape)?;
        let payload = if self.schemas {
            let w: Wrapped<'_> = serde_json::from_str(text).map_err(shape)?;
            w.payload.ok_or_else(|| shape("no payload"))?.get()
        } else {
            text
        };
        let v: TxValue = serde_json::from_str(payload).map_err(shape)?;
        let begin = match v.status.as_str() {
            "BEGIN" => true,
            "END" => false,
            other => return Err(shape(format!("transaction status {other:?}"))),
        };
        Ok(TransactionEvent {
            begin,
            id: v.id,
            event_count: v.event_count.map(|c| c.get().max(0) as u64),
            data_collections: v
                .data_collections
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.data_collection, c.event_count.get().max(0) as u64))
                .collect(),
        })
    }
}
