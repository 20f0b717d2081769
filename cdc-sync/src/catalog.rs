//! Column types of Magento's tables, read from `information_schema`: what Debezium's JSON
//! without schemas (`schemas.enable=false`) leaves out — a decimal's scale, which integers are
//! dates — and what the binlog leaves out (names without `binlog_row_metadata=FULL`, unsigned
//! flags, ENUM and SET labels).

use std::collections::HashMap;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

/// How a column's values are encoded, as far as decoding needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// TINYINT … BIGINT; `unsigned` as declared; `boolean` for TINYINT(1).
    Integer {
        /// UNSIGNED.
        unsigned: bool,
        /// TINYINT(1), which Debezium may send as a JSON boolean.
        boolean: bool,
    },
    /// DECIMAL(p, s).
    Decimal {
        /// `s`.
        scale: u32,
    },
    /// FLOAT, DOUBLE.
    Float,
    /// DATE.
    Date,
    /// DATETIME(p).
    DateTime {
        /// `p` (0–6).
        precision: u8,
    },
    /// TIMESTAMP(p): Debezium sends it as a zoned (UTC) string.
    Timestamp {
        /// `p` (0–6).
        precision: u8,
    },
    /// TIME(p).
    Time,
    /// YEAR.
    Year,
    /// BIT(n).
    Bit {
        /// `n`.
        length: u32,
    },
    /// ENUM: labels in declaration order (the binlog sends the 1-based index).
    Enum(Vec<String>),
    /// SET: labels by bit (the binlog sends the bitmask).
    Set(Vec<String>),
    /// BINARY, VARBINARY, BLOB: bytes (base64 in Debezium's JSON).
    Binary,
    /// CHAR, VARCHAR, TEXT, JSON and anything else sent as a string.
    Text,
}

impl ColumnType {
    /// The type of a column as `information_schema.COLUMNS` describes it.
    pub fn of(
        data_type: &str,
        column_type: &str,
        scale: Option<u64>,
        precision: Option<u64>,
    ) -> ColumnType {
        let ct = column_type.to_ascii_lowercase();
        let unsigned = ct.contains("unsigned");
        let labels = || {
            let body = column_type
                .split_once('(')
                .and_then(|(_, rest)| rest.rsplit_once(')'))
                .map_or("", |(body, _)| body);
            split_labels(body)
        };
        match data_type.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
                ColumnType::Integer {
                    unsigned,
                    boolean: ct.starts_with("tinyint(1)"),
                }
            }
            "decimal" | "numeric" => ColumnType::Decimal {
                scale: scale.unwrap_or(0) as u32,
            },
            "float" | "double" | "real" => ColumnType::Float,
            "date" => ColumnType::Date,
            "datetime" => ColumnType::DateTime {
                precision: precision.unwrap_or(0).min(6) as u8,
            },
            "timestamp" => ColumnType::Timestamp {
                precision: precision.unwrap_or(0).min(6) as u8,
            },
            "time" => ColumnType::Time,
            "year" => ColumnType::Year,
            "bit" => ColumnType::Bit {
                length: ct
                    .trim_start_matches("bit(")
                    .trim_end_matches(')')
                    .parse()
                    .unwrap_or(1),
            },
            "enum" => ColumnType::Enum(labels()),
            "set" => ColumnType::Set(labels()),
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                ColumnType::Binary
            }
            _ => ColumnType::Text,
        }
    }
}

/// `'a','b''c'` → `a`, `b'c`.
fn split_labels(body: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('\'', false) => quoted = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                current.push('\'');
                chars.next();
            }
            ('\'', true) => {
                quoted = false;
                labels.push(std::mem::take(&mut current));
            }
            (c, true) => current.push(c),
            _ => {}
        }
    }
    labels
}

/// The columns of every table, in table order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: HashMap<(String, String), Vec<(String, ColumnType)>>,
}

impl Catalog {
    /// An empty catalog (tests add tables with [`Catalog::insert`]).
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Adds (or replaces) a table's columns.
    pub fn insert(&mut self, db: &str, table: &str, columns: Vec<(String, ColumnType)>) {
        self.tables.insert((db.into(), table.into()), columns);
    }

    /// Reads every table of database `db` from `information_schema`.
    pub async fn load(conn: &mut Conn, db: &str) -> Result<Catalog, mysql_async::Error> {
        type ColumnRow = (String, String, String, String, Option<u64>, Option<u64>);
        let rows: Vec<ColumnRow> = conn
            .exec(
                "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_SCALE,
                        DATETIME_PRECISION
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?
                 ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (db,),
            )
            .await?;
        let mut catalog = Catalog::new();
        for (table, column, data_type, column_type, scale, precision) in rows {
            catalog
                .tables
                .entry((db.to_string(), table))
                .or_default()
                .push((
                    column,
                    ColumnType::of(&data_type, &column_type, scale, precision),
                ));
        }
        Ok(catalog)
    }

    /// The columns of `db.table`, in table order.
    pub fn columns(&self, db: &str, table: &str) -> Option<&[(String, ColumnType)]> {
        self.tables
            .get(&(db.to_string(), table.to_string()))
            .map(Vec::as_slice)
    }

    /// The type of one column.
    pub fn column(&self, db: &str, table: &str, column: &str) -> Option<&ColumnType> {
        self.columns(db, table)?
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_read_as_declared() {
        assert_eq!(
            ColumnType::of("decimal", "decimal(20,6)", Some(6), None),
            ColumnType::Decimal { scale: 6 }
        );
        assert_eq!(
            ColumnType::of("tinyint", "tinyint(1)", Some(0), None),
            ColumnType::Integer {
                unsigned: false,
                boolean: true
            }
        );
        assert_eq!(
            ColumnType::of("bigint", "bigint(20) unsigned", Some(0), None),
            ColumnType::Integer {
                unsigned: true,
                boolean: false
            }
        );
        assert_eq!(
            ColumnType::of("enum", "enum('a','It''s','B c')", None, None),
            ColumnType::Enum(vec!["a".into(), "It's".into(), "B c".into()])
        );
        assert_eq!(
            ColumnType::of("bit", "bit(10)", None, None),
            ColumnType::Bit { length: 10 }
        );
        assert_eq!(
            ColumnType::of("datetime", "datetime(3)", None, Some(3)),
            ColumnType::DateTime { precision: 3 }
        );
    }
}
