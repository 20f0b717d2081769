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
//!
//! **The first load.** Into an empty map, keeping two unique B-trees up to date row by row costs
//! PostgreSQL three times what the rows themselves do (BENCHMARKS.md). So a sync that finds the
//! map empty drops the two keys, `COPY`s every chunk straight in, and builds both keys at the end,
//! in parallel, from all rows at once. Its progress is in `ficus_id_map.bulk_load`: per entity the
//! last id up to which every id is stored exactly once, moved after both chunks of a pair have
//! committed. An interrupted first load is resumed by the next `sync`: rows above that mark (a
//! chunk committed ahead of its neighbour) are deleted, reading continues after it, and the keys
//! are built when the load completes. Until then only `sync` writes to the map, and `verify`
//! refuses to run. One sync at a time holds the store (an advisory lock).

use std::future::Future;

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

use crate::error::{Error, Result};
use crate::identity::{Mapper, Namespace};
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
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(SYNC_LOCK)
        .fetch_one(&mut writers[0].conn)
        .await
        .map_err(pg("take the sync lock"))?;
    if !locked {
        return Err(Error::Busy(store.dsn().to_string()));
    }
    let mut bulk = Bulk::begin(&mut writers[0].conn, &options.entities).await?;
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
        let start = bulk.as_ref().and_then(|b| b.resume_after(&src.entity));
        let reader = tokio::spawn(async move {
            let mut after = start;
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
            // insertion and COPY parsing, which are per backend, so two backends use both cores.
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
            let fresh = bulk.is_some();
            let (a, b) = match batch.as_slice() {
                [x] => (first.write(&mapper, x, fresh).await, Ok(0)),
                [x, y] => tokio::join!(
                    first.write(&mapper, x, fresh),
                    second.write(&mapper, y, fresh)
                ),
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
            if let Some(b) = &mut bulk {
                let last = batch.iter().filter_map(|ids| ids.last()).max();
                if let Some(&last) = last {
                    b.advance(&mut first.conn, &src.entity, Some(last), false)
                        .await?;
                }
            }
        }
        mysql = reader.await.map_err(|e| Error::Io {
            what: "id reader task".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        if let Some(b) = &mut bulk {
            let last = b.resume_after(&src.entity);
            b.advance(&mut writers[0].conn, &src.entity, last, true)
                .await?;
        }
        progress(SyncEvent::Done(&report));
        reports.push(report);
    }
    if bulk.is_some() {
        let [first, second] = &mut writers;
        build_keys(&mut first.conn, &mut second.conn).await?;
    }
    let _ = mysql.disconnect().await;
    for w in writers {
        let _ = w.conn.close().await;
    }
    Ok(reports)
}

/// The advisory lock a sync holds on its store (any constant; "ficus-id" in ASCII).
const SYNC_LOCK: i64 = 0x6669_6375_732d_6964;

/// A first load in progress: per entity, the id up to which every id is stored.
#[derive(Debug)]
struct Bulk {
    marks: std::collections::HashMap<String, Option<u64>>,
}

impl Bulk {
    /// Starts a first load if the map is empty, or resumes one in progress; `None` when the map
    /// already holds rows (the ordinary, merging sync).
    async fn begin(conn: &mut PgConnection, entities: &[String]) -> Result<Option<Bulk>> {
        let what = "start the first load";
        let mut tx = conn.begin().await.map_err(pg(what))?;
        // Nothing else writes to the map while this decides.
        tx.execute("LOCK TABLE ficus_id_map.mapping IN SHARE ROW EXCLUSIVE MODE")
            .await
            .map_err(pg(what))?;
        let loading: Vec<(String, i64, bool)> =
            sqlx::query_as("SELECT entity, last_id, done FROM ficus_id_map.bulk_load")
                .fetch_all(&mut *tx)
                .await
                .map_err(pg(what))?;
        if loading.is_empty() {
            let (empty,): (bool,) =
                sqlx::query_as("SELECT NOT EXISTS (SELECT 1 FROM ficus_id_map.mapping)")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(pg(what))?;
            if !empty {
                tx.commit().await.map_err(pg(what))?;
                return Ok(None);
            }
            tx.execute(
                "ALTER TABLE ficus_id_map.mapping
                   DROP CONSTRAINT IF EXISTS mapping_pkey,
                   DROP CONSTRAINT IF EXISTS mapping_entity_legacy_id_key",
            )
            .await
            .map_err(pg(what))?;
        }
        let mut marks = std::collections::HashMap::new();
        for (entity, last_id, done) in loading {
            if !done {
                // A chunk committed ahead of its neighbour: written again from the mark.
                sqlx::query(
                    "DELETE FROM ficus_id_map.mapping WHERE entity = $1 AND legacy_id > $2",
                )
                .bind(&entity)
                .bind(last_id)
                .execute(&mut *tx)
                .await
                .map_err(pg("resume the first load"))?;
            }
            marks.insert(entity, u64::try_from(last_id).ok());
        }
        sqlx::query(
            "INSERT INTO ficus_id_map.bulk_load (entity) SELECT unnest($1::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(entities)
        .execute(&mut *tx)
        .await
        .map_err(pg(what))?;
        tx.commit().await.map_err(pg(what))?;
        for e in entities {
            marks.entry(e.clone()).or_insert(None);
        }
        Ok(Some(Bulk { marks }))
    }

    /// The id to read after: every id up to it is stored.
    fn resume_after(&self, entity: &str) -> Option<u64> {
        self.marks.get(entity).copied().flatten()
    }

    /// Records that every id of `entity` up to `last` is stored (and, if `done`, all of them).
    async fn advance(
        &mut self,
        conn: &mut PgConnection,
        entity: &str,
        last: Option<u64>,
        done: bool,
    ) -> Result<()> {
        sqlx::query("UPDATE ficus_id_map.bulk_load SET last_id = $2, done = $3 WHERE entity = $1")
            .bind(entity)
            .bind(last.map_or(-1, |id| id as i64))
            .bind(done)
            .execute(conn)
            .await
            .map_err(pg(format!("record the first load's progress ({entity})")))?;
        self.marks.insert(entity.to_string(), last);
        Ok(())
    }
}

/// Ends a first load: builds the two unique keys, one per connection at the same time, then
/// makes them the map's constraints and clears the load's progress, in one transaction.
async fn build_keys(a: &mut PgConnection, b: &mut PgConnection) -> Result<()> {
    let what = "build the map's unique keys after the first load";
    for conn in [&mut *a, &mut *b] {
        conn.execute("SET maintenance_work_mem = '256MB'")
            .await
            .map_err(pg(what))?;
    }
    let (uuids, ids) = tokio::join!(
        a.execute("CREATE UNIQUE INDEX IF NOT EXISTS mapping_pkey ON ficus_id_map.mapping (uuid)"),
        b.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS mapping_entity_legacy_id_key
               ON ficus_id_map.mapping (entity, legacy_id)"
        ),
    );
    uuids.map_err(pg(what))?;
    ids.map_err(pg(what))?;
    let mut tx = a.begin().await.map_err(pg(what))?;
    tx.execute(
        "ALTER TABLE ficus_id_map.mapping
           ADD CONSTRAINT mapping_pkey PRIMARY KEY USING INDEX mapping_pkey,
           ADD CONSTRAINT mapping_entity_legacy_id_key UNIQUE USING INDEX mapping_entity_legacy_id_key;
         DELETE FROM ficus_id_map.bulk_load",
    )
    .await
    .map_err(pg(what))?;
    tx.commit().await.map_err(pg(what))?;
    Ok(())
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
    /// Writes one chunk of ascending ids in one transaction; returns how many were new. `fresh`:
    /// none of them is stored yet (a first load), so they are copied in without looking.
    async fn write(&mut self, mapper: &Mapper, ids: &[u64], fresh: bool) -> Result<u64> {
        write_chunk(&mut self.conn, mapper, ids, fresh, &mut self.buf).await
    }
}

async fn write_chunk(
    conn: &mut PgConnection,
    mapper: &Mapper,
    ids: &[u64],
    fresh: bool,
    buf: &mut Vec<u8>,
) -> Result<u64> {
    let entity = mapper.entity();
    let present = if fresh {
        0
    } else {
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
        present
    };
    encode_binary(buf, mapper, ids);
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

/// Encodes the chunk's rows `(uuid, entity, legacy_id, 'magento')` in COPY's binary format, which
/// PostgreSQL takes in with less work than text (no UUID or integer parsing).
fn encode_binary(buf: &mut Vec<u8>, mapper: &Mapper, ids: &[u64]) {
    let entity = mapper.entity().as_bytes();
    buf.clear();
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buf.extend_from_slice(&[0; 8]); // flags, header extension length
    for &id in ids {
        buf.extend_from_slice(&4i16.to_be_bytes());
        buf.extend_from_slice(&16i32.to_be_bytes());
        buf.extend_from_slice(mapper.uuid(id).as_bytes());
        buf.extend_from_slice(&(entity.len() as i32).to_be_bytes());
        buf.extend_from_slice(entity);
        buf.extend_from_slice(&8i32.to_be_bytes());
        buf.extend_from_slice(&(id as i64).to_be_bytes());
        buf.extend_from_slice(&7i32.to_be_bytes());
        buf.extend_from_slice(b"magento");
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
}

async fn copy(conn: &mut PgConnection, table: &str, rows: &[u8]) -> Result<u64, sqlx::Error> {
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY {table} (uuid, entity, legacy_id, origin) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    for part in rows.chunks(1 << 20) {
        copy.send(part).await?;
    }
    copy.finish().await
}
