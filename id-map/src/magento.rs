//! The legacy ids that exist in a Magento database: which table and column hold an entity's ids,
//! read in ascending chunks (keyset pagination, never OFFSET).

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

use crate::error::{Error, Result};
use crate::identity::check_entity;

/// Magento's EAV entity type codes, whose ids are `entity_id` of the type's `entity_table`.
pub const EAV_ENTITIES: &[&str] = &[
    "catalog_product",
    "catalog_category",
    "customer",
    "customer_address",
];

/// The entities `sync` and `verify` cover when none is named.
pub const DEFAULT_ENTITIES: &[&str] = &[
    "catalog_product",
    "catalog_category",
    "customer",
    "customer_address",
    "sales_order",
    "sales_order_item",
];

/// Replaces the password of a URL-shaped connection string by `***`.
pub fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// A `mysql://user:password@host:port/database` DSN of a Magento database.
#[derive(Clone)]
pub struct MagentoDsn {
    url: String,
    opts: Opts,
}

impl std::fmt::Debug for MagentoDsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl MagentoDsn {
    /// Parses a DSN; it must name a database.
    pub fn parse(url: &str) -> Result<Self> {
        let opts = Opts::from_url(url).map_err(|e| Error::BadDsn {
            dsn: mask_password(url),
            reason: e.to_string(),
        })?;
        if opts.db_name().is_none() {
            return Err(Error::BadDsn {
                dsn: mask_password(url),
                reason: "it names no database: add Magento's, e.g. mysql://user:pass@127.0.0.1:3306/magento".into(),
            });
        }
        Ok(MagentoDsn {
            url: url.to_string(),
            opts,
        })
    }

    /// The database the DSN names.
    pub fn database(&self) -> &str {
        self.opts.db_name().unwrap_or_default()
    }

    /// The DSN with the password masked.
    pub fn masked(&self) -> String {
        mask_password(&self.url)
    }

    /// The connection options (for callers that add their own, such as session settings).
    pub fn opts(&self) -> &mysql_async::Opts {
        &self.opts
    }

    /// A pool of connections to the database (connections are opened as needed).
    pub fn pool(&self) -> mysql_async::Pool {
        mysql_async::Pool::new(self.opts.clone())
    }

    /// Opens a connection; the error names the DSN with the password masked.
    pub async fn connect(&self) -> Result<Conn> {
        Conn::new(self.opts.clone())
            .await
            .map_err(|source| Error::MysqlConnect {
                dsn: self.masked(),
                source,
            })
    }
}

/// Where one entity's legacy ids live in the Magento database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdSource {
    /// The entity name (type code or table name).
    pub entity: String,
    /// The table holding the ids.
    pub table: String,
    /// The id column.
    pub column: String,
    /// Whether the table is in Adobe Commerce's staging layout (one row per version and
    /// `row_id` as key): ids then repeat and are read distinct.
    pub staged: bool,
}

fn mysql(what: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> Error {
    let what = what.into();
    move |source| Error::Mysql { what, source }
}

/// Quotes a MySQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

impl IdSource {
    /// Finds where `entity`'s ids live: an EAV type's `entity_table` (resolved through
    /// `eav_entity_type`, never assumed), or a flat table of that name with a single-column
    /// integer primary key.
    pub async fn resolve(conn: &mut Conn, entity: &str) -> Result<IdSource> {
        check_entity(entity)?;
        let database: String = conn
            .query_first("SELECT DATABASE()")
            .await
            .map_err(mysql("current database"))?
            .unwrap_or_default();
        if EAV_ENTITIES.contains(&entity) {
            let table: Option<String> = conn
                .exec_first(
                    "SELECT entity_table FROM eav_entity_type WHERE entity_type_code = ? ORDER BY entity_type_id LIMIT 1",
                    (entity,),
                )
                .await
                .map_err(mysql("eav_entity_type"))?;
            let Some(table) = table else {
                return Err(Error::UnknownEntity {
                    entity: entity.into(),
                    database,
                    hint: "; eav_entity_type has no such code: is this a Magento database?".into(),
                });
            };
            let columns = columns(conn, &table).await?;
            if columns.is_empty() {
                return Err(Error::UnknownEntity {
                    entity: entity.into(),
                    database,
                    hint: format!("; its entity_table '{table}' does not exist"),
                });
            }
            let staged = columns.iter().any(|c| c == "row_id");
            return Ok(IdSource {
                entity: entity.into(),
                table,
                column: "entity_id".into(),
                staged,
            });
        }
        let keys: Vec<(String, String)> = conn
            .exec(
                "SELECT k.COLUMN_NAME, c.DATA_TYPE FROM information_schema.KEY_COLUMN_USAGE k
                 JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA
                   AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
                 WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? AND k.CONSTRAINT_NAME = 'PRIMARY'",
                (entity,),
            )
            .await
            .map_err(mysql("information_schema"))?;
        if keys.is_empty() {
            let exists = !columns(conn, entity).await?.is_empty();
            if exists {
                return Err(Error::NoIntegerKey {
                    table: entity.into(),
                });
            }
            let hint = match entity {
                "order" | "invoice" | "creditmemo" | "shipment" => {
                    format!("; flat sales entities go by table name: sales_{entity}")
                }
                "product" | "category" => format!("; did you mean catalog_{entity}?"),
                _ => String::new(),
            };
            return Err(Error::UnknownEntity {
                entity: entity.into(),
                database,
                hint,
            });
        }
        let integer = ["tinyint", "smallint", "mediumint", "int", "bigint"];
        match keys.as_slice() {
            [(column, ty)] if integer.contains(&ty.as_str()) => Ok(IdSource {
                entity: entity.into(),
                table: entity.into(),
                column: column.clone(),
                staged: false,
            }),
            _ => Err(Error::NoIntegerKey {
                table: entity.into(),
            }),
        }
    }

    /// How many distinct ids the table holds.
    pub async fn count(&self, conn: &mut Conn) -> Result<u64> {
        let (t, c) = (quote_ident(&self.table), quote_ident(&self.column));
        let sql = if self.staged {
            format!("SELECT COUNT(DISTINCT {c}) FROM {t}")
        } else {
            format!("SELECT COUNT(*) FROM {t}")
        };
        let n: Option<u64> = conn
            .query_first(sql)
            .await
            .map_err(mysql(format!("count {}", self.table)))?;
        Ok(n.unwrap_or(0))
    }

    /// Up to `limit` ids greater than `after` (or from the start), ascending.
    pub async fn ids_after(
        &self,
        conn: &mut Conn,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<u64>> {
        let (t, c) = (quote_ident(&self.table), quote_ident(&self.column));
        let distinct = if self.staged { "DISTINCT " } else { "" };
        let after = after.map(|a| a as i128).unwrap_or(-1);
        let sql = format!("SELECT {distinct}{c} FROM {t} WHERE {c} > ? ORDER BY {c} LIMIT {limit}");
        conn.exec(sql, (after as i64,))
            .await
            .map_err(mysql(format!("ids of {}", self.table)))
    }
}

/// The columns of a table in the current database, in order; empty if it does not exist.
pub async fn columns(conn: &mut Conn, table: &str) -> Result<Vec<String>> {
    conn.exec(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (table,),
    )
    .await
    .map_err(mysql(format!("columns of {table}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_only_the_password() {
        assert_eq!(
            mask_password("mysql://root:s3cr:et@db.example:3306/magento"),
            "mysql://root:***@db.example:3306/magento"
        );
        assert_eq!(
            mask_password("postgres://u:p@h/db?x=a@b"),
            "postgres://u:***@h/db?x=a@b"
        );
        assert_eq!(
            mask_password("mysql://root@127.0.0.1/m"),
            "mysql://root@127.0.0.1/m"
        );
        assert_eq!(mask_password("not a url"), "not a url");
    }

    #[test]
    fn a_dsn_must_name_a_database() {
        let err = MagentoDsn::parse("mysql://u:secret@127.0.0.1:3306").expect_err("no db");
        let text = err.to_string();
        assert!(
            text.contains("names no database") && !text.contains("secret"),
            "{text}"
        );
        let err = MagentoDsn::parse("postgres://u:secret@h/db").expect_err("scheme");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
