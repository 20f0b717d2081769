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
use crate::source::read_chunk;

/// Magento's metadata, read once, and a way to read any entity's document.
#[derive(Debug)]
pub struct Lookup {
    dsn: MagentoDsn,
    pool: mysql_async::Pool,
    meta: Meta,
    namespace: Namespace,
}

impl Lookup {
    /// Reads the metadata of every kind (attributes, stores, price scope).
    pub async fn open(dsn: MagentoDsn, namespace: Namespace) -> Result<Lookup> {
        let mut conn = dsn.connect().await?;
        let meta = Meta::load(&mut conn, &Kind::ALL, false).await?;
        let _ = conn.disconnect().await;
        Ok(Lookup {
            pool: dsn.pool(),
            dsn,
            meta,
            namespace,
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
        let wanted = |s: &&crate::meta::Store| match kind {
            Kind::Customer | Kind::Order => s.id == 0,
            _ => s.code == store,
        };
        let Some(store) = self.meta.stores.iter().find(wanted) else {
            return Ok(None);
        };
        let mut conn = self.dsn.connect().await?;
        let ids = [0, store.id];
        let chunk = read_chunk(
            &mut conn,
            &self.meta,
            kind,
            id.saturating_sub(1),
            1,
            &ids,
            None,
        )
        .await;
        let _ = conn.disconnect().await;
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
