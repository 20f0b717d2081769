//! Documents read on demand, one entity at a time, each read on its own (no snapshot, no
//! checkpoint): for tools that answer single requests from Magento's database, such as the
//! Magento stand-in the tests and the demo put behind ficus-proxy. The documents are the
//! extract's, so they follow the same rules and shapes.

use mysql_async::prelude::Queryable;

use ficus_id_map::magento::MagentoDsn;
use ficus_id_map::{Mapper, Namespace};

use crate::doc::Docs;
use crate::error::{Result, mysql};
use crate::meta::{Kind, Meta};
use crate::source::{Position, Snapshot, read_ahead, read_chunk};
use crate::spill::{Pace, Spill};
use mysql_async::Conn;

/// Magento's metadata, read once, and a way to read any entity's document.
#[derive(Debug)]
pub struct Lookup {
    dsn: MagentoDsn,
    pool: mysql_async::Pool,
    meta: Meta,
    namespace: Namespace,
    /// Connections whose snapshot has ended ([`SnapshotReads::release`]), their sessions set up,
    /// for the next snapshots to start on (at most [`SPARE`]).
    spare: std::sync::Mutex<Vec<Conn>>,
}

/// Snapshot connections kept for reuse.
const SPARE: usize = 2;

impl Lookup {
    /// Reads the metadata of every kind (attributes, stores, price scope).
    pub async fn open(dsn: MagentoDsn, namespace: Namespace) -> Result<Lookup> {
        let mut conn = dsn.connect().await?;
        let meta = Meta::load(&mut conn, &Kind::ALL, false).await?;
        let _ = conn.disconnect().await;
        // Read timestamps as stored (UTC) and text as utf8mb4, as the extract's snapshot does.
        let opts = mysql_async::OptsBuilder::from_opts(dsn.opts().clone()).init(vec![
            "SET SESSION time_zone = '+00:00'",
            "SET NAMES utf8mb4",
        ]);
        Ok(Lookup {
            pool: mysql_async::Pool::new(opts),
            dsn,
            meta,
            namespace,
            spare: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A pooled connection; the error names the DSN, password masked.
    async fn conn(&self) -> Result<mysql_async::Conn> {
        self.pool.get_conn().await.map_err(|source| {
            ficus_id_map::Error::MysqlConnect {
                dsn: self.dsn.masked(),
                source,
            }
            .into()
        })
    }

    /// Whether `code` names a store view.
    pub fn has_store(&self, code: &str) -> bool {
        self.meta.stores.iter().any(|s| s.code == code)
    }

    /// The codes of every store view, the admin store (store 0) first.
    pub fn store_codes(&self) -> Vec<&str> {
        self.meta.stores.iter().map(|s| s.code.as_str()).collect()
    }

    /// Whether `kind`'s tables have Adobe Commerce's staging layout (value tables keyed by
    /// `row_id`).
    pub fn staged(&self, kind: Kind) -> bool {
        self.meta
            .types
            .get(kind.type_code())
            .is_some_and(|t| t.staged)
    }

    /// The `entity_id` of a staged entity's version `row_id`; `None` when there is no such row.
    pub async fn entity_of_row(&self, kind: Kind, row_id: u32) -> Result<Option<u32>> {
        let mut conn = self.conn().await?;
        self.entity_of_row_on(&mut conn, kind, row_id).await
    }

    async fn entity_of_row_on(
        &self,
        conn: &mut Conn,
        kind: Kind,
        row_id: u32,
    ) -> Result<Option<u32>> {
        let Some(t) = self.meta.types.get(kind.type_code()) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT entity_id FROM {} WHERE row_id = ?",
            ficus_id_map::magento::quote_ident(&t.table)
        );
        conn.exec_first(sql, (row_id,))
            .await
            .map_err(mysql(t.table.clone()))
    }

    /// The customer a customer address belongs to; `None` when the address is gone.
    pub async fn address_owner(&self, address_id: u32) -> Result<Option<u32>> {
        let mut conn = self.conn().await?;
        self.address_owner_on(&mut conn, address_id).await
    }

    async fn address_owner_on(&self, conn: &mut Conn, address_id: u32) -> Result<Option<u32>> {
        let Some(t) = self.meta.types.get("customer_address") else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT parent_id FROM {} WHERE entity_id = ?",
            ficus_id_map::magento::quote_ident(&t.table)
        );
        let owner: Option<Option<u32>> = conn
            .exec_first(sql, (address_id,))
            .await
            .map_err(mysql(t.table.clone()))?;
        Ok(owner.flatten())
    }

    /// The entity id of the product with `sku` (compared as Magento's column collation
    /// compares it: case-insensitively).
    pub async fn product_id(&self, sku: &str) -> Result<Option<u32>> {
        let mut conn = self.conn().await?;
        let t = &self.meta.entity_type(Kind::Product.type_code()).table;
        let id: Option<u32> = conn
            .exec_first(
                format!(
                    "SELECT entity_id FROM {} WHERE sku = ? ORDER BY entity_id LIMIT 1",
                    ficus_id_map::magento::quote_ident(t)
                ),
                (sku,),
            )
            .await
            .map_err(mysql(t.clone()))?;
        Ok(id)
    }

    /// The document of entity `id` of `kind` in store view `store` (products and categories;
    /// customers and orders ignore it), as eav-extract writes it (with `uuid` and `store_code`), without
    /// the newline; `None` when there is no such entity or store view.
    pub async fn document(&self, kind: Kind, id: u32, store: &str) -> Result<Option<String>> {
        let mut conn = self.conn().await?;
        self.document_on(&mut conn, kind, id, store).await
    }

    /// The documents of the entities `ids` of `kind`: products and categories in each of the
    /// store views `stores`, customers and orders once; `(id, store code, document)` in id
    /// order, nothing for an id that names no entity. A few queries for all of them.
    pub async fn documents(
        &self,
        kind: Kind,
        ids: &[u32],
        stores: &[&str],
    ) -> Result<Vec<(u32, String, String)>> {
        let mut conn = self.conn().await?;
        self.documents_on(&mut conn, kind, ids, stores).await
    }

    /// Reads inside one consistent snapshot (`START TRANSACTION WITH CONSISTENT SNAPSHOT`),
    /// whose binlog position says which commits it sees: every document read through it is
    /// Magento's state at that position exactly.
    /// A connection kept by [`SnapshotReads::release`] is used again when there is one (a new
    /// connection and its session's settings cost several round trips).
    pub async fn snapshot(&self) -> Result<SnapshotReads<'_>> {
        let kept = self
            .spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        if let Some(mut conn) = kept {
            // On failure (the server closed it while it waited, say) a new connection instead.
            if let Ok(position) = Snapshot::begin(&mut conn).await {
                return Ok(SnapshotReads {
                    lookup: self,
                    conn,
                    position,
                });
            }
        }
        let snapshot = Snapshot::open(&self.dsn).await?;
        Ok(SnapshotReads {
            lookup: self,
            conn: snapshot.conn,
            position: snapshot.position,
        })
    }

    /// The documents of the entities `ids` of `kind` (products and categories in each of the
    /// store views `stores`; customers and orders once): `(id, store code, document)`, in id
    /// order; an id that names nothing has none. A few queries for all of them, as the extract
    /// reads a chunk.
    async fn documents_on(
        &self,
        conn: &mut Conn,
        kind: Kind,
        ids: &[u32],
        stores: &[&str],
    ) -> Result<Vec<(u32, String, String)>> {
        let (views, store_ids) = self.views(kind, stores);
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let chunk = crate::source::read_ids(conn, &self.meta, kind, &ids, &store_ids).await?;
        self.build(kind, &chunk, &views)
    }

    /// The store views a kind's documents are written for: `stores` (codes) for products and
    /// categories, the admin store (id 0) alone for customers and orders; with every store id
    /// to read values of (0 first).
    fn views<'m>(&'m self, kind: Kind, stores: &[&str]) -> (Vec<&'m crate::meta::Store>, Vec<u16>) {
        let views: Vec<&crate::meta::Store> = match kind {
            Kind::Customer | Kind::Order => self.meta.stores.iter().filter(|s| s.id == 0).collect(),
            _ => stores
                .iter()
                .filter_map(|code| self.meta.stores.iter().find(|s| s.code == *code))
                .collect(),
        };
        let mut store_ids: Vec<u16> = std::iter::once(0)
            .chain(views.iter().map(|s| s.id))
            .collect();
        store_ids.sort_unstable();
        store_ids.dedup();
        (views, store_ids)
    }

    /// The documents of a chunk's entities in `views`: `(id, store code, document)`.
    fn build(
        &self,
        kind: Kind,
        chunk: &crate::source::Chunk,
        views: &[&crate::meta::Store],
    ) -> Result<Vec<(u32, String, String)>> {
        let n = chunk.entities.len();
        if n < 64 {
            return self.build_range(kind, chunk, views, 0..n);
        }
        // Large chunks (a verifier's walk) are built on two threads, as the extract builds.
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| self.build_range(kind, chunk, views, n / 2..n));
            let first = self.build_range(kind, chunk, views, 0..n / 2);
            let second = second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first, second)
        });
        let mut docs = first?;
        docs.extend(second?);
        Ok(docs)
    }

    /// [`Lookup::build`] of the chunk's entities `range`.
    fn build_range(
        &self,
        kind: Kind,
        chunk: &crate::source::Chunk,
        views: &[&crate::meta::Store],
        range: std::ops::Range<usize>,
    ) -> Result<Vec<(u32, String, String)>> {
        let mapper = Mapper::new(self.namespace, kind.type_code())?;
        let addresses = Mapper::new(self.namespace, "customer_address")?;
        let docs = Docs::new(&self.meta);
        let mut out = Vec::with_capacity(range.len() * views.len());
        let mut room = 256;
        let offset = range.start;
        for (i, e) in chunk.entities[range].iter().enumerate() {
            let n = offset + i;
            let uuid = mapper.uuid(e.id as u64);
            for store in views {
                // Each document written into its own string (sized like the one before), which
                // is then kept as it is: no copy.
                let mut text = String::with_capacity(room);
                match kind {
                    Kind::Product => docs.product(&mut text, &uuid, chunk, e, store)?,
                    Kind::Category => docs.category(&mut text, &uuid, chunk, e, store)?,
                    Kind::Customer => docs.customer(&mut text, &uuid, &addresses, chunk, e)?,
                    Kind::Order => {
                        let orders = &chunk.orders;
                        let code = orders.store_id(n).and_then(|s| self.meta.store_code(s));
                        orders.write(&mut text, n, &uuid, code, &self.meta.regions)?
                    }
                }
                text.truncate(text.trim_end().len());
                room = text.len() + 64;
                out.push((e.id, store.code.clone(), text));
            }
        }
        Ok(out)
    }

    async fn document_on(
        &self,
        conn: &mut Conn,
        kind: Kind,
        id: u32,
        store: &str,
    ) -> Result<Option<String>> {
        let wanted = |s: &&crate::meta::Store| match kind {
            Kind::Customer | Kind::Order => s.id == 0,
            _ => s.code == store,
        };
        let Some(store) = self.meta.stores.iter().find(wanted) else {
            return Ok(None);
        };
        let ids = [0, store.id];
        let chunk = read_chunk(
            (conn, &mut None),
            &self.meta,
            kind,
            id.saturating_sub(1),
            1,
            &ids,
            None,
        )
        .await;
        let chunk = chunk?;
        let Some(e) = chunk.entities.first().filter(|e| e.id == id) else {
            return Ok(None);
        };
        let uuid = Mapper::new(self.namespace, kind.type_code())?.uuid(id as u64);
        let docs = Docs::new(&self.meta);
        let mut out = String::new();
        match kind {
            Kind::Product => docs.product(&mut out, &uuid, &chunk, e, store)?,
            Kind::Category => docs.category(&mut out, &uuid, &chunk, e, store)?,
            Kind::Customer => {
                let addresses = Mapper::new(self.namespace, "customer_address")?;
                docs.customer(&mut out, &uuid, &addresses, &chunk, e)?
            }
            Kind::Order => {
                let orders = &chunk.orders;
                let code = orders.store_id(0).and_then(|s| self.meta.store_code(s));
                orders.write(&mut out, 0, &uuid, code, &self.meta.regions)?
            }
        }
        out.truncate(out.trim_end().len());
        Ok(Some(out))
    }
}

/// A walk over every entity of one kind in one consistent snapshot, read the way the extract
/// reads (see [`Lookup::scan`]).
#[derive(Debug)]
pub struct KindScan<'l> {
    lookup: &'l Lookup,
    /// The reader task's chunks, read ahead of the one being built.
    chunks: tokio::sync::mpsc::Receiver<Result<crate::source::Chunk>>,
    kind: Kind,
    views: Vec<&'l crate::meta::Store>,
    /// The binlog position the snapshot sees up to; `None` without a binlog.
    pub position: Option<Position>,
    /// Why the value tables went through mysql_async rather than the wire reader, if they did.
    pub note: Option<String>,
}

impl Lookup {
    /// Opens a snapshot and reads every value table of `kind` once for the entities after
    /// `after` (as the extract's default `--value-reads scan` does: two wire connections in the
    /// snapshot when they can be paired, bucket files in `spill_dir`); [`KindScan::next`] then
    /// gives the documents chunk by chunk of `size` entities in entity order, the next chunk
    /// read by a task of its own while the current one is built. Staged (Adobe Commerce) tables
    /// and orders are read per chunk, in the same snapshot.
    pub async fn scan(
        &self,
        kind: Kind,
        after: u32,
        stores: &[&str],
        spill_dir: &std::path::Path,
        size: usize,
    ) -> Result<KindScan<'_>> {
        let mut snapshot = Snapshot::open(&self.dsn).await?;
        let (views, store_ids) = self.views(kind, stores);
        let t = self
            .meta
            .types
            .get(kind.type_code())
            .filter(|t| !t.staged && kind != Kind::Order);
        let mut note = None;
        let mut wires = Vec::new();
        if t.is_some() {
            match snapshot.pair(&self.dsn, 2).await {
                Ok(w) => wires = w,
                Err(why) => note = Some(why),
            }
        }
        let mut conn = snapshot.conn;
        let spill = match t {
            Some(t) => Some(
                Spill::read(
                    (&mut conn, &mut wires),
                    t,
                    after,
                    &store_ids,
                    (spill_dir, crate::spill::DEFAULT_BUCKET_BYTES),
                    &mut Pace::new(None),
                    |_, _, _| {},
                )
                .await?,
            ),
            None => None,
        };
        let (tx, chunks) = tokio::sync::mpsc::channel(2);
        tokio::spawn(read_ahead(
            (conn, wires.pop()),
            std::sync::Arc::new(self.meta.clone()),
            kind,
            after,
            size.max(1),
            store_ids,
            spill,
            tx,
        ));
        Ok(KindScan {
            lookup: self,
            chunks,
            kind,
            views,
            position: snapshot.position,
            note,
        })
    }
}

impl KindScan<'_> {
    /// The documents of the next chunk: `(id, store code, document)` in id order, and the last
    /// entity id read (`None` when none is left).
    pub async fn next(&mut self) -> Result<(Vec<(u32, String, String)>, Option<u32>)> {
        let Some(chunk) = self.chunks.recv().await else {
            return Ok((Vec::new(), None));
        };
        let chunk = chunk?;
        let last = chunk.entities.last().map(|e| e.id);
        Ok((self.lookup.build(self.kind, &chunk, &self.views)?, last))
    }
}

/// Reads of one consistent snapshot (see [`Lookup::snapshot`]).
#[derive(Debug)]
pub struct SnapshotReads<'l> {
    lookup: &'l Lookup,
    conn: Conn,
    /// The binlog position the snapshot sees up to (MariaDB's `binlog_snapshot_*`; read just
    /// after the snapshot opened on MySQL); `None` without a binlog.
    pub position: Option<Position>,
}

impl SnapshotReads<'_> {
    /// [`Lookup::document`], in the snapshot.
    pub async fn document(&mut self, kind: Kind, id: u32, store: &str) -> Result<Option<String>> {
        self.lookup
            .document_on(&mut self.conn, kind, id, store)
            .await
    }

    /// The documents of many entities at once (see [`Lookup::documents`]).
    pub async fn documents(
        &mut self,
        kind: Kind,
        ids: &[u32],
        stores: &[&str],
    ) -> Result<Vec<(u32, String, String)>> {
        self.lookup
            .documents_on(&mut self.conn, kind, ids, stores)
            .await
    }

    /// The documents of the next `size` entities of `kind` after entity id `after`, read as the
    /// extract reads a chunk: `(id, store code, document)` in id order, and the last entity id
    /// read (`None` when no entity is left). For readers that walk every entity in key order,
    /// such as a verifier.
    pub async fn next_documents(
        &mut self,
        kind: Kind,
        after: u32,
        size: usize,
        stores: &[&str],
    ) -> Result<(Vec<(u32, String, String)>, Option<u32>)> {
        let (views, store_ids) = self.lookup.views(kind, stores);
        let chunk = read_chunk(
            (&mut self.conn, &mut None),
            &self.lookup.meta,
            kind,
            after,
            size,
            &store_ids,
            None,
        )
        .await?;
        let last = chunk.entities.last().map(|e| e.id);
        Ok((self.lookup.build(kind, &chunk, &views)?, last))
    }

    /// The server's id of the snapshot's connection (`CONNECTION_ID()`).
    pub fn connection_id(&self) -> u32 {
        self.conn.id()
    }

    /// Ends the snapshot (its read view released at once, so it holds back no purge) and keeps
    /// the connection for the next [`Lookup::snapshot`]. Dropped instead, the connection closes.
    pub async fn release(mut self) {
        if self.conn.query_drop("ROLLBACK").await.is_ok() {
            let mut spare = self
                .lookup
                .spare
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if spare.len() < SPARE {
                spare.push(self.conn);
            }
        }
    }

    /// [`Lookup::entity_of_row`], in the snapshot.
    pub async fn entity_of_row(&mut self, kind: Kind, row_id: u32) -> Result<Option<u32>> {
        self.lookup
            .entity_of_row_on(&mut self.conn, kind, row_id)
            .await
    }

    /// [`Lookup::address_owner`], in the snapshot.
    pub async fn address_owner(&mut self, address_id: u32) -> Result<Option<u32>> {
        self.lookup
            .address_owner_on(&mut self.conn, address_id)
            .await
    }
}
