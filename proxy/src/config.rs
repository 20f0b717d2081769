//! ficus-proxy's settings: one TOML file, secrets overridable by `FICUS_PROXY_*` variables,
//! validated before anything starts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Error;
use crate::circuit::CircuitSettings;
use crate::routes::RouteSpec;

/// The whole settings file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where storefront traffic arrives (`host:port`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where the admin API listens (`host:port`); keep it off the public network.
    #[serde(default = "default_admin_listen")]
    pub admin_listen: String,
    /// The bearer token the admin API requires (or `FICUS_PROXY_ADMIN_TOKEN`).
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Worker threads of the proxy service.
    #[serde(default = "one")]
    pub threads: usize,
    /// Whether the proxy's threads steal each other's work (one shared tokio runtime) or each
    /// keeps its own connections on its own runtime, as nginx's workers do (the default: measured
    /// cheaper per request, see BENCHMARKS.md).
    #[serde(default)]
    pub work_stealing: bool,
    /// KiB of each client connection's read buffer (Pingora's default is 64, sized for TLS
    /// records; the proxy speaks plain HTTP and requests' heads are small).
    #[serde(default = "eight")]
    pub read_buffer_kib: usize,
    /// Plain reads (`GET`, `HEAD` over HTTP/1.1 without a body) are served by ficus's own HTTP/1
    /// engine (`h1`), at about nginx's cost per request; everything else by Pingora's proxy. Off:
    /// Pingora's proxy serves everything (about twice the CPU per request, see BENCHMARKS.md).
    #[serde(default = "yes")]
    pub fast_http1: bool,
    /// Seconds ficus's HTTP/1 engine keeps an idle client connection open, and waits for a
    /// request's head to arrive whole.
    #[serde(default = "sixty")]
    pub client_timeout_seconds: u64,
    /// Seconds Pingora waits after SIGTERM before it stops accepting (Pingora's default is 300).
    #[serde(default = "five")]
    pub grace_period_seconds: u64,
    /// Seconds Pingora gives requests in flight to finish at shutdown.
    #[serde(default = "five")]
    pub shutdown_timeout_seconds: u64,
    /// Magento's backends (`host:port`), balanced round-robin.
    pub magento: Vec<String>,
    /// The new services by name (`catalog = "127.0.0.1:9001"`).
    #[serde(default)]
    pub services: BTreeMap<String, String>,
    /// The route table; the built-in table (catalog, customer, order) when absent.
    #[serde(default)]
    pub routes: Option<Vec<RouteSpec>>,
    /// Where the flags come from.
    pub flags: FlagsSettings,
    /// How a visitor's stickiness key is found.
    #[serde(default)]
    pub stickiness: StickinessSettings,
    /// The token testers send in `x-ficus-tester` to have `x-ficus-backend` honoured (or
    /// `FICUS_PROXY_TESTER_TOKEN`); without one, the override is never honoured.
    #[serde(default)]
    pub tester_token: Option<String>,
    /// The new services' circuits.
    #[serde(default)]
    pub circuit: CircuitConfig,
    /// Milliseconds to connect to an upstream before giving up (then: Magento for a read).
    #[serde(default = "connect_ms")]
    pub connect_timeout_ms: u64,
    /// Milliseconds to wait on an upstream's response.
    #[serde(default = "read_ms")]
    pub read_timeout_ms: u64,
    /// One JSON line per request on standard output.
    #[serde(default = "yes")]
    pub access_log: bool,
    /// Where flag changes are appended (JSON lines: who, when, from, to, why).
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
    /// Magento's tokens validated at the edge and the identity passed to the services.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Requests per second per client IP and per customer.
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
    /// Active health checks of the upstreams.
    #[serde(default)]
    pub health: HealthSettings,
}

/// Active health checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// Milliseconds between rounds of checks; 0 turns them off.
    #[serde(default = "thousand")]
    pub interval_ms: u64,
    /// Milliseconds a check may take to connect, and then to answer.
    #[serde(default = "five_hundred")]
    pub timeout_ms: u64,
    /// Failed checks in a row that make an upstream unhealthy.
    #[serde(default = "two")]
    pub fall: u32,
    /// Passed checks in a row that make it healthy again.
    #[serde(default = "two")]
    pub rise: u32,
    /// The path the new services answer 2xx on while they can serve (their `/healthz`).
    #[serde(default = "healthz")]
    pub service_path: Option<String>,
    /// A path Magento answers 2xx on (e.g. `/health_check.php`); without one, a TCP connect.
    #[serde(default)]
    pub magento_path: Option<String>,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            interval_ms: thousand(),
            timeout_ms: five_hundred(),
            fall: two(),
            rise: two(),
            service_path: healthz(),
            magento_path: None,
        }
    }
}

fn eight() -> usize {
    8
}
fn thousand() -> u64 {
    1000
}
fn five_hundred() -> u64 {
    500
}
fn two() -> u32 {
    2
}
#[allow(clippy::unnecessary_wraps)]
fn healthz() -> Option<String> {
    Some("/healthz".to_owned())
}

/// Edge authentication: Magento's JWT key and the services' shared secret.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `crypt/key` from Magento's `app/etc/env.php` (or `FICUS_PROXY_MAGENTO_CRYPT_KEY`); the
    /// proxy derives Magento's JWT key from it. Without it, every request carrying a bearer token
    /// goes to Magento.
    #[serde(default)]
    pub magento_crypt_key: Option<String>,
    /// Magento's `webapi/jwtauth/jwt_alg` (HS256 by default).
    #[serde(default)]
    pub algorithm: crate::auth::Algorithm,
    /// The secret the services expect in `x-ficus-gateway-secret` (or
    /// `FICUS_PROXY_GATEWAY_SECRET`); without it the services see every caller as a guest.
    #[serde(default)]
    pub gateway_secret: Option<String>,
}

/// Rate limits; 0 turns a limit off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Requests per second one client IP may send.
    #[serde(default)]
    pub per_ip: u32,
    /// Requests per second one customer (by validated token) may send.
    #[serde(default)]
    pub per_customer: u32,
    /// A header that carries the client's IP when the proxy sits behind a load balancer or CDN
    /// (its first comma-separated value is used, e.g. `x-forwarded-for`). Only set it when that
    /// hop overwrites the header: clients can send any value.
    #[serde(default)]
    pub client_ip_header: Option<String>,
}

/// Where the flags come from: a file (the default) or an Unleash server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsSettings {
    /// A flag file in Unleash's client-API JSON.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// An Unleash server's base URL (`http://host:4242`), instead of a file.
    #[serde(default)]
    pub unleash_url: Option<String>,
    /// The Unleash client token (or `FICUS_PROXY_UNLEASH_TOKEN`).
    #[serde(default)]
    pub unleash_token: Option<String>,
    /// Where each good fetch from Unleash is kept, and read from when Unleash is down at start.
    #[serde(default)]
    pub unleash_backup: Option<PathBuf>,
    /// How often the file is checked or Unleash polled, in milliseconds (≤ 1000 keeps the
    /// one-second rule).
    #[serde(default = "poll_ms")]
    pub poll_ms: u64,
}

/// How the visitor's key is found: a header when configured and present, else the cookie (set by
/// the proxy when absent).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StickinessSettings {
    /// The cookie that carries the visitor's session key.
    #[serde(default = "cookie")]
    pub cookie: String,
    /// A request header whose value is the key, used before the cookie (e.g. a CDN's visitor id).
    #[serde(default)]
    pub header: Option<String>,
    /// The cookie's lifetime in days.
    #[serde(default = "year")]
    pub cookie_days: u32,
    /// A validated customer token makes the customer id Unleash's `userId`, so a customer keeps
    /// their backend across devices (flags with stickiness `default` or `userId`).
    #[serde(default = "yes")]
    pub customer: bool,
}

impl Default for StickinessSettings {
    fn default() -> Self {
        Self {
            cookie: cookie(),
            header: None,
            cookie_days: year(),
            customer: true,
        }
    }
}

/// The circuit's settings as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitConfig {
    /// Consecutive failures that open a service's circuit.
    #[serde(default = "five_u32")]
    pub failures: u32,
    /// Seconds it stays open.
    #[serde(default = "sixty")]
    pub open_seconds: u64,
    /// Trial requests when half-open.
    #[serde(default = "five_u32")]
    pub trials: u32,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            failures: 5,
            open_seconds: 60,
            trials: 5,
        }
    }
}

impl CircuitConfig {
    /// As the circuit reads it.
    pub fn settings(&self) -> CircuitSettings {
        CircuitSettings {
            failures: self.failures,
            open_for: Duration::from_secs(self.open_seconds),
            trials: self.trials,
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}
fn default_admin_listen() -> String {
    "127.0.0.1:8081".to_owned()
}
fn one() -> usize {
    1
}
fn five() -> u64 {
    5
}
fn five_u32() -> u32 {
    5
}
fn sixty() -> u64 {
    60
}
fn connect_ms() -> u64 {
    1000
}
fn read_ms() -> u64 {
    30_000
}
fn poll_ms() -> u64 {
    200
}
fn yes() -> bool {
    true
}
fn cookie() -> String {
    "ficus_sid".to_owned()
}
fn year() -> u32 {
    365
}

impl Settings {
    /// Reads `path`, applies `FICUS_PROXY_ADMIN_TOKEN`, `FICUS_PROXY_TESTER_TOKEN` and
    /// `FICUS_PROXY_UNLEASH_TOKEN`, and validates.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let mut settings: Settings =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(token) = env("FICUS_PROXY_ADMIN_TOKEN") {
            settings.admin_token = Some(token);
        }
        if let Some(token) = env("FICUS_PROXY_TESTER_TOKEN") {
            settings.tester_token = Some(token);
        }
        if let Some(token) = env("FICUS_PROXY_UNLEASH_TOKEN") {
            settings.flags.unleash_token = Some(token);
        }
        if let Some(key) = env("FICUS_PROXY_MAGENTO_CRYPT_KEY") {
            settings.auth.magento_crypt_key = Some(key);
        }
        if let Some(secret) = env("FICUS_PROXY_GATEWAY_SECRET") {
            settings.auth.gateway_secret = Some(secret);
        }
        // Relative flag and log paths are relative to the settings file.
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut settings.flags.file,
            &mut settings.flags.unleash_backup,
            &mut settings.audit_log,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what can be checked before starting, naming the setting.
    pub fn validate(&self) -> Result<(), Error> {
        let addr = |what: &str, value: &str| {
            value.parse::<SocketAddr>().map(|_| ()).map_err(|_| {
                Error::Config(format!(
                    "{what} = {value:?} is not host:port with an IP address"
                ))
            })
        };
        addr("listen", &self.listen)?;
        addr("admin_listen", &self.admin_listen)?;
        if self.magento.is_empty() {
            return Err(Error::Config(
                "magento: at least one Magento backend is needed".into(),
            ));
        }
        for m in &self.magento {
            addr("magento", m)?;
        }
        for (name, a) in &self.services {
            addr(&format!("services.{name}"), a)?;
        }
        if self.admin_token.as_deref().is_none_or(str::is_empty) {
            return Err(Error::Config(
                "admin_token (or FICUS_PROXY_ADMIN_TOKEN) is required: the admin API moves traffic"
                    .into(),
            ));
        }
        if self.client_timeout_seconds == 0 {
            return Err(Error::Config(
                "client_timeout_seconds must be at least 1".into(),
            ));
        }
        if !(1..=1024).contains(&self.read_buffer_kib) {
            return Err(Error::Config(
                "read_buffer_kib must be between 1 and 1024".into(),
            ));
        }
        if self.threads == 0 {
            return Err(Error::Config("threads must be at least 1".into()));
        }
        match (&self.flags.file, &self.flags.unleash_url) {
            (Some(_), None) => {}
            (None, Some(_)) => {
                if self.flags.unleash_token.is_none() {
                    return Err(Error::Config(
                        "flags.unleash_token (or FICUS_PROXY_UNLEASH_TOKEN) is required with \
                         flags.unleash_url"
                            .into(),
                    ));
                }
                if self.flags.unleash_backup.is_none() {
                    return Err(Error::Config(
                        "flags.unleash_backup is required with flags.unleash_url: it is what the \
                         proxy uses when Unleash is down at start"
                            .into(),
                    ));
                }
            }
            _ => {
                return Err(Error::Config(
                    "flags: set exactly one of file (the default) and unleash_url".into(),
                ));
            }
        }
        if let Some(key) = &self.auth.magento_crypt_key
            && key.split_whitespace().next().is_none()
        {
            return Err(Error::Config(
                "auth.magento_crypt_key is empty: give crypt/key from app/etc/env.php".into(),
            ));
        }
        if let Some(h) = &self.rate_limit.client_ip_header
            && http::HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            return Err(Error::Config(format!(
                "rate_limit.client_ip_header = {h:?} is not a header name"
            )));
        }
        if self.health.interval_ms > 0
            && (self.health.timeout_ms == 0 || self.health.fall == 0 || self.health.rise == 0)
        {
            return Err(Error::Config(
                "health.timeout_ms, health.fall and health.rise must be at least 1".into(),
            ));
        }
        for (name, path) in [
            ("health.service_path", &self.health.service_path),
            ("health.magento_path", &self.health.magento_path),
        ] {
            if let Some(p) = path
                && (!p.starts_with('/') || p.contains(char::is_whitespace))
            {
                return Err(Error::Config(format!(
                    "{name} = {p:?} must be a path starting with /"
                )));
            }
        }
        if self.flags.poll_ms == 0 {
            return Err(Error::Config("flags.poll_ms must be at least 1".into()));
        }
        if self.circuit.failures == 0 || self.circuit.trials == 0 {
            return Err(Error::Config(
                "circuit.failures and circuit.trials must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
