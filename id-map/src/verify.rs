//! `verify`: every stored Magento-born UUID is the deterministic one, and every Magento id of the
//! chosen entities is in the store.

use std::collections::HashSet;
use std::future::Future;

use futures_util::TryStreamExt;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::identity::{Mapper, Namespace};
use crate::magento::{IdSource, MagentoDsn};
use crate::store::{Store, pg};

/// How many examples of each problem a report keeps.
const EXAMPLES: usize = 10;

/// The findings for one entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// The entity.
    pub entity: String,
    /// Ids in Magento.
    pub magento_ids: u64,
    /// Magento-born mappings in the store.
    pub stored: u64,
    /// Magento ids with no mapping.
    pub missing: u64,
    /// Some of them.
    pub missing_examples: Vec<u64>,
    /// Stored Magento-born UUIDs that differ from the deterministic one.
    pub wrong: u64,
    /// Some of them: (legacy id, stored, expected).
    pub wrong_examples: Vec<(u64, Uuid, Uuid)>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.missing == 0 && self.wrong == 0
    }
}

/// Verifies the store against Magento for each entity; stops when `shutdown` completes.
pub async fn verify(
    source: &MagentoDsn,
    store: &Store,
    namespace: Namespace,
    entities: &[String],
    chunk_size: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<VerifyReport>> {
    store.check_namespace(namespace).await?;
    store.check_loaded().await?;
    let mut mysql = source.connect().await?;
    let mut sources = Vec::new();
    for entity in entities {
        sources.push(IdSource::resolve(&mut mysql, entity).await?);
    }
    tokio::pin!(shutdown);
    let mut reports = Vec::new();
    for src in sources {
        let mapper = Mapper::new(namespace, &src.entity)?;
        let mut report = VerifyReport {
            entity: src.entity.clone(),
            ..VerifyReport::default()
        };
        let mut rows = sqlx::query_as::<_, (i64, Uuid)>(
            "SELECT legacy_id, uuid FROM ficus_id_map.mapping WHERE entity = $1 AND origin = 'magento'",
        )
        .bind(&src.entity)
        .fetch(store.pool());
        while let Some((legacy_id, stored)) = rows
            .try_next()
            .await
            .map_err(pg(format!("read {} mappings", src.entity)))?
        {
            report.stored += 1;
            let expected = mapper.uuid(legacy_id as u64);
            if stored != expected {
                report.wrong += 1;
                if report.wrong_examples.len() < EXAMPLES {
                    report
                        .wrong_examples
                        .push((legacy_id as u64, stored, expected));
                }
            }
        }
        drop(rows);
        let mut after = None;
        loop {
            let ids = tokio::select! {
                biased;
                () = &mut shutdown => return Err(Error::Interrupted { committed: 0 }),
                ids = src.ids_after(&mut mysql, after, chunk_size.max(1)) => ids?,
            };
            let Some(&last) = ids.last() else { break };
            after = Some(last);
            report.magento_ids += ids.len() as u64;
            let keys: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
            let found: Vec<(i64,)> = sqlx::query_as(
                "SELECT legacy_id FROM ficus_id_map.mapping WHERE entity = $1 AND legacy_id = ANY($2)",
            )
            .bind(&src.entity)
            .bind(&keys)
            .fetch_all(store.pool())
            .await
            .map_err(pg(format!("look up {} ids", src.entity)))?;
            if found.len() == ids.len() {
                continue;
            }
            let found: HashSet<i64> = found.into_iter().map(|(id,)| id).collect();
            for &id in &ids {
                if !found.contains(&(id as i64)) {
                    report.missing += 1;
                    if report.missing_examples.len() < EXAMPLES {
                        report.missing_examples.push(id);
                    }
                }
            }
        }
        reports.push(report);
    }
    let _ = mysql.disconnect().await;
    Ok(reports)
}
