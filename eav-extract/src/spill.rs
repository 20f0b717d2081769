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

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ficus_id_map::magento::quote_ident;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

use crate::error::{Error, Result, mysql};
use crate::meta::EntityType;
use crate::pivot;

/// About how many bytes of value rows (as InnoDB stores them) go to one bucket by default. Peak
/// memory is about 8× that: 124–137 MB at 16 MiB on the `large` store (BENCHMARKS.md).
pub const DEFAULT_BUCKET_BYTES: u64 = 16 << 20;
/// At most this many bucket files are open at once.
const MAX_BUCKETS: u64 = 256;

/// Keeps reads within `--max-rows-per-second`.
#[derive(Debug)]
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
        self.rows += rows;
        if let Some(max) = self.max {
            let due = Duration::from_secs_f64(self.rows as f64 / max as f64);
            let elapsed = self.started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
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
    files: Vec<File>,
    /// The bucket in `loaded`, if any.
    current: Option<usize>,
    /// The loaded bucket's records, sorted by (entity, tag, a, b).
    loaded: Vec<Record>,
    /// The loaded bucket's file, which the records' values point into.
    data: Vec<u8>,
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
    /// `bucket_bytes` each. `progress(table, rows, value rows)` is called after each table.
    pub async fn read(
        conn: &mut Conn,
        t: &EntityType,
        after: u32,
        stores: &[u16],
        (dir, bucket_bytes): (&Path, u64),
        pace: &mut Pace,
        mut progress: impl FnMut(&str, u64, u64),
    ) -> Result<Spill> {
        let tables = t.value_tables();
        let upper = Self::buckets(conn, t, &tables, after, bucket_bytes).await?;
        let mut files = Vec::with_capacity(upper.len());
        let mut writers = Vec::with_capacity(upper.len());
        for i in 0..upper.len() {
            let path = dir.join(format!(
                ".eav-extract-spill-{}-{}-{i}",
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
            files.push(file);
        }
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
        let mut scans: Vec<(String, u8, String)> = tables
            .iter()
            .map(|table| {
                let sql = format!(
                    "SELECT entity_id, attribute_id, {store_col}, value FROM {} FORCE INDEX (PRIMARY) WHERE entity_id > {after}{store_filter}",
                    quote_ident(table),
                );
                (table.to_string(), VALUE, sql)
            })
            .collect();
        if t.code == "catalog_product" {
            scans.push((
                "catalog_product_website".into(),
                WEBSITE,
                format!("SELECT product_id, website_id, 0, NULL FROM catalog_product_website FORCE INDEX (PRIMARY) WHERE product_id > {after}"),
            ));
            scans.push((
                "catalog_category_product".into(),
                CATEGORY,
                format!("SELECT product_id, category_id, 0, COALESCE(position, 0) FROM catalog_category_product FORCE INDEX (PRIMARY) WHERE product_id > {after}"),
            ));
        }
        let mut total = 0u64;
        let mut record = Vec::with_capacity(256);
        for (table, tag, sql) in &scans {
            let table = table.as_str();
            let mut result = conn.query_iter(sql.as_str()).await.map_err(mysql(table))?;
            let mut rows = 0u64;
            while let Some(row) = result.next().await.map_err(mysql(table))? {
                let key_bytes = bytes(row.as_ref(0)).unwrap_or_default();
                let key = parse_uint(key_bytes).ok_or_else(|| bad_key(table, key_bytes))?;
                let a = bytes(row.as_ref(1))
                    .and_then(parse_uint)
                    .filter(|a| *tag != VALUE || u16::try_from(*a).is_ok())
                    .ok_or_else(|| bad_column(table, key, "attribute_id"))?;
                let b = bytes(row.as_ref(2))
                    .and_then(parse_uint)
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| bad_column(table, key, "store_id"))?;
                record.clear();
                record.extend_from_slice(&key.to_le_bytes());
                record.push(*tag);
                record.extend_from_slice(&a.to_le_bytes());
                record.extend_from_slice(&b.to_le_bytes());
                match bytes(row.as_ref(3)) {
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
                let bucket = upper.partition_point(|u| *u < key);
                writers[bucket].write_all(&record).map_err(io(dir))?;
                rows += 1;
                if rows.is_multiple_of(8192) {
                    pace.tick(8192).await;
                }
            }
            pace.tick(rows % 8192).await;
            let value_rows = if *tag == VALUE { rows } else { 0 };
            total += value_rows;
            progress(table, rows, value_rows);
        }
        for w in writers {
            w.into_inner()
                .map_err(|e| io(dir)(e.into_error()))?
                .flush()
                .map_err(io(dir))?;
        }
        Ok(Spill {
            dir: dir.to_path_buf(),
            entity: t.code.clone(),
            upper,
            files,
            current: None,
            loaded: Vec::new(),
            data: Vec::new(),
            next: 0,
            rows: total,
        })
    }

    /// Bucket bounds: as many buckets as the tables' size asks for, each an entity id range of
    /// about equal entity count.
    async fn buckets(
        conn: &mut Conn,
        t: &EntityType,
        tables: &[&str],
        after: u32,
        bucket_bytes: u64,
    ) -> Result<Vec<u32>> {
        let names: Vec<String> = tables.iter().map(|t| format!("'{t}'")).collect();
        let size: Option<u64> = if names.is_empty() {
            Some(0)
        } else {
            conn.query_first(format!(
                "SELECT CAST(COALESCE(SUM(data_length), 0) AS UNSIGNED) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ({})",
                names.join(",")
            ))
            .await
            .map_err(mysql("information_schema.tables"))?
        };
        let buckets = size
            .unwrap_or(0)
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
        while let Some(r) = self.loaded.get(self.next).copied() {
            if r.key > id {
                break;
            }
            self.next += 1;
            if r.key < id {
                continue;
            }
            let value = self.value(&r)?;
            match r.tag {
                VALUE => taken.values.push(pivot::Row {
                    // Checked to fit when spilled.
                    attr: u16::try_from(r.a).unwrap_or(u16::MAX),
                    store: r.b,
                    value,
                }),
                WEBSITE => taken.websites.push(r.a),
                _ => taken
                    .categories
                    .push((r.a, value.unwrap_or_else(|| "0".into()))),
            }
        }
        Ok(taken)
    }

    fn value(&self, r: &Record) -> Result<Option<String>> {
        if r.len == u32::MAX {
            return Ok(None);
        }
        let bytes = &self.data[r.at as usize..(r.at + r.len) as usize];
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(text.to_owned())),
            Err(_) => Err(Error::BadValue {
                table: format!("a value table of {}", self.entity),
                entity_id: u64::from(r.key),
                column: "value".into(),
                value: String::from_utf8_lossy(bytes).into_owned(),
                expected: "UTF-8 text",
            }),
        }
    }

    fn load(&mut self, bucket: usize) -> Result<()> {
        self.loaded.clear();
        self.data.clear();
        self.next = 0;
        self.current = Some(bucket);
        let corrupt = |dir: &Path, what: &str| Error::Output {
            path: format!("spill file in {}", dir.display()),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
        };
        let file = &mut self.files[bucket];
        file.seek(SeekFrom::Start(0)).map_err(io(&self.dir))?;
        file.read_to_end(&mut self.data).map_err(io(&self.dir))?;
        // The file is read: give its space back now.
        file.set_len(0).map_err(io(&self.dir))?;
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
            let start = at as u32;
            if len != u32::MAX {
                at += len as usize;
                if at > data.len() {
                    return Err(corrupt(&self.dir, "truncated value"));
                }
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
        sort(&mut self.loaded);
        Ok(())
    }
}

/// Sorts records by (entity, tag, a, b): a counting sort by entity when the bucket's ids are
/// dense enough (they usually are: a bucket is a range of consecutive entities), then each
/// entity's few records by the rest.
fn sort(rows: &mut Vec<Record>) {
    let order = |r: &Record| (r.key, r.tag, r.a, r.b);
    let (Some(lo), Some(hi)) = (
        rows.iter().map(|r| r.key).min(),
        rows.iter().map(|r| r.key).max(),
    ) else {
        return;
    };
    let span = (hi - lo) as usize + 1;
    if span > rows.len().saturating_mul(4) + 1024 {
        rows.sort_unstable_by_key(order);
        return;
    }
    // starts[k] = where entity lo + k's records begin.
    let mut starts = vec![0usize; span + 1];
    for r in rows.iter() {
        starts[(r.key - lo) as usize + 1] += 1;
    }
    for k in 1..=span {
        starts[k] += starts[k - 1];
    }
    let bounds = starts.clone();
    let mut sorted = vec![rows[0]; rows.len()];
    for r in rows.iter() {
        let k = (r.key - lo) as usize;
        sorted[starts[k]] = *r;
        starts[k] += 1;
    }
    *rows = sorted;
    for k in 0..span {
        let group = &mut rows[bounds[k]..bounds[k + 1]];
        if group.len() > 1 {
            group.sort_unstable_by_key(order);
        }
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
            sort(&mut records);
            let got: Vec<(u32, u8, u32, u16)> =
                records.iter().map(|r| (r.key, r.tag, r.a, r.b)).collect();
            proptest::prop_assert_eq!(got, want);
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
