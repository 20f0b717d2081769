//! The built-in binlog source: connects to MariaDB/MySQL as a replica (mysql_async's binlog
//! stream), from a binlog file and position — by default the one eav-extract recorded — and turns
//! row events into the same [`Change`] events as the Debezium source, grouped by transaction.
//!
//! What the binlog leaves out comes from the [`Catalog`]: ENUM and SET labels (the binlog sends
//! an index and a bitmask), whether a string column is binary, names when the server does not
//! log `binlog_row_metadata=FULL`. The server must log rows (`binlog_format=ROW`) with full
//! images (`binlog_row_image=FULL`): [`BinlogSource::open`] refuses otherwise, naming the setting.
//!
//! MariaDB specifics: `@mariadb_slave_capability=4` is set so GTID events arrive as such, and their
//! `domain-server-sequence` is read from the raw event (the crate parses only MySQL's); the first,
//! artificial rotate event's file name carries the 4 checksum bytes, which are stripped.

use std::collections::VecDeque;

use futures_util::StreamExt;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::consts::{ColumnFlags, ColumnType as WireType};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest};

use ficus_id_map::magento::MagentoDsn;

use crate::catalog::{Catalog, ColumnType};
use crate::change::{Change, Op, Row, Source};
use crate::value::{Decimal, Value};

/// A place in the binlog: a file and an offset in it (the start of an event; after a commit,
/// the next transaction's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The binlog file, e.g. `mariadb-bin.000003`.
    pub file: String,
    /// The offset.
    pub pos: u64,
}

/// What the source reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A row change of the transaction being read.
    Change(Change),
    /// The server has nothing more to send for now (a heartbeat while the binlog is idle):
    /// every transaction before `next` has been read.
    Idle {
        /// Where the binlog ends now.
        next: Position,
    },
    /// The transaction's end: every change before it is committed; reading again from `next`
    /// continues after it.
    Commit {
        /// Where the next transaction starts.
        next: Position,
        /// The transaction's GTID, when the server has GTIDs.
        gtid: Option<String>,
        /// The commit time (ms; whole seconds from the binlog header).
        ts_ms: i64,
    },
}

/// Why the source stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Connecting failed (the DSN named, password masked).
    #[error(transparent)]
    Connect(#[from] ficus_id_map::Error),
    /// The server does not log what the source needs.
    #[error(
        "{setting} is {value}; set {setting}={wanted} (SET GLOBAL {setting} = '{wanted}' and in the server's configuration)"
    )]
    Settings {
        /// The variable.
        setting: &'static str,
        /// What it is.
        value: String,
        /// What it must be.
        wanted: &'static str,
    },
    /// A query or the stream failed.
    #[error("binlog source ({what}): {source}")]
    Mysql {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },
    /// The server no longer has (or never had) the binlog to start from.
    #[error(
        "the server has no binlog at {file}:{pos} ({reason}): it was purged or never existed; back-fill again and start from the new snapshot's position"
    )]
    Purged {
        /// The file asked for.
        file: String,
        /// The offset asked for.
        pos: u64,
        /// What the server said.
        reason: String,
    },
    /// An event that cannot be decoded (its position named).
    #[error("binlog event at {file}:{pos}: {reason}")]
    Event {
        /// The binlog file.
        file: String,
        /// The event's offset.
        pos: u64,
        /// What is wrong.
        reason: String,
    },
}

fn mysql(what: &'static str) -> impl FnOnce(mysql_async::Error) -> SourceError {
    move |source| SourceError::Mysql { what, source }
}

/// MariaDB's GTID event (the crate knows MySQL's only).
const MARIADB_GTID_EVENT: u8 = 162;
/// `FL_STANDALONE`: a GTID event of a statement outside a transaction (DDL), committed at once.
const FL_STANDALONE: u8 = 1;

/// Checks that the server logs full row images: `Ok` or the setting to change.
pub fn check_settings(binlog_format: &str, row_image: &str) -> Result<(), SourceError> {
    if !binlog_format.eq_ignore_ascii_case("ROW") {
        return Err(SourceError::Settings {
            setting: "binlog_format",
            value: binlog_format.into(),
            wanted: "ROW",
        });
    }
    if !row_image.eq_ignore_ascii_case("FULL") {
        return Err(SourceError::Settings {
            setting: "binlog_row_image",
            value: row_image.into(),
            wanted: "FULL",
        });
    }
    Ok(())
}

/// Where a stream starts.
#[derive(Debug, Clone, Copy)]
enum Start<'a> {
    At(&'a Position),
    AfterGtid(&'a str),
}

/// The binlog, read as a replica.
pub struct BinlogSource {
    stream: BinlogStream,
    catalog: Catalog,
    file: String,
    /// The offset the stream was asked to start at.
    start: u64,
    /// Whether events carry a checksum (`binlog_checksum`), which the first, artificial rotate
    /// event's file name then ends with.
    checksummed: bool,
    gtid: Option<String>,
    standalone: bool,
    ready: VecDeque<Event>,
}

impl std::fmt::Debug for BinlogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinlogSource")
            .field("file", &self.file)
            .field("gtid", &self.gtid)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl BinlogSource {
    /// Connects to `dsn` as replica `server_id` (unique among the server's replicas) and reads
    /// from `from`; `catalog` describes the database's tables (see [`Catalog::load`]).
    pub async fn open(
        dsn: &MagentoDsn,
        server_id: u32,
        from: &Position,
        catalog: Catalog,
    ) -> Result<BinlogSource, SourceError> {
        BinlogSource::start(dsn, server_id, Start::At(from), catalog).await
    }

    /// Like [`BinlogSource::open`], reading the transactions after MariaDB GTID position `gtid`
    /// (`domain-server-sequence`, comma-separated for several domains).
    pub async fn open_after_gtid(
        dsn: &MagentoDsn,
        server_id: u32,
        gtid: &str,
        catalog: Catalog,
    ) -> Result<BinlogSource, SourceError> {
        BinlogSource::start(dsn, server_id, Start::AfterGtid(gtid), catalog).await
    }

    async fn start(
        dsn: &MagentoDsn,
        server_id: u32,
        from: Start<'_>,
        catalog: Catalog,
    ) -> Result<BinlogSource, SourceError> {
        let mut conn = dsn.connect().await?;
        let (format, image, checksum): (String, String, String) = conn
            .query_first(
                "SELECT @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image, @@GLOBAL.binlog_checksum",
            )
            .await
            .map_err(mysql("binlog settings"))?
            .unwrap_or_default();
        check_settings(&format, &image)?;
        // MariaDB: send GTID events as GTID events (not as BEGIN queries). MySQL ignores it.
        conn.query_drop("SET @mariadb_slave_capability = 4")
            .await
            .map_err(mysql("replica capability"))?;
        // A heartbeat every second while the binlog is idle, carrying its end: an idle source
        // still moves the checkpoint (and shows the connection alive).
        conn.query_drop("SET @master_heartbeat_period = 1000000000")
            .await
            .map_err(mysql("heartbeat period"))?;
        let (file, pos) = match from {
            Start::At(p) => (p.file.as_str(), p.pos),
            Start::AfterGtid(gtid) => {
                // MariaDB: the replica's GTID state, then a request from the start of no file.
                conn.exec_drop("SET @slave_connect_state = ?", (gtid,))
                    .await
                    .map_err(mysql("GTID start"))?;
                ("", 4)
            }
        };
        let request = BinlogStreamRequest::new(server_id)
            .with_filename(file.as_bytes())
            .with_pos(pos);
        let stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(mysql("request the binlog"))?;
        Ok(BinlogSource {
            stream,
            catalog,
            file: file.to_string(),
            start: pos,
            checksummed: !checksum.eq_ignore_ascii_case("NONE"),
            gtid: None,
            standalone: false,
            ready: VecDeque::new(),
        })
    }

    /// The next change or commit; waits for the server to write one.
    pub async fn next(&mut self) -> Result<Event, SourceError> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Ok(e);
            }
            let event = match self.stream.next().await {
                Some(Err(mysql_async::Error::Server(e))) if e.code == 1236 => {
                    return Err(SourceError::Purged {
                        file: self.file.clone(),
                        pos: self.start,
                        reason: e.message,
                    });
                }
                Some(e) => e.map_err(mysql("read the binlog"))?,
                None => {
                    return Err(SourceError::Event {
                        file: self.file.clone(),
                        pos: 0,
                        reason: "the server closed the stream".into(),
                    });
                }
            };
            let header = event.header();
            let end = header.log_pos() as u64;
            let pos = end.saturating_sub(header.event_size() as u64);
            let ts_ms = header.timestamp() as i64 * 1000;
            let bad = |file: &str, reason: String| SourceError::Event {
                file: file.to_string(),
                pos,
                reason,
            };
            if header.event_type_raw() == MARIADB_GTID_EVENT {
                let data = event.data();
                if data.len() < 13 {
                    return Err(bad(&self.file, "short MariaDB GTID event".into()));
                }
                let seq = u64::from_le_bytes(data[0..8].try_into().unwrap_or_default());
                let domain = u32::from_le_bytes(data[8..12].try_into().unwrap_or_default());
                self.gtid = Some(format!("{domain}-{}-{seq}", header.server_id()));
                self.standalone = data[12] & FL_STANDALONE != 0;
                continue;
            }
            let data = event
                .read_data()
                .map_err(|e| bad(&self.file, e.to_string()))?;
            match data {
                Some(EventData::RotateEvent(r)) => {
                    // The first, artificial rotate (timestamp 0) comes before the format
                    // description, so its checksum is still stuck to the file name.
                    let raw = r.name_raw();
                    let artificial = header.timestamp() == 0;
                    let name = match raw.len().checked_sub(4) {
                        Some(n) if artificial && self.checksummed => &raw[..n],
                        _ => raw,
                    };
                    self.file = String::from_utf8_lossy(name).into_owned();
                }
                Some(EventData::GtidEvent(g)) => {
                    let sid = g.sid();
                    self.gtid = Some(format!("{}:{}", uuid_text(&sid), g.gno()));
                }
                Some(EventData::XidEvent(_)) => {
                    self.commit(end, ts_ms);
                }
                Some(EventData::HeartbeatEvent) if end > 0 && self.gtid.is_none() => {
                    self.ready.push_back(Event::Idle {
                        next: Position {
                            file: self.file.clone(),
                            pos: end,
                        },
                    });
                }
                Some(EventData::QueryEvent(q)) => {
                    // COMMIT as a query (non-transactional tables), or a standalone statement
                    // (DDL): the transaction ends here.
                    let sql = q.query();
                    if sql.eq_ignore_ascii_case("COMMIT") || self.standalone {
                        self.commit(end, ts_ms);
                    }
                }
                Some(EventData::RowsEvent(rows)) => {
                    let table_id = rows.table_id();
                    let Some(tme) = self.stream.get_tme(table_id) else {
                        return Err(bad(
                            &self.file,
                            format!("no table map for table id {table_id}"),
                        ));
                    };
                    let (db, table) = (
                        tme.database_name().into_owned(),
                        tme.table_name().into_owned(),
                    );
                    let op =
                        match &rows {
                            RowsEventData::WriteRowsEvent(_)
                            | RowsEventData::WriteRowsEventV1(_) => Op::Create,
                            RowsEventData::UpdateRowsEvent(_)
                            | RowsEventData::UpdateRowsEventV1(_)
                            | RowsEventData::PartialUpdateRowsEvent(_) => Op::Update,
                            RowsEventData::DeleteRowsEvent(_)
                            | RowsEventData::DeleteRowsEventV1(_) => Op::Delete,
                        };
                    let columns = self.catalog.columns(&db, &table);
                    for (i, images) in rows.rows(tme).enumerate() {
                        let (before, after) = images.map_err(|e| bad(&self.file, e.to_string()))?;
                        let image = |row: Option<mysql_async::binlog::row::BinlogRow>| {
                            row.map(|r| convert(r, columns)).transpose()
                        };
                        let before = image(before).map_err(|e| bad(&self.file, e))?;
                        let after = image(after).map_err(|e| bad(&self.file, e))?;
                        self.ready.push_back(Event::Change(Change {
                            op,
                            before,
                            after,
                            source: Source {
                                db: db.clone(),
                                table: table.clone(),
                                file: self.file.clone(),
                                pos,
                                row: i as u32,
                                gtid: self.gtid.clone(),
                                ts_ms,
                                server_id: header.server_id() as u64,
                                snapshot: false,
                            },
                            transaction: None,
                        }));
                    }
                }
                _ => {}
            }
        }
    }

    fn commit(&mut self, next: u64, ts_ms: i64) {
        self.ready.push_back(Event::Commit {
            next: Position {
                file: self.file.clone(),
                pos: next,
            },
            gtid: self.gtid.take(),
            ts_ms,
        });
        self.standalone = false;
    }
}

fn uuid_text(sid: &[u8; 16]) -> String {
    let h: String = sid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A row image with names (the table map's, else the catalog's) and typed values.
fn convert(
    row: mysql_async::binlog::row::BinlogRow,
    catalog: Option<&[(String, ColumnType)]>,
) -> Result<Row, String> {
    let columns = row.columns();
    let values = row.unwrap();
    let mut out = Vec::with_capacity(values.len());
    for (i, (column, value)) in columns.iter().zip(values).enumerate() {
        let logged = column.name_str();
        let from_catalog = catalog.and_then(|c| c.get(i));
        let name = if logged.starts_with('@') {
            from_catalog
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| logged.into_owned())
        } else {
            logged.into_owned()
        };
        let declared = from_catalog.filter(|(n, _)| *n == name).map(|(_, t)| t);
        let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG)
            || matches!(declared, Some(ColumnType::Integer { unsigned: true, .. }));
        let v = typed(value, column.column_type(), declared, unsigned)
            .map_err(|reason| format!("column {name}: {reason}"))?;
        out.push((name, v));
    }
    Ok(out)
}

fn typed(
    value: mysql_async::binlog::value::BinlogValue<'static>,
    wire: WireType,
    declared: Option<&ColumnType>,
    unsigned: bool,
) -> Result<Value, String> {
    use mysql_async::Value as V;
    use mysql_async::binlog::value::BinlogValue as B;
    let v = match value {
        B::Value(v) => v,
        B::Jsonb(j) => {
            let json = serde_json::Value::try_from(j).map_err(|e| e.to_string())?;
            return Ok(Value::Text(json.to_string()));
        }
        B::JsonDiff(_) => {
            return Err(
                "a partial JSON update (binlog_row_value_options=PARTIAL_JSON): turn it off".into(),
            );
        }
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok(match (v, wire) {
        (V::NULL, _) => Value::Null,
        (V::Int(i), WireType::MYSQL_TYPE_ENUM) => match declared {
            Some(ColumnType::Enum(labels)) => {
                match usize::try_from(i).ok().and_then(|i| i.checked_sub(1)) {
                    Some(k) if k < labels.len() => Value::Text(labels[k].clone()),
                    _ => Value::Text(String::new()),
                }
            }
            _ => Value::Int(i),
        },
        (V::Int(i), _) if unsigned && i < 0 => Value::UInt(i as u64),
        (V::Int(i), _) => Value::Int(i),
        (V::UInt(u), _) => match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(u),
        },
        (V::Float(f), _) => Value::Float(f as f64),
        (V::Double(f), _) => Value::Float(f),
        (V::Bytes(b), WireType::MYSQL_TYPE_NEWDECIMAL | WireType::MYSQL_TYPE_DECIMAL) => {
            let s = text(&b);
            let d = Decimal::parse(&s).ok_or_else(|| format!("{s:?} is not a decimal"))?;
            match declared {
                Some(ColumnType::Decimal { scale }) => {
                    Value::Decimal(d.rescale(*scale).unwrap_or(d))
                }
                _ => Value::Decimal(d),
            }
        }
        (V::Bytes(b), WireType::MYSQL_TYPE_TIMESTAMP2) => {
            // Seconds since the epoch, with `.ffffff` when there is a fraction.
            let s = text(&b);
            let (secs, frac) = s.split_once('.').unwrap_or((&s, ""));
            let secs: i64 = secs
                .parse()
                .map_err(|_| format!("{s:?} is not a timestamp"))?;
            let micros: i64 = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<6}")[..6].parse().unwrap_or(0)
            };
            let precision = match declared {
                Some(ColumnType::Timestamp { precision }) => *precision,
                _ => 0,
            };
            Value::DateTime {
                micros: secs * 1_000_000 + micros,
                precision,
            }
        }
        (V::Bytes(b), WireType::MYSQL_TYPE_YEAR) => {
            Value::Year(text(&b).parse().map_err(|_| "not a year".to_string())?)
        }
        (V::Bytes(b), WireType::MYSQL_TYPE_BIT) => {
            // Big-endian in the row image.
            if b.len() > 8 {
                return Err(format!("BIT of {} bytes", b.len()));
            }
            Value::Bits(b.iter().fold(0u64, |n, byte| (n << 8) | *byte as u64))
        }
        (V::Bytes(b), WireType::MYSQL_TYPE_SET) => {
            // A little-endian bitmask of the labels.
            let mask = b.iter().rev().fold(0u64, |n, byte| (n << 8) | *byte as u64);
            match declared {
                Some(ColumnType::Set(labels)) => Value::Text(
                    labels
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i < 64 && mask & (1 << i) != 0)
                        .map(|(_, l)| l.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => Value::Bits(mask),
            }
        }
        (V::Bytes(b), _) => match declared {
            Some(ColumnType::Binary) => Value::Bytes(b),
            _ => Value::Text(text(&b)),
        },
        (V::Date(y, m, d, h, i, s, us), _) => {
            let date = chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32);
            match (declared, date) {
                (Some(ColumnType::Date), Some(date)) => Value::Date(
                    (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default())
                        .num_days() as i32,
                ),
                (_, Some(date)) => {
                    let t = date
                        .and_hms_micro_opt(h as u32, i as u32, s as u32, us)
                        .ok_or("not a time of day")?;
                    let precision = match declared {
                        Some(ColumnType::DateTime { precision }) => *precision,
                        _ if us > 0 => 6,
                        _ => 0,
                    };
                    Value::DateTime {
                        micros: t.and_utc().timestamp_micros(),
                        precision,
                    }
                }
                // A zero date ('0000-00-00'): Debezium's null.
                (_, None) => Value::Null,
            }
        }
        (V::Time(negative, days, h, m, s, us), _) => {
            let micros = (((days as i64 * 24 + h as i64) * 60 + m as i64) * 60 + s as i64)
                * 1_000_000
                + us as i64;
            Value::Time(if negative { -micros } else { micros })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_other_than_row_and_full_are_refused_by_name() {
        assert!(check_settings("ROW", "FULL").is_ok());
        let e = check_settings("STATEMENT", "FULL").expect_err("statement");
        assert_eq!(
            e.to_string(),
            "binlog_format is STATEMENT; set binlog_format=ROW (SET GLOBAL binlog_format = 'ROW' and in the server's configuration)"
        );
        let e = check_settings("ROW", "MINIMAL").expect_err("minimal");
        assert!(
            e.to_string()
                .starts_with("binlog_row_image is MINIMAL; set binlog_row_image=FULL"),
            "{e}"
        );
    }
}
