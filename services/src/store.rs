//! What every service's database shares: connecting, migrating, ordering changes by source
//! position, and answering lists.
//!
//! Every entity is kept in two tables: an identity table (`uuid`, `legacy_id`, the newest
//! position applied, `deleted`) and a table of views (one row per store view, or one row for
//! entities without a store dimension) holding the columns lists filter on and the document.
//! A change older than what the identity row holds is ignored, and a delete leaves a tombstone
//! that older upserts cannot pass, so replays and out-of-order retries leave the same state.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres};
use uuid::Uuid;

use ficus_id_map::magento::mask_password;

use crate::search::{self, Column, Criteria, Kind, Param, Sort, Sql};
use crate::{Applied, Error, ListError, Position};

/// What every service's database handle has, for a struct `$t { pool: PgPool }` in a module
/// with `SERVICE` and `SCHEMA`, its migrations in `$dir` (a literal, as `sqlx::migrate!` wants):
/// connecting, migrating, readiness, the pool, and a pipeline's batches, checkpoints and dead
/// letters.
macro_rules! service_database {
    ($t:ident, $dir:literal) => {
        static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!($dir);

        impl $t {
            /// Connects to the service's database (`postgres://…`); does not migrate.
            pub async fn connect(dsn: &str) -> Result<$t, Error> {
                Ok($t {
                    pool: store::connect(SERVICE, dsn).await?,
                })
            }

            /// Applies pending migrations, each in a transaction.
            pub async fn migrate(&self) -> Result<(), Error> {
                store::migrate(SERVICE, &self.pool, sqlx::migrate!($dir), SCHEMA).await
            }

            /// Whether every migration this build knows is applied.
            pub async fn migrations_current(&self) -> Result<bool, Error> {
                store::migrations_current(SERVICE, &self.pool, &MIGRATOR, SCHEMA).await
            }

            /// The pool, for callers with their own statements (tests, readiness).
            pub fn pool(&self) -> &sqlx::postgres::PgPool {
                &self.pool
            }

            /// Opens a transaction for a pipeline's batch: the writes made through it and the
            /// checkpoint given to [`Batch::commit`] land together or not at all.
            pub async fn batch(&self) -> Result<Batch<'_, $t>, Error> {
                Batch::begin(self, &self.pool, SERVICE, SCHEMA).await
            }

            /// The checkpoint `source` last committed here.
            pub async fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>, Error> {
                store::checkpoint(SERVICE, &self.pool, SCHEMA, source).await
            }

            /// The dead letters kept here (only those not replayed yet when `pending`),
            /// oldest first.
            pub async fn dead_letters(&self, pending: bool) -> Result<Vec<DeadLetter>, Error> {
                store::dead_letters(SERVICE, &self.pool, SCHEMA, pending).await
            }
        }
    };
}
pub(crate) use service_database;

/// Maps a driver error of `service` doing `what`.
pub(crate) fn db(service: &'static str, what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |cause| Error::Db {
        service,
        what,
        cause,
    }
}

/// Connects a pool to `dsn`; does not migrate.
pub(crate) async fn connect(service: &'static str, dsn: &str) -> Result<PgPool, Error> {
    let options = PgConnectOptions::from_str(dsn).map_err(|e| Error::BadDsn {
        dsn: mask_password(dsn),
        reason: e.to_string(),
    })?;
    PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(db(service, "connect"))
}

/// Applies `migrator`'s pending migrations into `schema`, each in a transaction, recording them
/// in `<schema>._sqlx_migrations`.
pub(crate) async fn migrate(
    service: &'static str,
    pool: &PgPool,
    mut migrator: Migrator,
    schema: &'static str,
) -> Result<(), Error> {
    migrator.create_schema(schema);
    migrator.dangerous_set_table_name(format!("{schema}._sqlx_migrations"));
    migrator
        .run(pool)
        .await
        .map_err(|cause| Error::Migrate { service, cause })
}

/// Whether every migration `migrator` knows is applied in `schema`.
pub(crate) async fn migrations_current(
    service: &'static str,
    pool: &PgPool,
    migrator: &Migrator,
    schema: &str,
) -> Result<bool, Error> {
    let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    let sql = format!("SELECT max(version) FROM {schema}._sqlx_migrations WHERE success");
    let applied: Option<i64> = match sqlx::query_as::<_, (Option<i64>,)>(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
    {
        Ok((v,)) => v,
        // A database never migrated has no such table: not current, not an error.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => None,
        Err(e) => return Err(db(service, "read migrations")(e)),
    };
    Ok(applied == Some(latest))
}

/// Runs a write again when it lost a race with another first write of the same entity: both
/// insert the identity row, and the loser's insert can trip the `legacy_id` key before
/// `ON CONFLICT (uuid)` sees the winner's row (a unique violation that a retry resolves, as the
/// winner has committed by then).
pub(crate) async fn retrying<T, F, Fut>(mut write: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempts = 0;
    loop {
        match write().await {
            Err(Error::Db {
                cause: sqlx::Error::Database(e),
                ..
            }) if attempts < 3 && e.code().as_deref() == Some("23505") => attempts += 1,
            done => return done,
        }
    }
}

/// One entity type's two tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ledger {
    /// The service, for errors.
    pub service: &'static str,
    /// The identity table, e.g. `catalog.product`.
    pub entity: &'static str,
    /// The views table, e.g. `catalog.product_store`.
    pub views: &'static str,
    /// The views table's column referencing the identity's uuid.
    pub key: &'static str,
    /// Tables keyed by the same column that go with the views (the documents).
    pub with: &'static [&'static str],
}

impl Ledger {
    /// Moves the entity to `at` (recording it when new, reviving it from a tombstone when `at`
    /// is newer): `true` when the caller should write its views at `at`, `false` when the entity
    /// was deleted at a position as new or newer. The identity row stays locked until the
    /// transaction ends, so concurrent writers of one entity queue.
    pub(crate) async fn advance(
        &self,
        tx: &mut PgConnection,
        uuid: Uuid,
        legacy_id: i64,
        at: Position,
    ) -> Result<bool, Error> {
        let sql = format!(
            "INSERT INTO {} AS e (uuid, legacy_id, source_file, source_offset)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (uuid) DO UPDATE SET source_file = EXCLUDED.source_file,
               source_offset = EXCLUDED.source_offset, deleted = false
             WHERE (e.source_file, e.source_offset)
                 < (EXCLUDED.source_file, EXCLUDED.source_offset)
             RETURNING true",
            self.entity
        );
        let moved: Option<(bool,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(uuid)
            .bind(legacy_id)
            .bind(at.file as i64)
            .bind(at.offset as i64)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db(self.service, "write entity"))?;
        if moved.is_some() {
            return Ok(true);
        }
        // Not moved: as new or newer already. The views decide by their own positions unless
        // the entity is a tombstone.
        let sql = format!("SELECT deleted FROM {} WHERE uuid = $1", self.entity);
        let (deleted,): (bool,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(uuid)
            .fetch_one(&mut *tx)
            .await
            .map_err(db(self.service, "read entity"))?;
        Ok(!deleted)
    }

    /// The position each entity of `legacy_ids` the service holds (or holds a tombstone of) was
    /// last written at: every view of it shows Magento as of that position.
    pub(crate) async fn positions(
        &self,
        pool: &PgPool,
        legacy_ids: &[i64],
    ) -> Result<Vec<(i64, Position)>, Error> {
        let sql = format!(
            "SELECT legacy_id, source_file, source_offset FROM {} WHERE legacy_id = ANY($1)",
            self.entity
        );
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(legacy_ids)
            .fetch_all(pool)
            .await
            .map_err(db(self.service, "read positions"))?;
        Ok(rows
            .into_iter()
            .map(|(id, file, offset)| {
                (
                    id,
                    Position {
                        file: file as u64,
                        offset: offset as u64,
                    },
                )
            })
            .collect())
    }

    /// Deletes the entity (every view) as of `at`, leaving a tombstone; a delete older than the
    /// entity's newest change is ignored.
    pub(crate) async fn remove(
        &self,
        pool: &PgPool,
        uuid: Uuid,
        legacy_id: i64,
        at: Position,
    ) -> Result<Applied, Error> {
        let mut tx = pool.begin().await.map_err(db(self.service, "begin"))?;
        let applied = self.remove_in(&mut tx, uuid, legacy_id, at).await?;
        tx.commit().await.map_err(db(self.service, "commit"))?;
        Ok(applied)
    }

    /// [`Ledger::remove`] inside the caller's transaction.
    pub(crate) async fn remove_in(
        &self,
        tx: &mut PgConnection,
        uuid: Uuid,
        legacy_id: i64,
        at: Position,
    ) -> Result<Applied, Error> {
        let (file, offset) = (at.file as i64, at.offset as i64);
        let sql = format!(
            "INSERT INTO {} AS e (uuid, legacy_id, source_file, source_offset, deleted)
             VALUES ($1, $2, $3, $4, true)
             ON CONFLICT (uuid) DO UPDATE SET deleted = true,
               source_file = EXCLUDED.source_file, source_offset = EXCLUDED.source_offset
             WHERE (e.source_file, e.source_offset)
                 < (EXCLUDED.source_file, EXCLUDED.source_offset)",
            self.entity
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid)
            .bind(legacy_id)
            .bind(file)
            .bind(offset)
            .execute(&mut *tx)
            .await
            .map_err(db(self.service, "delete entity"))?
            .rows_affected();
        if written == 1 {
            for table in std::iter::once(&self.views).chain(self.with) {
                let sql = format!("DELETE FROM {table} WHERE {} = $1", self.key);
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(uuid)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(self.service, "delete entity"))?;
            }
        }
        Ok(applied(written))
    }
}

/// Where a pipeline (cdc-sync) stands in Magento's binlog, kept in each service's own database
/// and written in the same transaction as the changes it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The binlog file (`mariadb-bin.000003`).
    pub file: String,
    /// The offset in it where the next transaction starts.
    pub offset: u64,
    /// The GTID of the last transaction applied, when the server has GTIDs.
    pub gtid: Option<String>,
}

impl Checkpoint {
    /// The position, as the write API orders changes.
    pub fn position(&self) -> Option<Position> {
        Position::from_binlog(&self.file, self.offset)
    }
}

/// Records `checkpoint` for `source` in `schema.source_checkpoint`, never moving it backwards.
pub(crate) async fn save_checkpoint(
    service: &'static str,
    tx: &mut PgConnection,
    schema: &str,
    source: &str,
    checkpoint: &Checkpoint,
) -> Result<(), Error> {
    let at = checkpoint.position().ok_or_else(|| Error::BadDocument {
        entity: "checkpoint",
        reason: format!("binlog file name {:?} has no number", checkpoint.file),
    })?;
    let sql = format!(
        "INSERT INTO {schema}.source_checkpoint AS c (source, file, file_number, position, gtid)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source) DO UPDATE SET file = EXCLUDED.file,
           file_number = EXCLUDED.file_number, position = EXCLUDED.position,
           gtid = EXCLUDED.gtid, updated_at = now()
         WHERE (c.file_number, c.position) < (EXCLUDED.file_number, EXCLUDED.position)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(source)
        .bind(&checkpoint.file)
        .bind(at.file as i64)
        .bind(at.offset as i64)
        .bind(&checkpoint.gtid)
        .execute(&mut *tx)
        .await
        .map_err(db(service, "write checkpoint"))?;
    Ok(())
}

/// The checkpoint of `source`, if it has one.
pub(crate) async fn checkpoint(
    service: &'static str,
    pool: &PgPool,
    schema: &str,
    source: &str,
) -> Result<Option<Checkpoint>, Error> {
    let sql =
        format!("SELECT file, position, gtid FROM {schema}.source_checkpoint WHERE source = $1");
    let row: Option<(String, i64, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(source)
        .fetch_optional(pool)
        .await
        .map_err(db(service, "read checkpoint"))?;
    Ok(row.map(|(file, offset, gtid)| Checkpoint {
        file,
        offset: offset as u64,
        gtid,
    }))
}

/// Binds a query's parameters, in order.
pub(crate) fn bind<'q, O>(
    mut q: sqlx::query::QueryAs<'q, Postgres, O, PgArguments>,
    sql: &'q Sql,
) -> sqlx::query::QueryAs<'q, Postgres, O, PgArguments> {
    for p in &sql.params {
        q = match p {
            Param::Text(t) => q.bind(t),
            Param::List(l) => q.bind(l),
            Param::Timestamp(t) => q.bind(t),
        };
    }
    q
}

/// A list query. The page's keys are found on the narrow rows the filters and sorts read
/// (`SELECT <keys> FROM … WHERE … ORDER BY … LIMIT …`), then each document is fetched by key,
/// so a sort over many rows never carries documents. The SQL holds only fixed column
/// expressions, attribute codes checked by [`is_code`] and `$n` parameters: every value a
/// caller sent is bound.
#[derive(Debug)]
pub(crate) struct List {
    pub service: &'static str,
    /// What the inner query selects besides the sort terms, e.g. `s.product, s.store_code`.
    pub keys: &'static str,
    /// The document, as an expression over the inner query's row `k`.
    pub document: &'static str,
    /// `FROM … WHERE …`.
    pub from: String,
    /// The `ORDER BY` terms, the tiebreak last.
    pub order: Vec<Sort>,
    /// Parameters of `from`.
    pub sql: Sql,
}

impl List {
    /// `SELECT <document> AS d, <its place> AS o FROM (<keys and sort terms> … LIMIT …) k`.
    fn page_sql(&self, limit: &str) -> String {
        let mut inner = format!("SELECT {}", self.keys);
        let mut inner_order = Vec::new();
        let mut outer_order = Vec::new();
        for (i, s) in self.order.iter().enumerate() {
            inner.push_str(&format!(", {} AS o{i}", s.expr));
            inner_order.push(format!("{} {}", s.expr, s.direction()));
            outer_order.push(format!("k.o{i} {}", s.direction()));
        }
        format!(
            "SELECT {} AS d, row_number() OVER (ORDER BY {}) AS o
             FROM ({inner} {} ORDER BY {}{limit}) k",
            self.document,
            outer_order.join(", "),
            self.from,
            inner_order.join(", "),
        )
    }

    /// The page alone, documents in order.
    fn page_only_sql(&self, limit: &str) -> String {
        format!("SELECT p.d FROM ({}) p ORDER BY p.o", self.page_sql(limit))
    }

    /// The page of documents `criteria` asks for and the total count, in one statement (one
    /// round trip; its text depends on the request's shape only, values being bound, so each
    /// connection keeps it prepared).
    /// Magento clamps a page past the last to the last: only then a second statement.
    pub(crate) async fn run(
        &self,
        pool: &PgPool,
        criteria: &Criteria,
    ) -> Result<(Vec<String>, i64), ListError> {
        let both = format!(
            "WITH t AS (SELECT count(*) AS n {})
             SELECT t.n, p.d FROM t LEFT JOIN ({}) p ON true ORDER BY p.o",
            self.from,
            self.page_sql(&criteria.asked())
        );
        let rows = bind(
            sqlx::query_as::<_, (i64, Option<String>)>(sqlx::AssertSqlSafe(both)),
            &self.sql,
        )
        .fetch_all(pool)
        .await
        .map_err(db(self.service, "list"))?;
        let total = rows.first().map(|r| r.0).unwrap_or(0);
        let docs: Vec<String> = rows.into_iter().filter_map(|r| r.1).collect();
        let clamped = criteria.limit(total);
        if !docs.is_empty() || total == 0 || clamped == criteria.asked() {
            return Ok((docs, total));
        }
        let page = bind(
            sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(self.page_only_sql(&clamped))),
            &self.sql,
        )
        .fetch_all(pool)
        .await
        .map_err(db(self.service, "list"))?;
        Ok((page.into_iter().map(|(d,)| d).collect(), total))
    }

    /// PostgreSQL's plan for a page of 20, with sequential scans made as expensive as the
    /// planner allows, so the plan shows whether an index can serve the list.
    pub(crate) async fn explain(&self, pool: &PgPool) -> Result<String, ListError> {
        let mut conn = pool.acquire().await.map_err(db(self.service, "connect"))?;
        let mut tx = conn.begin().await.map_err(db(self.service, "begin"))?;
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await
            .map_err(db(self.service, "explain"))?;
        let explain = format!("EXPLAIN {}", self.page_only_sql(" LIMIT 20"));
        let rows = bind(
            sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(explain)),
            &self.sql,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db(self.service, "explain"))?;
        Ok(rows
            .into_iter()
            .map(|(l,)| l)
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// An entity's fields kept in columns: (field, SQL expression, how it compares).
pub(crate) type Columns = &'static [(&'static str, &'static str, Kind)];

/// The column of `field` in `columns`.
pub(crate) fn column(columns: Columns, field: &str) -> Option<Column> {
    columns
        .iter()
        .find(|(name, _, _)| *name == field)
        .map(|(_, sql, kind)| Column {
            sql: (*sql).into(),
            kind: *kind,
        })
}

/// What one entity type's lists read.
#[derive(Debug)]
pub(crate) struct ListSpec {
    pub service: &'static str,
    /// The table of custom attribute codes seen, and the entity type in it.
    pub codes: (&'static str, &'static str),
    /// The alias of the rows in `from`, whose `attrs` hold the custom attributes.
    pub alias: &'static str,
    /// The entity's own columns.
    pub columns: Columns,
    /// See [`List::keys`].
    pub keys: &'static str,
    /// See [`List::document`].
    pub document: &'static str,
    /// `FROM <rows> <alias>`.
    pub from: &'static str,
    /// The key that breaks ties (never NULL).
    pub tiebreak: &'static str,
}

impl ListSpec {
    /// The list `criteria` asks for, within `wheres` (their values already in `sql`): unknown
    /// filter fields refused as Magento refuses them, custom attribute codes looked up once.
    pub(crate) async fn list(
        &self,
        pool: &PgPool,
        criteria: &Criteria,
        mut sql: Sql,
        mut wheres: Vec<String>,
    ) -> Result<List, ListError> {
        let own = |f: &str| column(self.columns, f);
        let wanted = search::other_fields(criteria, |f| own(f).is_some());
        let known = known_codes(self.service, pool, self.codes.0, self.codes.1, wanted).await?;
        let field = |f: &str| {
            own(f).or_else(|| {
                known.iter().any(|k| k == f).then(|| Column {
                    sql: format!("({}.attrs->>'{f}')", self.alias),
                    kind: Kind::Text,
                })
            })
        };
        let (conditions, mut order) =
            search::clauses(criteria, &mut sql, field).map_err(ListError::Bad)?;
        wheres.extend(conditions);
        if wheres.is_empty() {
            wheres.push("true".into());
        }
        order.push(Sort::key(self.tiebreak));
        Ok(List {
            service: self.service,
            keys: self.keys,
            document: self.document,
            from: format!("{} WHERE {}", self.from, wheres.join(" AND ")),
            order,
            sql,
        })
    }
}

/// `VACUUM (ANALYZE)` of `tables`: the planner's statistics and the visibility map, after a
/// back-fill and before autovacuum would.
pub(crate) async fn vacuum(
    service: &'static str,
    pool: &PgPool,
    tables: &[&str],
) -> Result<(), Error> {
    for table in tables {
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) {table}")))
            .execute(pool)
            .await
            .map_err(db(service, "vacuum"))?;
    }
    Ok(())
}

/// Written when the conditional write of one row wrote it, else stale.
pub(crate) fn applied(rows_written: u64) -> Applied {
    if rows_written == 1 {
        Applied::Written
    } else {
        Applied::Stale
    }
}

/// An attribute code as Magento allows them (letters, digits, underscores), so it can be
/// written into SQL as a literal.
pub(crate) fn is_code(code: &str) -> bool {
    !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Which of `codes` the service has seen as custom attributes of `entity` in `table`
/// (`code`, `entity` columns); only codes that pass [`is_code`].
pub(crate) async fn known_codes(
    service: &'static str,
    pool: &PgPool,
    table: &str,
    entity: &str,
    codes: Vec<String>,
) -> Result<Vec<String>, Error> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT code FROM {table} WHERE entity = $1 AND code = ANY($2)");
    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(entity)
        .bind(codes)
        .fetch_all(pool)
        .await
        .map_err(db(service, "read attribute codes"))?;
    Ok(rows
        .into_iter()
        .map(|(c,)| c)
        .filter(|c| is_code(c))
        .collect())
}

/// Records attribute codes of `entity` seen in a document.
pub(crate) async fn record_codes(
    service: &'static str,
    tx: &mut PgConnection,
    table: &str,
    entity: &str,
    codes: Vec<&String>,
) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO {table} (entity, code) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entity)
        .bind(codes)
        .execute(&mut *tx)
        .await
        .map_err(db(service, "record attribute codes"))?;
    Ok(())
}

/// Writes of one transaction through a service's write API (`S`: [`crate::catalog::Catalog`],
/// [`crate::customer::Customers`] or [`crate::order::Orders`], whose `batch()` opens one),
/// committed together with a pipeline's checkpoint and dead letters, or not at all.
#[derive(Debug)]
pub struct Batch<'s, S> {
    pub(crate) service: &'s S,
    inner: BatchTx,
}

/// What a [`Batch`] does whatever its service: the transaction, its dead letters and its
/// commit (`Batch` dereferences to it).
#[derive(Debug)]
pub struct BatchTx {
    pub(crate) tx: sqlx::Transaction<'static, Postgres>,
    name: &'static str,
    schema: &'static str,
}

impl<S> std::ops::Deref for Batch<'_, S> {
    type Target = BatchTx;
    fn deref(&self) -> &BatchTx {
        &self.inner
    }
}

impl<S> std::ops::DerefMut for Batch<'_, S> {
    fn deref_mut(&mut self) -> &mut BatchTx {
        &mut self.inner
    }
}

/// A change a pipeline could not apply, kept in the entity's service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id in the service's `dead_letter` table.
    pub id: i64,
    /// The pipeline (its checkpoints' name).
    pub source: String,
    /// The entity type (`product`, `category`, `customer`, `order`).
    pub kind: String,
    /// The entity's Magento id.
    pub legacy_id: i64,
    /// Where in the binlog the change was read (the batch's checkpoint).
    pub file: String,
    /// The offset in that file.
    pub position: i64,
    /// Why it could not be applied.
    pub error: String,
    /// When it was recorded (RFC 3339, UTC).
    pub created_at: String,
    /// When `dlq replay` applied it, if it has.
    pub replayed_at: Option<String>,
}

impl<'s, S> Batch<'s, S> {
    pub(crate) async fn begin(
        service: &'s S,
        pool: &PgPool,
        name: &'static str,
        schema: &'static str,
    ) -> Result<Batch<'s, S>, Error> {
        Ok(Batch {
            service,
            inner: BatchTx {
                tx: pool.begin().await.map_err(db(name, "begin"))?,
                name,
                schema,
            },
        })
    }

    /// Records `checkpoint` for `source` (never backwards) and commits everything.
    pub async fn commit(self, source: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        self.inner.commit(source, checkpoint).await
    }

    /// Commits everything, the checkpoint left as it is (a replay).
    pub async fn finish(self) -> Result<(), Error> {
        self.inner.finish().await
    }
}

impl BatchTx {
    /// Keeps a change of `kind` entity `legacy_id` that could not be applied, read at
    /// `checkpoint`, with `error`.
    pub async fn dead_letter(
        &mut self,
        source: &str,
        kind: &str,
        legacy_id: i64,
        checkpoint: &Checkpoint,
        error: &str,
    ) -> Result<(), Error> {
        let sql = format!(
            "INSERT INTO {}.dead_letter (source, kind, legacy_id, file, position, error)
             VALUES ($1, $2, $3, $4, $5, $6)",
            self.schema
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source)
            .bind(kind)
            .bind(legacy_id)
            .bind(&checkpoint.file)
            .bind(checkpoint.offset as i64)
            .bind(error)
            .execute(&mut *self.tx)
            .await
            .map_err(db(self.name, "write dead letter"))?;
        Ok(())
    }

    /// Marks dead letter `id` replayed.
    pub async fn replayed(&mut self, id: i64) -> Result<(), Error> {
        let sql = format!(
            "UPDATE {}.dead_letter SET replayed_at = now() WHERE id = $1",
            self.schema
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db(self.name, "mark dead letter"))?;
        Ok(())
    }

    /// Records `checkpoint` for `source` (never backwards) and commits everything.
    pub async fn commit(mut self, source: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        save_checkpoint(self.name, &mut self.tx, self.schema, source, checkpoint).await?;
        self.finish().await
    }

    /// Commits everything, the checkpoint left as it is (a replay).
    pub async fn finish(self) -> Result<(), Error> {
        self.tx.commit().await.map_err(db(self.name, "commit"))
    }
}

/// The dead letters of `schema`, oldest first (only those not replayed when `pending`).
pub(crate) async fn dead_letters(
    service: &'static str,
    pool: &PgPool,
    schema: &str,
    pending: bool,
) -> Result<Vec<DeadLetter>, Error> {
    let sql = format!(
        "SELECT id, source, kind, legacy_id, file, position, error,
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                to_char(replayed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         FROM {schema}.dead_letter {} ORDER BY id",
        if pending {
            "WHERE replayed_at IS NULL"
        } else {
            ""
        }
    );
    type Row = (
        i64,
        String,
        String,
        i64,
        String,
        i64,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(db(service, "read dead letters"))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, source, kind, legacy_id, file, position, error, created_at, replayed_at)| {
                DeadLetter {
                    id,
                    source,
                    kind,
                    legacy_id,
                    file,
                    position,
                    error,
                    created_at,
                    replayed_at,
                }
            },
        )
        .collect())
}
