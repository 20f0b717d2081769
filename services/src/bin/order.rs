//! `ficus-order`: the order service. `migrate` applies the schema; `load` back-fills
//! eav-extract's output; `serve` answers Magento's order routes from the service's own
//! PostgreSQL database. Settings: see `ficus_services::config`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    ficus_services::single::main::<ficus_services::order::Orders>().await
}
