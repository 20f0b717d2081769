//! `ficus-catalog`: the catalog service. `migrate` applies the schema; `load` back-fills
//! eav-extract's output; `serve` answers Magento's catalog routes from the service's own
//! PostgreSQL database. Settings: see `ficus_services::config`.

use std::process::ExitCode;

use clap::Parser;
use ficus_services::catalog::Catalog;
use ficus_services::config::{Cli, Command};
use ficus_services::http::{Gateway, catalog, ops};
use ficus_services::load::{self, Kind};

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ficus-catalog: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let s = cli.settings("catalog")?;
    let Some(dsn) = s.database.as_deref() else {
        anyhow::bail!(
            "no database: pass --database postgres://…, set FICUS_CATALOG_DATABASE or `database` in the config file"
        );
    };
    let db = Catalog::connect(dsn).await?;
    db.migrate().await?;
    match cli.command {
        Command::Migrate => {
            eprintln!("ficus-catalog: migrations applied");
            Ok(())
        }
        Command::Load {
            file,
            position,
            parallel,
            magento,
        } => {
            let at = load::position(&file, position.as_deref())?;
            if let Some(magento) = magento {
                let n = db.copy_stores(&magento).await?;
                eprintln!("ficus-catalog: {n} store views from Magento");
            }
            let summary = load::load(
                &file,
                parallel,
                |kind, docs| {
                    let db = db.clone();
                    let task = match kind {
                        Kind::Product => {
                            tokio::spawn(async move { db.upsert_products(&docs, at).await })
                        }
                        Kind::Category => tokio::spawn(async move {
                            load::one_by_one(docs, |d| {
                                let db = db.clone();
                                async move { db.upsert_category(&d, at).await }
                            })
                            .await
                        }),
                        Kind::Customer | Kind::Order => return None,
                    };
                    Some(async move { task.await.expect("load task") })
                },
                load::progress("catalog"),
            )
            .await?;
            db.vacuum().await?;
            load::report("catalog", &file, at, &summary);
            Ok(())
        }
        Command::Serve { .. } => {
            let config = catalog::Config {
                default_store: s.default_store.unwrap_or_default(),
                admin_store: s.admin_store.unwrap_or_default(),
                gateway: Gateway {
                    secret: s.gateway_secret,
                },
                guest_access: s.guest_access.unwrap_or(false),
            };
            let app = ops::wrap(
                "catalog",
                catalog::router(db, config),
                s.access_log.unwrap_or(true),
            );
            ops::serve("catalog", s.listen.as_deref().unwrap_or_default(), app).await?;
            Ok(())
        }
    }
}
