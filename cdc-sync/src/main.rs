//! `cdc-sync`: keeps the new services hydrated from Magento's binlog.
//!
//! - `cdc-sync --config cdc-sync.toml run`: the daemon (see `ficus_cdc_sync::config`);
//! - `cdc-sync --config cdc-sync.toml status`: where each service stands against the binlog.
//!
//! Exit codes: 0 stopped cleanly, 1 a database or the binlog failed for good, 2 bad settings.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use ficus_cdc_sync::config::{Config, ConfigError, Settings};
use ficus_cdc_sync::daemon::{self, Metrics};
use ficus_cdc_sync::pipeline::{self, Targets};
use mysql_async::prelude::Queryable;

#[derive(Debug, Parser)]
#[command(
    name = "cdc-sync",
    version,
    about = "Keeps the new services hydrated from Magento's binlog"
)]
struct Cli {
    /// The settings file (TOML); FICUS_CDC_* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Runs until SIGTERM or Ctrl-C, applying what is committed before stopping.
    Run,
    /// Prints each service's checkpoint and the binlog's current position.
    Status,
    /// Dead letters: entities that could not be applied.
    Dlq {
        #[command(subcommand)]
        command: Dlq,
    },
}

#[derive(Debug, clap::Subcommand)]
enum Dlq {
    /// Lists the pending dead letters (`--all`: the replayed ones too).
    List {
        /// Also those already replayed.
        #[arg(long)]
        all: bool,
    },
    /// Shows one dead letter in full (`<service>/<id>`, as `list` names it).
    Show {
        /// `catalog/3`, `order/12`, …
        letter: String,
    },
    /// Reads the entities of pending dead letters again and applies them (one, or all).
    Replay {
        /// `<service>/<id>`; every pending one when left out.
        letter: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match settings(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cdc-sync: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run => run(settings).await,
        Command::Status => status(settings).await,
        Command::Dlq { command } => dlq(settings, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cdc-sync: {e}");
            ExitCode::FAILURE
        }
    }
}

fn settings(cli: &Cli) -> Result<Settings, ConfigError> {
    let config = match &cli.config {
        Some(path) => Config::read(path)?,
        None => Config::default(),
    };
    config.with_env(|k| std::env::var(k).ok())?.validate()
}

async fn run(s: Settings) -> anyhow::Result<()> {
    let targets = daemon::targets(&s).await?;
    let metrics = Arc::new(Metrics::default());
    {
        let mut conn = s.magento.connect().await?;
        let retention: Option<u64> = conn
            .query_first("SELECT @@GLOBAL.binlog_expire_logs_seconds")
            .await
            .unwrap_or(None);
        metrics.set_retention(retention.unwrap_or(0), s.retention_warning_hours * 3600);
    }
    let listener = tokio::net::TcpListener::bind(&s.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", s.listen))?;
    eprintln!("cdc-sync: listening on {}", listener.local_addr()?);
    let app = daemon::router(metrics.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    eprintln!(
        "cdc-sync: reading {} as replica {}",
        s.magento.masked(),
        s.server_id
    );
    daemon::supervise(
        &daemon::options(&s),
        &daemon::source(&s),
        &targets,
        &metrics,
        shutdown,
    )
    .await?;
    eprintln!("cdc-sync: stopped");
    Ok(())
}

async fn status(s: Settings) -> anyhow::Result<()> {
    let targets: Targets = daemon::targets(&s).await?;
    let mut conn = s.magento.connect().await?;
    let row: Option<mysql_async::Row> = conn.query_first("SHOW MASTER STATUS").await?;
    let binlog = row.and_then(|r| Some((r.get::<String, _>(0)?, r.get::<u64, _>(1)?)));
    match &binlog {
        Some((f, p)) => println!("binlog      {f}:{p}"),
        None => println!("binlog      off"),
    }
    let behind = |c: &Option<ficus_services::Checkpoint>| match (c, &binlog) {
        (Some(c), Some((f, p))) if *f == c.file => {
            format!("{} bytes behind", p.saturating_sub(c.offset))
        }
        (Some(_), Some(_)) => "in an older binlog file".into(),
        (None, _) => "no checkpoint yet".into(),
        _ => String::new(),
    };
    let show = |name: &str, c: Option<ficus_services::Checkpoint>| {
        let at = c
            .as_ref()
            .map(|c| {
                format!(
                    "{}:{}{}",
                    c.file,
                    c.offset,
                    c.gtid
                        .as_ref()
                        .map(|g| format!(" (GTID {g})"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "-".into());
        println!("{name:<11} {at}  {}", behind(&c));
    };
    if let Some(c) = &targets.catalog {
        show("catalog", c.checkpoint(&s.name).await?);
    }
    if let Some(c) = &targets.customers {
        show("customer", c.checkpoint(&s.name).await?);
    }
    if let Some(o) = &targets.orders {
        show("order", o.checkpoint(&s.name).await?);
    }
    // The running daemon's counts, when it answers on its address.
    if let Ok(Ok(mut stream)) = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        tokio::net::TcpStream::connect(&s.listen),
    )
    .await
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            s.listen
        );
        let mut body = String::new();
        if stream.write_all(request.as_bytes()).await.is_ok()
            && stream.read_to_string(&mut body).await.is_ok()
        {
            for line in body.lines() {
                if let Some(rest) = line.strip_prefix("ficus_cdc_table_changes_total{table=\"") {
                    if let Some((table, n)) = rest.split_once("\"} ") {
                        println!("changes     {table:<40} {n}");
                    }
                } else if let Some(lag) = line.strip_prefix("ficus_cdc_lag_seconds ") {
                    println!("lag         {lag} s (the daemon at {})", s.listen);
                }
            }
        }
    }
    Ok(())
}

fn letter_id(s: &str) -> anyhow::Result<(&str, i64)> {
    let (service, id) = s
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("{s:?}: expected <service>/<id>, e.g. order/3"))?;
    let id = id
        .parse()
        .map_err(|_| anyhow::anyhow!("{s:?}: the id is not a number"))?;
    Ok((service, id))
}

async fn dlq(s: Settings, command: Dlq) -> anyhow::Result<()> {
    let targets = daemon::targets(&s).await?;
    match command {
        Dlq::List { all } => {
            for l in pipeline::dead_letters(&targets, !all).await? {
                let d = &l.letter;
                let replayed = d
                    .replayed_at
                    .as_deref()
                    .map(|t| format!(" replayed {t}"))
                    .unwrap_or_default();
                let first = d.error.lines().next().unwrap_or("");
                println!(
                    "{}/{}\t{} {}\t{}:{}\t{}{replayed}\t{first}",
                    l.service, d.id, d.kind, d.legacy_id, d.file, d.position, d.created_at
                );
            }
        }
        Dlq::Show { letter } => {
            let (service, id) = letter_id(&letter)?;
            let found = pipeline::dead_letters(&targets, false)
                .await?
                .into_iter()
                .find(|l| l.service == service && l.letter.id == id)
                .ok_or_else(|| anyhow::anyhow!("no dead letter {letter}"))?;
            println!("{:#?}", found.letter);
        }
        Dlq::Replay { letter } => {
            let only = letter.as_deref().map(letter_id).transpose()?;
            let results = pipeline::replay(&daemon::options(&s), &targets, only).await?;
            let mut failed = 0;
            for (l, r) in &results {
                match r {
                    Ok(()) => println!("{}/{}\treplayed", l.service, l.letter.id),
                    Err(e) => {
                        failed += 1;
                        println!("{}/{}\tfailed again: {e}", l.service, l.letter.id);
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} of {} dead letters failed again", results.len());
            }
        }
    }
    Ok(())
}
