//! `sync`: records every legacy id of Magento's entities in the mapping store.
//!
//! Ids are read in ascending chunks from MariaDB while the previous chunk is written to
//! PostgreSQL (two tasks, one bounded channel). Per chunk, the store is asked how many of the
//! chunk's ids it already holds:
//! - all of them: nothing to write (a re-run, or a resumed run passing over committed chunks);
//! - none: the rows are streamed in by `COPY` straight into the map (the fast, common case);
//! - some: they are `COPY`ed into a temporary table and merged with `ON CONFLICT DO NOTHING`.
//!
//! Each chunk commits on its own, so the map itself is the checkpoint: an interrupted run loses at
//! most the chunk in flight, and running `sync` again continues — without duplicating anything,
//! since both keys are unique. For the same reason the session runs with
//! `synchronous_commit = off`: a commit lost to a server crash is simply written again next run.

use std::future::Future;

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

use crate::error::{Error, Result};
use crate::identity::{Mapper, Namespace, decimal};
use crate::magento::{IdSource, MagentoDsn};
use crate::store::{Store, pg};

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The namespace of the UUIDs.
    pub namespace: Namespace,
    /// The entities, in order.
    pub entities: Vec<String>,
    /// Ids per chunk (and per transaction).
    pub chunk_size: usize,
}

/// What happened to one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityReport {
    /// The entity.
    pub entity: String,
    /// Legacy ids read from Magento.
    pub ids: u64,
    /// Mappings written by this run.
    pub inserted: u64,
}

/// Progress, reported as the run goes.
#[derive(Debug, Clone)]
pub enum SyncEvent<'a> {
    /// An entity starts; `total` ids exist in Magento.
    Start {
        /// The entity.
        entity: &'a str,
        /// Ids in Magento.
        total: u64,
    },
    /// A chunk was committed.
    Chunk {
        /// The entity.
        entity: &'a str,
        /// Ids in the chunk.
        ids: u64,
        /// Of which newly written.
        inserted: u64,
    },
    /// An entity is done.
    Done(&'a EntityReport),
}

/// Runs the sync; stops between chunks when `shutdown` completes.
pub async fn sync(
    source: &MagentoDsn,
    store: &Store,
    options: &SyncOptions,
    mut progress: impl FnMut(SyncEvent<'_>),
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<EntityReport>> {
    store.claim_namespace(options.namespace).await?;
    let mut mysql = source.connect().await?;
    let mut sources = Vec::new();
    for entity in &options.entities {
        sources.push(IdSource::resolve(&mut mysql, entity).await?);
    }
    let mut writers = [open_writer(store).await?, open_writer(store).await?];
    tokio::pin!(shutdown);
    let mut reports = Vec::new();
    let mut committed = 0u64;
    for src in sources {
        let total = src.count(&mut mysql).await?;
        progress(SyncEvent::Start {
            entity: &src.entity,
            total,
        });
        let mapper = Mapper::new(options.namespace, &src.entity)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u64>>>(2);
        let chunk = options.chunk_size.max(1);
        let reader_src = src.clone();
        let mut reader_conn = mysql;
        let reader = tokio::spawn(async move {
            let mut after = None;
            loop {
                let ids = reader_src.ids_after(&mut reader_conn, after, chunk).await;
                let last = match &ids {
                    Ok(ids) => match ids.last() {
                        Some(&id) => Some(id),
                        None => break, // the entity is done
                    },
                    Err(_) => None,
                };
                // After an error has been sent there is nothing more to read.
                match (tx.send(ids).await, last) {
                    (Ok(()), Some(id)) => after = Some(id),
                    _ => break,
                }
            }
            reader_conn
        });
        let mut report = EntityReport {
            entity: src.entity.clone(),
            ids: 0,
            inserted: 0,
        };
        loop {
            // Two chunks at a time, one per connection: PostgreSQL spends its time in index
            // insertion, which is per backend, so two backends use both cores.
            let mut batch = Vec::with_capacity(2);
            while batch.len() < 2 {
                let next = tokio::select! {
                    biased;
                    () = &mut shutdown => return Err(Error::Interrupted { committed }),
                    next = rx.recv() => next,
                };
                match next {
                    Some(ids) => batch.push(ids?),
                    None => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let [first, second] = &mut writers;
            let (a, b) = match batch.as_slice() {
                [x] => (first.write(&mapper, x).await, Ok(0)),
                [x, y] => tokio::join!(first.write(&mapper, x), second.write(&mapper, y)),
                _ => unreachable!("batches hold one or two chunks"),
            };
            for (ids, inserted) in batch.iter().zip([a?, b?]) {
                committed += inserted;
                report.ids += ids.len() as u64;
                report.inserted += inserted;
                progress(SyncEvent::Chunk {
                    entity: &src.entity,
                    ids: ids.len() as u64,
                    inserted,
                });
            }
        }
        mysql = reader.await.map_err(|e| Error::Io {
            what: "id reader task".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        progress(SyncEvent::Done(&report));
        reports.push(report);
    }
    let _ = mysql.disconnect().await;
    for w in writers {
        let _ = w.conn.close().await;
    }
    Ok(reports)
}

/// One PostgreSQL session that writes chunks.
struct Writer {
    conn: PgConnection,
    buf: Vec<u8>,
}

async fn open_writer(store: &Store) -> Result<Writer> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(pg("connect"))?
        .detach();
    conn.execute(
        "SET synchronous_commit = off;
         CREATE TEMP TABLE IF NOT EXISTS mapping_in
           (uuid uuid, entity text, legacy_id bigint, origin text) ON COMMIT DELETE ROWS",
    )
    .await
    .map_err(pg("prepare session"))?;
    Ok(Writer {
        conn,
        buf: Vec::new(),
    })
}

impl Writer {
    /// Writes one chunk of ascending ids in one transaction; returns how many were new.
    async fn write(&mut self, mapper: &Mapper, ids: &[u64]) -> Result<u64> {
        write_chunk(&mut self.conn, mapper, ids, &mut self.buf).await
    }
}

async fn write_chunk(
    conn: &mut PgConnection,
    mapper: &Mapper,
    ids: &[u64],
    buf: &mut Vec<u8>,
) -> Result<u64> {
    let entity = mapper.entity();
    let keys: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
    let (present,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM ficus_id_map.mapping WHERE entity = $1 AND legacy_id = ANY($2)",
    )
    .bind(entity)
    .bind(&keys)
    .fetch_one(&mut *conn)
    .await
    .map_err(pg(format!("count stored {entity} ids")))?;
    if present as usize == ids.len() {
        return Ok(0);
    }
    buf.clear();
    let mut uuid_text = uuid::Uuid::encode_buffer();
    let mut digits = [0u8; 20];
    for &id in ids {
        buf.extend_from_slice(
            mapper
                .uuid(id)
                .hyphenated()
                .encode_lower(&mut uuid_text)
                .as_bytes(),
        );
        buf.push(b'\t');
        buf.extend_from_slice(entity.as_bytes());
        buf.push(b'\t');
        buf.extend_from_slice(decimal(id, &mut digits));
        buf.extend_from_slice(b"\tmagento\n");
    }
    let what = || format!("write {entity} ids {}..={}", ids[0], ids[ids.len() - 1]);
    if present == 0 {
        let mut tx = conn.begin().await.map_err(pg(what()))?;
        let copied = copy(&mut tx, "ficus_id_map.mapping", buf).await;
        match copied {
            Ok(n) => {
                tx.commit().await.map_err(pg(what()))?;
                return Ok(n);
            }
            // Another writer got there first: merge instead.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await.map_err(pg(what()))?;
            }
            Err(e) => return Err(pg(what())(e)),
        }
    }
    let mut tx = conn.begin().await.map_err(pg(what()))?;
    copy(&mut tx, "mapping_in", buf).await.map_err(pg(what()))?;
    let merged = sqlx::query(
        "INSERT INTO ficus_id_map.mapping (uuid, entity, legacy_id, origin)
         SELECT uuid, entity, legacy_id, origin FROM mapping_in ON CONFLICT DO NOTHING",
    )
    .execute(&mut *tx)
    .await
    .map_err(pg(what()))?;
    tx.commit().await.map_err(pg(what()))?;
    Ok(merged.rows_affected())
}

async fn copy(conn: &mut PgConnection, table: &str, rows: &[u8]) -> Result<u64, sqlx::Error> {
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY {table} (uuid, entity, legacy_id, origin) FROM STDIN"
        ))
        .await?;
    for part in rows.chunks(1 << 20) {
        copy.send(part).await?;
    }
    copy.finish().await
}
