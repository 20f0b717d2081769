//! The admin API, on its own listener, every path but `/healthz` behind the bearer token:
//! `GET /flags`, `PUT /flags/<name>`, `GET /routes`, `POST /reload` (re-reads the settings file's
//! routes and upstreams), `GET /metrics`. Every flag change and reload is appended to the audit
//! log.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use async_trait::async_trait;
use ficus_flags::{Change, Source};
use http::{Method, Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use serde::Deserialize;

use crate::proxy::FicusProxy;
use crate::table::Table;

/// The admin application.
#[derive(Debug)]
pub struct Admin {
    /// The proxy it reports on and steers.
    pub proxy: Arc<FicusProxy>,
    /// The bearer token.
    pub token: String,
    /// Where flag changes and reloads are appended.
    pub audit_log: Option<PathBuf>,
    /// The settings file `POST /reload` re-reads.
    pub settings_path: Option<PathBuf>,
}

/// Seconds since the Unix epoch, with milliseconds (as the flag changes' `at`).
fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The operator named in `x-ficus-operator` (for the audit log).
fn operator(session: &ServerSession) -> String {
    session
        .req_header()
        .headers
        .get("x-ficus-operator")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("admin-api")
        .to_owned()
}

/// The table as `GET /routes` shows it.
fn routes_json(table: &Table) -> serde_json::Value {
    let routes: Vec<_> = table
        .routes
        .routes()
        .iter()
        .map(|r| {
            let service = &table.services[r.service_index];
            serde_json::json!({
                "pattern": r.spec.pattern,
                "domain": r.spec.domain,
                "service": service.name,
                "upstream": service.addr,
                "healthy": service.health.is_healthy(),
                "reads_flag": r.reads_flag,
                "writes_flag": r.writes_flag,
            })
        })
        .collect();
    let magento: Vec<_> = table
        .magento
        .iter()
        .map(|m| serde_json::json!({"upstream": m.addr, "healthy": m.health.is_healthy()}))
        .collect();
    serde_json::json!({ "routes": routes, "magento": magento, "unmatched": "magento" })
}

/// `PUT /flags/<name>`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagChange {
    /// A rollout percentage (0–100): the flag is on for that share of visitors.
    #[serde(default)]
    rollout: Option<u8>,
    /// On or off.
    #[serde(default)]
    enabled: Option<bool>,
    /// Why, for the audit log.
    #[serde(default)]
    why: Option<String>,
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Vec<u8>> {
    let bytes = body.to_string().into_bytes();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("content-length", bytes.len())
        .body(bytes)
        .unwrap_or_default()
}

fn message(status: StatusCode, text: &str) -> Response<Vec<u8>> {
    json(status, serde_json::json!({ "message": text }))
}

impl Admin {
    fn authorized(&self, session: &ServerSession) -> bool {
        let Some(value) = session
            .req_header()
            .headers
            .get(http::header::AUTHORIZATION)
        else {
            return false;
        };
        let Some(given) = value.as_bytes().strip_prefix(b"Bearer ") else {
            return false;
        };
        crate::proxy::constant_time_eq(given, self.token.as_bytes())
    }

    fn flags(&self) -> Response<Vec<u8>> {
        let flags = &self.proxy.flags;
        let source = match flags.source() {
            Source::File(path) => format!("file {}", path.display()),
            Source::Unleash(u) => format!("unleash {}", u.url),
        };
        json(
            StatusCode::OK,
            serde_json::json!({
                "source": source,
                "generation": flags.generation(),
                "last_error": flags.last_error(),
                "flags": flags.summaries(),
            }),
        )
    }

    fn routes(&self) -> Response<Vec<u8>> {
        json(StatusCode::OK, routes_json(&self.proxy.table()))
    }

    /// Re-reads the settings file and swaps in its routes and upstreams.
    fn reload(&self, session: &ServerSession) -> Response<Vec<u8>> {
        let who = operator(session);
        let Some(path) = &self.settings_path else {
            return message(
                StatusCode::CONFLICT,
                "this proxy was not started from a settings file",
            );
        };
        let settings = match crate::Settings::from_file(path) {
            Ok(s) => s,
            Err(e) => {
                return message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("{e}; the routes in use are unchanged"),
                );
            }
        };
        match self.proxy.reload(&settings) {
            Ok(table) => {
                let event = serde_json::json!({
                    "event": "reload", "who": who,
                    "at": unix_seconds(), "settings": path.display().to_string(),
                });
                println!("{event}");
                self.audit(&event);
                json(StatusCode::OK, routes_json(&table))
            }
            Err(e) => message(
                StatusCode::CONFLICT,
                &format!("{e}; the routes in use are unchanged"),
            ),
        }
    }

    /// Appends one JSON line to the audit log (a failure is reported, the change stays in use).
    fn audit(&self, line: &serde_json::Value) {
        let Some(path) = &self.audit_log else { return };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!(
                "{}",
                serde_json::json!({"level": "error", "event": "audit_log",
                    "message": format!("{}: {e}; the change is in use but not in the audit log", path.display())})
            );
        }
    }

    fn metrics(&self) -> Response<Vec<u8>> {
        let now = Instant::now();
        let table = self.proxy.table();
        let circuits: Vec<(String, u8)> = table
            .services
            .iter()
            .filter_map(|u| {
                u.circuit
                    .as_ref()
                    .map(|c| (u.name.clone(), c.state(now).as_number()))
            })
            .collect();
        let health: Vec<(String, String, bool)> = table
            .services
            .iter()
            .chain(&table.magento)
            .map(|u| (u.name.clone(), u.addr.clone(), u.health.is_healthy()))
            .collect();
        let flags: Vec<(String, f64)> = self
            .proxy
            .flags
            .summaries()
            .into_iter()
            .map(|s| {
                let value = match (s.enabled, s.rollout) {
                    (false, _) => 0.0,
                    (true, Some(p)) => f64::from(p),
                    (true, None) => 100.0,
                };
                (s.name, value)
            })
            .collect();
        let text = self.proxy.metrics.render(
            &circuits,
            &health,
            &flags,
            self.proxy.flags.last_error().is_some(),
        );
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/plain; version=0.0.4")
            .header("content-length", text.len())
            .body(text.into_bytes())
            .unwrap_or_default()
    }

    async fn change(&self, session: &mut ServerSession, name: &str) -> Response<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            match session.read_request_body().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > 64 * 1024 {
                        return message(StatusCode::PAYLOAD_TOO_LARGE, "the body is over 64 KiB");
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return message(StatusCode::BAD_REQUEST, &format!("reading the body: {e}"));
                }
            }
        }
        let request: FlagChange = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "the body must be {{\"rollout\": 0-100}} or {{\"enabled\": true|false}}, with an optional \"why\": {e}"
                    ),
                );
            }
        };
        let change = match (request.rollout, request.enabled) {
            (Some(p), None | Some(true)) => Change::Rollout(p),
            (None, Some(true)) => Change::On,
            (None, Some(false)) => Change::Off,
            _ => {
                return message(
                    StatusCode::BAD_REQUEST,
                    "give either a rollout percentage or enabled (not a rollout with enabled: false)",
                );
            }
        };
        let who = operator(session);
        let why = request.why.unwrap_or_default();
        match self.proxy.flags.apply(name, change, &who, &why) {
            Ok(applied) => {
                self.proxy
                    .metrics
                    .flag_changes
                    .fetch_add(1, Ordering::Relaxed);
                let line = serde_json::json!({ "event": "flag_change", "change": applied });
                println!("{line}");
                self.audit(&serde_json::to_value(&applied).unwrap_or_default());
                json(
                    StatusCode::OK,
                    serde_json::to_value(&applied).unwrap_or_default(),
                )
            }
            Err(e @ ficus_flags::Error::Refused(_)) => {
                message(StatusCode::CONFLICT, &e.to_string())
            }
            Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        }
    }
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let method = session.req_header().method.clone();
        let path = session.req_header().uri.path().to_owned();
        if path == "/healthz" {
            return message(StatusCode::OK, "ok");
        }
        if !self.authorized(session) {
            return message(
                StatusCode::UNAUTHORIZED,
                "the admin API needs Authorization: Bearer <admin token>",
            );
        }
        match (method, path.as_str()) {
            (Method::GET, "/flags") => self.flags(),
            (Method::GET, "/routes") => self.routes(),
            (Method::GET, "/metrics") => self.metrics(),
            (Method::POST, "/reload") => self.reload(session),
            (Method::PUT, p) if p.starts_with("/flags/") && p.len() > 7 => {
                let name = p["/flags/".len()..].to_owned();
                self.change(session, &name).await
            }
            _ => message(
                StatusCode::NOT_FOUND,
                "the admin API has GET /flags, PUT /flags/<name>, GET /routes, POST /reload, GET /metrics",
            ),
        }
    }
}
