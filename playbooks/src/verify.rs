//! Row-level parity between Magento and a new service's database, entity by entity and store
//! view by store view — the check a `shift` gate and `ficus verify` stand on.
//!
//! Both sides are walked in entity-id order, one chunk at a time. Magento's side is read the way
//! the extract reads it — inside one consistent snapshot per kind, each value table scanned
//! once, pivoted by Magento's rules ([`ficus_eav_extract::lookup::Lookup::scan`]) — and the
//! service's side is the documents its database holds for the same id range. A pair is equal
//! when their canonical fingerprints are ([`crate::fingerprint`]: object members in any order,
//! layout and escapes ignored, numbers by exact value: `45.00` equals `45.0`, eav-extract's
//! `uuid` and `store_code` left out). Otherwise the pair is a mismatch: missing (Magento has it,
//! the service not), extra (the service has an entity Magento no longer has) or different, with
//! the fields that differ.
//!
//! Live writes: a mismatch is remembered with the binlog position of the snapshot it was seen
//! in. After the walk, the verifier waits until the service's checkpoint (written by cdc-sync in
//! the same transaction as the changes) has passed that position, then reads both sides of the
//! mismatched keys again; a key that matches now was a change in flight, not a mismatch. Only
//! what still differs after the re-checks is reported as real.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::fingerprint::fingerprint;
use ficus_eav_extract::Kind;
use ficus_eav_extract::lookup::Lookup;
use ficus_id_map::Namespace;
use ficus_id_map::magento::MagentoDsn;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

/// A migration domain: which entity kinds it holds and where its service keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// Products and categories (`ficus-catalog`).
    Catalog,
    /// Customers with their addresses (`ficus-customer`).
    Customer,
    /// Orders (`ficus-order`).
    Order,
}

impl Domain {
    /// Parses `catalog`, `customer` or `order`.
    pub fn parse(s: &str) -> Option<Domain> {
        match s {
            "catalog" => Some(Domain::Catalog),
            "customer" => Some(Domain::Customer),
            "order" => Some(Domain::Order),
            _ => None,
        }
    }

    /// The domain's name, as in flag names.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Catalog => "catalog",
            Domain::Customer => "customer",
            Domain::Order => "order",
        }
    }

    /// The entity kinds the domain's service holds.
    pub fn kinds(self) -> &'static [Kind] {
        match self {
            Domain::Catalog => &[Kind::Product, Kind::Category],
            Domain::Customer => &[Kind::Customer],
            Domain::Order => &[Kind::Order],
        }
    }

    /// The PostgreSQL schema of the domain's service.
    pub fn schema(self) -> &'static str {
        match self {
            Domain::Catalog => "catalog",
            Domain::Customer => "customer",
            Domain::Order => "sales",
        }
    }
}

/// What to compare and how gently.
#[derive(Debug, Clone)]
pub struct Options {
    /// Magento's database.
    pub magento: String,
    /// The service's database.
    pub service: String,
    /// The domain.
    pub domain: Domain,
    /// Entities per chunk (each side reads one chunk at a time).
    pub chunk_size: usize,
    /// Magento rows (entities) read per second at most; `None`: as fast as it goes.
    pub max_rows_per_second: Option<u32>,
    /// Store views to compare products and categories in; empty: the ones the service holds.
    pub stores: Vec<String>,
    /// Rounds of re-checking mismatched keys once cdc-sync has passed them.
    pub recheck_rounds: u32,
    /// How long to wait for cdc-sync to pass a mismatch's position, per round.
    pub recheck_wait: Duration,
    /// The id-map namespace the documents' UUIDs were made with.
    pub namespace: Namespace,
    /// Mismatches kept in the report as examples (all are counted).
    pub examples: usize,
    /// Where progress is kept after each chunk, so a stopped run continues where it was
    /// (removed when the run finishes).
    pub state: Option<std::path::PathBuf>,
}

impl Options {
    /// Defaults for everything but the databases and the domain.
    pub fn new(magento: &str, service: &str, domain: Domain) -> Self {
        Self {
            magento: magento.to_owned(),
            service: service.to_owned(),
            domain,
            chunk_size: 1000,
            max_rows_per_second: None,
            stores: Vec::new(),
            recheck_rounds: 3,
            recheck_wait: Duration::from_secs(30),
            namespace: ficus_id_map::DEFAULT_NAMESPACE,
            examples: 10,
            state: None,
        }
    }
}

/// What kind of mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    /// In Magento, not in the service.
    Missing,
    /// In the service, not in Magento.
    Extra,
    /// In both, with different fields.
    Different,
}

/// One field that differs: its JSON path and both values (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// `name`, `custom_attributes[color]`, `extension_attributes.website_ids`, `addresses[0].city`.
    pub path: String,
    /// Magento's value.
    pub magento: Option<Value>,
    /// The service's value.
    pub service: Option<Value>,
}

/// One entity in one store view that does not match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    /// `product`, `category`, `customer` or `order`.
    pub kind: String,
    /// Magento's entity id.
    pub id: u32,
    /// The store view (empty for customers and orders).
    pub store: String,
    /// Missing, extra or different.
    pub what: What,
    /// The differing fields (for `different`).
    pub fields: Vec<FieldDiff>,
}

/// Counts of one entity kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindCounts {
    /// `product`, …
    pub kind: String,
    /// Documents (entity × store view) on Magento's side.
    pub magento: u64,
    /// Documents on the service's side.
    pub service: u64,
    /// Real mismatches after the re-checks, by what.
    pub missing: u64,
    /// See `missing`.
    pub extra: u64,
    /// See `missing`.
    pub different: u64,
}

/// The verifier's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The domain.
    pub domain: String,
    /// Per kind.
    pub kinds: Vec<KindCounts>,
    /// Entities compared (each entity once, whatever its store views).
    pub entities: u64,
    /// Documents compared.
    pub documents: u64,
    /// Mismatches seen during the walk that matched on a re-check (changes in flight).
    pub resolved_on_recheck: u64,
    /// Documents whose stored text was not the text expected from Magento's side (so their
    /// hashes differed) and that were read and compared canonically instead.
    #[serde(default)]
    pub compared_canonically: u64,
    /// Examples of the real mismatches (at most `examples`).
    pub examples: Vec<Mismatch>,
    /// Seconds the run took.
    pub seconds: f64,
}

impl Report {
    /// Whether Magento and the service agree.
    pub fn clean(&self) -> bool {
        self.kinds
            .iter()
            .all(|k| k.missing + k.extra + k.different == 0)
    }

    /// Real mismatches, all kinds.
    pub fn mismatches(&self) -> u64 {
        self.kinds
            .iter()
            .map(|k| k.missing + k.extra + k.different)
            .sum()
    }
}

/// What can stop a verification (a mismatch does not: it is in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading Magento.
    #[error("Magento: {0}")]
    Magento(#[from] ficus_eav_extract::Error),
    /// Reading the service's database (DSN with the password masked).
    #[error("the service's database {dsn}: {source}")]
    Service {
        /// Masked DSN.
        dsn: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// A bad option.
    #[error("{0}")]
    Options(String),
}

/// A mismatch seen during the walk, with where Magento stood when it was seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    #[serde(with = "kind_name")]
    kind: Kind,
    id: u32,
    store: String,
    at: Option<(u64, u64)>,
}

mod kind_name {
    use ficus_eav_extract::Kind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let name = String::deserialize(d)?;
        Kind::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A run's progress, kept in [`Options::state`] after each chunk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    domain: String,
    stores: Vec<String>,
    /// The kind being walked (index into the domain's kinds) and the last entity id compared.
    kind: usize,
    after: u32,
    report: Report,
    seen: Vec<Seen>,
}

impl Progress {
    fn load(
        path: &std::path::Path,
        domain: Domain,
        stores: &[String],
    ) -> Result<Option<Progress>, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Options(format!("{}: {e}", path.display()))),
        };
        let p: Progress = serde_json::from_str(&text)
            .map_err(|e| Error::Options(format!("{}: {e}", path.display())))?;
        if p.domain != domain.name() || p.stores != stores {
            return Err(Error::Options(format!(
                "{} belongs to a run of {} in {:?}; remove it to start over",
                path.display(),
                p.domain,
                p.stores
            )));
        }
        Ok(Some(p))
    }

    fn save(&self, path: &std::path::Path) -> Result<(), Error> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(self).unwrap_or_default())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| Error::Options(format!("{}: {e}", path.display())))
    }
}

/// Runs the verification; `progress(kind, entities so far)` is called after each chunk.
pub async fn verify(
    options: &Options,
    mut progress: impl FnMut(&str, u64),
) -> Result<Report, Error> {
    let started = Instant::now();
    if options.chunk_size == 0 {
        return Err(Error::Options("the chunk size must be at least 1".into()));
    }
    let dsn = MagentoDsn::parse(&options.magento)
        .map_err(|e| Error::Magento(ficus_eav_extract::Error::from(e)))?;
    let lookup = Lookup::open(dsn, options.namespace).await?;
    let pool = connect(&options.service).await?;
    let service = Service {
        pool: &pool,
        dsn: mask(&options.service),
        domain: options.domain,
    };
    let stores = stores(options, &lookup, &service).await?;
    let store_refs: Vec<&str> = stores.iter().map(String::as_str).collect();
    let resumed = match &options.state {
        Some(path) => Progress::load(path, options.domain, &stores)?,
        None => None,
    };
    let mut progress_state = resumed.unwrap_or_else(|| Progress {
        domain: options.domain.name().to_owned(),
        stores: stores.clone(),
        report: Report {
            domain: options.domain.name().to_owned(),
            ..Report::default()
        },
        ..Progress::default()
    });
    let pace = Pace::new(options.max_rows_per_second);
    let kinds = options.domain.kinds();
    while progress_state.kind < kinds.len() {
        let kind = kinds[progress_state.kind];
        if progress_state.report.kinds.len() <= progress_state.kind {
            progress_state.report.kinds.push(KindCounts {
                kind: kind.name().to_owned(),
                ..KindCounts::default()
            });
        }
        // The service's side streams in key order from the start, on a task of its own, while
        // Magento's value tables are read: each document kept as the hash of its text, a bounded
        // number of them ahead.
        let (tx, mut rx) = tokio::sync::mpsc::channel(SERVICE_AHEAD);
        let streamer = tokio::spawn(stream_service(
            pool.clone(),
            service.dsn.clone(),
            kind,
            progress_state.after,
            stores.clone(),
            tx,
        ));
        let mut ahead = Ahead::default();
        // Magento's side in one snapshot per kind, read as the extract reads: each value table
        // once, then the documents chunk by chunk in entity order.
        let mut scan = lookup
            .scan(
                kind,
                progress_state.after,
                &store_refs,
                &std::env::temp_dir(),
                options.chunk_size,
            )
            .await?;
        let at = scan
            .position
            .as_ref()
            .map(|p| (file_number(&p.file), p.position));
        let mut current = scan.next().await?;
        loop {
            let (magento, last) = current;
            let magento = keyed(magento, kind);
            let more = matches!(last, Some(l) if l < u32::MAX) && !magento.is_empty();
            // The service's documents of the same id range: up to the chunk's last id, or all
            // that are left when Magento has no more. Magento's next chunk is read meanwhile.
            let upper = if more {
                last.unwrap_or(u32::MAX)
            } else {
                u32::MAX
            };
            let theirs = ahead.take_upto(&mut rx, upper);
            let (theirs, next) = match (more, last) {
                (true, Some(_)) => {
                    let (t, n) = tokio::join!(theirs, scan.next());
                    (t?, Some(n?))
                }
                _ => (theirs.await?, None),
            };
            let ids: BTreeSet<u32> = magento.iter().map(|(id, _, _)| *id).collect();
            {
                let r = &mut progress_state.report;
                let counts = &mut r.kinds[progress_state.kind];
                counts.magento += magento.len() as u64;
                counts.service += theirs.len() as u64;
                r.documents += magento.len().max(theirs.len()) as u64;
                r.entities += ids.len() as u64;
            }
            pace.wait(ids.len()).await;
            let (differ, canonical) =
                compare_hashed(&service, kind, &magento, &theirs, &store_refs).await?;
            progress_state.report.compared_canonically += canonical;
            for (id, store) in differ {
                progress_state.seen.push(Seen {
                    kind,
                    id,
                    store,
                    at,
                });
            }
            progress(kind.name(), progress_state.report.entities);
            if more {
                progress_state.after = last.unwrap_or(u32::MAX);
            } else {
                progress_state.kind += 1;
                progress_state.after = 0;
            }
            if let Some(path) = &options.state {
                progress_state.save(path)?;
            }
            match next {
                Some(n) => current = n,
                None => break,
            }
        }
        drop(rx);
        let _ = streamer.await;
    }
    let mut report = progress_state.report.clone();
    let seen = progress_state.seen.clone();
    // Re-check what differed once cdc-sync has passed where Magento stood.
    let walked = seen.len() as u64;
    let mut pending = seen;
    for _ in 0..options.recheck_rounds {
        if pending.is_empty() {
            break;
        }
        let newest = pending.iter().filter_map(|s| s.at).max();
        if let Some(at) = newest {
            service.wait_for(at, options.recheck_wait).await?;
        }
        pending = recheck(&lookup, &service, &pending, &store_refs).await?;
    }
    report.resolved_on_recheck = walked - pending.len() as u64;
    // What still differs is real: describe it.
    for s in &pending {
        let mismatch = describe(&lookup, &service, s, &store_refs).await?;
        let Some(mismatch) = mismatch else {
            report.resolved_on_recheck += 1;
            continue;
        };
        if let Some(k) = report.kinds.iter_mut().find(|k| k.kind == s.kind.name()) {
            match mismatch.what {
                What::Missing => k.missing += 1,
                What::Extra => k.extra += 1,
                What::Different => k.different += 1,
            }
        }
        if report.examples.len() < options.examples {
            report.examples.push(mismatch);
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &options.state {
        let _ = std::fs::remove_file(path);
    }
    Ok(report)
}

/// The report as text: counts per kind, then the examples with their differing fields.
pub fn render(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verify {}: {} entities, {} documents in {:.1} s ({:.0} entities/s); {} compared canonically, {} resolved on re-check",
        report.domain,
        report.entities,
        report.documents,
        report.seconds,
        report.entities as f64 / report.seconds.max(1e-9),
        report.compared_canonically,
        report.resolved_on_recheck
    );
    for k in &report.kinds {
        let _ = writeln!(
            out,
            "  {}: Magento {} documents, service {}; missing {}, extra {}, different {}",
            k.kind, k.magento, k.service, k.missing, k.extra, k.different
        );
    }
    for m in &report.examples {
        let store = if m.store.is_empty() {
            String::new()
        } else {
            format!(" in {}", m.store)
        };
        let _ = writeln!(out, "  {:?} {} {}{store}", m.what, m.kind, m.id);
        for f in &m.fields {
            let show =
                |v: &Option<Value>| v.as_ref().map_or("(absent)".to_owned(), Value::to_string);
            let _ = writeln!(
                out,
                "    {}: Magento {} ≠ service {}",
                f.path,
                show(&f.magento),
                show(&f.service)
            );
        }
    }
    let _ = writeln!(
        out,
        "{}",
        if report.clean() {
            "clean: the service holds what Magento holds".to_owned()
        } else {
            format!("MISMATCH: {} real mismatches", report.mismatches())
        }
    );
    out
}

/// How many batches of the service's hashed documents may wait ahead of Magento's side (about
/// half a million documents, some 30 MB).
const SERVICE_AHEAD: usize = 512;

/// Documents per batch of the service's stream.
const SERVICE_BATCH: usize = 1024;

/// One of the service's documents: legacy id, store code, PostgreSQL's `hashtextextended` of its
/// text (computed by the service's database: the documents themselves are not sent).
type Hashed = (u32, String, i64);

/// A batch of the service's stream, or why it stopped.
type HashedBatch = Result<Vec<Hashed>, Error>;

/// Reads every document of `kind` after `after` from the service's database in key order and
/// sends them, hashed, in batches; stops when the receiver is gone.
async fn stream_service(
    pool: PgPool,
    dsn: String,
    kind: Kind,
    after: u32,
    stores: Vec<String>,
    tx: tokio::sync::mpsc::Sender<HashedBatch>,
) {
    use futures_util::TryStreamExt as _;
    let sql = format!(
        "{} ORDER BY 1, 2",
        Service::sql_hashed(kind, "legacy_id > $1 AND legacy_id <= $2")
    );
    let q = sqlx::query_as::<_, (i64, String, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(after))
        .bind(i64::from(u32::MAX));
    let q = if matches!(kind, Kind::Product | Kind::Category) {
        q.bind(stores)
    } else {
        q
    };
    let mut rows = q.fetch(&pool);
    let mut batch = Vec::with_capacity(SERVICE_BATCH);
    loop {
        match rows.try_next().await {
            Ok(Some((id, store, hash))) => {
                batch.push((u32::try_from(id).unwrap_or(u32::MAX), store, hash));
                if batch.len() == SERVICE_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(SERVICE_BATCH));
                    if tx.send(Ok(full)).await.is_err() {
                        return;
                    }
                }
            }
            Ok(None) => {
                if !batch.is_empty() {
                    let _ = tx.send(Ok(batch)).await;
                }
                return;
            }
            Err(source) => {
                let _ = tx
                    .send(Err(Error::Service {
                        dsn: dsn.clone(),
                        source,
                    }))
                    .await;
                return;
            }
        }
    }
}

/// What the service's stream has delivered beyond the chunk being compared.
#[derive(Default)]
struct Ahead {
    rest: std::collections::VecDeque<Hashed>,
    done: bool,
}

impl Ahead {
    /// The service's documents with a legacy id up to `upper` (all that are left for
    /// `u32::MAX`), in key order.
    async fn take_upto(
        &mut self,
        rx: &mut tokio::sync::mpsc::Receiver<HashedBatch>,
        upper: u32,
    ) -> Result<Vec<Hashed>, Error> {
        let mut out = Vec::new();
        loop {
            while let Some(front) = self.rest.front() {
                if front.0 > upper {
                    return Ok(out);
                }
                out.extend(self.rest.pop_front());
            }
            if self.done {
                return Ok(out);
            }
            match rx.recv().await {
                Some(batch) => self.rest.extend(batch?),
                None => self.done = true,
            }
        }
    }
}

/// PostgreSQL's `hashtextextended` of eav-extract's `document` of `kind` as the service would
/// store it: products and categories are stored as `{` and the document after eav-extract's own
/// leading members ([`as_stored`]); customers (whose addresses carry eav-extract's keys too) and
/// orders in Magento's shape (`ficus_services::shape::magento_shape`).
fn extract_hash(kind: Kind, document: &str) -> Option<i64> {
    match kind {
        Kind::Product | Kind::Category => {
            let rest = stored_rest(document)?;
            Some(crate::pghash::hash_text_extended_after(
                b'{',
                rest.as_bytes(),
                0,
            ))
        }
        Kind::Customer | Kind::Order => {
            let shaped = ficus_services::shape::magento_shape(document).ok()?;
            Some(crate::pghash::hash_text_extended(shaped.as_bytes(), 0))
        }
    }
}

/// The keys of one chunk that differ: by hash where the service holds the very text it was given
/// (PostgreSQL hashes its side, [`crate::pghash`] ours), else (for the few whose hashes differ)
/// the service's document read and compared canonically.
async fn compare_hashed(
    service: &Service<'_>,
    kind: Kind,
    magento: &[(u32, String, String)],
    theirs: &[Hashed],
    stores: &[&str],
) -> Result<(Vec<(u32, String)>, u64), Error> {
    let theirs_by_key: BTreeMap<(u32, &str), i64> = theirs
        .iter()
        .map(|(id, store, h)| ((*id, store.as_str()), *h))
        .collect();
    let mut out = Vec::new();
    let mut unsure: Vec<&(u32, String, String)> = Vec::new();
    let mut ours: BTreeSet<(u32, &str)> = BTreeSet::new();
    for doc in magento {
        let key = (doc.0, doc.1.as_str());
        ours.insert(key);
        match theirs_by_key.get(&key) {
            None => out.push((doc.0, doc.1.clone())),
            Some(h) if extract_hash(kind, &doc.2) == Some(*h) => {}
            Some(_) => unsure.push(doc),
        }
    }
    for key in theirs_by_key.keys() {
        if !ours.contains(key) {
            out.push((key.0, key.1.to_owned()));
        }
    }
    let canonical = unsure.len() as u64;
    if !unsure.is_empty() {
        let ids: Vec<u32> = unsure
            .iter()
            .map(|d| d.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let stored = service.documents_of(kind, &ids, stores).await?;
        let mine: Vec<(u32, String, String)> = unsure.into_iter().cloned().collect();
        let stored: Vec<(u32, String, String)> = stored
            .into_iter()
            .filter(|(id, store, _)| mine.iter().any(|m| m.0 == *id && m.1 == *store))
            .collect();
        out.extend(
            compare(&mine, &stored)
                .into_iter()
                .map(|(id, store, _)| (id, store)),
        );
    }
    out.sort();
    Ok((out, canonical))
}

/// The keys `(id, store)` whose documents differ between the two sides (each side sorted or
/// not; both are keyed): equal when the service holds exactly the text eav-extract wrote without
/// its own keys (what the services store, so the usual case), else by canonical fingerprint
/// ([`fingerprint`]).
fn compare(
    magento: &[(u32, String, String)],
    service: &[(u32, String, String)],
) -> Vec<(u32, String, String)> {
    let theirs: BTreeMap<(u32, &str), &str> = service
        .iter()
        .map(|(id, store, doc)| ((*id, store.as_str()), doc.as_str()))
        .collect();
    let ours: BTreeMap<(u32, &str), &str> = magento
        .iter()
        .map(|(id, store, doc)| ((*id, store.as_str()), doc.as_str()))
        .collect();
    let mut out = Vec::new();
    for (&(id, store), doc) in &ours {
        match theirs.get(&(id, store)) {
            Some(t) if as_stored(doc, t) || same(doc, t) => {}
            _ => out.push((id, store.to_owned(), String::new())),
        }
    }
    for &(id, store) in theirs.keys() {
        if !ours.contains_key(&(id, store)) {
            out.push((id, store.to_owned(), String::new()));
        }
    }
    out
}

/// Whether `stored` is eav-extract's `document` with its leading `"uuid"` and `"store_code"`
/// members taken out, byte for byte: what the services store for products and categories.
fn as_stored(document: &str, stored: &str) -> bool {
    stored_rest(document).is_some_and(|rest| stored.strip_prefix('{') == Some(rest))
}

/// eav-extract's `document` after its leading `{"uuid":…,"store_code":…,` (the services store
/// `{` and this); `None` when it does not start so.
fn stored_rest(document: &str) -> Option<&str> {
    let rest = document.strip_prefix("{\"uuid\":\"")?;
    // A UUID holds no quote or backslash.
    let end = rest.find('"')?;
    let mut rest = &rest[end + 1..];
    if let Some(after) = rest.strip_prefix(",\"store_code\":\"") {
        // Store codes are letters, digits and underscores: no escapes.
        let end = after.find('"')?;
        rest = &after[end + 1..];
    }
    Some(rest.strip_prefix(',').unwrap_or(rest))
}

/// Equal texts, or equal canonical fingerprints ([`fingerprint`]: member order, layout,
/// escapes and the notation of numbers do not matter).
pub fn same(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    matches!((fingerprint(a), fingerprint(b)), (Some(x), Some(y)) if x == y)
}

/// The fields that differ between two documents, by JSON path. Arrays of objects that carry
/// `attribute_code` (custom attributes) are compared by that code, other arrays by position.
pub fn field_diffs(magento: &Value, service: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    diff_into(&mut out, String::new(), Some(magento), Some(service));
    out
}

fn diff_into(out: &mut Vec<FieldDiff>, path: String, a: Option<&Value>, b: Option<&Value>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff_into(out, join(k), x.get(k), y.get(k));
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            let by_code = |v: &Vec<Value>| -> Option<BTreeMap<String, Value>> {
                v.iter()
                    .map(|e| {
                        let code = e.get("attribute_code")?.as_str()?.to_owned();
                        Some((code, e.get("value").cloned().unwrap_or(Value::Null)))
                    })
                    .collect()
            };
            if let (Some(cx), Some(cy)) = (by_code(x), by_code(y)) {
                let codes: BTreeSet<&String> = cx.keys().chain(cy.keys()).collect();
                for c in codes {
                    diff_into(out, format!("{path}[{c}]"), cx.get(c), cy.get(c));
                }
            } else {
                for i in 0..x.len().max(y.len()) {
                    diff_into(out, format!("{path}[{i}]"), x.get(i), y.get(i));
                }
            }
        }
        (x, y) if x == y => {}
        // Leaves that differ only in notation (a timestamp's offset, a boolean as 1).
        (Some(x), Some(y)) if fingerprint(&x.to_string()) == fingerprint(&y.to_string()) => {}
        (x, y) => out.push(FieldDiff {
            path,
            magento: x.cloned(),
            service: y.cloned(),
        }),
    }
}

/// The keys of `pending` that still differ, read again on both sides (Magento in a new
/// snapshot, whose position they carry from now on).
async fn recheck(
    lookup: &Lookup,
    service: &Service<'_>,
    pending: &[Seen],
    stores: &[&str],
) -> Result<Vec<Seen>, Error> {
    let mut out = Vec::new();
    let mut by_kind: BTreeMap<&'static str, (Kind, Vec<&Seen>)> = BTreeMap::new();
    for s in pending {
        by_kind
            .entry(s.kind.name())
            .or_insert_with(|| (s.kind, Vec::new()))
            .1
            .push(s);
    }
    for (kind, list) in by_kind.into_values() {
        let ids: Vec<u32> = list
            .iter()
            .map(|s| s.id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut snapshot = lookup.snapshot().await?;
        let at = snapshot
            .position
            .as_ref()
            .map(|p| (file_number(&p.file), p.position));
        let magento = keyed(snapshot.documents(kind, &ids, stores).await?, kind);
        drop(snapshot);
        let theirs = service.documents_of(kind, &ids, stores).await?;
        let still: BTreeSet<(u32, String)> = compare(&magento, &theirs)
            .into_iter()
            .map(|(id, store, _)| (id, store))
            .collect();
        for s in list {
            if still.contains(&(s.id, s.store.clone())) {
                out.push(Seen { at, ..s.clone() });
            }
        }
    }
    Ok(out)
}

/// The mismatch of one key, read once more (`None` if it matches now).
async fn describe(
    lookup: &Lookup,
    service: &Service<'_>,
    s: &Seen,
    stores: &[&str],
) -> Result<Option<Mismatch>, Error> {
    let magento = shaped(lookup.documents(s.kind, &[s.id], stores).await?, s.kind);
    let theirs = service.documents_of(s.kind, &[s.id], stores).await?;
    let find = |list: &[(u32, String, String)]| {
        list.iter()
            .find(|(id, store, _)| *id == s.id && *store == s.store)
            .map(|(_, _, d)| d.clone())
    };
    let (m, t) = (find(&magento), find(&theirs));
    let (what, fields) = match (&m, &t) {
        (Some(a), Some(b)) if same(a, b) => return Ok(None),
        (Some(a), Some(b)) => {
            let parse =
                |d: &str| serde_json::from_str::<Value>(d).unwrap_or(Value::String(d.to_owned()));
            (What::Different, field_diffs(&parse(a), &parse(b)))
        }
        (Some(_), None) => (What::Missing, Vec::new()),
        (None, Some(_)) => (What::Extra, Vec::new()),
        (None, None) => return Ok(None),
    };
    Ok(Some(Mismatch {
        kind: s.kind.name().to_owned(),
        id: s.id,
        store: s.store.clone(),
        what,
        fields,
    }))
}

/// Magento's documents keyed as the service keys them: customers and orders under the empty
/// store code. (The fingerprints leave eav-extract's own keys out; see [`shaped`].)
fn keyed(docs: Vec<(u32, String, String)>, kind: Kind) -> Vec<(u32, String, String)> {
    docs.into_iter()
        .map(|(id, store, doc)| match kind {
            Kind::Customer | Kind::Order => (id, String::new(), doc),
            _ => (id, store, doc),
        })
        .collect()
}

/// Magento's documents in the shape the service stores (and Magento answers): without ficus's
/// `uuid` and `store_code`; customers and orders under the empty store code.
fn shaped(docs: Vec<(u32, String, String)>, kind: Kind) -> Vec<(u32, String, String)> {
    keyed(docs, kind)
        .into_iter()
        .map(|(id, store, doc)| {
            let doc = ficus_services::shape::magento_shape(&doc).unwrap_or(doc);
            (id, store, doc)
        })
        .collect()
}

/// The store views to compare products and categories in.
async fn stores(
    options: &Options,
    lookup: &Lookup,
    service: &Service<'_>,
) -> Result<Vec<String>, Error> {
    let wanted = if options.stores.is_empty() {
        service.stores().await?
    } else {
        options.stores.clone()
    };
    for s in &wanted {
        if !lookup.has_store(s) {
            return Err(Error::Options(format!(
                "store view {s:?} is not in Magento (it has {})",
                lookup.store_codes().join(", ")
            )));
        }
    }
    Ok(wanted)
}

/// A query for `(legacy id, store code, document)` rows.
type Rows<'q> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, (i64, String, String), sqlx::postgres::PgArguments>;

/// The service's side.
struct Service<'p> {
    pool: &'p PgPool,
    dsn: String,
    domain: Domain,
}

impl Service<'_> {
    fn err(&self) -> impl Fn(sqlx::Error) -> Error + '_ {
        move |source| Error::Service {
            dsn: self.dsn.clone(),
            source,
        }
    }

    /// The store views the catalog holds (none for the other services).
    async fn stores(&self) -> Result<Vec<String>, Error> {
        if self.domain != Domain::Catalog {
            return Ok(Vec::new());
        }
        sqlx::query_scalar("SELECT code FROM catalog.store ORDER BY code")
            .fetch_all(self.pool)
            .await
            .map_err(self.err())
    }

    /// `SELECT legacy_id, store, document` of `kind`, with `filter` on the legacy id.
    fn sql(kind: Kind, filter: &str) -> String {
        Self::select(kind, filter, |col| format!("{col}::text"))
    }

    /// [`Service::sql`] with each document's `hashtextextended(document::text, 0)` instead of
    /// the document: the `document_hash` column PostgreSQL computes whenever a document is
    /// written (the services' migrations add it), so neither side hashes the stored text here.
    fn sql_hashed(kind: Kind, filter: &str) -> String {
        Self::select(kind, filter, |col| format!("{col}_hash"))
    }

    fn select(kind: Kind, filter: &str, doc: impl Fn(&str) -> String) -> String {
        match kind {
            Kind::Product => format!(
                "SELECT p.legacy_id, d.store_code::text, {} FROM catalog.product p
                 JOIN catalog.product_document d ON d.product = p.uuid
                 WHERE NOT p.deleted AND d.store_code = ANY($3) AND {}",
                doc("d.document"),
                filter.replace("legacy_id", "p.legacy_id")
            ),
            Kind::Category => format!(
                "SELECT legacy_id, store_code::text, {} FROM catalog.category_store
                 WHERE store_code = ANY($3) AND {filter}",
                doc("document")
            ),
            Kind::Customer => format!(
                "SELECT c.legacy_id, ''::text, {} FROM customer.profile c
                 JOIN customer.document d ON d.customer = c.customer WHERE {}",
                doc("d.document"),
                filter.replace("legacy_id", "c.legacy_id")
            ),
            Kind::Order => format!(
                "SELECT o.legacy_id, ''::text, {} FROM sales.order_grid o
                 JOIN sales.order_document d ON d.sales_order = o.sales_order WHERE {}",
                doc("d.document"),
                filter.replace("legacy_id", "o.legacy_id")
            ),
        }
    }

    /// Binds the store views (products and categories only: customers' and orders' queries have
    /// no third parameter) and reads the rows.
    async fn fetch(
        &self,
        kind: Kind,
        q: Rows<'_>,
        stores: &[&str],
    ) -> Result<Vec<(u32, String, String)>, Error> {
        let q = if matches!(kind, Kind::Product | Kind::Category) {
            q.bind(
                stores
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<String>>(),
            )
        } else {
            q
        };
        let rows = q.fetch_all(self.pool).await.map_err(self.err())?;
        Ok(rows
            .into_iter()
            .map(|(id, store, doc)| (u32::try_from(id).unwrap_or(u32::MAX), store, doc))
            .collect())
    }

    /// Documents of these legacy ids.
    async fn documents_of(
        &self,
        kind: Kind,
        ids: &[u32],
        stores: &[&str],
    ) -> Result<Vec<(u32, String, String)>, Error> {
        let sql = Self::sql(kind, "legacy_id = ANY($1) AND $2::bigint IS NOT NULL");
        let ids: Vec<i64> = ids.iter().map(|i| i64::from(*i)).collect();
        let q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .bind(0i64);
        self.fetch(kind, q, stores).await
    }

    /// The newest position cdc-sync (or a back-fill) recorded, as (file number, offset).
    async fn position(&self) -> Result<Option<(u64, u64)>, Error> {
        let sql = format!(
            "SELECT file_number, position FROM {}.source_checkpoint
             ORDER BY file_number DESC, position DESC LIMIT 1",
            self.domain.schema()
        );
        let row: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_optional(self.pool)
            .await
            .map_err(self.err())?;
        Ok(row.map(|(f, p)| (f.max(0) as u64, p.max(0) as u64)))
    }

    /// Waits until the service's checkpoint is at or past `at`, for at most `limit`.
    async fn wait_for(&self, at: (u64, u64), limit: Duration) -> Result<bool, Error> {
        let started = Instant::now();
        loop {
            if self.position().await?.is_some_and(|p| p >= at) {
                return Ok(true);
            }
            if started.elapsed() >= limit {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The number of a binlog file name (`mariadb-bin.000012` → 12).
pub fn file_number(file: &str) -> u64 {
    file.rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A PostgreSQL pool for the service's database; the error masks the password.
pub async fn connect(dsn: &str) -> Result<PgPool, Error> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(dsn)
        .await
        .map_err(|source| Error::Service {
            dsn: mask(dsn),
            source,
        })
}

/// A DSN with its password replaced by `***`.
pub fn mask(dsn: &str) -> String {
    let Some((scheme, rest)) = dsn.split_once("://") else {
        return dsn.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return dsn.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => dsn.to_owned(),
    }
}

/// Paces reads to at most `rate` entities per second.
struct Pace {
    rate: Option<u32>,
    started: Instant,
    done: std::sync::atomic::AtomicU64,
}

impl Pace {
    fn new(rate: Option<u32>) -> Self {
        Self {
            rate: rate.filter(|r| *r > 0),
            started: Instant::now(),
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    async fn wait(&self, n: usize) {
        let Some(rate) = self.rate else { return };
        let done = self
            .done
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed)
            + n as u64;
        let due = Duration::from_secs_f64(done as f64 / f64::from(rate));
        if let Some(rest) = due.checked_sub(self.started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_equality_and_field_paths() {
        assert!(same(r#"{"a":1,"b":"x"}"#, r#"{"b":"x","a":1}"#));
        assert!(same(r#"{"price":45.00}"#, r#"{"price":45.0}"#));
        assert!(!same(r#"{"price":"45.00"}"#, r#"{"price":"45.0"}"#));
        assert!(!same(r#"{"a":1}"#, r#"{"a":1,"b":null}"#));
        let m: Value = serde_json::json!({
            "name": "Bag", "price": 10,
            "custom_attributes": [{"attribute_code": "color", "value": "49"}, {"attribute_code": "size", "value": "1"}],
            "extension_attributes": {"website_ids": [1]},
            "addresses": [{"city": "Berlin", "default_billing": true}],
            "created_at": "2024-03-01 10:00:00", "dob": "0000-00-00"
        });
        let s: Value = serde_json::json!({
            "name": "Bag!", "price": 10,
            "custom_attributes": [{"attribute_code": "size", "value": "1"}, {"attribute_code": "color", "value": "50"}],
            "extension_attributes": {"website_ids": [1, 2]},
            "addresses": [{"city": "Bonn", "default_billing": 1}],
            "created_at": "2024-03-01T11:00:00+01:00", "dob": null
        });
        let paths: Vec<String> = field_diffs(&m, &s).into_iter().map(|d| d.path).collect();
        assert_eq!(
            paths,
            vec![
                "addresses[0].city",
                "custom_attributes[color]",
                "extension_attributes.website_ids[1]",
                "name"
            ]
        );
    }

    #[test]
    fn compares_by_key_both_ways() {
        let m = vec![
            (1, "default".to_owned(), r#"{"a":1}"#.to_owned()),
            (2, "default".to_owned(), r#"{"a":2}"#.to_owned()),
            (3, "default".to_owned(), r#"{"a":3}"#.to_owned()),
        ];
        let s = vec![
            (3, "default".to_owned(), r#"{"a":3}"#.to_owned()),
            (1, "default".to_owned(), r#"{"a":9}"#.to_owned()),
            (4, "default".to_owned(), r#"{"a":4}"#.to_owned()),
        ];
        let keys: Vec<(u32, String)> = compare(&m, &s)
            .into_iter()
            .map(|(i, st, _)| (i, st))
            .collect();
        assert_eq!(
            keys,
            vec![
                (1, "default".into()),
                (2, "default".into()),
                (4, "default".into())
            ]
        );
    }

    #[test]
    fn the_stored_text_is_the_extracts_without_its_own_keys() {
        let doc = r#"{"uuid":"3f1c7a3e-0000-5000-8000-000000000001","store_code":"default","id":7,"sku":"A"}"#;
        assert!(as_stored(doc, r#"{"id":7,"sku":"A"}"#));
        assert!(!as_stored(doc, r#"{"id":7,"sku":"B"}"#));
        assert!(!as_stored(doc, r#"{"id":7,"sku":"A","x":1}"#));
        assert!(
            !as_stored(doc, r#"{"sku":"A","id":7}"#),
            "another order is left to the fingerprint"
        );
        assert!(same(doc, r#"{"sku":"A","id":7}"#));
        assert!(
            as_stored(r#"{"uuid":"u","id":1}"#, r#"{"id":1}"#),
            "customers have no store code"
        );
        assert!(
            !as_stored(r#"{"id":1}"#, r#"{"id":1}"#),
            "not an extract document"
        );
        // Both ways of comparing agree on what compare() reports.
        let m = vec![(7, "default".to_owned(), doc.to_owned())];
        let same_text = vec![(7, "default".to_owned(), r#"{"id":7,"sku":"A"}"#.to_owned())];
        let reordered = vec![(
            7,
            "default".to_owned(),
            r#"{"sku": "A", "id": 7}"#.to_owned(),
        )];
        let changed = vec![(
            7,
            "default".to_owned(),
            r#"{"sku": "A", "id": 8}"#.to_owned(),
        )];
        assert!(compare(&m, &same_text).is_empty());
        assert!(compare(&m, &reordered).is_empty());
        assert_eq!(compare(&m, &changed).len(), 1);
    }

    #[test]
    fn masks_passwords_and_numbers_binlog_files() {
        assert_eq!(
            mask("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(mask("postgres://h/db"), "postgres://h/db");
        assert_eq!(file_number("mariadb-bin.000012"), 12);
    }
}
