//! Multi-row INSERT batches, built as text and handed to the loader.
//!
//! Values are written as SQL literals (strings escaped for MariaDB's default `sql_mode`), so a
//! decimal goes from the generator's exact text to the column without passing through a float.

use std::collections::HashMap;
use std::fmt::Write as _;

use tokio::sync::mpsc::Sender;

/// One value of a row.
#[derive(Debug, Clone, Copy)]
pub enum V<'a> {
    /// An integer.
    I(i64),
    /// A string, quoted and escaped.
    S(&'a str),
    /// A number already formatted as SQL text (a decimal such as `19.990000`), written as is.
    Num(&'a str),
    /// NULL.
    Null,
}

/// A statement for the loader.
#[derive(Debug)]
pub struct Batch {
    /// The table it writes.
    pub table: String,
    /// The statement.
    pub sql: String,
    /// How many rows it inserts.
    pub rows: u64,
}

#[derive(Debug)]
struct TableBuf {
    sql: String,
    header_len: usize,
    /// Rows in the statement being built.
    rows: u64,
    /// Rows written to the table so far, sent or not.
    total: u64,
}

/// Collects rows per table and sends a batch whenever a table's statement is full.
#[derive(Debug)]
pub struct Writer {
    tables: HashMap<String, TableBuf>,
    ids: HashMap<String, u64>,
    tx: Sender<Batch>,
    max_bytes: usize,
}

/// The loader stopped (it failed or was interrupted), so nothing more can be written.
#[derive(Debug, Clone, Copy)]
pub struct LoaderGone;

impl Writer {
    /// A writer sending statements of at most about `max_bytes` to `tx`.
    pub fn new(tx: Sender<Batch>, max_bytes: usize) -> Self {
        Writer {
            tables: HashMap::new(),
            ids: HashMap::new(),
            tx,
            max_bytes,
        }
    }

    /// The next id of a table's counter, starting at 1 (for explicit, deterministic keys).
    pub fn next_id(&mut self, table: &str) -> u64 {
        // Look up before inserting: no String allocated per call on the hot path.
        if let Some(id) = self.ids.get_mut(table) {
            *id += 1;
            return *id;
        }
        self.ids.insert(table.to_string(), 1);
        1
    }

    /// Adds one row to `table` with the given columns.
    pub fn row(&mut self, table: &str, cols: &[&str], vals: &[V<'_>]) -> Result<(), LoaderGone> {
        debug_assert_eq!(cols.len(), vals.len(), "{table}");
        if !self.tables.contains_key(table) {
            let mut sql = String::with_capacity(self.max_bytes + 4096);
            let _ = write!(sql, "INSERT INTO `{table}` (");
            for (i, c) in cols.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                let _ = write!(sql, "`{c}`");
            }
            sql.push_str(") VALUES ");
            let header_len = sql.len();
            self.tables.insert(
                table.to_string(),
                TableBuf {
                    sql,
                    header_len,
                    rows: 0,
                    total: 0,
                },
            );
        }
        let Some(buf) = self.tables.get_mut(table) else {
            unreachable!("inserted above")
        };
        if buf.rows > 0 {
            buf.sql.push(',');
        }
        buf.sql.push('(');
        for (i, v) in vals.iter().enumerate() {
            if i > 0 {
                buf.sql.push(',');
            }
            push_value(&mut buf.sql, v);
        }
        buf.sql.push(')');
        buf.rows += 1;
        buf.total += 1;
        if buf.sql.len() >= self.max_bytes {
            self.flush_table(table)?;
        }
        Ok(())
    }

    fn flush_table(&mut self, table: &str) -> Result<(), LoaderGone> {
        let Some(buf) = self.tables.get_mut(table) else {
            return Ok(());
        };
        if buf.rows == 0 {
            return Ok(());
        }
        let mut sql = String::with_capacity(self.max_bytes + 4096);
        sql.push_str(&buf.sql[..buf.header_len]);
        let full = std::mem::replace(&mut buf.sql, sql);
        let rows = std::mem::take(&mut buf.rows);
        self.tx
            .blocking_send(Batch {
                table: table.to_string(),
                sql: full,
                rows,
            })
            .map_err(|_| LoaderGone)
    }

    /// Sends every partly filled statement; returns the rows written per table.
    pub fn finish(mut self) -> Result<HashMap<String, u64>, LoaderGone> {
        let mut names: Vec<String> = self.tables.keys().cloned().collect();
        names.sort();
        for t in &names {
            self.flush_table(t)?;
        }
        Ok(self.tables.into_iter().map(|(t, b)| (t, b.total)).collect())
    }
}

fn push_value(out: &mut String, v: &V<'_>) {
    match v {
        V::I(i) => {
            let _ = write!(out, "{i}");
        }
        V::Num(s) => out.push_str(s),
        V::Null => out.push_str("NULL"),
        V::S(s) => push_quoted(out, s),
    }
}

/// Appends `s` as a single-quoted MariaDB string literal.
pub fn push_quoted(out: &mut String, s: &str) {
    out.push('\'');
    for ch in s.chars() {
        match ch {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        let mut s = String::new();
        push_quoted(&mut s, "O'Brien\\x\nline\0");
        assert_eq!(s, r"'O\'Brien\\x\nline\0'");
    }

    #[test]
    fn batches_split_at_the_size_limit_and_count_rows() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(100);
        let mut w = Writer::new(tx, 64);
        for i in 0..10 {
            w.row("t", &["a", "b"], &[V::I(i), V::S("x")]).ok();
        }
        let counts = w.finish().ok();
        let mut rows = 0;
        let mut batches = 0;
        while let Ok(b) = rx.try_recv() {
            assert!(b.sql.starts_with("INSERT INTO `t` (`a`,`b`) VALUES ("));
            rows += b.rows;
            batches += 1;
        }
        assert_eq!(rows, 10);
        assert!(batches > 1);
        assert_eq!(counts.and_then(|c| c.get("t").copied()), Some(10));
    }
}
