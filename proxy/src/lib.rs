//! ficus-proxy: the Pingora front door that sends each request to Magento or a new service.
//!
//! Per request it matches the path against the route table ([`routes`]), decides the backend from
//! the domain's flags ([`decide`], a pure function: no I/O, no lock), and proxies. A read the new
//! service fails (refused connection, broken connection, 5xx) is retried on Magento before the
//! client sees anything; a write never is. Each new service has a circuit ([`circuit`]) that sends
//! its domain to Magento while open. Every response carries `x-ficus-backend: legacy|modern` and
//! `x-request-id`. An admin API on its own listener ([`admin`]) shows and moves the flags.
//!
//! ```text
//! cargo run --release -p ficus-proxy -- --config proxy/examples/proxy.toml
//! curl -i localhost:8080/rest/V1/products/24-MB01      # x-ficus-backend: legacy|modern
//! curl -H 'Authorization: Bearer secret' -X PUT -d '{"rollout": 25}' localhost:8081/flags/ficus.catalog.reads
//! ```
#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod circuit;
pub mod config;
pub mod decide;
pub mod h1;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod proxy;
pub mod routes;
pub mod table;

use std::sync::Arc;
use std::time::Duration;

use ficus_flags::{Flags, Source, UnleashSource};
use pingora::server::Server;
use pingora::server::configuration::{Opt, ServerConf};

pub use config::Settings;
pub use proxy::FicusProxy;

/// What can stop the proxy from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is wrong; the message names it.
    #[error("settings: {0}")]
    Config(String),
    /// The flags could not be loaded.
    #[error("flags: {0}")]
    Flags(#[from] ficus_flags::Error),
}

/// Loads the flags the settings name and starts watching them.
pub fn load_flags(settings: &Settings) -> Result<Arc<Flags>, Error> {
    let source = match (&settings.flags.file, &settings.flags.unleash_url) {
        (Some(file), _) => Source::File(file.clone()),
        (None, Some(url)) => Source::Unleash(UnleashSource {
            url: url.clone(),
            token: settings.flags.unleash_token.clone().unwrap_or_default(),
            app_name: "ficus-proxy".to_owned(),
            backup: settings.flags.unleash_backup.clone().unwrap_or_default(),
        }),
        (None, None) => return Err(Error::Config("flags: no source".into())),
    };
    let flags = Flags::load(source)?;
    flags.watch(Duration::from_millis(settings.flags.poll_ms));
    Ok(flags)
}

/// Builds the Pingora server (proxy and admin services) and runs it until SIGTERM (graceful),
/// SIGINT (at once) or SIGQUIT (graceful upgrade: the new process started with `upgrade`
/// takes the listening sockets).
pub fn run(
    settings: Settings,
    settings_path: Option<std::path::PathBuf>,
    upgrade: bool,
) -> Result<(), Error> {
    let flags = load_flags(&settings)?;
    let shared = Arc::new(FicusProxy::new(&settings, flags)?);
    health::start(&shared, &settings.health);
    // Pingora's pid file and upgrade socket, one pair per listening address.
    let run_file = |ext: &str| {
        let name = format!(
            "ficus-proxy-{}.{ext}",
            settings.listen.replace([':', '.'], "_")
        );
        std::env::temp_dir().join(name).display().to_string()
    };
    let conf = ServerConf {
        threads: settings.threads,
        work_stealing: settings.work_stealing,
        grace_period_seconds: Some(settings.grace_period_seconds),
        graceful_shutdown_timeout_seconds: Some(settings.shutdown_timeout_seconds),
        pid_file: run_file("pid"),
        upgrade_sock: run_file("sock"),
        ..ServerConf::default()
    };
    let opt = Opt {
        upgrade,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();
    // ficus's HTTP/1 engine serves plain reads; Pingora's proxy, with the same filters, the rest.
    let front = proxy::Front(Arc::clone(&shared));
    let pingora_proxy = Arc::new(pingora::proxy::http_proxy(
        &server.configuration,
        front.clone(),
    ));
    let mut proxy_service = pingora::services::listening::Service::new(
        "ficus proxy".to_owned(),
        h1::Engine::new(
            front,
            pingora_proxy,
            settings.fast_http1,
            Duration::from_secs(settings.client_timeout_seconds),
        ),
    );
    // Pingora reads each connection through a 64 KiB buffer by default (sized for TLS records):
    // with 10,000 kept-alive visitors that is most of the proxy's memory. Plain HTTP request
    // heads fit a few KiB; bodies stream through whatever the size.
    proxy_service.add_listener(
        pingora::listeners::ListenerConfig::tcp(settings.listen.clone()).l4_buffer(
            pingora::listeners::L4BufferSettings::default().read(settings.read_buffer_kib * 1024),
        ),
    );
    let admin = admin::Admin {
        proxy: shared,
        token: settings.admin_token.clone().unwrap_or_default(),
        audit_log: settings.audit_log.clone(),
        settings_path,
    };
    let mut admin_service = pingora::services::listening::Service::new(
        "ficus admin API".to_owned(),
        pingora::apps::http_app::HttpServer::new_app(admin),
    );
    admin_service.add_tcp(&settings.admin_listen);
    server.add_service(proxy_service);
    server.add_service(admin_service);
    server.run_forever()
}
