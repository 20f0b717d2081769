//! `magento-standin --source mysql://…/magento [--listen 127.0.0.1:8080]`: a stand-in for
//! Magento's REST GETs in tests and demos (see the library's docs). Not part of the product.

use std::process::ExitCode;

use clap::Parser;
use ficus_eav_extract::lookup::Lookup;
use ficus_id_map::magento::MagentoDsn;

#[derive(Debug, Parser)]
#[command(name = "magento-standin", version, about)]
struct Cli {
    /// Magento's database.
    #[arg(long, env = "FICUS_MAGENTO_DSN")]
    source: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The store view of /rest/V1/… .
    #[arg(long, default_value = "default")]
    default_store: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("magento-standin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let dsn = MagentoDsn::parse(&cli.source)?;
    let lookup = Lookup::open(dsn, ficus_id_map::DEFAULT_NAMESPACE).await?;
    let app = ficus_magento_standin::router(lookup, cli.default_store);
    let listener = tokio::net::TcpListener::bind(&cli.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cli.listen))?;
    eprintln!("magento-standin: listening on {}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
