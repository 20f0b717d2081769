//! The `cdc-sync run` daemon: the pipeline under a supervisor that waits and continues when a
//! database goes away (from the services' checkpoints, so nothing is lost or applied twice in
//! effect), `/healthz` and Prometheus `/metrics`, and a graceful stop on SIGTERM or Ctrl-C that
//! applies what is committed first.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use ficus_services::catalog::Catalog;
use ficus_services::customer::Customers;
use ficus_services::order::Orders;

use crate::config::Settings;
use crate::pipeline::{self, Applied, Options, PipelineError, Targets};

/// What `/metrics` shows. Names are few and fixed; no entity id is ever a label.
#[derive(Debug, Default)]
pub struct Metrics {
    transactions: AtomicU64,
    changes: AtomicU64,
    entities: AtomicU64,
    skipped: AtomicU64,
    batches: AtomicU64,
    restarts: AtomicU64,
    dead_letters: AtomicU64,
    source_ts_ms: AtomicI64,
    applied_at_ms: AtomicI64,
    checkpoint_file: AtomicU64,
    checkpoint_offset: AtomicU64,
    /// The server's binlog retention (`binlog_expire_logs_seconds`; 0: kept for ever).
    retention_seconds: AtomicU64,
    /// Warn when the retention left for the oldest change not applied falls under this.
    retention_warning_seconds: AtomicU64,
    warned_at_ms: AtomicI64,
    tables: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// Batches by apply time: counts per bucket of [`APPLY_BOUNDS`], the count and the sum.
    apply: std::sync::Mutex<([u64; APPLY_BOUNDS.len()], u64, f64)>,
}

/// Upper bounds of the apply-time histogram's buckets, in seconds.
const APPLY_BOUNDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Metrics {
    /// Counts an applied batch.
    pub fn record(&self, a: &Applied) {
        self.transactions.fetch_add(a.transactions, Relaxed);
        self.changes.fetch_add(a.changes, Relaxed);
        self.entities.fetch_add(a.entities, Relaxed);
        self.skipped.fetch_add(a.skipped, Relaxed);
        self.batches.fetch_add(1, Relaxed);
        self.dead_letters.fetch_add(a.dead_letters, Relaxed);
        {
            let mut h = self.apply.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = APPLY_BOUNDS.iter().position(|b| a.apply_seconds <= *b) {
                h.0[i] += 1;
            }
            h.1 += 1;
            h.2 += a.apply_seconds;
        }
        if !a.tables.is_empty() {
            let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
            for (t, n) in &a.tables {
                *tables.entry(t.clone()).or_default() += n;
            }
        }
        if a.transactions > 0 {
            self.source_ts_ms.store(a.source_ts_ms, Relaxed);
        }
        self.applied_at_ms.store(now_ms(), Relaxed);
        if let Some(p) = a.checkpoint.as_ref().and_then(|c| c.position()) {
            self.checkpoint_file.store(p.file, Relaxed);
            self.checkpoint_offset.store(p.offset, Relaxed);
        }
        if let Some(left) = self.retention_left() {
            let threshold = self.retention_warning_seconds.load(Relaxed) as f64;
            let now = now_ms();
            // At most one warning a minute.
            if left < threshold && now - self.warned_at_ms.load(Relaxed) > 60_000 {
                self.warned_at_ms.store(now, Relaxed);
                eprintln!(
                    "{}",
                    serde_json::json!({"level": "warn", "event": "binlog_retention_low", "retention_left_seconds": left.max(0.0), "threshold_seconds": threshold, "message": "the binlog behind cdc-sync will be purged soon: catch up (more cdc-sync, a faster target) or raise binlog_expire_logs_seconds"})
                );
            }
        }
    }

    /// Sets the server's binlog retention and the warning threshold (seconds).
    pub fn set_retention(&self, retention: u64, warning: u64) {
        self.retention_seconds.store(retention, Relaxed);
        self.retention_warning_seconds.store(warning, Relaxed);
    }

    /// Seconds left before the binlog of the last applied transaction (and so of every change
    /// not applied yet) is purged; `None` when the server keeps binlogs for ever.
    fn retention_left(&self) -> Option<f64> {
        let retention = self.retention_seconds.load(Relaxed);
        let source = self.source_ts_ms.load(Relaxed);
        (retention > 0 && source > 0)
            .then(|| retention as f64 - (now_ms() - source) as f64 / 1000.0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        };
        let count = |a: &AtomicU64| a.load(Relaxed).to_string();
        metric(
            "ficus_cdc_transactions_total",
            "counter",
            "Magento transactions read from the binlog.",
            count(&self.transactions),
        );
        metric(
            "ficus_cdc_changes_total",
            "counter",
            "Row changes of Magento's database read.",
            count(&self.changes),
        );
        metric(
            "ficus_cdc_entities_total",
            "counter",
            "Entities read again and written to the services.",
            count(&self.entities),
        );
        metric(
            "ficus_cdc_entities_skipped_total",
            "counter",
            "Entities touched but not read again: their service held them past the batch's changes.",
            count(&self.skipped),
        );
        metric(
            "ficus_cdc_batches_total",
            "counter",
            "Batches applied (each one transaction per service with its checkpoint).",
            count(&self.batches),
        );
        metric(
            "ficus_cdc_restarts_total",
            "counter",
            "Times the pipeline continued after a database failed.",
            count(&self.restarts),
        );
        let source = self.source_ts_ms.load(Relaxed);
        let applied = self.applied_at_ms.load(Relaxed);
        let lag = if source > 0 && applied >= source {
            format!("{:.3}", (applied - source) as f64 / 1000.0)
        } else {
            "0".into()
        };
        metric(
            "ficus_cdc_lag_seconds",
            "gauge",
            "Source commit to service commit of the last applied transaction (the binlog's clock has whole seconds).",
            lag,
        );
        metric(
            "ficus_cdc_checkpoint_file",
            "gauge",
            "The binlog file number the services have reached.",
            count(&self.checkpoint_file),
        );
        metric(
            "ficus_cdc_checkpoint_offset",
            "gauge",
            "The offset in that file.",
            count(&self.checkpoint_offset),
        );
        if let Some(left) = self.retention_left() {
            metric(
                "ficus_cdc_binlog_retention_left_seconds",
                "gauge",
                "Seconds before the binlog behind cdc-sync is purged (binlog_expire_logs_seconds less the lag).",
                format!("{:.0}", left.max(0.0)),
            );
        }
        {
            let h = self.apply.lock().unwrap_or_else(|p| p.into_inner());
            out.push_str("# HELP ficus_cdc_apply_seconds Time to read a batch's entities again and write them with the checkpoint.\n# TYPE ficus_cdc_apply_seconds histogram\n");
            let mut cumulative = 0;
            for (bound, n) in APPLY_BOUNDS.iter().zip(h.0) {
                cumulative += n;
                out.push_str(&format!(
                    "ficus_cdc_apply_seconds_bucket{{le=\"{bound}\"}} {cumulative}\n"
                ));
            }
            out.push_str(&format!(
                "ficus_cdc_apply_seconds_bucket{{le=\"+Inf\"}} {}\n",
                h.1
            ));
            out.push_str(&format!(
                "ficus_cdc_apply_seconds_sum {:.6}\nficus_cdc_apply_seconds_count {}\n",
                h.2, h.1
            ));
        }
        {
            let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
            out.push_str("# HELP ficus_cdc_table_changes_total Row changes read, by Magento table.\n# TYPE ficus_cdc_table_changes_total counter\n");
            for (t, n) in tables.iter() {
                out.push_str(&format!(
                    "ficus_cdc_table_changes_total{{table=\"{t}\"}} {n}\n"
                ));
            }
        }
        out
    }
}

/// The services' handles, connected and migrated.
pub async fn targets(s: &Settings) -> Result<Targets, ficus_services::Error> {
    let mut t = Targets::default();
    if let Some(d) = &s.catalog {
        let c = Catalog::connect(d).await?;
        c.migrate().await?;
        t.catalog = Some(c);
    }
    if let Some(d) = &s.customer {
        let c = Customers::connect(d).await?;
        c.migrate().await?;
        t.customers = Some(c);
    }
    if let Some(d) = &s.order {
        let o = Orders::connect(d).await?;
        o.migrate().await?;
        t.orders = Some(o);
    }
    Ok(t)
}

/// Where the changes come from.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// The binlog, read as a replica.
    Binlog,
    /// Debezium's events on Kafka.
    Kafka(crate::kafka::KafkaOptions),
}

/// The source the settings name.
pub fn source(s: &Settings) -> SourceKind {
    match &s.kafka {
        Some(k) => SourceKind::Kafka(k.clone()),
        None => SourceKind::Binlog,
    }
}

/// The pipeline's options from the settings.
pub fn options(s: &Settings) -> Options {
    Options {
        source: s.magento.clone(),
        server_id: s.server_id,
        name: s.name.clone(),
        start: s.start.clone(),
        start_gtid: s.start_gtid.clone(),
        namespace: s.namespace,
        admin: s.admin,
        batch_entities: s.batch_entities,
        max_wait: s.max_wait,
        lanes: s.lanes,
    }
}

/// Runs the pipeline until `shutdown`, continuing after transient failures (a database down
/// or restarting) with a growing pause (0.2 s up to 5 s); returns the first lasting one.
pub async fn supervise(
    options: &Options,
    source: &SourceKind,
    targets: &Targets,
    metrics: &Metrics,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PipelineError> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let work = async {
        let mut pause = Duration::from_millis(200);
        let mut failures = 0;
        loop {
            let mut rx = stop_rx.clone();
            let stopped = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            let run = match source {
                SourceKind::Binlog => {
                    pipeline::run(options, targets, |a| metrics.record(a), stopped).await
                }
                SourceKind::Kafka(k) => {
                    pipeline::run_kafka(options, k.clone(), targets, |a| metrics.record(a), stopped)
                        .await
                }
            };
            match run {
                Ok(()) => return Ok(()),
                // At start-up a database that cannot be reached is more likely a wrong address
                // than an outage: give up after a few tries, until the pipeline has worked.
                Err(e)
                    if e.is_transient() && (failures < 5 || metrics.batches.load(Relaxed) > 0) =>
                {
                    failures += 1;
                    eprintln!(
                        "{}",
                        serde_json::json!({"level": "warn", "event": "pipeline_failed", "error": e.to_string(), "retry_in_ms": pause.as_millis() as u64})
                    );
                    metrics.restarts.fetch_add(1, Relaxed);
                    let mut rx = stop_rx.clone();
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        _ = rx.wait_for(|s| *s) => return Ok(()),
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    };
    tokio::pin!(shutdown);
    tokio::pin!(work);
    tokio::select! {
        () = &mut shutdown => {
            // Stop reading; the pipeline applies what is committed, then returns.
            let _ = stop_tx.send(true);
        }
        result = &mut work => return result,
    }
    work.await
}

/// `/healthz` and `/metrics`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move {
                    let ct = HeaderValue::from_static("text/plain; version=0.0.4");
                    (StatusCode::OK, [(header::CONTENT_TYPE, ct)], m.render()).into_response()
                }
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_left_is_the_servers_retention_less_the_lag() {
        let m = Metrics::default();
        m.set_retention(3600, 2 * 3600);
        let applied = Applied {
            transactions: 1,
            source_ts_ms: now_ms() - 600_000,
            apply_seconds: 0.03,
            ..Applied::default()
        };
        m.record(&applied);
        let text = m.render();
        let left: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("ficus_cdc_binlog_retention_left_seconds "))
            .expect("the gauge")
            .parse()
            .expect("a number");
        assert!((2990.0..=3000.0).contains(&left), "{left}");
        assert!(
            m.warned_at_ms.load(Relaxed) > 0,
            "under the threshold: warned"
        );
        // A server keeping binlogs for ever has no such gauge.
        let forever = Metrics::default();
        forever.record(&applied);
        assert!(!forever.render().contains("retention_left"));
    }
}
