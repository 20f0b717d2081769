//! `ficus-proxy --config proxy.toml`: reads the settings and runs the proxy.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

// glibc's malloc and free were a tenth of the proxy's CPU under load; mimalloc halves that
// (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Pingora front door that moves Magento's traffic domain by domain.
#[derive(Debug, Parser)]
#[command(name = "ficus-proxy", version)]
struct Args {
    /// The settings file (TOML).
    #[arg(long, short, env = "FICUS_PROXY_CONFIG")]
    config: PathBuf,
    /// Take the listening sockets over from a running ficus-proxy (then send it SIGQUIT).
    #[arg(long, short)]
    upgrade: bool,
    /// Check the settings and the flags, then exit.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let settings = match ficus_proxy::Settings::from_file(&args.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ficus-proxy: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check {
        return match ficus_proxy::load_flags(&settings)
            .and_then(|flags| ficus_proxy::FicusProxy::new(&settings, flags).map(|_| ()))
        {
            Ok(()) => {
                println!("ficus-proxy: settings and flags are good");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ficus-proxy: {e}");
                ExitCode::from(2)
            }
        };
    }
    match ficus_proxy::run(settings, Some(args.config), args.upgrade) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ficus-proxy: {e}");
            ExitCode::from(2)
        }
    }
}
