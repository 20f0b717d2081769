//! The loader: a few connections executing the writer's batches concurrently.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mysql_async::prelude::Queryable;
use tokio::sync::Mutex;
use tokio::sync::mpsc::Receiver;

use crate::error::{Error, Result};
use crate::sql::Batch;

/// Session settings for a bulk load: explicit keys (store 0 and website 0 are real rows),
/// strict types, and no per-row FK or unique checks while loading generated, consistent data.
pub const LOAD_SESSION: &[&str] = &[
    "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
    "SET SESSION foreign_key_checks = 0",
    "SET SESSION unique_checks = 0",
    "SET SESSION time_zone = '+00:00'",
];

/// Opens a connection and applies the load session settings.
pub async fn connect(opts: &mysql_async::Opts, log_bin: bool) -> Result<mysql_async::Conn> {
    let mut conn = mysql_async::Conn::new(opts.clone())
        .await
        .map_err(|e| Error::Sql {
            what: "opening a load connection".into(),
            source: e,
        })?;
    for s in LOAD_SESSION {
        conn.query_drop(*s).await.map_err(|e| Error::Sql {
            what: s.to_string(),
            source: e,
        })?;
    }
    if !log_bin {
        // A generated store is the starting state, not a change stream: keeping its bulk load out
        // of the binlog halves the writes. Needs SUPER or BINLOG ADMIN; without them, log it.
        let _ = conn.query_drop("SET SESSION sql_log_bin = 0").await;
    }
    Ok(conn)
}

/// Executes batches from `rx` on `workers` connections until the channel closes; counts the
/// rows loaded in `progress`. The first failure stops every worker and is returned.
pub async fn run(
    opts: &mysql_async::Opts,
    rx: Receiver<Batch>,
    workers: usize,
    log_bin: bool,
    progress: Arc<AtomicU64>,
) -> Result<()> {
    let rx = Arc::new(Mutex::new(rx));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let mut conn = connect(opts, log_bin).await?;
        let rx = rx.clone();
        let progress = progress.clone();
        set.spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some(batch) = next else { break };
                conn.query_drop(batch.sql).await.map_err(|e| Error::Load {
                    table: batch.table.clone(),
                    source: e,
                })?;
                progress.fetch_add(batch.rows, Ordering::Relaxed);
            }
            let _ = conn.disconnect().await;
            Ok::<(), Error>(())
        });
    }
    while let Some(joined) = set.join_next().await {
        let outcome = joined.unwrap_or_else(|e| Err(Error::WorkerPanicked(e.to_string())));
        if let Err(e) = outcome {
            set.abort_all();
            // Closing the channel makes the generator's next send fail, so it stops too.
            rx.lock().await.close();
            return Err(e);
        }
    }
    Ok(())
}
