//! Value rows read table by table in primary-key order and regrouped by entity on the client,
//! with bounded memory.
//!
//! Reading a value table by `entity_id` range goes through its `(entity_id, attribute_id,
//! store_id)` key and then looks every row up in the clustered primary key (`value_id`): on the
//! `large` store that costs MariaDB about four times the CPU of reading the same table in
//! primary-key order (BENCHMARKS.md). So each value table is read once, in primary-key order,
//! and every row is appended to one of a few bucket files by its entity id (each bucket an
//! entity id range of about equal entity count). The documents are then built chunk by chunk as
//! before, each chunk taking its rows from the bucket that holds its range; one bucket is in
//! memory at a time. Bucket files are unlinked as soon as they are created, so nothing is left
//! behind when the run stops, however it stops.
//!
//! The tables are read by two [`Wire`] connections at once, each in the extract's snapshot
//! (`Snapshot::pair`) and each on a thread of its own writing its own bucket files, so MariaDB
//! scans on both cores while the rows are decoded; a bucket is loaded from both connections'
//! files. Where the wire reader cannot connect (TLS, a Unix socket, another auth plugin, no
//! exact snapshot position) the tables are read one after another through mysql_async.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ficus_id_map::magento::quote_ident;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

use crate::error::{Error, Result, mysql};
use crate::meta::EntityType;
use crate::pivot;
use crate::wire::{Cell, QueryError, Wire, WireError};

/// About how many bytes of value rows (as InnoDB stores them) go to one bucket by default. Peak
/// memory is about 8× that: 124–137 MB at 16 MiB on the `large` store (BENCHMARKS.md).
pub const DEFAULT_BUCKET_BYTES: u64 = 16 << 20;
/// At most this many bucket files are open at once.
const MAX_BUCKETS: u64 = 256;

/// Keeps reads within `--max-rows-per-second`.
#[derive(Debug, Clone)]
pub struct Pace {
    started: Instant,
    rows: u64,
    max: Option<u64>,
}

impl Pace {
    /// A pace of at most `max` rows per second from now; `None` or 0 means no limit.
    pub fn new(max: Option<u64>) -> Pace {
        Pace {
            started: Instant::now(),
            rows: 0,
            max: max.filter(|m| *m > 0),
        }
    }

    /// Counts `rows` read and waits while the run is ahead of its pace.
    pub async fn tick(&mut self, rows: u64) {
        if let Some(wait) = self.ahead(rows) {
            tokio::time::sleep(wait).await;
        }
    }

    /// [`Pace::tick`] for a thread of its own.
    pub fn tick_blocking(&mut self, rows: u64) {
        if let Some(wait) = self.ahead(rows) {
            std::thread::sleep(wait);
        }
    }

    /// Counts `rows`; how long to wait, if the run is ahead of its pace.
    fn ahead(&mut self, rows: u64) -> Option<Duration> {
        self.rows += rows;
        let max = self.max?;
        let due = Duration::from_secs_f64(self.rows as f64 / max as f64);
        due.checked_sub(self.started.elapsed())
            .filter(|d| !d.is_zero())
    }
}

/// What a spilled record is.
const VALUE: u8 = 0;
const WEBSITE: u8 = 1;
const CATEGORY: u8 = 2;

/// One spilled row: a value row (`a` = attribute, `b` = store), a product's website (`a` =
/// website id) or a product's category link (`a` = category id, value = position). The value
/// is `len` bytes at `at` in the loaded bucket's data; `len` is `u32::MAX` for NULL.
#[derive(Debug, Clone, Copy)]
struct Record {
    key: u32,
    a: u32,
    at: u32,
    len: u32,
    b: u16,
    tag: u8,
}

/// What one entity has in the spill.
#[derive(Debug, Default)]
pub struct Taken {
    /// Value rows, sorted by (attribute, store).
    pub values: Vec<pivot::Row>,
    /// Website ids, ascending.
    pub websites: Vec<u32>,
    /// (category id, position), ascending by category id.
    pub categories: Vec<(u32, String)>,
}

/// The value rows of one entity type (and a product's website and category links), in buckets
/// by entity id.
#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    /// The entity type's code, for errors.
    entity: String,
    /// Inclusive upper entity id of each bucket; the last is `u32::MAX`.
    upper: Vec<u32>,
    /// Each bucket's files, one per connection that wrote it.
    files: Vec<Vec<File>>,
    /// The bucket in `loaded`, if any.
    current: Option<usize>,
    /// The loaded bucket's records, sorted by (entity, tag, a, b).
    loaded: Vec<Record>,
    /// Room for sorting, kept across buckets (fresh memory every bucket costs page faults).
    scratch: (Vec<Record>, Vec<usize>),
    /// The loaded bucket's files.
    data: Vec<u8>,
    /// The loaded bucket's values, one after another; the records point into them.
    values: Vec<u8>,
    /// `values` as text, shared by the values taken; `None` when they are not all UTF-8.
    text: Option<Arc<str>>,
    /// The next record of `loaded`.
    next: usize,
    /// Value rows read from the tables.
    pub rows: u64,
}

fn io(dir: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Output {
        path: format!("spill file in {}", dir.display()),
        source,
    }
}

fn bad_key(table: &str, value: &[u8]) -> Error {
    Error::BadValue {
        table: table.into(),
        entity_id: 0,
        column: "entity_id".into(),
        value: String::from_utf8_lossy(value).into_owned(),
        expected: "an unsigned integer",
    }
}

fn bad_column(table: &str, key: u32, column: &str) -> Error {
    Error::BadValue {
        table: table.into(),
        entity_id: u64::from(key),
        column: column.into(),
        value: String::new(),
        expected: "a value of the column's type",
    }
}

fn parse_uint(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 10 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    u32::try_from(n).ok()
}

/// Appends spilled rows to the bucket files.
struct Writer {
    /// Inclusive upper entity id of each bucket.
    upper: Arc<Vec<u32>>,
    writers: Vec<BufWriter<File>>,
    /// The record being written.
    record: Vec<u8>,
    dir: PathBuf,
}

impl Writer {
    /// Spills one text-protocol row read from `table`: entity id, attribute (or website,
    /// category), store, value.
    fn row(&mut self, table: &str, tag: u8, cols: [Option<&[u8]>; 4]) -> Result<()> {
        self.row_cells(table, tag, cols.map(|c| c.map_or(Cell::Null, Cell::Bytes)))
    }

    /// Appends one record to its bucket's file.
    fn record(
        &mut self,
        table: &str,
        tag: u8,
        (key, a, b): (u32, u32, u16),
        value: Option<&[u8]>,
    ) -> Result<()> {
        let record = &mut self.record;
        record.clear();
        record.extend_from_slice(&key.to_le_bytes());
        record.push(tag);
        record.extend_from_slice(&a.to_le_bytes());
        record.extend_from_slice(&b.to_le_bytes());
        match value {
            Some(v) => {
                let len = u32::try_from(v.len())
                    .ok()
                    .filter(|l| *l != u32::MAX)
                    .ok_or_else(|| bad_column(table, key, "value"))?;
                record.extend_from_slice(&len.to_le_bytes());
                record.extend_from_slice(v);
            }
            None => record.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
        let bucket = self.upper.partition_point(|u| *u < key);
        self.writers[bucket]
            .write_all(record)
            .map_err(io(&self.dir))
    }

    /// Spills one row of either protocol: integers as integers, text as text; an integer
    /// value is printed in decimal, as the text protocol would have carried it.
    fn row_cells(&mut self, table: &str, tag: u8, cols: [Cell<'_>; 4]) -> Result<()> {
        let uint = |c: Cell<'_>| -> Option<u32> {
            match c {
                Cell::UInt(n) => u32::try_from(n).ok(),
                Cell::Int(n) => u32::try_from(n).ok(),
                Cell::Bytes(b) => parse_uint(b),
                Cell::Null => None,
            }
        };
        let key = uint(cols[0]).ok_or_else(|| match cols[0] {
            Cell::Bytes(b) => bad_key(table, b),
            _ => bad_key(table, b""),
        })?;
        let a = uint(cols[1])
            .filter(|a| tag != VALUE || u16::try_from(*a).is_ok())
            .ok_or_else(|| bad_column(table, key, "attribute_id"))?;
        let b = uint(cols[2])
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| bad_column(table, key, "store_id"))?;
        // An integer value printed in decimal, as the text protocol would have sent it.
        let mut digits = [0u8; 21];
        let value: Option<&[u8]> = match cols[3] {
            Cell::Null => None,
            Cell::Bytes(v) => Some(v),
            Cell::UInt(n) => Some(decimal(&mut digits, n, false)),
            Cell::Int(n) => Some(decimal(&mut digits, n.unsigned_abs(), n < 0)),
        };
        self.record(table, tag, (key, a, b), value)
    }
}

/// `n` (negative when `minus`) in decimal, as the text protocol prints an integer.
fn decimal(buf: &mut [u8; 21], n: u64, minus: bool) -> &[u8] {
    let mut digits = [0u8; 20];
    let digits = ficus_id_map::decimal(n, &mut digits);
    let start = buf.len() - digits.len();
    buf[start..].copy_from_slice(digits);
    if minus {
        buf[start - 1] = b'-';
        &buf[start - 1..]
    } else {
        &buf[start..]
    }
}

/// Sets its flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// One table to read.
#[derive(Debug, Clone)]
struct Scan {
    table: String,
    tag: u8,
    sql: String,
    /// InnoDB's data length of the table, to share the tables out.
    size: u64,
}

/// The reads of `t`'s value tables (and a product's website and category links).
fn scans(t: &EntityType, tables: &[&str], after: u32, stores: &[u16]) -> Vec<Scan> {
    let customer = t.code.starts_with("customer");
    let store_filter = if customer {
        String::new()
    } else {
        let mut ids: Vec<String> = vec!["0".into()];
        ids.extend(stores.iter().filter(|s| **s != 0).map(u16::to_string));
        format!(" AND store_id IN ({})", ids.join(","))
    };
    let store_col = if customer { "0" } else { "store_id" };
    // FORCE INDEX (PRIMARY): a filter must not tempt the optimiser into a secondary index,
    // which would look every row up in the primary key again.
    let mut scans: Vec<Scan> = tables
        .iter()
        .map(|table| Scan {
            table: table.to_string(),
            tag: VALUE,
            sql: format!(
                "SELECT entity_id, attribute_id, {store_col}, value FROM {} FORCE INDEX (PRIMARY) WHERE entity_id > {after}{store_filter}",
                quote_ident(table),
            ),
            size: 0,
        })
        .collect();
    if t.code == "catalog_product" {
        scans.push(Scan {
            table: "catalog_product_website".into(),
            tag: WEBSITE,
            sql: format!("SELECT product_id, website_id, 0, NULL FROM catalog_product_website FORCE INDEX (PRIMARY) WHERE product_id > {after}"),
            size: 0,
        });
        scans.push(Scan {
            table: "catalog_category_product".into(),
            tag: CATEGORY,
            sql: format!("SELECT product_id, category_id, 0, COALESCE(position, 0) FROM catalog_category_product FORCE INDEX (PRIMARY) WHERE product_id > {after}"),
            size: 0,
        });
    }
    scans
}

/// InnoDB's data length of each table scanned.
async fn table_sizes(conn: &mut Conn, scans: &[Scan]) -> Result<HashMap<String, u64>> {
    if scans.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<String> = scans.iter().map(|s| format!("'{}'", s.table)).collect();
    let rows: Vec<(String, u64)> = conn
        .query(format!(
            "SELECT table_name, CAST(COALESCE(data_length, 0) AS UNSIGNED) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ({})",
            names.join(",")
        ))
        .await
        .map_err(mysql("information_schema.tables"))?;
    Ok(rows.into_iter().collect())
}

/// What [`scan_lanes`] gives back.
struct Lanes {
    wires: Vec<Wire>,
    outs: Vec<Writer>,
    error: Option<Error>,
}

/// Reads `scans` through `wires` at once, one blocking thread per connection, each writing to
/// its own bucket files; the tables are shared out largest first, each to the least loaded
/// connection. Returns the connections and writers, and (table, tag, rows) per table read.
async fn scan_lanes(
    wires: Vec<Wire>,
    outs: Vec<Writer>,
    mut scans: Vec<Scan>,
    pace: &mut Pace,
) -> (Lanes, Vec<(String, u8, u64)>) {
    let lanes = wires.len();
    scans.sort_by_key(|s| std::cmp::Reverse(s.size));
    let mut plan: Vec<Vec<Scan>> = vec![Vec::new(); lanes];
    let mut load = vec![0u64; lanes];
    for scan in scans {
        let lane = (0..lanes).min_by_key(|l| load[*l]).unwrap_or(0);
        load[lane] += scan.size.max(1);
        plan[lane].push(scan);
    }
    // Set when this future is dropped (Ctrl-C) or a lane fails, so every lane stops.
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(stop.clone());
    let per_lane = pace.max.map(|m| m.div_ceil(lanes as u64));
    let mut handles = Vec::with_capacity(lanes);
    for ((mut wire, mut out), scans) in wires.into_iter().zip(outs).zip(plan) {
        let stop = stop.clone();
        let mut pace = Pace::new(per_lane);
        handles.push(tokio::task::spawn_blocking(move || {
            let mut read = Vec::new();
            let mut error = None;
            for scan in scans {
                let mut rows = 0u64;
                let mut counted = |rows: &mut u64| -> Result<()> {
                    *rows += 1;
                    if rows.is_multiple_of(8192) {
                        if stop.load(Ordering::Relaxed) {
                            return Err(Error::Interrupted { entities: 0 });
                        }
                        pace.tick_blocking(8192);
                    }
                    Ok(())
                };
                let four = |n: usize| {
                    if n == 4 {
                        Ok(())
                    } else {
                        Err(Error::Wire {
                            what: scan.table.clone(),
                            source: WireError::Protocol(format!("{n} columns, not 4")),
                        })
                    }
                };
                // The binary protocol where the columns allow it (MariaDB then sends integers
                // without printing them), else the text protocol (date-time values).
                let mut result = wire.query_binary::<4, _>(&scan.sql, |cells| {
                    four(cells.len())?;
                    out.row_cells(
                        &scan.table,
                        scan.tag,
                        [cells[0], cells[1], cells[2], cells[3]],
                    )?;
                    counted(&mut rows)
                });
                if let Err(QueryError::Wire(WireError::Unsupported(_))) = result {
                    result = wire.query::<4, _>(&scan.sql, |cols| {
                        four(cols.len())?;
                        out.row(&scan.table, scan.tag, [cols[0], cols[1], cols[2], cols[3]])?;
                        counted(&mut rows)
                    });
                }
                pace.tick_blocking(rows % 8192);
                match result {
                    Ok(n) => read.push((scan.table, scan.tag, n)),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        error = Some(match e {
                            QueryError::Row(e) => e,
                            QueryError::Wire(source) => Error::Wire {
                                what: scan.table,
                                source,
                            },
                        });
                        break;
                    }
                }
            }
            (wire, out, read, error)
        }));
    }
    let mut lanes_back = Lanes {
        wires: Vec::with_capacity(lanes),
        outs: Vec::with_capacity(lanes),
        error: None,
    };
    let mut read = Vec::new();
    for handle in handles {
        match handle.await {
            Ok((wire, out, rows, error)) => {
                lanes_back.wires.push(wire);
                lanes_back.outs.push(out);
                read.extend(rows);
                // The first real error, not the stops it caused in other lanes.
                match (&lanes_back.error, error) {
                    (_, None) => {}
                    (None, Some(e)) | (Some(Error::Interrupted { .. }), Some(e)) => {
                        lanes_back.error = Some(e)
                    }
                    (Some(_), Some(_)) => {}
                }
            }
            Err(e) => {
                lanes_back.error = Some(Error::Resume(format!("spill reader thread: {e}")));
            }
        }
    }
    pace.tick(read.iter().map(|r| r.2).sum()).await;
    (lanes_back, read)
}

/// The bytes of a text-protocol column, `None` for NULL.
fn bytes(v: Option<&Value>) -> Option<&[u8]> {
    match v {
        Some(Value::Bytes(b)) => Some(b),
        _ => None,
    }
}

impl Spill {
    /// Reads every value table of `t` once, for entities after `after` and for store 0 and
    /// `stores` (customer tables have no store), into buckets in directory `dir` of about
    /// `bucket_bytes` each. With `wires` (connections in `conn`'s snapshot) the tables are
    /// shared out among them and read at the same time, each on a thread of its own; without,
    /// they are read one after another through `conn`. `progress(table, rows, value rows)` is
    /// called after each table.
    pub async fn read(
        (conn, wires): (&mut Conn, &mut Vec<Wire>),
        t: &EntityType,
        after: u32,
        stores: &[u16],
        (dir, bucket_bytes): (&Path, u64),
        pace: &mut Pace,
        mut progress: impl FnMut(&str, u64, u64),
    ) -> Result<Spill> {
        let tables = t.value_tables();
        let mut scans = scans(t, &tables, after, stores);
        let sizes = table_sizes(conn, &scans).await?;
        for scan in &mut scans {
            scan.size = sizes.get(&scan.table).copied().unwrap_or(0);
        }
        let value_bytes = scans
            .iter()
            .filter(|s| s.tag == VALUE)
            .map(|s| s.size)
            .sum();
        let upper = Arc::new(Self::buckets(conn, t, value_bytes, after, bucket_bytes).await?);
        let lanes = wires.len().max(1);
        // files[bucket] holds one file per lane.
        let mut files: Vec<Vec<File>> = (0..upper.len()).map(|_| Vec::new()).collect();
        let mut outs = Vec::with_capacity(lanes);
        for lane in 0..lanes {
            let mut writers = Vec::with_capacity(upper.len());
            for (i, bucket) in files.iter_mut().enumerate() {
                let path = dir.join(format!(
                    ".eav-extract-spill-{}-{}-{lane}-{i}",
                    std::process::id(),
                    t.code
                ));
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(io(dir))?;
                std::fs::remove_file(&path).map_err(io(dir))?;
                writers.push(BufWriter::with_capacity(
                    64 << 10,
                    file.try_clone().map_err(io(dir))?,
                ));
                bucket.push(file);
            }
            outs.push(Writer {
                upper: upper.clone(),
                writers,
                record: Vec::with_capacity(256),
                dir: dir.to_path_buf(),
            });
        }
        let mut total = 0u64;
        let mut count = |table: &str, tag: u8, rows: u64| {
            let value_rows = if tag == VALUE { rows } else { 0 };
            total += value_rows;
            progress(table, rows, value_rows);
        };
        if wires.is_empty() {
            let out = &mut outs[0];
            for scan in &scans {
                let table = scan.table.as_str();
                let mut result = conn
                    .query_iter(scan.sql.as_str())
                    .await
                    .map_err(mysql(table))?;
                let mut rows = 0u64;
                while let Some(row) = result.next().await.map_err(mysql(table))? {
                    out.row(
                        table,
                        scan.tag,
                        [
                            bytes(row.as_ref(0)),
                            bytes(row.as_ref(1)),
                            bytes(row.as_ref(2)),
                            bytes(row.as_ref(3)),
                        ],
                    )?;
                    rows += 1;
                    if rows.is_multiple_of(8192) {
                        pace.tick(8192).await;
                    }
                }
                pace.tick(rows % 8192).await;
                count(table, scan.tag, rows);
            }
        } else {
            let (done, rows) = scan_lanes(std::mem::take(wires), outs, scans, pace).await;
            *wires = done.wires;
            outs = done.outs;
            for (table, tag, n) in rows {
                count(&table, tag, n);
            }
            if let Some(e) = done.error {
                return Err(e);
            }
        }
        for out in outs {
            for w in out.writers {
                w.into_inner()
                    .map_err(|e| io(dir)(e.into_error()))?
                    .flush()
                    .map_err(io(dir))?;
            }
        }
        Ok(Spill {
            dir: dir.to_path_buf(),
            entity: t.code.clone(),
            upper: Arc::unwrap_or_clone(upper),
            files,
            current: None,
            loaded: Vec::new(),
            scratch: (Vec::new(), Vec::new()),
            data: Vec::new(),
            values: Vec::new(),
            text: None,
            next: 0,
            rows: total,
        })
    }

    /// Bucket bounds: as many buckets as the tables' size asks for, each an entity id range of
    /// about equal entity count.
    async fn buckets(
        conn: &mut Conn,
        t: &EntityType,
        value_bytes: u64,
        after: u32,
        bucket_bytes: u64,
    ) -> Result<Vec<u32>> {
        let buckets = value_bytes
            .div_ceil(bucket_bytes.max(1))
            .clamp(1, MAX_BUCKETS);
        let entities: Option<u64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM {} WHERE entity_id > {after}",
                quote_ident(&t.table)
            ))
            .await
            .map_err(mysql(t.table.clone()))?;
        let per = entities.unwrap_or(0).div_ceil(buckets).max(1);
        let mut upper = Vec::new();
        let mut seen = 0u64;
        let sql = format!(
            "SELECT entity_id FROM {} WHERE entity_id > {after} ORDER BY entity_id",
            quote_ident(&t.table)
        );
        let mut result = conn.query_iter(sql).await.map_err(mysql(t.table.clone()))?;
        while let Some(row) = result.next().await.map_err(mysql(t.table.clone()))? {
            seen += 1;
            if seen.is_multiple_of(per) {
                let b = bytes(row.as_ref(0)).unwrap_or_default();
                upper.push(parse_uint(b).ok_or_else(|| bad_key(&t.table, b))?);
            }
        }
        if upper.last() != Some(&u32::MAX) {
            upper.push(u32::MAX);
        }
        Ok(upper)
    }

    /// Entity `id`'s rows. Entities must be asked for in ascending order; rows of ids skipped
    /// over are dropped (entities that are not live).
    pub fn take(&mut self, id: u32) -> Result<Taken> {
        let mut taken = Taken::default();
        loop {
            match self.current {
                Some(b) if id <= self.upper[b] => break,
                Some(b) if b + 1 >= self.upper.len() => return Ok(taken),
                Some(b) => self.load(b + 1)?,
                None => self.load(0)?,
            }
        }
        while self.loaded.get(self.next).is_some_and(|r| r.key < id) {
            self.next += 1;
        }
        let values = self.loaded[self.next.min(self.loaded.len())..]
            .iter()
            .take_while(|r| r.key == id && r.tag == VALUE)
            .count();
        taken.values.reserve_exact(values);
        while let Some(r) = self.loaded.get(self.next).copied() {
            if r.key > id {
                break;
            }
            self.next += 1;
            let value = self.value(&r)?;
            match r.tag {
                VALUE => taken.values.push(pivot::Row {
                    // Checked to fit when spilled.
                    attr: u16::try_from(r.a).unwrap_or(u16::MAX),
                    store: r.b,
                    value,
                }),
                WEBSITE => taken.websites.push(r.a),
                _ => taken.categories.push((
                    r.a,
                    value.map_or_else(|| "0".to_string(), |v| v.to_string()),
                )),
            }
        }
        Ok(taken)
    }

    fn value(&self, r: &Record) -> Result<Option<pivot::Text>> {
        if r.len == u32::MAX {
            return Ok(None);
        }
        // A value that is not UTF-8 by itself fails the bucket's check, or is not a range of
        // whole characters of it.
        match self
            .text
            .as_ref()
            .and_then(|t| pivot::Text::slice(t, r.at, r.len))
        {
            Some(text) => Ok(Some(text)),
            None => Err(self.not_utf8(r)),
        }
    }

    fn not_utf8(&self, r: &Record) -> Error {
        let bytes = self
            .values
            .get(r.at as usize..(r.at as usize).saturating_add(r.len as usize))
            .unwrap_or_default();
        Error::BadValue {
            table: format!("a value table of {}", self.entity),
            entity_id: u64::from(r.key),
            column: "value".into(),
            value: String::from_utf8_lossy(bytes).into_owned(),
            expected: "UTF-8 text",
        }
    }

    fn load(&mut self, bucket: usize) -> Result<()> {
        self.loaded.clear();
        self.data.clear();
        self.values.clear();
        self.text = None;
        self.next = 0;
        self.current = Some(bucket);
        let corrupt = |dir: &Path, what: &str| Error::Output {
            path: format!("spill file in {}", dir.display()),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
        };
        for file in &mut self.files[bucket] {
            file.seek(SeekFrom::Start(0)).map_err(io(&self.dir))?;
            file.read_to_end(&mut self.data).map_err(io(&self.dir))?;
            // The file is read: give its space back now.
            file.set_len(0).map_err(io(&self.dir))?;
        }
        if self.data.len() >= u32::MAX as usize {
            return Err(corrupt(&self.dir, "bucket over 4 GiB; use smaller buckets"));
        }
        let data = &self.data;
        let mut at = 0;
        while at < data.len() {
            let head = data
                .get(at..at + 15)
                .ok_or_else(|| corrupt(&self.dir, "truncated record"))?;
            let key = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes"));
            let tag = head[4];
            let a = u32::from_le_bytes(head[5..9].try_into().expect("4 bytes"));
            let b = u16::from_le_bytes(head[9..11].try_into().expect("2 bytes"));
            let len = u32::from_le_bytes(head[11..15].try_into().expect("4 bytes"));
            at += 15;
            // The value's offset among the bucket's values.
            let start = self.values.len() as u32;
            if len != u32::MAX {
                let value = data
                    .get(at..at + len as usize)
                    .ok_or_else(|| corrupt(&self.dir, "truncated value"))?;
                self.values.extend_from_slice(value);
                at += len as usize;
            }
            self.loaded.push(Record {
                key,
                a,
                at: start,
                len,
                b,
                tag,
            });
        }
        // One UTF-8 check for the whole bucket; a value that fails it is named when taken.
        self.text = std::str::from_utf8(&self.values).ok().map(Arc::from);
        sort(&mut self.loaded, &mut self.scratch);
        Ok(())
    }
}

/// Sorts records by (entity, tag, a, b): a counting sort by entity when the bucket's ids are
/// dense enough (they usually are: a bucket is a range of consecutive entities), then each
/// entity's few records by the rest. `scratch` is room to reuse.
fn sort(rows: &mut Vec<Record>, (sorted, starts): &mut (Vec<Record>, Vec<usize>)) {
    // (tag, a, b) packed into one integer that orders the same way.
    let rest = |r: &Record| u64::from(r.tag) << 48 | u64::from(r.a) << 16 | u64::from(r.b);
    let (Some(lo), Some(hi)) = (
        rows.iter().map(|r| r.key).min(),
        rows.iter().map(|r| r.key).max(),
    ) else {
        return;
    };
    let span = (hi - lo) as usize + 1;
    if span > rows.len().saturating_mul(4) + 1024 {
        rows.sort_unstable_by_key(|r| (r.key, rest(r)));
        return;
    }
    // starts[k] = where entity lo + k's records begin.
    starts.clear();
    starts.resize(span + 1, 0);
    for r in rows.iter() {
        starts[(r.key - lo) as usize + 1] += 1;
    }
    for k in 1..=span {
        starts[k] += starts[k - 1];
    }
    sorted.clear();
    sorted.resize(rows.len(), rows[0]);
    for r in rows.iter() {
        let k = (r.key - lo) as usize;
        sorted[starts[k]] = *r;
        starts[k] += 1;
    }
    std::mem::swap(rows, sorted);
    // Each starts[k] now is where entity lo + k's records end.
    let mut begin = 0;
    for &end in &starts[..span] {
        let group = &mut rows[begin..end];
        if group.len() > 1 {
            group.sort_unstable_by_key(rest);
        }
        begin = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: u32, tag: u8, a: u32, b: u16) -> Record {
        Record {
            key,
            a,
            at: 0,
            len: 0,
            b,
            tag,
        }
    }

    proptest::proptest! {
        #[test]
        fn sort_orders_by_entity_tag_a_b(
            rows in proptest::collection::vec((0u32..50, 0u8..3, 0u32..20, 0u16..4), 0..400),
            offset in proptest::prop_oneof![proptest::strategy::Just(0u32), 1u32..4_000_000_000],
        ) {
            // Dense ids take the counting sort; ids spread far apart the comparison sort.
            let spread = |k: u32| if offset > 1 { k.wrapping_mul(offset / 50 + 1) } else { k };
            let mut records: Vec<Record> =
                rows.iter().map(|&(k, t, a, b)| record(spread(k), t, a, b)).collect();
            let mut want: Vec<(u32, u8, u32, u16)> =
                rows.iter().map(|&(k, t, a, b)| (spread(k), t, a, b)).collect();
            want.sort();
            sort(&mut records, &mut (Vec::new(), Vec::new()));
            let got: Vec<(u32, u8, u32, u16)> =
                records.iter().map(|r| (r.key, r.tag, r.a, r.b)).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    proptest::proptest! {
        #[test]
        fn decimal_prints_as_the_text_protocol(
            n in proptest::prelude::any::<i64>(),
            u in proptest::prelude::any::<u64>(),
        ) {
            let mut buf = [0u8; 21];
            let (signed, unsigned) = (n.to_string(), u.to_string());
            proptest::prop_assert_eq!(decimal(&mut buf, n.unsigned_abs(), n < 0), signed.as_bytes());
            proptest::prop_assert_eq!(decimal(&mut buf, u, false), unsigned.as_bytes());
        }
    }

    #[test]
    fn parse_uint_takes_decimal_digits_only() {
        assert_eq!(parse_uint(b"0"), Some(0));
        assert_eq!(parse_uint(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_uint(b"4294967296"), None);
        assert_eq!(parse_uint(b""), None);
        assert_eq!(parse_uint(b"-1"), None);
        assert_eq!(parse_uint(b"12a"), None);
    }
}
