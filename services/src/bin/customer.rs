//! `ficus-customer`: the customer service. `migrate` applies the schema; `load` back-fills
//! eav-extract's output; `serve` answers Magento's customer routes from the service's own
//! PostgreSQL database. Settings: see `ficus_services::config`.

use std::process::ExitCode;

use clap::Parser;
use ficus_services::config::{Cli, Command};
use ficus_services::customer::Customers;
use ficus_services::http::{Gateway, customer, ops};
use ficus_services::load::{self, Kind};

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ficus-customer: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let s = cli.settings("customer")?;
    let Some(dsn) = s.database.as_deref() else {
        anyhow::bail!(
            "no database: pass --database postgres://…, set FICUS_CUSTOMER_DATABASE or `database` in the config file"
        );
    };
    let db = Customers::connect(dsn).await?;
    db.migrate().await?;
    match cli.command {
        Command::Migrate => {
            eprintln!("ficus-customer: migrations applied");
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
                    (kind == Kind::Customer).then_some(async move {
                        tokio::spawn(async move {
                            load::one_by_one(docs, |d| {
                                let db = db.clone();
                                async move { db.upsert_customer(&d, at).await }
                            })
                            .await
                        })
                        .await
                        .expect("load task")
                    })
                },
                load::progress("customer"),
            )
            .await?;
            db.vacuum().await?;
            load::report("customer", &file, at, &summary);
            Ok(())
        }
        Command::Serve { .. } => {
            let gateway = Gateway {
                secret: s.gateway_secret,
            };
            let app = ops::wrap(
                "customer",
                customer::router(db, gateway),
                s.access_log.unwrap_or(true),
            );
            ops::serve("customer", s.listen.as_deref().unwrap_or_default(), app).await?;
            Ok(())
        }
    }
}
