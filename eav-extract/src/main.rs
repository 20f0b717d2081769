//! `eav-extract`: Magento EAV → one JSON document per entity and store view.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use ficus_eav_extract::{Error, Event, Kind, Options, SinkSpec, ValueReads, extract};
use ficus_id_map::magento::MagentoDsn;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

// The extract allocates and frees many small values on two threads; glibc's allocator spends a
// fifth of the run in malloc and free and contends on its arena lock (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "eav-extract",
    version,
    about = "Pivots Magento's EAV tables into documents in Magento's REST shapes, from a consistent snapshot"
)]
struct Cli {
    /// Magento's database, e.g. mysql://ficus:ficus@127.0.0.1:3306/magento
    #[arg(long, env = "FICUS_MAGENTO_DSN")]
    source: String,
    /// Entity to extract: product, category, customer, order (repeatable; default: all four).
    #[arg(long = "entity")]
    entities: Vec<String>,
    /// Store view code (repeatable).
    #[arg(long = "store", conflicts_with = "all_stores")]
    stores: Vec<String>,
    /// Every store view except admin.
    #[arg(long)]
    all_stores: bool,
    /// Also the admin store (default values), which Magento's /rest/all/V1/… answers from.
    #[arg(long)]
    admin: bool,
    /// Write option labels next to select and multiselect option ids.
    #[arg(long)]
    labels: bool,
    /// JSONL output file; `-` for stdout.
    #[arg(long, short, default_value = "-", conflicts_with = "pg_target")]
    output: String,
    /// PostgreSQL target instead of JSONL, e.g. postgres://ficus:ficus@127.0.0.1:5432/catalog
    #[arg(long)]
    pg_target: Option<String>,
    /// Target table for --pg-target (created if missing).
    #[arg(long, default_value = "ficus_extract.documents")]
    pg_table: String,
    /// Entities per chunk.
    #[arg(long, default_value_t = 2000)]
    chunk_size: usize,
    /// Read at most this many rows (entities + value rows) per second.
    #[arg(long)]
    max_rows_per_second: Option<u64>,
    /// id-map namespace (default: id-map's documented default).
    #[arg(long, env = "FICUS_ID_MAP_NAMESPACE")]
    namespace: Option<String>,
    /// Continue an interrupted run from its checkpoint.
    #[arg(long)]
    resume: bool,
    /// How value rows are read: `scan` reads each value table once in primary-key order and
    /// regroups rows by entity in bucket files (fast; staged tables are always read by chunk);
    /// `chunks` reads them per chunk of entities by entity id range (no temporary files).
    #[arg(long, value_enum, default_value = "scan")]
    value_reads: ValueReads,
    /// Directory for the bucket files of `--value-reads scan` (about the size of the value
    /// rows read; removed as they are read, and on any exit). Default: $TMPDIR or /tmp.
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// MiB of value rows (as InnoDB stores them) per bucket; peak memory is about 8× this.
    #[arg(long, default_value_t = ficus_eav_extract::DEFAULT_BUCKET_BYTES >> 20)]
    bucket_mib: u64,
    /// Log lines as JSON (when stderr is not a terminal).
    #[arg(long)]
    json_log: bool,
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
            eprintln!("eav-extract: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eav-extract: {e}");
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

async fn run(cli: Cli) -> Result<(), Error> {
    let source = MagentoDsn::parse(&cli.source)?;
    let kinds = if cli.entities.is_empty() {
        Kind::ALL.to_vec()
    } else {
        cli.entities
            .iter()
            .map(|e| Kind::parse(e))
            .collect::<Result<Vec<_>, _>>()?
    };
    let namespace = match &cli.namespace {
        Some(n) => n.parse()?,
        None => ficus_id_map::DEFAULT_NAMESPACE,
    };
    let sink = match (&cli.pg_target, cli.output.as_str()) {
        (Some(dsn), _) => SinkSpec::Postgres {
            dsn: dsn.clone(),
            table: cli.pg_table.clone(),
        },
        (None, "-") => SinkSpec::Stdout,
        (None, path) => SinkSpec::Jsonl(PathBuf::from(path)),
    };
    let stores = if cli.all_stores || cli.stores.is_empty() {
        Vec::new()
    } else {
        cli.stores.clone()
    };
    let options = Options {
        source,
        kinds,
        stores,
        labels: cli.labels,
        chunk_size: cli.chunk_size,
        max_rows_per_second: cli.max_rows_per_second,
        namespace,
        sink,
        resume: cli.resume,
        value_reads: cli.value_reads,
        spill_dir: cli.spill_dir.clone(),
        bucket_bytes: cli.bucket_mib.max(1) << 20,
        admin: cli.admin,
    };
    let mut report = Report::new(cli.json_log);
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let summary = extract(&options, |e| report.event(e), ctrl_c).await?;
    let entities: u64 = summary.kinds.iter().map(|k| k.entities).sum();
    let documents: u64 = summary.kinds.iter().map(|k| k.documents).sum();
    let values: u64 = summary.kinds.iter().map(|k| k.value_rows).sum();
    let position = summary
        .position
        .as_ref()
        .map(|p| {
            format!(
                "{}:{}{}",
                p.file,
                p.position,
                p.gtid
                    .as_ref()
                    .map(|g| format!(" (GTID {g})"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "none (binlog off)".into());
    eprintln!(
        "eav-extract: {entities} entities, {documents} documents, {values} value rows from {} in {:.1} s ({:.0} rows/s); snapshot at {position}; prices per {}",
        summary.database,
        summary.seconds,
        (entities + values) as f64 / summary.seconds.max(1e-9),
        if summary.price_per_website {
            "website"
        } else {
            "install (global)"
        }
    );
    Ok(())
}

/// Progress bars on a terminal, plain or JSON lines otherwise.
struct Report {
    bars: Option<MultiProgress>,
    bar: Option<ProgressBar>,
    json: bool,
    started: Instant,
    last_line: Instant,
    done: u64,
    total: u64,
    values: u64,
}

impl Report {
    fn new(json: bool) -> Report {
        Report {
            bars: std::io::stderr().is_terminal().then(MultiProgress::new),
            bar: None,
            json,
            started: Instant::now(),
            last_line: Instant::now(),
            done: 0,
            total: 0,
            values: 0,
        }
    }

    fn line(&self, kind: Kind, what: &str) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = (self.done + self.values) as f64 / secs;
        if self.json {
            eprintln!(
                "{{\"event\":\"{what}\",\"entity\":\"{}\",\"done\":{},\"total\":{},\"value_rows\":{},\"rows_per_second\":{rate:.0}}}",
                kind.name(),
                self.done,
                self.total,
                self.values
            );
        } else {
            eprintln!(
                "eav-extract: {what} {}: {}/{} entities, {} value rows, {rate:.0} rows/s",
                kind.name(),
                self.done,
                self.total,
                self.values
            );
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start { kind, total } => {
                self.started = Instant::now();
                (self.done, self.total, self.values) = (0, total, 0);
                if let Some(bars) = &self.bars {
                    let bar = bars.add(ProgressBar::new(total));
                    let style = ProgressStyle::with_template(
                        "{prefix:>9} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                    bar.set_style(style.progress_chars("=> "));
                    bar.set_prefix(kind.name());
                    bar.enable_steady_tick(Duration::from_millis(200));
                    self.bar = Some(bar);
                } else {
                    self.line(kind, "start");
                }
            }
            Event::Read {
                kind,
                table,
                rows,
                value_rows,
            } => {
                self.values += value_rows;
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("read {table}"));
                } else if self.json {
                    eprintln!(
                        "{{\"event\":\"read\",\"entity\":\"{}\",\"table\":{},\"rows\":{rows}}}",
                        kind.name(),
                        serde_json::Value::from(table)
                    );
                } else {
                    eprintln!("eav-extract: read {table}: {rows} rows");
                }
            }
            Event::Chunk {
                kind,
                entities,
                value_rows,
            } => {
                self.done += entities;
                self.values += value_rows;
                if let Some(bar) = &self.bar {
                    bar.inc(entities);
                } else if self.last_line.elapsed() > Duration::from_secs(2) {
                    self.last_line = Instant::now();
                    self.line(kind, "progress");
                }
            }
            Event::Done(summary) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish();
                }
                if let Some(kind) = summary.kind {
                    self.line(kind, "done");
                }
            }
            Event::Note(note) => {
                if self.json {
                    eprintln!(
                        "{{\"event\":\"note\",\"note\":{}}}",
                        serde_json::Value::from(note)
                    );
                } else {
                    eprintln!("eav-extract: {note}");
                }
            }
        }
    }
}
