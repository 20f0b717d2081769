//! The pipeline from the binlog to the services: read whole transactions, note the entities they
//! touch, and every so often (a batch: enough changes, or a short wait) read those entities again
//! from Magento and write their documents through each service's write API — in one
//! PostgreSQL transaction per service, together with the position reached. A restart continues
//! from the oldest position the services hold; replaying changes already applied writes nothing
//! (the write API ignores documents not newer than what it holds).
//!
//! Reading an entity again after its transaction's commit means a document is never half a
//! save. What is read may be newer than the position it is written at; the changes that made it
//! newer follow in the binlog and are applied in turn, so once caught up every document is
//! Magento's current one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ficus_eav_extract::Kind;
use ficus_eav_extract::lookup::{Lookup, SnapshotReads};
use ficus_id_map::magento::MagentoDsn;
use ficus_id_map::{Mapper, Namespace};
use ficus_services::catalog::Catalog;
use ficus_services::customer::Customers;
use ficus_services::order::Orders;
use ficus_services::{Batch as ServiceBatch, BatchTx, Checkpoint, DeadLetter, Position as At};

use crate::binlog::{BinlogSource, Event, Position, SourceError};
use crate::catalog::Catalog as Columns;
use crate::kafka::{KafkaBatch, KafkaOptions, KafkaSource, KafkaSourceError};
use crate::transform::{Entity, Touch, touched};

/// The services cdc-sync writes to; a service left out is not kept in sync.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Products and categories.
    pub catalog: Option<Catalog>,
    /// Customers.
    pub customers: Option<Customers>,
    /// Orders.
    pub orders: Option<Orders>,
}

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Magento's database.
    pub source: MagentoDsn,
    /// The replica id cdc-sync registers with (unique among the server's replicas).
    pub server_id: u32,
    /// The name the checkpoints are kept under in each service's database.
    pub name: String,
    /// Where to start when no service holds a checkpoint yet (eav-extract's snapshot position).
    pub start: Option<Position>,
    /// Or: after this MariaDB GTID position (when `start` is `None`).
    pub start_gtid: Option<String>,
    /// id-map's namespace (the back-fill's).
    pub namespace: Namespace,
    /// Also keep the admin store's product and category documents (the back-fill's
    /// `--admin`), which Magento's `/rest/all/V1/…` answers from.
    pub admin: bool,
    /// Entities touched before a batch is applied.
    pub batch_entities: usize,
    /// The longest a committed change waits before its batch is applied.
    pub max_wait: Duration,
    /// PostgreSQL transactions per service a batch is written through at once (at least 1).
    pub lanes: usize,
}

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The binlog.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Reading an entity from Magento.
    #[error(transparent)]
    Magento(#[from] ficus_eav_extract::Error),
    /// A service's database.
    #[error(transparent)]
    Service(#[from] ficus_services::Error),
    /// No position to start from.
    #[error(
        "no service holds a checkpoint of {0:?} and no start position was given: pass eav-extract's manifest (--from-manifest) or a binlog position (--from)"
    )]
    NoStart(String),
    /// The server writes no binlog.
    #[error("the Magento server writes no binlog (log_bin is off)")]
    NoBinlog,
    /// id-map.
    #[error(transparent)]
    IdMap(#[from] ficus_id_map::Error),
    /// The Kafka source.
    #[error(transparent)]
    Kafka(#[from] KafkaSourceError),
    /// Reading the table catalog.
    #[error("reading information_schema: {0}")]
    Catalog(mysql_async::Error),
    /// A batch's reading or one of its writing lanes stopped, the other's error aside.
    #[error("a batch stopped before every piece of it was written")]
    Stopped,
    /// A position the write API cannot order.
    #[error("binlog file name {0:?} has no number")]
    BadFile(String),
}

impl PipelineError {
    /// Whether the entity itself cannot be applied (a value that does not parse, a document
    /// the write API refuses): it becomes a dead letter and the pipeline goes on.
    pub fn is_poison(&self) -> bool {
        matches!(
            self,
            PipelineError::Magento(ficus_eav_extract::Error::BadValue { .. })
                | PipelineError::Service(ficus_services::Error::BadDocument { .. })
        )
    }

    /// Whether running again later may succeed — a database down, restarting, or refusing
    /// connections for a while — rather than needing the operator (wrong credentials or
    /// database, settings, no start position, a purged binlog).
    pub fn is_transient(&self) -> bool {
        match self {
            PipelineError::Source(SourceError::Connect(ficus_id_map::Error::MysqlConnect {
                source,
                ..
            }))
            | PipelineError::Source(SourceError::Mysql { source, .. })
            | PipelineError::Catalog(source) => mysql_transient(source),
            PipelineError::Magento(ficus_eav_extract::Error::Mysql { source, .. })
            | PipelineError::Magento(ficus_eav_extract::Error::IdMap(
                ficus_id_map::Error::MysqlConnect { source, .. },
            )) => mysql_transient(source),
            PipelineError::Service(ficus_services::Error::Db { cause, .. })
            | PipelineError::Service(ficus_services::Error::Migrate {
                cause: sqlx::migrate::MigrateError::Execute(cause),
                ..
            }) => pg_transient(cause),
            // Records deleted before they were read need the operator (a new back-fill).
            PipelineError::Kafka(KafkaSourceError::RecordsLost(_)) => false,
            // A broker down or a group rebalancing.
            PipelineError::Kafka(_) => true,
            _ => false,
        }
    }
}

/// MariaDB: the connection failed or broke; not access denied (1044, 1045), an unknown
/// database (1049) or a binlog the server no longer has (1236).
fn mysql_transient(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Server(s) => !matches!(s.code, 1044 | 1045 | 1049 | 1236),
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => true,
        _ => false,
    }
}

/// PostgreSQL: the connection failed, broke or was refused for now (connection exceptions,
/// shutdown, "not accepting connections", serialization and deadlock retries); not a wrong
/// password (28P01) or an unknown database (3D000).
fn pg_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08")
                || c.starts_with("57P")
                || matches!(c.as_ref(), "55000" | "40001" | "40P01" | "53300")
        }),
        _ => false,
    }
}

/// What one applied batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Transactions read.
    pub transactions: u64,
    /// Row changes of Magento's database read.
    pub changes: u64,
    /// Entities read again and written (or deleted).
    pub entities: u64,
    /// Entities touched but not read again: the service already held them as of a position past
    /// every change of theirs in the batch (the same save seen again on another table's topic,
    /// or a replay).
    pub skipped: u64,
    /// Where the services now stand.
    pub checkpoint: Option<Checkpoint>,
    /// The commit time of the batch's last transaction (ms since the epoch; whole seconds).
    pub source_ts_ms: i64,
    /// Entities that could not be applied, kept as dead letters.
    pub dead_letters: u64,
    /// Row changes read, by table.
    pub tables: std::collections::BTreeMap<String, u64>,
    /// How long reading the entities again and writing them took.
    pub apply_seconds: f64,
}

/// The oldest checkpoint `name` holds among `targets` (where to continue), `None` when one of
/// them has none.
pub async fn resume_point(
    targets: &Targets,
    name: &str,
) -> Result<Option<Checkpoint>, PipelineError> {
    let mut points = Vec::new();
    if let Some(c) = &targets.catalog {
        points.push(c.checkpoint(name).await?);
    }
    if let Some(c) = &targets.customers {
        points.push(c.checkpoint(name).await?);
    }
    if let Some(o) = &targets.orders {
        points.push(o.checkpoint(name).await?);
    }
    if points.iter().any(Option::is_none) {
        return Ok(None);
    }
    Ok(points
        .into_iter()
        .flatten()
        .min_by_key(|c| c.position().map(|p| (p.file, p.offset))))
}

/// Runs until `shutdown` completes (then applies what is committed and returns) or an error;
/// `progress` sees every applied batch.
pub async fn run(
    options: &Options,
    targets: &Targets,
    mut progress: impl FnMut(&Applied),
    shutdown: impl Future<Output = ()>,
) -> Result<(), PipelineError> {
    let from = match resume_point(targets, &options.name).await? {
        Some(c) => Some(Position {
            file: c.file,
            pos: c.offset,
        }),
        None => options.start.clone(),
    };
    if from.is_none() && options.start_gtid.is_none() {
        return Err(PipelineError::NoStart(options.name.clone()));
    }
    let lookup = Lookup::open(options.source.clone(), options.namespace).await?;
    let db = options.source.database().to_string();
    let columns = {
        let mut conn = options.source.connect().await.map_err(SourceError::from)?;
        let c = Columns::load(&mut conn, &db)
            .await
            .map_err(PipelineError::Catalog)?;
        drop(conn);
        c
    };
    let mut source = match (&from, &options.start_gtid) {
        (Some(from), _) => {
            BinlogSource::open(&options.source, options.server_id, from, columns).await?
        }
        (None, Some(gtid)) => {
            BinlogSource::open_after_gtid(&options.source, options.server_id, gtid, columns).await?
        }
        (None, None) => unreachable!("checked above"),
    };
    let writer = Writer::new(&lookup, targets, options)?;
    tokio::pin!(shutdown);
    // Touches of the transaction being read, and of the committed ones not applied yet.
    let mut reading: BTreeSet<Touch> = BTreeSet::new();
    let mut reading_at: HashMap<Touch, At> = HashMap::new();
    let mut batch = Batch::default();
    let mut stopping = false;
    // The end of the binlog last recorded while idle (recorded once, not every heartbeat).
    let mut idle_at: Option<Position> = None;
    while !stopping {
        let wait = match batch.first_commit {
            Some(t) => options.max_wait.saturating_sub(t.elapsed()),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            biased;
            () = &mut shutdown => stopping = true,
            event = tokio::time::timeout(wait, source.next()) => match event {
                Err(_) => {}
                Ok(event) => match event? {
                    Event::Change(c) => {
                        if c.source.db == db {
                            batch.changes += 1;
                            *batch.tables.entry(c.source.table.clone()).or_default() += 1;
                            let staged = |t: &str| match t {
                                "catalog_product" => lookup.staged(Kind::Product),
                                _ => lookup.staged(Kind::Category),
                            };
                            let at = At::from_binlog(&c.source.file, c.source.pos);
                            for t in touched(&c, staged) {
                                if let Some(at) = at {
                                    note(&mut reading_at, t, at);
                                }
                                reading.insert(t);
                            }
                        }
                        continue;
                    }
                    Event::Idle { next } => {
                        // Nothing more for now: record how far the binlog has been read, once.
                        if batch.checkpoint.is_none() && reading.is_empty() && idle_at.as_ref() != Some(&next) {
                            idle_at = Some(next.clone());
                            batch.checkpoint = Some(Checkpoint {
                                file: next.file,
                                offset: next.pos,
                                gtid: None,
                            });
                        } else {
                            continue;
                        }
                    }
                    Event::Commit { next, gtid, ts_ms } => {
                        batch.transactions += 1;
                        batch.source_ts_ms = ts_ms;
                        batch.touched.append(&mut reading);
                        for (t, at) in reading_at.drain() {
                            note(&mut batch.latest, t, at);
                        }
                        batch.first_commit.get_or_insert_with(Instant::now);
                        batch.checkpoint = Some(Checkpoint {
                            file: next.file,
                            offset: next.pos,
                            gtid,
                        });
                        if batch.touched.len() < options.batch_entities
                            && batch.first_commit.is_some_and(|t| t.elapsed() < options.max_wait)
                        {
                            continue;
                        }
                    }
                },
            },
        }
        if batch.checkpoint.is_some() {
            let applied = writer.apply(std::mem::take(&mut batch)).await?;
            progress(&applied);
        }
    }
    Ok(())
}

/// Committed transactions not applied yet.
#[derive(Debug, Default)]
struct Batch {
    touched: BTreeSet<Touch>,
    /// The position of the newest change of each touch (a touch without one is always read).
    latest: HashMap<Touch, At>,
    /// Entities of events that could not be decoded, with why: read again from Magento with the
    /// rest and kept as dead letters.
    noted: Vec<(Touch, String)>,
    transactions: u64,
    changes: u64,
    tables: std::collections::BTreeMap<String, u64>,
    first_commit: Option<Instant>,
    checkpoint: Option<Checkpoint>,
    source_ts_ms: i64,
}

/// Keeps the newer of `at` and what `latest` holds for `touch`.
fn note(latest: &mut HashMap<Touch, At>, touch: Touch, at: At) {
    latest
        .entry(touch)
        .and_modify(|held| *held = (*held).max(at))
        .or_insert(at);
}

/// Moves `reached` (position, file name) past the event at `at` in binlog file `file`, when
/// that is further: a snapshot position beyond an event is past its transaction's end.
fn pass(reached: &mut Option<(At, String)>, at: At, file: &str) {
    let past = At {
        file: at.file,
        offset: at.offset + 1,
    };
    if reached.as_ref().is_none_or(|(r, _)| *r < past) {
        *reached = Some((past, file.to_string()));
    }
}

/// The entities of `touches` with the position of each one's newest change, when every touch
/// names its entity (no staged version or address to resolve in a snapshot).
fn direct_entities(
    touches: &BTreeSet<Touch>,
    latest: &HashMap<Touch, At>,
) -> Option<BTreeMap<Entity, Option<At>>> {
    touches
        .iter()
        .map(|t| match t {
            Touch::Entity(e) => Some((*e, latest.get(t).copied())),
            _ => None,
        })
        .collect()
}

/// Reads entities again and writes them to their services.
struct Writer<'a> {
    lookup: &'a Lookup,
    targets: &'a Targets,
    name: &'a str,
    stores: Vec<String>,
    mappers: [Mapper; 4],
    lanes: usize,
    /// When a batch that writes nothing last recorded its position, where the position is not
    /// the resume point (the Kafka source); `None`: every batch records it.
    skips_recorded: Option<std::sync::Mutex<Instant>>,
}

impl<'a> Writer<'a> {
    fn new(
        lookup: &'a Lookup,
        targets: &'a Targets,
        options: &'a Options,
    ) -> Result<Writer<'a>, PipelineError> {
        let mapper = |kind: Kind| Mapper::new(options.namespace, kind.type_code());
        Ok(Writer {
            lookup,
            targets,
            name: &options.name,
            stores: lookup
                .store_codes()
                .into_iter()
                .filter(|code| options.admin || *code != "admin")
                .map(String::from)
                .collect(),
            mappers: [
                mapper(Kind::Product)?,
                mapper(Kind::Category)?,
                mapper(Kind::Customer)?,
                mapper(Kind::Order)?,
            ],
            lanes: options.lanes,
            skips_recorded: None,
        })
    }

    /// The entities behind `touches` (staged versions and addresses resolved), each with the
    /// position of its newest change when every touch of it has one.
    async fn entities(
        &self,
        reads: &mut SnapshotReads<'_>,
        touches: &BTreeSet<Touch>,
        latest: &HashMap<Touch, At>,
    ) -> Result<BTreeMap<Entity, Option<At>>, PipelineError> {
        let mut out = BTreeMap::new();
        for t in touches {
            let entity = match *t {
                Touch::Entity(e) => Some(e),
                Touch::ProductRow(row) => reads
                    .entity_of_row(Kind::Product, row)
                    .await?
                    .map(Entity::Product),
                Touch::CategoryRow(row) => reads
                    .entity_of_row(Kind::Category, row)
                    .await?
                    .map(Entity::Category),
                Touch::Address(a) => reads.address_owner(a).await?.map(Entity::Customer),
            };
            if let Some(e) = entity {
                let at = latest.get(t).copied();
                out.entry(e)
                    .and_modify(|held: &mut Option<At>| *held = held.zip(at).map(|(a, b)| a.max(b)))
                    .or_insert(at);
            }
        }
        Ok(out)
    }

    /// The entities of `entities` whose every change lies before the position the service
    /// already holds them at: the snapshot they were last read in saw those changes (a snapshot
    /// position past a change's event is past its whole transaction), so reading them again
    /// would write what the service holds, or newer than this batch and left to the changes
    /// that follow.
    async fn already_applied(
        &self,
        entities: &BTreeMap<Entity, Option<At>>,
    ) -> Result<BTreeSet<Entity>, PipelineError> {
        let mut by_kind: BTreeMap<Kind, Vec<(u32, At)>> = BTreeMap::new();
        for (e, at) in entities {
            if let Some(at) = at {
                let (kind, id) = parts(*e);
                by_kind.entry(kind).or_default().push((id, *at));
            }
        }
        let mut out = BTreeSet::new();
        for (kind, list) in by_kind {
            let ids: Vec<i64> = list.iter().map(|(id, _)| i64::from(*id)).collect();
            let t = self.targets;
            let held = match (kind, &t.catalog, &t.customers, &t.orders) {
                (Kind::Product, Some(c), _, _) => c.product_positions(&ids).await?,
                (Kind::Category, Some(c), _, _) => c.category_positions(&ids).await?,
                (Kind::Customer, _, Some(c), _) => c.positions(&ids).await?,
                (Kind::Order, _, _, Some(o)) => o.positions(&ids).await?,
                _ => continue,
            };
            let held: HashMap<i64, At> = held.into_iter().collect();
            for (id, change) in list {
                if held.get(&i64::from(id)).is_some_and(|h| *h > change) {
                    out.insert(entity_of(kind, id));
                }
            }
        }
        Ok(out)
    }

    async fn apply(&self, batch: Batch) -> Result<Applied, PipelineError> {
        let started = Instant::now();
        let checkpoint = batch.checkpoint.expect("a batch ends with a commit");
        let reached = checkpoint
            .position()
            .ok_or_else(|| PipelineError::BadFile(checkpoint.file.clone()))?;
        // A batch whose entities the services all hold past its changes (the rest of a save
        // already applied from another table's topic, or a replay) only moves the checkpoint: no
        // snapshot, nothing read.
        let mut known_skip = None;
        if batch.noted.is_empty()
            && let Some(entities) = direct_entities(&batch.touched, &batch.latest)
        {
            let skip = self.already_applied(&entities).await?;
            if skip.len() != entities.len() {
                // The same entities are found below (all touched directly): no second look.
                known_skip = Some(skip);
            } else {
                // Nothing to write. Where the position is not the resume point (Kafka's
                // committed offsets are), it is recorded at most once a second.
                let due = self.skips_recorded.as_ref().is_none_or(|last| {
                    last.lock()
                        .is_ok_and(|t| t.elapsed() >= SKIPS_RECORDED_EVERY)
                });
                if due {
                    self.begin()
                        .await?
                        .commit(Some((self.name, &checkpoint)))
                        .await?;
                    if let Some(Ok(mut last)) = self.skips_recorded.as_ref().map(|l| l.lock()) {
                        *last = Instant::now();
                    }
                }
                return Ok(Applied {
                    transactions: batch.transactions,
                    changes: batch.changes,
                    entities: 0,
                    skipped: skip.len() as u64,
                    checkpoint: Some(checkpoint),
                    source_ts_ms: batch.source_ts_ms,
                    dead_letters: 0,
                    tables: batch.tables,
                    apply_seconds: started.elapsed().as_secs_f64(),
                });
            }
        }
        // The binlog can hold a commit before InnoDB shows it (two-phase commit): read in a
        // snapshot that sees at least every commit read, and write what it shows at its own
        // position, which orders it exactly among the changes still to come.
        let (mut reads, at) = loop {
            let reads = self.lookup.snapshot().await?;
            let seen = reads
                .position
                .as_ref()
                .and_then(|p| At::from_binlog(&p.file, p.position));
            match seen {
                Some(seen) if seen >= reached => break (reads, seen),
                Some(_) => {
                    reads.release().await;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                // No snapshot position (a server without MariaDB's binlog_snapshot_*): the
                // commit's own position.
                None => break (reads, reached),
            }
        };
        let mut entities = self
            .entities(&mut reads, &batch.touched, &batch.latest)
            .await?;
        let skip = match known_skip {
            Some(skip) => skip,
            None => self.already_applied(&entities).await?,
        };
        entities.retain(|e, _| !skip.contains(e));
        // An undecodable event's entity is read again like any other (its state comes from
        // Magento, not from the event); the event is kept as a dead letter of that entity.
        let mut noted = Vec::new();
        for (touch, why) in &batch.noted {
            let one = BTreeSet::from([*touch]);
            for entity in self
                .entities(&mut reads, &one, &batch.latest)
                .await?
                .into_keys()
            {
                let note = format!("{why}; the entity was read again from Magento in this batch");
                noted.push((entity, note));
            }
        }
        // Entities of a kind are read a few hundred at a time (a piece), in a few queries.
        let mut by_kind: BTreeMap<Kind, Vec<u32>> = BTreeMap::new();
        for e in entities.keys() {
            let (kind, id) = parts(*e);
            by_kind.entry(kind).or_default().push(id);
        }
        // A kind's entities are shared among the lanes even when they are fewer than a piece.
        let pieces: Vec<(Kind, Vec<u32>)> = by_kind
            .into_iter()
            .flat_map(|(kind, ids)| {
                let size = ids.len().div_ceil(self.lanes.max(1)).clamp(1, PIECE);
                ids.chunks(size)
                    .map(|piece| (kind, piece.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let dead_letters = self
            .write_in_lanes(reads, pieces, noted, at, &checkpoint)
            .await?;
        Ok(Applied {
            transactions: batch.transactions,
            changes: batch.changes,
            entities: entities.len() as u64,
            skipped: skip.len() as u64,
            checkpoint: Some(checkpoint),
            source_ts_ms: batch.source_ts_ms,
            dead_letters,
            tables: batch.tables,
            apply_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Writes `pieces` (and `noted`'s dead letters) through up to `lanes` PostgreSQL
    /// transactions per service at once: the pieces are read one after another on the
    /// snapshot's connection and handed round the lanes, so that while PostgreSQL writes one
    /// piece, Magento reads the next and another lane writes a third. The lanes hold disjoint
    /// entities. A lane commits as soon as it has written its pieces; the last one to finish
    /// waits until every other lane has committed and then commits the checkpoint with its own
    /// rows, so the checkpoint never passes a write that is not durable. A crash in between
    /// replays the batch: the entities already committed are skipped (their position is past
    /// the batch's changes) or written again unchanged. Returns the dead letters kept.
    async fn write_in_lanes(
        &self,
        mut reads: SnapshotReads<'_>,
        pieces: Vec<(Kind, Vec<u32>)>,
        noted: Vec<(Entity, String)>,
        at: At,
        checkpoint: &Checkpoint,
    ) -> Result<u64, PipelineError> {
        let lanes = self.lanes.clamp(1, pieces.len().max(1));
        let mut senders = Vec::with_capacity(lanes);
        let mut receivers = Vec::with_capacity(lanes);
        for _ in 0..lanes {
            let (tx, rx) = tokio::sync::mpsc::channel::<Piece>(1);
            senders.push(tx);
            receivers.push(rx);
        }
        // How many pieces each lane must write before it may commit.
        let expected: Vec<usize> = (0..lanes)
            .map(|lane| (lane..pieces.len()).step_by(lanes).count())
            .collect();
        let stores: Vec<&str> = self.stores.iter().map(String::as_str).collect();
        let reader = async move {
            for (j, (kind, ids)) in pieces.into_iter().enumerate() {
                let docs = self.read_piece(&mut reads, kind, &ids, &stores).await?;
                if senders[j % lanes]
                    .send(Piece { kind, ids, docs })
                    .await
                    .is_err()
                {
                    // That lane failed; its error is the batch's.
                    break;
                }
            }
            reads.release().await;
            Ok::<(), PipelineError>(())
        };
        let finished = AtomicUsize::new(0);
        let (committed, committed_rx) = tokio::sync::watch::channel(0usize);
        let mut noted = Some(noted);
        let writers = receivers
            .into_iter()
            .zip(expected)
            .map(|(mut rx, expected)| {
                // The first lane keeps the undecodable events' dead letters.
                let noted = noted.take().unwrap_or_default();
                let (finished, committed) = (&finished, &committed);
                let mut committed_rx = committed_rx.clone();
                async move {
                    let mut batches = self.begin().await?;
                    let mut dead_letters = 0;
                    for (entity, note) in noted {
                        batches
                            .dead_letter(self.name, entity, checkpoint, &note)
                            .await?;
                        dead_letters += 1;
                    }
                    let mut written = 0;
                    while written < expected {
                        let Some(piece) = rx.recv().await else {
                            // The reader failed: nothing of this lane is committed.
                            return Err(PipelineError::Stopped);
                        };
                        dead_letters += self
                            .write_piece(&mut batches, piece, at, checkpoint)
                            .await?;
                        written += 1;
                    }
                    if finished.fetch_add(1, Ordering::SeqCst) + 1 < lanes {
                        batches.commit(None).await?;
                        committed.send_modify(|n| *n += 1);
                    } else {
                        // Every other lane has written its pieces; their commits take no locks, so
                        // this wait ends.
                        if committed_rx.wait_for(|n| *n + 1 >= lanes).await.is_err() {
                            return Err(PipelineError::Stopped);
                        }
                        batches.commit(Some((self.name, checkpoint))).await?;
                    }
                    Ok::<u64, PipelineError>(dead_letters)
                }
            });
        let ((), dead) = tokio::try_join!(reader, futures_util::future::try_join_all(writers))?;
        Ok(dead.into_iter().sum())
    }

    /// The documents of a piece of entities of `kind`, in a few queries; when one of them cannot
    /// be read, the piece is read one by one to find which (its error in its place).
    async fn read_piece(
        &self,
        reads: &mut SnapshotReads<'_>,
        kind: Kind,
        ids: &[u32],
        stores: &[&str],
    ) -> Result<Vec<Result<Vec<String>, PipelineError>>, PipelineError> {
        match reads.documents(kind, ids, stores).await {
            Ok(docs) => {
                let mut by_id: HashMap<u32, Vec<String>> = HashMap::new();
                for (id, _, doc) in docs {
                    by_id.entry(id).or_default().push(doc);
                }
                Ok(ids
                    .iter()
                    .map(|id| Ok(by_id.remove(id).unwrap_or_default()))
                    .collect())
            }
            Err(e) => {
                let e = PipelineError::from(e);
                if !e.is_poison() {
                    return Err(e);
                }
                let mut out = Vec::with_capacity(ids.len());
                for &id in ids {
                    match self.read(reads, entity_of(kind, id)).await {
                        Ok(docs) => out.push(Ok(docs)),
                        Err(e) if e.is_poison() => out.push(Err(e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok(out)
            }
        }
    }

    /// Writes a piece read from Magento to its service in `b`; returns the entities kept as dead
    /// letters (a document the write API refuses, a value that does not parse).
    async fn write_piece(
        &self,
        b: &mut Batches<'_>,
        piece: Piece,
        at: At,
        checkpoint: &Checkpoint,
    ) -> Result<u64, PipelineError> {
        let Piece { kind, ids, docs } = piece;
        // Products of a piece go in one statement set (as a back-fill loads them).
        if let (Kind::Product, Some(c)) = (kind, b.catalog.as_mut())
            && docs.iter().all(Result::is_ok)
        {
            let all: Vec<String> = docs.iter().flatten().flatten().cloned().collect();
            match c.upsert_products(&all, at).await {
                Ok(_) => {
                    for (&id, d) in ids.iter().zip(&docs) {
                        if d.as_ref().is_ok_and(Vec::is_empty) {
                            c.delete_product(self.uuid(kind, id), id as u64, at).await?;
                        }
                    }
                    return Ok(0);
                }
                // A document refused (before anything was written): entity by entity below, to
                // find it.
                Err((Some(_), _)) => {}
                Err((None, e)) => return Err(e.into()),
            }
        }
        let mut dead_letters = 0;
        for (id, docs) in ids.into_iter().zip(docs) {
            let entity = entity_of(kind, id);
            let result = match docs {
                Ok(docs) => self.write(b, entity, &docs, at).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {}
                Err(e) if e.is_poison() => {
                    b.dead_letter(self.name, entity, checkpoint, &e.to_string())
                        .await?;
                    dead_letters += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(dead_letters)
    }

    async fn begin(&self) -> Result<Batches<'a>, PipelineError> {
        let t = self.targets;
        Ok(Batches {
            catalog: match &t.catalog {
                Some(c) => Some(c.batch().await?),
                None => None,
            },
            customers: match &t.customers {
                Some(c) => Some(c.batch().await?),
                None => None,
            },
            orders: match &t.orders {
                Some(o) => Some(o.batch().await?),
                None => None,
            },
        })
    }

    /// The entity's documents as Magento holds it now (one per store view for products and
    /// categories); none when it is gone.
    async fn read(
        &self,
        reads: &mut SnapshotReads<'_>,
        entity: Entity,
    ) -> Result<Vec<String>, PipelineError> {
        let (kind, id) = parts(entity);
        let admin = ["admin".to_string()];
        let stores = match kind {
            Kind::Product | Kind::Category => self.stores.as_slice(),
            _ => &admin,
        };
        let mut docs = Vec::new();
        for store in stores {
            if let Some(doc) = reads.document(kind, id, store).await? {
                docs.push(doc);
            }
        }
        Ok(docs)
    }

    /// Writes an entity's documents (or its deletion, when there are none) to its service.
    async fn write(
        &self,
        b: &mut Batches<'_>,
        entity: Entity,
        docs: &[String],
        at: At,
    ) -> Result<(), PipelineError> {
        let (kind, id) = parts(entity);
        let uuid = self.uuid(kind, id);
        let legacy = id as u64;
        match (entity, b) {
            (
                Entity::Product(_),
                Batches {
                    catalog: Some(c), ..
                },
            ) => {
                for d in docs {
                    c.upsert_product(d, at).await?;
                }
                if docs.is_empty() {
                    c.delete_product(uuid, legacy, at).await?;
                }
            }
            (
                Entity::Category(_),
                Batches {
                    catalog: Some(c), ..
                },
            ) => {
                for d in docs {
                    c.upsert_category(d, at).await?;
                }
                if docs.is_empty() {
                    c.delete_category(uuid, legacy, at).await?;
                }
            }
            (
                Entity::Customer(_),
                Batches {
                    customers: Some(c), ..
                },
            ) => match docs.first() {
                Some(d) => drop(c.upsert_customer(d, at).await?),
                None => drop(c.delete_customer(uuid, legacy, at).await?),
            },
            (
                Entity::Order(_),
                Batches {
                    orders: Some(o), ..
                },
            ) => match docs.first() {
                Some(d) => drop(o.upsert_order(d, at).await?),
                None => drop(o.delete_order(uuid, legacy, at).await?),
            },
            // A service not kept in sync.
            _ => {}
        }
        Ok(())
    }

    fn uuid(&self, kind: Kind, id: u32) -> uuid::Uuid {
        let i = match kind {
            Kind::Product => 0,
            Kind::Category => 1,
            Kind::Customer => 2,
            Kind::Order => 3,
        };
        self.mappers[i].uuid(id as u64)
    }
}

/// Entities read at a time.
const PIECE: usize = 256;

/// How often the Kafka source records the position of batches that write nothing.
const SKIPS_RECORDED_EVERY: Duration = Duration::from_secs(1);

/// A piece of entities of one kind read from Magento, for a lane to write.
struct Piece {
    kind: Kind,
    ids: Vec<u32>,
    /// Each entity's documents (none: it is gone), or why it cannot be read.
    docs: Vec<Result<Vec<String>, PipelineError>>,
}

/// The entity of a kind and id.
fn entity_of(kind: Kind, id: u32) -> Entity {
    match kind {
        Kind::Product => Entity::Product(id),
        Kind::Category => Entity::Category(id),
        Kind::Customer => Entity::Customer(id),
        Kind::Order => Entity::Order(id),
    }
}

/// The kind and id of an entity.
fn parts(entity: Entity) -> (Kind, u32) {
    match entity {
        Entity::Product(id) => (Kind::Product, id),
        Entity::Category(id) => (Kind::Category, id),
        Entity::Customer(id) => (Kind::Customer, id),
        Entity::Order(id) => (Kind::Order, id),
    }
}

/// One batch per service kept in sync.
struct Batches<'t> {
    catalog: Option<ServiceBatch<'t, Catalog>>,
    customers: Option<ServiceBatch<'t, Customers>>,
    orders: Option<ServiceBatch<'t, Orders>>,
}

impl Batches<'_> {
    /// The batch of `service` (`catalog`, `customer`, `order`), when it is kept in sync.
    fn of(&mut self, service: &str) -> Option<&mut BatchTx> {
        match service {
            "catalog" => self.catalog.as_deref_mut(),
            "customer" => self.customers.as_deref_mut(),
            _ => self.orders.as_deref_mut(),
        }
    }

    /// Keeps `entity` as a dead letter in its service.
    async fn dead_letter(
        &mut self,
        name: &str,
        entity: Entity,
        at: &Checkpoint,
        error: &str,
    ) -> Result<(), PipelineError> {
        let (kind, id) = parts(entity);
        let service = match entity {
            Entity::Product(_) | Entity::Category(_) => "catalog",
            Entity::Customer(_) => "customer",
            Entity::Order(_) => "order",
        };
        if let Some(b) = self.of(service) {
            b.dead_letter(name, kind.name(), id as i64, at, error)
                .await?;
        }
        Ok(())
    }

    /// Marks dead letter `id` of `service` replayed.
    async fn replayed(&mut self, service: &str, id: i64) -> Result<(), PipelineError> {
        if let Some(b) = self.of(service) {
            b.replayed(id).await?;
        }
        Ok(())
    }

    /// Commits every service's batch, with the checkpoint when given.
    async fn commit(self, checkpoint: Option<(&str, &Checkpoint)>) -> Result<(), PipelineError> {
        async fn one<S>(
            b: Option<ServiceBatch<'_, S>>,
            c: Option<(&str, &Checkpoint)>,
        ) -> Result<(), ficus_services::Error> {
            match (b, c) {
                (Some(b), Some((name, at))) => b.commit(name, at).await,
                (Some(b), None) => b.finish().await,
                (None, _) => Ok(()),
            }
        }
        one(self.catalog, checkpoint).await?;
        one(self.customers, checkpoint).await?;
        one(self.orders, checkpoint).await?;
        Ok(())
    }
}

/// A dead letter and the service that keeps it (`catalog`, `customer`, `order`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// The service.
    pub service: &'static str,
    /// The dead letter.
    pub letter: DeadLetter,
}

/// The dead letters of every service kept in sync (only those not replayed when `pending`).
pub async fn dead_letters(targets: &Targets, pending: bool) -> Result<Vec<Letter>, PipelineError> {
    let mut out = Vec::new();
    let wrap = |service: &'static str, v: Vec<DeadLetter>| {
        v.into_iter().map(move |letter| Letter { service, letter })
    };
    if let Some(c) = &targets.catalog {
        out.extend(wrap("catalog", c.dead_letters(pending).await?));
    }
    if let Some(c) = &targets.customers {
        out.extend(wrap("customer", c.dead_letters(pending).await?));
    }
    if let Some(o) = &targets.orders {
        out.extend(wrap("order", o.dead_letters(pending).await?));
    }
    Ok(out)
}

/// Applies dead letters again (`only`: one, by service and id; else every pending one): each
/// entity is read from Magento now and written at the read's position, the letter marked
/// replayed in the same transaction. A letter that fails again stays, its error returned.
pub async fn replay(
    options: &Options,
    targets: &Targets,
    only: Option<(&str, i64)>,
) -> Result<Vec<(Letter, Result<(), String>)>, PipelineError> {
    let letters: Vec<Letter> = dead_letters(targets, true)
        .await?
        .into_iter()
        .filter(|l| only.is_none_or(|(s, id)| l.service == s && l.letter.id == id))
        .collect();
    let lookup = Lookup::open(options.source.clone(), options.namespace).await?;
    let writer = Writer::new(&lookup, targets, options)?;
    let mut reads = lookup.snapshot().await?;
    let at = match reads
        .position
        .as_ref()
        .and_then(|p| At::from_binlog(&p.file, p.position))
    {
        Some(at) => at,
        None => return Err(PipelineError::NoBinlog),
    };
    let mut results = Vec::new();
    for letter in letters {
        let id = letter.letter.legacy_id as u32;
        let kind = ficus_eav_extract::Kind::parse(&letter.letter.kind).unwrap_or(Kind::Order);
        let entity = entity_of(kind, id);
        let mut batches = writer.begin().await?;
        let outcome = match writer.read(&mut reads, entity).await {
            Ok(docs) => writer.write(&mut batches, entity, &docs, at).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                batches.replayed(letter.service, letter.letter.id).await?;
                batches.commit(None).await?;
                results.push((letter, Ok(())));
            }
            Err(e) if e.is_poison() => results.push((letter, Err(e.to_string()))),
            Err(e) => return Err(e),
        }
    }
    Ok(results)
}

/// Runs the pipeline with Debezium's events on Kafka as the source until `shutdown` completes
/// (then applies what it has read and returns): each batch of records is turned into touched
/// entities, read again from Magento in a snapshot that has passed every change of the batch,
/// written with the checkpoint, and only then are the records' offsets committed.
pub async fn run_kafka(
    options: &Options,
    kafka: KafkaOptions,
    targets: &Targets,
    mut progress: impl FnMut(&Applied),
    shutdown: impl Future<Output = ()>,
) -> Result<(), PipelineError> {
    let lookup = Lookup::open(options.source.clone(), options.namespace).await?;
    let db = options.source.database().to_string();
    let columns = {
        let mut conn = options.source.connect().await.map_err(SourceError::from)?;
        let c = Columns::load(&mut conn, &db)
            .await
            .map_err(PipelineError::Catalog)?;
        drop(conn);
        c
    };
    let source = KafkaSource::open(kafka, columns)?;
    let mut writer = Writer::new(&lookup, targets, options)?;
    // The consumer group's committed offsets are where a restart resumes: a batch whose
    // entities the services already hold needs no checkpoint of its own at once.
    writer.skips_recorded = Some(std::sync::Mutex::new(Instant::now()));
    tokio::pin!(shutdown);
    // The next batch's records are read and decoded while the one before them is applied.
    let (stop, mut stopping) = tokio::sync::watch::channel(false);
    let (batches, mut received) = tokio::sync::mpsc::channel::<KafkaBatch>(1);
    let source = &source;
    let staged = |t: &str| match t {
        "catalog_product" => lookup.staged(Kind::Product),
        _ => lookup.staged(Kind::Category),
    };
    let reader = async move {
        loop {
            let read = tokio::select! {
                biased;
                _ = stopping.wait_for(|s| *s) => return Ok(()),
                read = source.batch(options.batch_entities, options.max_wait, |c| touched(c, staged)) => read?,
            };
            if batches.send(read).await.is_err() {
                return Ok(());
            }
        }
    };
    let applier = async {
        while let Some(read) = received.recv().await {
            let mut batch = Batch {
                transactions: 0,
                ..Batch::default()
            };
            let mut reached: Option<(At, String)> = None;
            for c in &read.changes {
                if c.source.db != db {
                    continue;
                }
                batch.changes += 1;
                *batch.tables.entry(c.source.table.clone()).or_default() += 1;
                let at = At::from_binlog(&c.source.file, c.source.pos);
                for t in touched(c, staged) {
                    if let Some(at) = at {
                        note(&mut batch.latest, t, at);
                    }
                    batch.touched.insert(t);
                }
                batch.source_ts_ms = batch.source_ts_ms.max(c.source.ts_ms);
                if let Some(at) = at {
                    pass(&mut reached, at, &c.source.file);
                }
            }
            for (c, why) in &read.salvaged {
                if c.source.db != db {
                    continue;
                }
                let touches = touched(c, staged);
                if touches.is_empty() {
                    // No entity of a service: the dead-letter topic holds it.
                    continue;
                }
                // Its position counts like a decoded change's (an entity whose undecodable change
                // is newer than what its service holds is read again); without one, it is read.
                let at = At::from_binlog(&c.source.file, c.source.pos);
                let counted = at.unwrap_or(At {
                    file: u64::MAX,
                    offset: u64::MAX,
                });
                for t in touches {
                    note(&mut batch.latest, t, counted);
                    batch.touched.insert(t);
                    batch.noted.push((t, why.clone()));
                }
                if let Some(at) = at {
                    pass(&mut reached, at, &c.source.file);
                }
            }
            if let Some((past, file)) = reached {
                batch.checkpoint = Some(Checkpoint {
                    file,
                    offset: past.offset,
                    gtid: None,
                });
                let mut applied = writer.apply(batch).await?;
                // The refused records, on the dead-letter topic (those whose entity was found are in
                // its service's table too, counted by the writer).
                applied.dead_letters += read.dead_letters;
                progress(&applied);
            }
            source.commit(&read)?;
        }
        // Reading has stopped (shutdown): the last offsets are committed for sure.
        source.flush()?;
        Ok::<(), PipelineError>(())
    };
    let work = async { tokio::try_join!(reader, applier).map(|_| ()) };
    tokio::pin!(work);
    tokio::select! {
        biased;
        done = &mut work => return done,
        () = &mut shutdown => {}
    }
    // Stop reading; what was read is applied and its offsets committed.
    let _ = stop.send(true);
    work.await
}
