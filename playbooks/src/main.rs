//! `ficus`: runs phase playbooks (`ficus playbook run …`) and verifies a domain
//! (`ficus verify …`).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ficus_playbooks::verify::{self, Domain};

// verify reads, pivots and fingerprints millions of small values on several threads, as the
// extract does: mimalloc, for the same reason (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "ficus",
    version,
    about = "ficus: phase playbooks and verification"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Phase playbooks.
    Playbook {
        #[command(subcommand)]
        command: PlaybookCommand,
    },
    /// Row-level parity of a domain between Magento and its service's database; exit 0 when
    /// clean, 1 on a real mismatch, 2 when it could not run.
    Verify {
        /// catalog, customer or order.
        #[arg(long)]
        domain: String,
        /// Magento's database (mysql://…).
        #[arg(long, env = "FICUS_MAGENTO_DSN")]
        magento: String,
        /// The service's database (postgres://…).
        #[arg(long)]
        service: String,
        /// Store views to compare (repeatable); default: the ones the service holds.
        #[arg(long = "store")]
        stores: Vec<String>,
        /// Entities per chunk.
        #[arg(long, default_value_t = 1000)]
        chunk_size: usize,
        /// Entities read from Magento per second at most.
        #[arg(long)]
        max_rows_per_second: Option<u32>,
        /// Seconds to wait for cdc-sync to pass a mismatch before re-checking it.
        #[arg(long, default_value_t = 30)]
        recheck_wait: u64,
        /// The report as JSON on stdout instead of text.
        #[arg(long)]
        json: bool,
        /// Keep progress in this file after each chunk; a stopped run given the same file
        /// continues where it was (the file is removed when the run finishes).
        #[arg(long)]
        state: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum PlaybookCommand {
    /// Runs a playbook's steps in order, continuing after the last finished one. Exit 0 when
    /// every step finished, 1 when a step refused or a gate breached (the dial is back at 0 %),
    /// 2 when it could not run.
    Run {
        /// The playbook (YAML).
        file: std::path::PathBuf,
        /// Print what each step would do; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Forget the state file and start from the first step.
        #[arg(long)]
        restart: bool,
        /// Who runs it, for the audit logs (default: $USER).
        #[arg(long, env = "FICUS_OPERATOR")]
        operator: Option<String>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ficus: {e}");
            return ExitCode::from(2);
        }
    };
    match args.command {
        Command::Playbook {
            command:
                PlaybookCommand::Run {
                    file,
                    dry_run,
                    restart,
                    operator,
                },
        } => {
            let playbook = match ficus_playbooks::playbook::load(&file) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("ficus playbook: {e}");
                    return ExitCode::from(2);
                }
            };
            let options = ficus_playbooks::runner::RunOptions {
                dry_run,
                restart,
                operator: operator
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "operator".into()),
            };
            println!(
                "playbook {} (phase {}, {}): {} steps{}",
                playbook.name,
                playbook.phase,
                playbook.domain.name(),
                playbook.steps.len(),
                if dry_run { ", dry run" } else { "" }
            );
            let mut out = std::io::stdout();
            match runtime.block_on(ficus_playbooks::runner::run(&playbook, &options, &mut out)) {
                Ok(_) => {
                    if !dry_run {
                        println!(
                            "playbook {}: every step finished (state {}, audit log {})",
                            playbook.name,
                            ficus_playbooks::runner::state_path(&playbook).display(),
                            ficus_playbooks::runner::audit_path(&playbook).display()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e @ ficus_playbooks::runner::RunError::State(_)) => {
                    eprintln!("ficus playbook: {e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("ficus playbook {}: STOPPED at {e}", playbook.name);
                    ExitCode::from(1)
                }
            }
        }
        Command::Verify {
            domain,
            magento,
            service,
            stores,
            chunk_size,
            max_rows_per_second,
            recheck_wait,
            json,
            state,
        } => {
            let Some(domain) = Domain::parse(&domain) else {
                eprintln!("ficus verify: --domain {domain:?}: give catalog, customer or order");
                return ExitCode::from(2);
            };
            let mut options = verify::Options::new(&magento, &service, domain);
            options.stores = stores;
            options.chunk_size = chunk_size;
            options.max_rows_per_second = max_rows_per_second;
            options.recheck_wait = Duration::from_secs(recheck_wait);
            options.state = state;
            let bar = progress_bar();
            let result = runtime.block_on(verify::verify(&options, |kind, n| {
                bar.set_message(format!("{kind}: {n} entities compared"));
                bar.tick();
            }));
            bar.finish_and_clear();
            match result {
                Ok(report) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&report).unwrap_or_default()
                        );
                    } else {
                        print!("{}", ficus_playbooks::verify::render(&report));
                    }
                    if report.clean() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("ficus verify: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// A spinner with a message on a terminal; hidden otherwise.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
