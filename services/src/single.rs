//! The binary of a service that keeps one kind of document with no store dimension (the
//! customer and order services): `migrate`, `load` (eav-extract's output, one document per
//! transaction) and `serve`, from the settings of `crate::config`.

use std::future::Future;
use std::process::ExitCode;

use clap::Parser;

use crate::config::{Cli, Command};
use crate::http::{Gateway, ops};
use crate::load::{self, Kind};
use crate::{Applied, Error, Position};

/// A service with one kind of document.
pub trait Single: Clone + Send + Sync + 'static {
    /// Its name in settings (`FICUS_<NAME>_…`) and messages.
    const NAME: &'static str;
    /// The documents of eav-extract's output it keeps.
    const KIND: Kind;
    /// Connects to its database.
    fn connect(dsn: &str) -> impl Future<Output = Result<Self, Error>> + Send;
    /// Applies pending migrations.
    fn migrate(&self) -> impl Future<Output = Result<(), Error>> + Send;
    /// The write API: one document read at `at`.
    fn upsert(
        &self,
        document: &str,
        at: Position,
    ) -> impl Future<Output = Result<Applied, Error>> + Send;
    /// Statistics after a back-fill.
    fn vacuum(&self) -> impl Future<Output = Result<(), Error>> + Send;
    /// Its routes.
    fn router(self, gateway: Gateway) -> axum::Router;
}

/// Parses the command line and runs it; the exit code to return.
pub async fn main<S: Single>() -> ExitCode {
    match run::<S>(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ficus-{}: {e:#}", S::NAME);
            ExitCode::FAILURE
        }
    }
}

async fn run<S: Single>(cli: Cli) -> anyhow::Result<()> {
    let name = S::NAME;
    let s = cli.settings(name)?;
    let Some(dsn) = s.database.as_deref() else {
        anyhow::bail!(
            "no database: pass --database postgres://…, set FICUS_{}_DATABASE or `database` in the config file",
            name.to_uppercase()
        );
    };
    let db = S::connect(dsn).await?;
    db.migrate().await?;
    match cli.command {
        Command::Migrate => {
            eprintln!("ficus-{name}: migrations applied");
            Ok(())
        }
        Command::Load {
            file,
            position,
            parallel,
            magento: _,
        } => {
            let at = load::position(&file, position.as_deref())?;
            let summary = load::load(
                &file,
                parallel,
                |kind, docs| {
                    let db = db.clone();
                    (kind == S::KIND).then_some(async move {
                        tokio::spawn(async move {
                            load::one_by_one(docs, |d| {
                                let db = db.clone();
                                async move { db.upsert(&d, at).await }
                            })
                            .await
                        })
                        .await
                        .expect("load task")
                    })
                },
                load::progress(name),
            )
            .await?;
            db.vacuum().await?;
            load::report(name, &file, at, &summary);
            Ok(())
        }
        Command::Serve { .. } => {
            let gateway = Gateway {
                secret: s.gateway_secret,
            };
            let app = ops::wrap(name, db.router(gateway), s.access_log.unwrap_or(true));
            ops::serve(name, s.listen.as_deref().unwrap_or_default(), app).await?;
            Ok(())
        }
    }
}
