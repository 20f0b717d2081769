//! `magento-fixture`: creates a Magento 2.4-shaped test store in MariaDB.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ficus_magento_fixture::{Dsn, Edition, Error, Options, PROFILES, Profile, Report, create};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(
    name = "magento-fixture",
    version,
    about = "Creates Magento 2.4-shaped test stores in MariaDB, deterministically from a seed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the database the DSN names and fill it with a generated store.
    Create {
        /// Target, e.g. mysql://ficus:ficus@127.0.0.1:3306/magento_small
        #[arg(long, env = "FICUS_MAGENTO_DSN")]
        dsn: String,
        /// Store size: small, multistore, medium or large.
        #[arg(long, default_value = "small")]
        profile: String,
        /// The same seed gives the same database.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Table layout: Magento Open Source, or Adobe Commerce with content staging.
        #[arg(long, value_enum, default_value_t = EditionArg::Ce)]
        edition: EditionArg,
        /// Drop and recreate the database if it already has tables.
        #[arg(long)]
        drop: bool,
        /// Also write the bulk load to the binlog.
        #[arg(long)]
        log_bin: bool,
        /// Connections loading concurrently.
        #[arg(long, default_value_t = 3)]
        workers: usize,
    },
    /// List the profiles and their sizes.
    Profiles,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EditionArg {
    Ce,
    Ee,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Profiles => {
            println!(
                "{:<11} {:>8} {:>9} {:>10} {:>9} {:>8}",
                "profile", "websites", "views", "products", "customers", "orders"
            );
            for p in PROFILES {
                println!(
                    "{:<11} {:>8} {:>9} {:>10} {:>9} {:>8}",
                    p.name,
                    p.websites,
                    p.store_views(),
                    p.total_products(),
                    p.customers,
                    p.orders
                );
            }
            ExitCode::SUCCESS
        }
        Command::Create {
            dsn,
            profile,
            seed,
            edition,
            drop,
            log_bin,
            workers,
        } => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("magento-fixture: error: cannot start the runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            let edition = match edition {
                EditionArg::Ce => Edition::Ce,
                EditionArg::Ee => Edition::Ee,
            };
            match runtime.block_on(run(&dsn, &profile, seed, edition, drop, log_bin, workers)) {
                Ok(report) => {
                    print_report(&report, &profile, seed, edition);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("magento-fixture: error: {}", one_line(&e));
                    ExitCode::from(exit_code(&e))
                }
            }
        }
    }
}

async fn run(
    dsn: &str,
    profile: &str,
    seed: u64,
    edition: Edition,
    drop: bool,
    log_bin: bool,
    workers: usize,
) -> Result<Report, Error> {
    let options = Options {
        dsn: Dsn::parse(dsn)?,
        profile: Profile::by_name(profile)?,
        seed,
        edition,
        drop,
        log_bin,
        workers,
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let started = std::time::Instant::now();
    let shown = bar.clone();
    let report = create(
        &options,
        move |rows| {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            shown.set_message(format!(
                "{rows} rows loaded ({:.0} rows/s)",
                rows as f64 / secs
            ));
            shown.tick();
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await;
    bar.finish_and_clear();
    report
}

/// 2 for what the operator must fix (DSN, server, profile, target not empty); 1 for a failure.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::BadDsn { .. }
        | Error::NoDatabase { .. }
        | Error::Connect { .. }
        | Error::UnknownProfile { .. }
        | Error::NotEmpty { .. } => 2,
        Error::Interrupted { .. } => 130,
        _ => 1,
    }
}

/// The error and its causes on one line.
fn one_line(e: &Error) -> String {
    let text = e.to_string();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn print_report(r: &Report, profile: &str, seed: u64, edition: Edition) {
    let value_rows: u64 = r
        .rows
        .iter()
        .filter(|(t, _)| {
            t.starts_with("catalog_product_entity_")
                && ["int", "varchar", "decimal", "text", "datetime"]
                    .iter()
                    .any(|s| t.ends_with(s))
        })
        .map(|(_, n)| n)
        .sum();
    let edition = match edition {
        Edition::Ce => "Magento Open Source 2.4",
        Edition::Ee => "Adobe Commerce 2.4 (content staging)",
    };
    println!(
        "Created Magento store '{}' ({edition}), profile {profile}, seed {seed}, in {:.1}s:",
        r.database, r.seconds
    );
    let lines = [
        ("websites (with admin)", r.rows_in("store_website")),
        ("store views (with admin)", r.rows_in("store")),
        ("attributes", r.rows_in("eav_attribute")),
        ("attribute sets", r.rows_in("eav_attribute_set")),
        ("attribute options", r.rows_in("eav_attribute_option")),
        (
            "categories (with roots)",
            r.rows_in("sequence_catalog_category")
                .max(r.rows_in("catalog_category_entity")),
        ),
        (
            "products",
            r.rows_in("sequence_product")
                .max(r.rows_in("catalog_product_entity")),
        ),
        (
            "product rows (staging versions)",
            r.rows_in("catalog_product_entity"),
        ),
        ("product EAV value rows", value_rows),
        ("url rewrites", r.rows_in("url_rewrite")),
        ("customers", r.rows_in("customer_entity")),
        ("customer addresses", r.rows_in("customer_address_entity")),
        ("orders", r.rows_in("sales_order")),
        ("order items", r.rows_in("sales_order_item")),
        ("quotes", r.rows_in("quote")),
    ];
    for (what, n) in lines {
        println!("  {what:<32} {n:>10}");
    }
    println!(
        "  {:<32} {:>10}  in {} tables",
        "rows in all",
        r.total_rows(),
        r.rows.len()
    );
}
