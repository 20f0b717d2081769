//! `ficus-catalog`: the catalog service. `migrate` applies the schema; `serve` answers Magento's
//! catalog routes from the service's own PostgreSQL database. Settings: see
//! `ficus_services::config`.

use std::process::ExitCode;

use clap::Parser;
use ficus_services::catalog::Catalog;
use ficus_services::config::{Cli, Command};
use ficus_services::http::{Gateway, catalog, ops};

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
    if let Command::Migrate = cli.command {
        eprintln!("ficus-catalog: migrations applied");
        return Ok(());
    }
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
