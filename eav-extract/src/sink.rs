//! Where documents go: a JSONL file (or stdout), or a PostgreSQL table by COPY. A sink commits a
//! chunk and its checkpoint together, so a resumed run neither skips nor repeats a document.

use std::io::{Seek, Write};
use std::path::PathBuf;
use std::str::FromStr;

use ficus_id_map::magento::mask_password;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

use crate::checkpoint::{Checkpoint, sibling, write_json_atomic};
use crate::error::{Error, Result};

/// Where to write.
#[derive(Debug, Clone)]
pub enum SinkSpec {
    /// One JSON document per line into this file (written as `<file>.partial`, renamed when
    /// complete; checkpoint in `<file>.checkpoint.json`, manifest in `<file>.manifest.json`).
    Jsonl(PathBuf),
    /// JSON lines on stdout (no checkpoint: not resumable).
    Stdout,
    /// COPY into a PostgreSQL table `schema.table`, created if missing.
    Postgres {
        /// `postgres://…`
        dsn: String,
        /// `schema.table`.
        table: String,
    },
}

/// One document of a batch: its key and where its JSON line sits in the batch text.
#[derive(Debug, Clone)]
pub struct DocRef<'a> {
    /// Magento entity type code.
    pub entity_type: &'static str,
    /// Store code.
    pub store_code: &'a str,
    /// Legacy id.
    pub legacy_id: u32,
    /// UUID.
    pub uuid: uuid::Uuid,
    /// Byte range of the line (without newline) in the text.
    pub range: std::ops::Range<usize>,
}

/// An open sink.
#[derive(Debug)]
pub enum Sink {
    /// A JSONL file.
    File {
        /// Final path.
        path: PathBuf,
        /// The partial file.
        file: std::fs::File,
    },
    /// Standard output.
    Stdout(std::io::Stdout),
    /// PostgreSQL.
    Postgres {
        /// Connection.
        conn: Box<PgConnection>,
        /// Quoted target table.
        table: String,
        /// Quoted checkpoint table.
        checkpoints: String,
        /// The target's name, the checkpoint's key.
        target: String,
    },
}

fn out_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Output {
        path: path.display().to_string(),
        source,
    }
}

fn pg(what: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |source| Error::Pg {
        what: what.into(),
        source,
    }
}

fn quote_pg(table: &str) -> Result<(String, String)> {
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() < 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if !ok(schema) || !ok(name) {
        return Err(Error::Exists(format!(
            "'{table}' is not a table name: use schema.table in lower case letters, digits and _"
        )));
    }
    Ok((format!("\"{schema}\""), format!("\"{name}\"")))
}

impl Sink {
    /// Opens the sink. Fresh runs refuse existing output; resumed runs return the checkpoint.
    pub async fn open(spec: &SinkSpec, resume: bool) -> Result<(Sink, Option<Checkpoint>)> {
        match spec {
            SinkSpec::Stdout => {
                if resume {
                    return Err(Error::Resume(
                        "stdout output keeps no checkpoint; write to a file with --output".into(),
                    ));
                }
                Ok((Sink::Stdout(std::io::stdout()), None))
            }
            SinkSpec::Jsonl(path) => {
                let partial = sibling(path, ".partial");
                let cp_path = sibling(path, ".checkpoint.json");
                if resume {
                    let text = std::fs::read(&cp_path).map_err(|e| {
                        Error::Resume(format!("no checkpoint at {}: {e}", cp_path.display()))
                    })?;
                    let cp: Checkpoint = serde_json::from_slice(&text).map_err(|e| {
                        Error::Resume(format!("{} does not parse: {e}", cp_path.display()))
                    })?;
                    let mut file = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&partial)
                        .map_err(out_err(&partial))?;
                    let len = file.metadata().map_err(out_err(&partial))?.len();
                    if len < cp.bytes {
                        return Err(Error::Resume(format!(
                            "{} has {len} bytes but the checkpoint counts {}",
                            partial.display(),
                            cp.bytes
                        )));
                    }
                    // Drop what was written after the last checkpoint: a chunk cut short.
                    file.set_len(cp.bytes).map_err(out_err(&partial))?;
                    file.seek(std::io::SeekFrom::End(0))
                        .map_err(out_err(&partial))?;
                    return Ok((
                        Sink::File {
                            path: path.clone(),
                            file,
                        },
                        Some(cp),
                    ));
                }
                for p in [path, &partial, &cp_path] {
                    if p.exists() {
                        return Err(Error::Exists(format!(
                            "{} exists; pass --resume to continue the run that wrote it, or remove it",
                            p.display()
                        )));
                    }
                }
                let file = std::fs::File::create(&partial).map_err(out_err(&partial))?;
                Ok((
                    Sink::File {
                        path: path.clone(),
                        file,
                    },
                    None,
                ))
            }
            SinkSpec::Postgres { dsn, table } => {
                let (schema, name) = quote_pg(table)?;
                let options = PgConnectOptions::from_str(dsn).map_err(|e| {
                    Error::IdMap(ficus_id_map::Error::BadDsn {
                        dsn: mask_password(dsn),
                        reason: e.to_string(),
                    })
                })?;
                let mut conn = PgConnection::connect_with(&options)
                    .await
                    .map_err(|source| {
                        Error::IdMap(ficus_id_map::Error::PgConnect {
                            dsn: mask_password(dsn),
                            source,
                        })
                    })?;
                let target = format!("{schema}.{name}");
                let checkpoints = format!("{schema}.\"eav_extract_checkpoint\"");
                let ddl = format!(
                    "CREATE SCHEMA IF NOT EXISTS {schema};
                     CREATE TABLE IF NOT EXISTS {target} (
                        entity_type text NOT NULL,
                        store_code text NOT NULL,
                        legacy_id bigint NOT NULL,
                        uuid uuid NOT NULL,
                        document jsonb NOT NULL,
                        PRIMARY KEY (entity_type, store_code, legacy_id));
                     CREATE TABLE IF NOT EXISTS {checkpoints} (
                        target text PRIMARY KEY,
                        state jsonb NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now())"
                );
                conn.execute(sqlx::AssertSqlSafe(ddl))
                    .await
                    .map_err(pg("create target table"))?;
                let state: Option<(serde_json::Value,)> = sqlx::query_as(sqlx::AssertSqlSafe(
                    format!("SELECT state FROM {checkpoints} WHERE target = $1"),
                ))
                .bind(table)
                .fetch_optional(&mut conn)
                .await
                .map_err(pg("read checkpoint"))?;
                let checkpoint = match (resume, state) {
                    (true, Some((state,))) => Some(
                        serde_json::from_value::<Checkpoint>(state)
                            .map_err(|e| Error::Resume(format!("checkpoint of {table}: {e}")))?,
                    ),
                    (true, None) => {
                        return Err(Error::Resume(format!("no checkpoint for {table}")));
                    }
                    (false, state) => {
                        let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1) t"
                        )))
                        .fetch_one(&mut conn)
                        .await
                        .map_err(pg("check target table"))?;
                        if rows > 0 || state.is_some() {
                            return Err(Error::Exists(format!(
                                "{table} already holds an extract; pass --resume to continue it, or empty it (TRUNCATE {table}; DELETE FROM {checkpoints} WHERE target = '{table}')"
                            )));
                        }
                        None
                    }
                };
                Ok((
                    Sink::Postgres {
                        conn: Box::new(conn),
                        table: target,
                        checkpoints,
                        target: table.clone(),
                    },
                    checkpoint,
                ))
            }
        }
    }

    /// Writes a chunk's documents and then its checkpoint (durably, together).
    pub async fn write(
        &mut self,
        text: &str,
        docs: &[DocRef<'_>],
        checkpoint: &mut Checkpoint,
    ) -> Result<()> {
        match self {
            Sink::Stdout(out) => {
                let mut lock = out.lock();
                lock.write_all(text.as_bytes())
                    .and_then(|_| lock.flush())
                    .map_err(out_err(std::path::Path::new("stdout")))?;
                checkpoint.bytes += text.len() as u64;
                Ok(())
            }
            Sink::File { path, file } => {
                let partial = sibling(path, ".partial");
                file.write_all(text.as_bytes()).map_err(out_err(&partial))?;
                file.sync_data().map_err(out_err(&partial))?;
                checkpoint.bytes += text.len() as u64;
                write_json_atomic(&sibling(path, ".checkpoint.json"), checkpoint)
            }
            Sink::Postgres {
                conn,
                table,
                checkpoints,
                target,
            } => {
                let mut copy = String::with_capacity(text.len() + docs.len() * 80);
                for d in docs {
                    copy.push_str(d.entity_type);
                    copy.push('\t');
                    copy.push_str(d.store_code);
                    copy.push('\t');
                    copy.push_str(&d.legacy_id.to_string());
                    copy.push('\t');
                    copy.push_str(&d.uuid.to_string());
                    copy.push('\t');
                    // COPY text format: JSON has no raw tabs or newlines; backslashes double.
                    copy.push_str(&text[d.range.clone()].replace('\\', "\\\\"));
                    copy.push('\n');
                }
                let mut tx = conn.begin().await.map_err(pg("begin"))?;
                let mut c = tx
                    .copy_in_raw(&format!(
                        "COPY {table} (entity_type, store_code, legacy_id, uuid, document) FROM STDIN"
                    ))
                    .await
                    .map_err(pg("COPY"))?;
                c.send(copy.as_bytes()).await.map_err(pg("COPY"))?;
                c.finish().await.map_err(pg("COPY"))?;
                let state =
                    serde_json::to_value(&*checkpoint).map_err(|e| Error::Resume(e.to_string()))?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {checkpoints} (target, state) VALUES ($1, $2)
                     ON CONFLICT (target) DO UPDATE SET state = EXCLUDED.state, updated_at = now()"
                )))
                .bind(&*target)
                .bind(sqlx::types::Json(state))
                .execute(&mut *tx)
                .await
                .map_err(pg("write checkpoint"))?;
                tx.commit().await.map_err(pg("commit"))?;
                Ok(())
            }
        }
    }

    /// Completes the output: renames the JSONL file into place and writes the final manifest.
    pub async fn finish(self, checkpoint: &Checkpoint) -> Result<()> {
        match self {
            Sink::Stdout(_) => Ok(()),
            Sink::File { path, file } => {
                file.sync_all().map_err(out_err(&path))?;
                drop(file);
                write_json_atomic(&sibling(&path, ".manifest.json"), checkpoint)?;
                std::fs::rename(sibling(&path, ".partial"), &path).map_err(out_err(&path))?;
                let _ = std::fs::remove_file(sibling(&path, ".checkpoint.json"));
                Ok(())
            }
            Sink::Postgres {
                mut conn,
                checkpoints,
                target,
                ..
            } => {
                let state =
                    serde_json::to_value(checkpoint).map_err(|e| Error::Resume(e.to_string()))?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {checkpoints} SET state = $2, updated_at = now() WHERE target = $1"
                )))
                .bind(&target)
                .bind(sqlx::types::Json(state))
                .execute(&mut *conn)
                .await
                .map_err(pg("write manifest"))?;
                Ok(())
            }
        }
    }

    /// Writes the manifest of a run that has started (JSONL only: PostgreSQL keeps it in the
    /// checkpoint table), so cdc-sync can start from the snapshot while the extract runs.
    pub fn write_manifest(&self, checkpoint: &Checkpoint) -> Result<()> {
        if let Sink::File { path, .. } = self {
            write_json_atomic(&sibling(path, ".manifest.json"), checkpoint)?;
        }
        Ok(())
    }
}
