//! `ficus-catalog`: the catalog service. `migrate` applies the schema; `serve` answers Magento's
//! catalog routes from the service's own PostgreSQL database.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ficus_services::catalog::Catalog;
use ficus_services::http::{Config, router};

#[derive(Debug, Parser)]
#[command(name = "ficus-catalog", version, about)]
struct Cli {
    /// The catalog's own database, e.g. postgres://ficus:ficus@127.0.0.1:5432/ficus_catalog
    #[arg(long, env = "FICUS_CATALOG_DATABASE", global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Applies pending migrations and exits.
    Migrate,
    /// Migrates, then serves until SIGTERM or Ctrl-C.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "FICUS_CATALOG_LISTEN", default_value = "127.0.0.1:8081")]
        listen: String,
        /// The store view of /rest/V1/… .
        #[arg(long, env = "FICUS_CATALOG_DEFAULT_STORE", default_value = "default")]
        default_store: String,
        /// The shared secret ficus-proxy sends in x-ficus-gateway-secret.
        #[arg(long, env = "FICUS_GATEWAY_SECRET")]
        gateway_secret: Option<String>,
        /// Let guests read the catalog (Magento's "Allow Anonymous Guest Access").
        #[arg(long, env = "FICUS_CATALOG_GUEST_ACCESS")]
        guest_catalog: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ficus-catalog: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(dsn) = cli.database else {
        anyhow::bail!("no database: pass --database postgres://… or set FICUS_CATALOG_DATABASE");
    };
    let catalog = Catalog::connect(&dsn).await?;
    catalog.migrate().await?;
    let Command::Serve {
        listen,
        default_store,
        gateway_secret,
        guest_catalog,
    } = cli.command
    else {
        eprintln!("ficus-catalog: migrations applied");
        return Ok(());
    };
    let config = Config {
        default_store,
        admin_store: "admin".into(),
        gateway_secret,
        guest_catalog,
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    eprintln!("ficus-catalog: listening on {listen}");
    axum::serve(listener, router(catalog, config))
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    Ok(())
}
