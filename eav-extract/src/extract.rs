//! The extract: snapshot, metadata, then per kind chunk after chunk — read (one task, inside the
//! snapshot) while the previous chunk is pivoted and written (this task).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ficus_id_map::magento::MagentoDsn;
use ficus_id_map::{Mapper, Namespace};

use crate::checkpoint::Checkpoint;
use crate::doc::Docs;
use crate::error::{Error, Result};
use crate::meta::{Kind, Meta, Store};
use crate::sink::{DocRef, Sink, SinkSpec};
use crate::source::{self, Chunk, Position, Snapshot};
use crate::spill::{Pace, Spill};

/// How value rows are read (`--value-reads scan|chunks|scan-driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ValueReads {
    /// Each value table once, in primary-key order, regrouped by entity in bucket files
    /// (the default; staged Adobe Commerce tables are always read per chunk).
    #[default]
    Scan,
    /// Per chunk of entities, one query per value table by entity id range.
    Chunks,
    /// As `scan`, with every row decoded by mysql_async rather than the lean wire reader (the
    /// reader's fallback, kept selectable to compare them).
    ScanDriver,
}

/// How many connections read the value tables at once (`ValueReads::Scan`): two, so that
/// MariaDB scans on two cores while the rows are decoded (BENCHMARKS.md).
const WIRES: usize = 2;

/// What to extract, from where, to where.
#[derive(Debug, Clone)]
pub struct Options {
    /// Magento's database.
    pub source: MagentoDsn,
    /// Entity kinds, in order.
    pub kinds: Vec<Kind>,
    /// Store codes; empty means every store view except admin.
    pub stores: Vec<String>,
    /// Write option labels next to select and multiselect values.
    pub labels: bool,
    /// Entities per chunk.
    pub chunk_size: usize,
    /// Upper bound on rows (entities + value rows) read per second.
    pub max_rows_per_second: Option<u64>,
    /// id-map namespace.
    pub namespace: Namespace,
    /// Output.
    pub sink: SinkSpec,
    /// Continue from the checkpoint.
    pub resume: bool,
    /// How value rows are read.
    pub value_reads: ValueReads,
    /// Where `ValueReads::Scan` keeps its bucket files (default: the system's temporary
    /// directory).
    pub spill_dir: Option<PathBuf>,
    /// About how many bytes of value rows (as InnoDB stores them) one bucket holds
    /// (`DEFAULT_BUCKET_BYTES`); peak memory is about 8× that (BENCHMARKS.md).
    pub bucket_bytes: u64,
    /// Also the admin store (store 0: the default values), which Magento's `/rest/all/V1/…`
    /// answers from; products and categories only.
    pub admin: bool,
}

impl Options {
    /// Every kind of every store view (admin excluded) from `source` into `sink`, with the
    /// CLI's defaults: chunks of 2,000, no rate limit, id-map's default namespace, no labels,
    /// value tables scanned once.
    pub fn new(source: MagentoDsn, sink: SinkSpec) -> Options {
        Options {
            source,
            kinds: Kind::ALL.to_vec(),
            stores: Vec::new(),
            labels: false,
            chunk_size: 2000,
            max_rows_per_second: None,
            namespace: ficus_id_map::DEFAULT_NAMESPACE,
            sink,
            resume: false,
            value_reads: ValueReads::Scan,
            spill_dir: None,
            bucket_bytes: crate::spill::DEFAULT_BUCKET_BYTES,
            admin: false,
        }
    }
}

/// Progress, reported as the run goes.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A kind starts: `total` live entities, `done` of them already written by an earlier run.
    Start {
        /// The kind.
        kind: Kind,
        /// Entities in the snapshot.
        total: u64,
    },
    /// A value table was read ahead (`ValueReads::Scan`).
    Read {
        /// The kind.
        kind: Kind,
        /// The table.
        table: &'a str,
        /// Rows read from it.
        rows: u64,
        /// Of them, value rows (0 for a product's website and category links).
        value_rows: u64,
    },
    /// A chunk was written.
    Chunk {
        /// The kind.
        kind: Kind,
        /// Entities in the chunk.
        entities: u64,
        /// Value rows read from the database for it (rows read ahead are in `Read`).
        value_rows: u64,
    },
    /// A kind is done.
    Done(&'a KindSummary),
    /// Something the operator may want to know that changes no result.
    Note(String),
}

/// Totals of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindSummary {
    /// The kind.
    pub kind: Option<Kind>,
    /// Entities read.
    pub entities: u64,
    /// Documents written.
    pub documents: u64,
    /// Value rows read.
    pub value_rows: u64,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Per kind.
    pub kinds: Vec<KindSummary>,
    /// Wall time.
    pub seconds: f64,
    /// Where cdc-sync continues from: the first run's snapshot.
    pub position: Option<Position>,
    /// The Magento database.
    pub database: String,
    /// Whether prices were read per website (`catalog/price/scope` = 1).
    pub price_per_website: bool,
}

/// Runs an extract; stops between chunks when `shutdown` completes (the checkpoint then allows
/// `--resume`).
pub async fn extract(
    options: &Options,
    mut progress: impl FnMut(Event<'_>),
    shutdown: impl Future<Output = ()>,
) -> Result<Summary> {
    let started = Instant::now();
    let mut snapshot = Snapshot::open(&options.source).await?;
    // The value tables' scan reads through a lean wire connection in the same snapshot when it
    // can (BENCHMARKS.md), else through mysql_async.
    let mut wires = Vec::new();
    if options.value_reads == ValueReads::Scan {
        match snapshot.pair(&options.source, WIRES).await {
            Ok(w) => wires = w,
            Err(why) => progress(Event::Note(format!(
                "value tables read through mysql_async: {why}"
            ))),
        }
    }
    let mut conn = snapshot.conn;
    let meta = Meta::load(&mut conn, &options.kinds, options.labels).await?;
    let mut stores: Vec<Store> = if options.stores.is_empty() {
        meta.stores.iter().filter(|s| s.id != 0).cloned().collect()
    } else {
        let mut v = Vec::new();
        for code in &options.stores {
            v.push(meta.store(code)?.clone());
        }
        v
    };
    if options.admin
        && !stores.iter().any(|s| s.id == 0)
        && let Some(admin) = meta.stores.iter().find(|s| s.id == 0)
    {
        stores.insert(0, admin.clone());
    }
    let request = Checkpoint {
        format: 1,
        kinds: options.kinds.iter().map(|k| k.name().to_string()).collect(),
        stores: stores.iter().map(|s| s.code.clone()).collect(),
        labels: options.labels,
        namespace: options.namespace.to_string(),
        snapshot: snapshot.position.clone(),
        resumed: Vec::new(),
        done: Vec::new(),
        current: None,
        bytes: 0,
        documents: 0,
        complete: false,
    };
    let (mut sink, previous) = Sink::open(&options.sink, options.resume).await?;
    let mut cp = match previous {
        Some(prev) => {
            if !prev.same_request(&request) {
                return Err(Error::Resume(format!(
                    "the checkpoint is for kinds {:?}, stores {:?}, labels {}, namespace {}; this run asks for {:?}, {:?}, {}, {}",
                    prev.kinds,
                    prev.stores,
                    prev.labels,
                    prev.namespace,
                    request.kinds,
                    request.stores,
                    request.labels,
                    request.namespace
                )));
            }
            if prev.complete {
                return Err(Error::Resume("the extract is complete already".into()));
            }
            let mut cp = prev;
            cp.resumed.push(snapshot.position.clone());
            cp
        }
        None => request,
    };
    sink.write_manifest(&cp)?;

    let meta = Arc::new(meta);
    let store_ids: Arc<Vec<u16>> = Arc::new(stores.iter().map(|s| s.id).collect());
    tokio::pin!(shutdown);
    let mut summaries = Vec::new();
    let mut pace = Pace::new(options.max_rows_per_second);
    let spill_dir = options.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut text = String::new();
    let mut docs: Vec<DocRef> = Vec::new();
    // The second build thread's output, kept across chunks (fresh buffers every chunk cost
    // page faults).
    let mut spare: (String, Vec<DocRef>) = (String::new(), Vec::new());
    let builder = Docs::new(&meta);
    for &kind in &options.kinds {
        if cp.done.iter().any(|k| k == kind.name()) {
            continue;
        }
        let after = match &cp.current {
            Some((k, last)) if k == kind.name() => *last,
            _ => 0,
        };
        let total = source::count(&mut conn, &meta, kind).await?;
        progress(Event::Start { kind, total });
        let mut summary = KindSummary {
            kind: Some(kind),
            ..KindSummary::default()
        };
        let eav = meta.types.get(kind.type_code());
        let spill = if let Some(t) =
            eav.filter(|t| options.value_reads != ValueReads::Chunks && !t.staged)
        {
            let spill = Spill::read(
                (&mut conn, &mut wires),
                t,
                after,
                &store_ids,
                (&spill_dir, options.bucket_bytes),
                &mut pace,
                |table, rows, value_rows| {
                    progress(Event::Read {
                        kind,
                        table,
                        rows,
                        value_rows,
                    })
                },
            );
            let spill = tokio::select! {
                biased;
                () = &mut shutdown => {
                    return Err(Error::Interrupted { entities: cp.documents });
                }
                spill = spill => spill?,
            };
            summary.value_rows += spill.rows;
            Some(spill)
        } else {
            None
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Chunk>>(2);
        let reader = {
            let meta = meta.clone();
            let chunk_size = options.chunk_size.max(1);
            // The chunks' entity rows come through a wire connection too, when the value rows
            // did.
            let wire = if spill.is_some() { wires.pop() } else { None };
            tokio::spawn(source::read_ahead(
                (conn, wire),
                meta,
                kind,
                after,
                chunk_size,
                store_ids.to_vec(),
                spill,
                tx,
            ))
        };
        let mapper = Mapper::new(options.namespace, kind.type_code())?;
        let address_mapper = Mapper::new(options.namespace, "customer_address")?;
        loop {
            let next = tokio::select! {
                biased;
                () = &mut shutdown => {
                    return Err(Error::Interrupted { entities: cp.documents });
                }
                next = rx.recv() => next,
            };
            let Some(chunk) = next else { break };
            let chunk = chunk?;
            text.clear();
            docs.clear();
            let build = Build {
                kind,
                meta: &meta,
                stores: &stores,
                builder: &builder,
                mapper: &mapper,
                address_mapper: &address_mapper,
                chunk: &chunk,
            };
            build.all(&mut text, &mut docs, &mut spare)?;
            let last = chunk.entities.last().map(|e| e.id).unwrap_or(after);
            cp.current = Some((kind.name().to_string(), last));
            cp.documents += docs.len() as u64;
            sink.write(&text, &docs, &mut cp).await?;
            let n = chunk.entities.len() as u64;
            summary.entities += n;
            summary.documents += docs.len() as u64;
            summary.value_rows += chunk.value_rows;
            progress(Event::Chunk {
                kind,
                entities: n,
                value_rows: chunk.value_rows,
            });
            pace.tick(n + chunk.value_rows).await;
        }
        let wire;
        (conn, wire) = reader
            .await
            .map_err(|e| Error::Resume(format!("reader task: {e}")))?;
        wires.extend(wire);
        cp.done.push(kind.name().to_string());
        cp.current = None;
        progress(Event::Done(&summary));
        summaries.push(summary);
    }
    cp.complete = true;
    sink.finish(&cp).await?;
    let _ = conn.query_drop_commit().await;
    Ok(Summary {
        kinds: summaries,
        seconds: started.elapsed().as_secs_f64(),
        position: cp.snapshot.clone(),
        database: meta.database.clone(),
        price_per_website: meta.price_per_website,
    })
}

/// Builds the documents of one chunk.
struct Build<'a, 'm> {
    kind: Kind,
    meta: &'m Meta,
    stores: &'m [Store],
    builder: &'a Docs<'m>,
    mapper: &'a Mapper,
    address_mapper: &'a Mapper,
    chunk: &'a Chunk,
}

/// Below this many entities a chunk is built on one thread.
const SPLIT_AT: usize = 64;

impl<'m> Build<'_, 'm> {
    /// Every document of the chunk, in entity order, into `text` (lines) and `docs`. Large
    /// chunks are built in two halves on two threads: the database is mostly idle meanwhile.
    fn all(
        &self,
        text: &mut String,
        docs: &mut Vec<DocRef<'m>>,
        (text2, docs2): &mut (String, Vec<DocRef<'m>>),
    ) -> Result<()> {
        let entities = &self.chunk.entities;
        if entities.len() < SPLIT_AT {
            return self.some(entities, 0, text, docs);
        }
        let (first, second) = entities.split_at(entities.len() / 2);
        text2.clear();
        docs2.clear();
        std::thread::scope(|scope| {
            let other = scope.spawn(|| self.some(second, first.len(), text2, docs2));
            let mine = self.some(first, 0, text, docs);
            let other = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            mine.and(other)
        })?;
        let offset = text.len();
        text.push_str(text2);
        docs.extend(docs2.drain(..).map(|mut d| {
            d.range = d.range.start + offset..d.range.end + offset;
            d
        }));
        Ok(())
    }

    /// The documents of `entities`, the chunk's entities from index `offset` on.
    fn some(
        &self,
        entities: &[source::Entity],
        offset: usize,
        text: &mut String,
        docs: &mut Vec<DocRef<'m>>,
    ) -> Result<()> {
        let (kind, chunk, builder) = (self.kind, self.chunk, self.builder);
        for (n, e) in entities.iter().enumerate() {
            let uuid = self.mapper.uuid(e.id as u64);
            if kind == Kind::Order {
                let orders = &chunk.orders;
                let at = offset + n;
                let store_code = orders.store_id(at).and_then(|s| self.meta.store_code(s));
                let start = text.len();
                orders.write(text, at, &uuid, store_code, &self.meta.regions)?;
                docs.push(DocRef {
                    entity_type: kind.type_code(),
                    store_code: store_code.unwrap_or("admin"),
                    legacy_id: e.id,
                    uuid,
                    range: start..text.len() - 1,
                });
                continue;
            }
            if kind == Kind::Customer {
                let start = text.len();
                builder.customer(text, &uuid, self.address_mapper, chunk, e)?;
                let store_id = e.cols[source::col("customer", "store_id")]
                    .as_deref()
                    .and_then(|s| s.parse().ok());
                docs.push(DocRef {
                    entity_type: kind.type_code(),
                    store_code: store_id
                        .and_then(|s| self.meta.store_code(s))
                        .unwrap_or("admin"),
                    legacy_id: e.id,
                    uuid,
                    range: start..text.len() - 1,
                });
                continue;
            }
            for store in self.stores {
                let start = text.len();
                if kind == Kind::Product {
                    builder.product(text, &uuid, chunk, e, store)?;
                } else {
                    builder.category(text, &uuid, chunk, e, store)?;
                }
                docs.push(DocRef {
                    entity_type: kind.type_code(),
                    store_code: &store.code,
                    legacy_id: e.id,
                    uuid,
                    range: start..text.len() - 1,
                });
            }
        }
        Ok(())
    }
}

trait Commit {
    async fn query_drop_commit(self) -> Result<(), mysql_async::Error>;
}

impl Commit for mysql_async::Conn {
    async fn query_drop_commit(mut self) -> Result<(), mysql_async::Error> {
        use mysql_async::prelude::Queryable;
        self.query_drop("COMMIT").await?;
        self.disconnect().await
    }
}
