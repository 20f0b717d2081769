//! What operators see of a service: `/healthz`, Prometheus `/metrics` (requests by route and
//! status, a latency histogram), one JSON access-log line per request on stderr carrying the
//! request's `x-request-id` (taken from the request, or made), and graceful shutdown.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The request id header: passed on when a request has a usable one, made otherwise, and
/// always on the response.
pub const REQUEST_ID: &str = "x-request-id";

/// Upper bounds of the latency histogram's buckets, in seconds.
const BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// An unexpected failure behind a response, for the log (never the body).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The report id the caller was given (empty when none).
    pub report: String,
    /// The cause.
    pub error: String,
}

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BOUNDS.len()],
}

/// Request counts and latencies by route template and status.
#[derive(Debug)]
pub struct Metrics {
    service: &'static str,
    series: Mutex<HashMap<String, HashMap<u16, Series>>>,
}

impl Metrics {
    fn new(service: &'static str) -> Metrics {
        Metrics {
            service,
            series: Mutex::new(HashMap::new()),
        }
    }

    fn record(&self, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let by_status = match all.get_mut(route) {
            Some(s) => s,
            None => all.entry(route.to_string()).or_default(),
        };
        let s = by_status.entry(status).or_default();
        s.count += 1;
        s.sum += seconds;
        if let Some(i) = BOUNDS.iter().position(|b| seconds <= *b) {
            s.buckets[i] += 1;
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let all = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut rows: Vec<(&String, &u16, &Series)> = all
            .iter()
            .flat_map(|(r, m)| m.iter().map(move |(st, s)| (r, st, s)))
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut out = String::new();
        out.push_str("# HELP ficus_http_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE ficus_http_requests_total counter\n");
        for (route, status, s) in &rows {
            let _ = writeln!(
                out,
                "ficus_http_requests_total{{{}}} {}",
                self.labels(route, **status),
                s.count
            );
        }
        out.push_str(
            "# HELP ficus_http_request_duration_seconds Time to answer, by route and status.\n",
        );
        out.push_str("# TYPE ficus_http_request_duration_seconds histogram\n");
        for (route, status, s) in &rows {
            let labels = self.labels(route, **status);
            let mut cumulative = 0;
            for (bound, n) in BOUNDS.iter().zip(s.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "ficus_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "ficus_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "ficus_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "ficus_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }

    fn labels(&self, route: &str, status: u16) -> String {
        format!(
            "service=\"{}\",route=\"{}\",status=\"{status}\"",
            self.service,
            route.replace('\\', "\\\\").replace('"', "\\\"")
        )
    }
}

#[derive(Debug)]
struct Ops {
    service: &'static str,
    metrics: Metrics,
    access_log: bool,
}

/// `routes` with the operations endpoints (`/healthz`, `/metrics`), Magento's answer for
/// unknown URLs, and the request-id, metrics and access-log layer around everything.
pub fn wrap(service: &'static str, routes: Router, access_log: bool) -> Router {
    let ops = Arc::new(Ops {
        service,
        metrics: Metrics::new(service),
        access_log,
    });
    let scrape = ops.clone();
    routes
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(move || {
                let ops = scrape.clone();
                async move {
                    let content_type = HeaderValue::from_static("text/plain; version=0.0.4");
                    (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, content_type)],
                        ops.metrics.render(),
                    )
                        .into_response()
                }
            }),
        )
        .fallback(super::no_route)
        .layer(middleware::from_fn(project))
        .layer(middleware::from_fn_with_state(ops, observe))
}

/// The `fields` parameter of a query string, when set and not empty (PHP: the last one wins).
fn fields_param(query: &str) -> Option<String> {
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if crate::search::percent_decode(key) == "fields" {
            found = Some(crate::search::percent_decode(value));
        }
    }
    found.filter(|f| !f.is_empty())
}

/// Applies `?fields=` to a successful JSON response ([`super::fields`]).
async fn project(request: Request, next: Next) -> Response {
    let fields = request.uri().query().and_then(fields_param);
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let Some(fields) = fields.filter(|_| response.status() == StatusCode::OK && json) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return super::internal(&e),
    };
    let projected = match super::fields::parse(&fields) {
        None => "[]".to_string(),
        Some(filter) => match std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| super::fields::apply(text, &filter).map_err(|e| e.to_string()))
        {
            Ok(p) => p,
            Err(e) => return super::internal(&e),
        },
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(projected))
}

/// A request id worth passing on: 1 to 128 visible ASCII characters.
fn usable(id: &HeaderValue) -> bool {
    let b = id.as_bytes();
    !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_graphic())
}

async fn observe(State(ops): State<Arc<Ops>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = match request.headers().get(REQUEST_ID) {
        Some(v) if usable(v) => v.clone(),
        _ => {
            let made = uuid::Uuid::now_v7().to_string();
            let v = HeaderValue::from_str(&made).unwrap_or(HeaderValue::from_static("-"));
            request.headers_mut().insert(REQUEST_ID, v.clone());
            v
        }
    };
    // What the log needs is copied only when there is a log.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let logged = ops
        .access_log
        .then(|| (request.method().clone(), request.uri().path().to_owned()));
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    ops.metrics.record(route, status, elapsed);
    if let Some((method, path)) = logged {
        let mut line = serde_json::json!({
            "ts": rfc3339(SystemTime::now()),
            "level": if status >= 500 { "error" } else { "info" },
            "service": ops.service,
            "request_id": id.to_str().unwrap_or("-"),
            "method": method.as_str(),
            "path": path,
            "route": route,
            "status": status,
            "latency_ms": (elapsed.as_secs_f64() * 1e5).round() / 100.0,
        });
        if let Some(f) = response.extensions().get::<Failure>() {
            line["error"] = f.error.clone().into();
            if !f.report.is_empty() {
                line["report"] = f.report.clone().into();
            }
        }
        eprintln!("{line}");
    }
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Serves `app` on `listen` until SIGTERM or Ctrl-C, then lets requests in flight finish.
pub async fn serve(service: &str, listen: &str, app: Router) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    eprintln!("ficus-{service}: listening on {}", listener.local_addr()?);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    eprintln!("ficus-{service}: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        // 2024-02-29T12:34:56.789Z is 1709210096.789 s after the epoch (date -u -d @1709210096).
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.789Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new("t");
        m.record("/a", 200, Duration::from_micros(300));
        m.record("/a", 200, Duration::from_millis(3));
        m.record("/a", 200, Duration::from_secs(20));
        let text = m.render();
        let line = |le: &str| {
            let key = format!(
                "ficus_http_request_duration_seconds_bucket{{service=\"t\",route=\"/a\",status=\"200\",le=\"{le}\"}} "
            );
            text.lines()
                .find_map(|l| l.strip_prefix(&key))
                .unwrap_or_else(|| panic!("no bucket {le} in {text}"))
                .to_string()
        };
        assert_eq!(line("0.0005"), "1");
        assert_eq!(line("0.0025"), "1");
        assert_eq!(line("0.005"), "2");
        assert_eq!(line("10"), "2");
        assert_eq!(line("+Inf"), "3");
        assert!(
            text.contains("ficus_http_requests_total{service=\"t\",route=\"/a\",status=\"200\"} 3")
        );
    }
}
