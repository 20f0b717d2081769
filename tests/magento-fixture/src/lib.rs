//! A Magento 2.4-shaped MariaDB database, created and filled deterministically from a seed, for
//! every ficus test and benchmark.
//!
//! The schema is Magento's own table layout (CE, or Adobe Commerce with content staging), written
//! by ficus from the reference. The data follows Magento's real storage habits: attribute ids that
//! differ from a stock install, store 0 defaults with store-view overrides, website-scoped values
//! written once per store view, stale rows Magento ignores, "use default" as a missing row,
//! comma-separated multiselects, `decimal(20,6)` prices, customer EAV without a store dimension,
//! flat sales tables with per-store order numbers. Sizes follow Magento's performance toolkit.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ficus_magento_fixture::Error> {
//! use ficus_magento_fixture::{create, Dsn, Edition, Options, Profile};
//! let options = Options {
//!     dsn: Dsn::parse("mysql://ficus:ficus@127.0.0.1:3306/magento_small")?,
//!     profile: Profile::by_name("small")?,
//!     seed: 42,
//!     edition: Edition::Ce,
//!     drop: true,
//!     log_bin: false,
//!     workers: 3,
//! };
//! let report = create(&options, |_rows| {}, std::future::pending()).await?;
//! println!("{} rows in {:.1}s", report.total_rows(), report.seconds);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod dsn;
mod error;
mod generate;
mod load;
mod profile;
mod rng;
mod schema;
mod sql;
pub mod testing;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

pub use dsn::{Dsn, mask_password};
pub use error::{Error, Result};
pub use generate::{Plan, SEQUENCE_ENTITIES};
pub use profile::{PROFILES, Profile};
pub use schema::{Edition, TableDdl, sequence_table, tables};

/// What to create, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target: server and database. The database is created if missing.
    pub dsn: Dsn,
    /// Store size.
    pub profile: Profile,
    /// The same seed gives the same database.
    pub seed: u64,
    /// CE or Adobe Commerce staging layout.
    pub edition: Edition,
    /// Drop and recreate the database if it already holds tables (otherwise refuse).
    pub drop: bool,
    /// Write the bulk load to the binlog too (off by default: a new store is a starting state).
    pub log_bin: bool,
    /// Connections loading concurrently.
    pub workers: usize,
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Report {
    /// The database.
    pub database: String,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Wall time of the whole run.
    pub seconds: f64,
}

impl Report {
    /// Rows written in all tables.
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    /// Rows written to one table (0 if none).
    pub fn rows_in(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }
}

/// `name` as a quoted MariaDB identifier.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Creates the database the DSN names and fills it. `progress` is called about ten times a second
/// with the rows loaded so far. If `shutdown` completes first, or anything fails, the partly
/// written database is dropped again: a store is either complete or absent.
pub async fn create(
    options: &Options,
    progress: impl Fn(u64) + Send,
    shutdown: impl Future<Output = ()>,
) -> Result<Report> {
    let started = Instant::now();
    let dsn = &options.dsn;
    let database = dsn
        .database()
        .ok_or_else(|| Error::NoDatabase { dsn: dsn.masked() })?
        .to_string();
    let mut server = mysql_async::Conn::new(dsn.server_opts())
        .await
        .map_err(|source| Error::Connect {
            dsn: dsn.masked(),
            source,
        })?;
    let existing: Option<(u64, Option<String>)> = server
        .exec_first(
            "SELECT COUNT(*), MIN(table_name) FROM information_schema.tables WHERE table_schema = ?",
            (database.as_str(),),
        )
        .await
        .map_err(|source| Error::Sql {
            what: format!("listing the tables of '{database}'"),
            source,
        })?;
    if let Some((tables, example)) = existing.filter(|(n, _)| *n > 0) {
        if !options.drop {
            return Err(Error::NotEmpty {
                database,
                tables,
                example: example.unwrap_or_default(),
            });
        }
        drop_database(&mut server, &database).await?;
    }
    let create_db = format!(
        "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci",
        quote_ident(&database)
    );
    server
        .query_drop(create_db)
        .await
        .map_err(|source| Error::Sql {
            what: format!("creating database '{database}'"),
            source,
        })?;

    let outcome = tokio::select! {
        r = fill(options, &progress) => r,
        () = shutdown => Err(Error::Interrupted { database: database.clone() }),
    };
    match outcome {
        Ok(rows) => {
            let _ = server.disconnect().await;
            Ok(Report {
                database,
                rows,
                seconds: started.elapsed().as_secs_f64(),
            })
        }
        Err(e) => {
            // Nothing half-written: the database is ours (created or recreated above).
            let _ = drop_database(&mut server, &database).await;
            Err(e)
        }
    }
}

async fn drop_database(conn: &mut mysql_async::Conn, database: &str) -> Result<()> {
    conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(database)))
        .await
        .map_err(|source| Error::Sql {
            what: format!("dropping database '{database}'"),
            source,
        })
}

async fn fill(
    options: &Options,
    progress: &(impl Fn(u64) + Send),
) -> Result<BTreeMap<String, u64>> {
    let opts = options.dsn.opts().clone();
    let mut conn = load::connect(&opts, options.log_bin).await?;
    let mut ddl = tables(options.edition);
    for store in 0..=options.profile.store_views() {
        for entity in SEQUENCE_ENTITIES {
            ddl.push(sequence_table(entity, store));
        }
    }
    for t in &ddl {
        conn.query_drop(&t.sql).await.map_err(|source| Error::Sql {
            what: format!("creating table {}", t.name),
            source,
        })?;
    }
    let _ = conn.disconnect().await;

    let workers = options.workers.max(1);
    let (tx, rx) = tokio::sync::mpsc::channel(workers * 2);
    let loaded = Arc::new(AtomicU64::new(0));
    let loader = load::run(&opts, rx, workers, options.log_bin, loaded.clone());
    let plan = Plan {
        profile: options.profile,
        seed: options.seed,
        edition: options.edition,
    };
    let generator = tokio::task::spawn_blocking(move || {
        let mut w = sql::Writer::new(tx, 1 << 20);
        generate::generate(plan, &mut w)?;
        w.finish()
    });
    let ticker = async {
        loop {
            progress(loaded.load(Ordering::Relaxed));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (loaded_result, generated) = tokio::select! {
        r = async { tokio::join!(loader, generator) } => r,
        () = ticker => unreachable!("the ticker never ends"),
    };
    progress(loaded.load(Ordering::Relaxed));
    // The loader's error explains a generator that stopped because the loader went away.
    loaded_result?;
    let counts = match generated {
        Ok(Ok(counts)) => counts,
        Ok(Err(_gone)) => return Err(Error::LoaderStopped),
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    };
    Ok(counts.into_iter().collect())
}
