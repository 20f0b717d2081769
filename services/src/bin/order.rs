//! `ficus-order`: the order service. `migrate` applies the schema; `load` back-fills
//! eav-extract's output; `serve` answers Magento's order routes from the service's own
//! PostgreSQL database. Settings: see `ficus_services::config`.

use std::process::ExitCode;

use clap::Parser;
use ficus_services::config::{Cli, Command};
use ficus_services::http::{Gateway, ops, order};
use ficus_services::load::{self, Kind};
use ficus_services::order::Orders;

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ficus-order: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let s = cli.settings("order")?;
    let Some(dsn) = s.database.as_deref() else {
        anyhow::bail!(
            "no database: pass --database postgres://…, set FICUS_ORDER_DATABASE or `database` in the config file"
        );
    };
    let db = Orders::connect(dsn).await?;
    db.migrate().await?;
    match cli.command {
        Command::Migrate => {
            eprintln!("ficus-order: migrations applied");
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
                    (kind == Kind::Order).then_some(async move {
                        tokio::spawn(async move {
                            load::one_by_one(docs, |d| {
                                let db = db.clone();
                                async move { db.upsert_order(&d, at).await }
                            })
                            .await
                        })
                        .await
                        .expect("load task")
                    })
                },
                load::progress("order"),
            )
            .await?;
            db.vacuum().await?;
            load::report("order", &file, at, &summary);
            Ok(())
        }
        Command::Serve { .. } => {
            let gateway = Gateway {
                secret: s.gateway_secret,
            };
            let app = ops::wrap(
                "order",
                order::router(db, gateway),
                s.access_log.unwrap_or(true),
            );
            ops::serve("order", s.listen.as_deref().unwrap_or_default(), app).await?;
            Ok(())
        }
    }
}
