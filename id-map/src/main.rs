//! `id-map`: deterministic UUIDs for Magento ids, and the PostgreSQL mapping store.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use ficus_id_map::magento::{DEFAULT_ENTITIES, MagentoDsn};
use ficus_id_map::{
    DEFAULT_NAMESPACE, Error, Mapper, Namespace, Store, SyncEvent, SyncOptions, check_entity,
};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(
    name = "id-map",
    version,
    about = "Deterministic UUIDs for Magento's integer ids: UUIDv5(namespace, \"<entity>/<legacy_id>\")"
)]
struct Cli {
    /// Namespace of this Magento install (default: UUIDv5(URL, "https://ficus.dev/magento") =
    /// ac157640-9b2c-5bed-8f41-2af3e49a7e6f).
    #[arg(long, global = true, env = "FICUS_ID_MAP_NAMESPACE")]
    namespace: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the UUID of one legacy id (looked up in the store first when --target is given).
    Map {
        /// Entity type code (catalog_product, customer, …) or flat table (sales_order, …).
        entity: String,
        /// Magento's integer id.
        #[arg(allow_hyphen_values = true)]
        legacy_id: String,
        /// Mapping store, e.g. postgres://ficus:ficus@127.0.0.1:5432/ficus
        #[arg(long, env = "FICUS_ID_MAP_DSN")]
        target: Option<String>,
    },
    /// Print the entity and legacy id of a UUID, from the mapping store.
    Reverse {
        /// The UUID.
        uuid: String,
        /// Mapping store, e.g. postgres://ficus:ficus@127.0.0.1:5432/ficus
        #[arg(long, env = "FICUS_ID_MAP_DSN")]
        target: String,
    },
    /// Map ids read from stdin (one per line) to `legacy_id<TAB>uuid` lines on stdout.
    Bulk {
        /// Entity type code or flat table.
        #[arg(long)]
        entity: String,
    },
    /// Record every legacy id of Magento's entities in the mapping store (idempotent; re-run
    /// to continue an interrupted run).
    Sync(Between),
    /// Check that every stored Magento-born UUID is the deterministic one and that every Magento
    /// id of the entities is stored. Exit code 1 if not.
    Verify(Between),
}

/// The arguments of the commands that compare Magento with the mapping store.
#[derive(clap::Args, Debug)]
struct Between {
    /// Magento's database, e.g. mysql://ficus:ficus@127.0.0.1:3306/magento
    #[arg(long, env = "FICUS_MAGENTO_DSN")]
    source: String,
    /// Mapping store, e.g. postgres://ficus:ficus@127.0.0.1:5432/ficus
    #[arg(long, env = "FICUS_ID_MAP_DSN")]
    target: String,
    /// Entity (repeatable); default: the four EAV entities, sales_order, sales_order_item.
    #[arg(long = "entity")]
    entities: Vec<String>,
    /// Ids per chunk: per transaction for sync, per look-up for verify.
    #[arg(long, default_value_t = 50_000)]
    chunk_size: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("id-map: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("id-map: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            match e {
                Error::Interrupted { .. } => ExitCode::from(130),
                e if e.is_operator_error() => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn entities(given: Vec<String>) -> Vec<String> {
    if given.is_empty() {
        DEFAULT_ENTITIES.iter().map(|s| s.to_string()).collect()
    } else {
        given
    }
}

fn parse_id(text: &str, place: &str) -> Result<u64, Error> {
    text.trim().parse().map_err(|_| Error::BadLegacyId {
        place: place.into(),
        text: text.trim().into(),
    })
}

async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let namespace: Namespace = match &cli.namespace {
        Some(text) => text.parse()?,
        None => DEFAULT_NAMESPACE,
    };
    match cli.command {
        Command::Map {
            entity,
            legacy_id,
            target,
        } => {
            let id = parse_id(&legacy_id, "legacy_id")?;
            let mapper = Mapper::new(namespace, &entity)?;
            let uuid = match target {
                Some(dsn) => {
                    let store = Store::open(&dsn).await?;
                    store.check_namespace(namespace).await?;
                    store.lookup(&entity, id).await?.unwrap_or(mapper.uuid(id))
                }
                None => mapper.uuid(id),
            };
            println!("{uuid}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Reverse { uuid, target } => {
            let key = uuid.parse::<Namespace>()?.as_uuid();
            let store = Store::open(&target).await?;
            let mapping = store
                .reverse(key)
                .await?
                .ok_or_else(|| Error::NotFound(key.to_string()))?;
            let legacy = mapping
                .legacy_id
                .map(|id| id.to_string())
                .unwrap_or_else(|| "-".into());
            println!(
                "{}\t{}\t{}",
                mapping.entity,
                legacy,
                mapping.origin.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bulk { entity } => {
            bulk(namespace, &entity)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync(Between {
            source,
            target,
            entities: given,
            chunk_size,
        }) => {
            let source = MagentoDsn::parse(&source)?;
            let store = Store::open(&target).await?;
            let options = SyncOptions {
                namespace,
                entities: entities(given),
                chunk_size,
            };
            let started = Instant::now();
            let mut bar = Bar::new();
            let reports = ficus_id_map::sync(
                &source,
                &store,
                &options,
                |event| bar.event(event),
                ctrl_c(),
            )
            .await?;
            let seconds = started.elapsed().as_secs_f64();
            let ids: u64 = reports.iter().map(|r| r.ids).sum();
            let inserted: u64 = reports.iter().map(|r| r.inserted).sum();
            eprintln!(
                "id-map sync: {ids} ids of {} entities in {seconds:.1} s ({:.0} ids/s); {inserted} new mappings, {} already stored; namespace {namespace}",
                reports.len(),
                ids as f64 / seconds.max(1e-9),
                ids - inserted
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(Between {
            source,
            target,
            entities: given,
            chunk_size,
        }) => {
            let source = MagentoDsn::parse(&source)?;
            let store = Store::open(&target).await?;
            let reports = ficus_id_map::verify(
                &source,
                &store,
                namespace,
                &entities(given),
                chunk_size,
                ctrl_c(),
            )
            .await?;
            let mut clean = true;
            for r in &reports {
                clean &= r.is_clean();
                println!(
                    "{:<20} magento ids {:>10}  stored {:>10}  missing {:>8}  wrong uuid {:>8}",
                    r.entity, r.magento_ids, r.stored, r.missing, r.wrong
                );
                if !r.missing_examples.is_empty() {
                    println!("  missing, e.g.: {:?}", r.missing_examples);
                }
                for (id, stored, expected) in &r.wrong_examples {
                    println!("  {}/{id}: stored {stored}, expected {expected}", r.entity);
                }
            }
            if clean {
                eprintln!("id-map verify: clean");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("id-map verify: problems found (run sync to add missing ids)");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Streams ids from stdin to `legacy_id<TAB>uuid` lines, flushing whenever input pauses.
fn bulk(namespace: Namespace, entity: &str) -> Result<(), Error> {
    check_entity(entity)?;
    let mapper = Mapper::new(namespace, entity)?;
    let stdin = std::io::stdin();
    // Our own buffer, so that `buffer()` tells without blocking whether more input is waiting.
    let mut input = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let io = |what: &str| {
        let what = what.to_string();
        move |source| Error::Io { what, source }
    };
    let mut line = String::new();
    let mut number = 0u64;
    let mut uuid_text = uuid::Uuid::encode_buffer();
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(io("read stdin"))? == 0 {
            break;
        }
        number += 1;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let id = parse_id(text, &format!("stdin line {number}"))?;
        let uuid = mapper.uuid(id).hyphenated();
        writeln!(out, "{id}\t{}", uuid.encode_lower(&mut uuid_text)).map_err(io("write stdout"))?;
        if input.buffer().is_empty() {
            out.flush().map_err(io("write stdout"))?;
        }
    }
    out.flush().map_err(io("write stdout"))
}

/// A progress bar per entity on a terminal; plain lines otherwise.
struct Bar {
    bar: Option<ProgressBar>,
    terminal: bool,
    started: Instant,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            bar: None,
            terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    fn event(&mut self, event: SyncEvent<'_>) {
        match event {
            SyncEvent::Start { entity, total } => {
                self.started = Instant::now();
                if self.terminal {
                    let bar = ProgressBar::new(total);
                    let style = ProgressStyle::with_template(
                        "{prefix:>18} [{bar:30}] {pos}/{len} ids {per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                    bar.set_style(style.progress_chars("=> "));
                    bar.set_prefix(entity.to_string());
                    bar.enable_steady_tick(Duration::from_millis(200));
                    self.bar = Some(bar);
                } else {
                    eprintln!("id-map sync: {entity}: {total} ids in Magento");
                }
            }
            SyncEvent::Chunk { ids, .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc(ids);
                }
            }
            SyncEvent::Done(report) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish();
                }
                let seconds = self.started.elapsed().as_secs_f64();
                eprintln!(
                    "id-map sync: {}: {} ids, {} new, {seconds:.1} s",
                    report.entity, report.ids, report.inserted
                );
            }
        }
    }
}
