//! Prometheus counters for the proxy: fixed arrays of atomics indexed by domain, backend and
//! status class, so counting a request takes no lock and allocates nothing.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::decide::Backend;

/// The backends' labels, in `Backend` index order.
const BACKENDS: [&str; 2] = ["legacy", "modern"];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The proxy's counters.
#[derive(Debug)]
pub struct Metrics {
    /// Route domains, then `none` for Magento's own URLs.
    domains: Vec<String>,
    /// [domain][backend][status class 1xx..5xx, 0 = no response]
    requests: Vec<AtomicU64>,
    /// [domain][backend][bucket…, +Inf]
    latency: Vec<AtomicU64>,
    /// [domain][backend] sum of microseconds
    latency_sum_us: Vec<AtomicU64>,
    /// [domain] reads retried on Magento after the new service failed
    fallbacks: Vec<AtomicU64>,
    /// [domain][circuit open, unhealthy] requests the flags gave the new service that went to
    /// Magento instead
    diverted: Vec<AtomicU64>,
    /// Flag changes made through the admin API.
    pub flag_changes: AtomicU64,
    /// Requests refused with 429: [per IP, per customer].
    pub rate_limited: [AtomicU64; 2],
    /// Requests whose bearer token the proxy could not verify (sent to Magento).
    pub unverified_tokens: AtomicU64,
}

fn zeros(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

fn backend_index(b: Backend) -> usize {
    match b {
        Backend::Legacy => 0,
        Backend::Modern => 1,
    }
}

impl Metrics {
    /// Counters for these route domains (plus `none`).
    pub fn new(domains: &[String]) -> Self {
        let mut all = domains.to_vec();
        all.push("none".to_owned());
        let d = all.len();
        Self {
            requests: zeros(d * 2 * 6),
            latency: zeros(d * 2 * (BUCKETS.len() + 1)),
            latency_sum_us: zeros(d * 2),
            fallbacks: zeros(d),
            diverted: zeros(d * 2),
            domains: all,
            flag_changes: AtomicU64::new(0),
            rate_limited: [AtomicU64::new(0), AtomicU64::new(0)],
            unverified_tokens: AtomicU64::new(0),
        }
    }

    /// The counters' index of a route domain counted since start.
    pub fn domain_index(&self, domain: &str) -> Option<usize> {
        self.domains[..self.domains.len() - 1]
            .iter()
            .position(|d| d == domain)
    }

    /// The index of `none` (requests no route matched).
    pub fn unrouted(&self) -> usize {
        self.domains.len() - 1
    }

    /// Counts one finished request.
    pub fn request(&self, domain: usize, backend: Backend, status: u16, seconds: f64) {
        let b = backend_index(backend);
        let class = if (100..600).contains(&status) {
            usize::from(status / 100)
        } else {
            0
        };
        self.requests[(domain * 2 + b) * 6 + class].fetch_add(1, Ordering::Relaxed);
        let bucket = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        self.latency[(domain * 2 + b) * (BUCKETS.len() + 1) + bucket]
            .fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us[domain * 2 + b].fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// Counts a request the flags gave the new service that went to Magento because its circuit
    /// was open (`unhealthy` false) or its health checks failed (`unhealthy` true).
    pub fn diverted(&self, domain: usize, unhealthy: bool) {
        self.diverted[domain * 2 + usize::from(unhealthy)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a read retried on Magento.
    pub fn fallback(&self, domain: usize) {
        self.fallbacks[domain].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text; `circuits` are (service, state number) and `flags` the summaries'
    /// (name, value) where value is the rollout percentage (100 for on, 0 for off).
    pub fn render(
        &self,
        circuits: &[(String, u8)],
        health: &[(String, String, bool)],
        flags: &[(String, f64)],
        flags_error: bool,
    ) -> String {
        let mut out = String::with_capacity(8192);
        let classes = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"];
        let series = || {
            self.domains
                .iter()
                .enumerate()
                .flat_map(move |(d, domain)| {
                    BACKENDS.iter().enumerate().map(move |(b, backend)| {
                        (
                            d * 2 + b,
                            format!("domain=\"{domain}\",backend=\"{backend}\""),
                        )
                    })
                })
        };
        family(
            &mut out,
            "ficus_proxy_requests_total",
            "counter",
            "Requests answered, by domain, backend and status class.",
        );
        for (i, labels) in series() {
            for (c, class) in classes.iter().enumerate() {
                let v = self.requests[i * 6 + c].load(Ordering::Relaxed);
                if v > 0 {
                    let _ = writeln!(
                        out,
                        "ficus_proxy_requests_total{{{labels},status=\"{class}\"}} {v}"
                    );
                }
            }
        }
        family(
            &mut out,
            "ficus_proxy_request_seconds",
            "histogram",
            "Time from the request's arrival to the end of its response, by domain and backend.",
        );
        for (i, labels) in series() {
            let base = i * (BUCKETS.len() + 1);
            let mut cumulative = 0;
            for (j, le) in BUCKETS
                .iter()
                .map(f64::to_string)
                .chain(["+Inf".to_owned()])
                .enumerate()
            {
                cumulative += self.latency[base + j].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "ficus_proxy_request_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let sum = self.latency_sum_us[i].load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "ficus_proxy_request_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(
                out,
                "ficus_proxy_request_seconds_count{{{labels}}} {cumulative}"
            );
        }
        family(
            &mut out,
            "ficus_proxy_fallbacks_total",
            "counter",
            "Reads the new service failed and Magento answered.",
        );
        for (d, domain) in self.domains.iter().enumerate() {
            let v = self.fallbacks[d].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "ficus_proxy_fallbacks_total{{domain=\"{domain}\"}} {v}"
            );
        }
        family(
            &mut out,
            "ficus_proxy_diverted_total",
            "counter",
            "Requests the flags gave the new service that Magento answered: its circuit was open or its health checks failed.",
        );
        for (d, domain) in self.domains.iter().enumerate() {
            for (i, reason) in ["circuit_open", "unhealthy"].iter().enumerate() {
                let v = self.diverted[d * 2 + i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "ficus_proxy_diverted_total{{domain=\"{domain}\",reason=\"{reason}\"}} {v}"
                );
            }
        }
        family(
            &mut out,
            "ficus_proxy_circuit_state",
            "gauge",
            "A service's circuit: 0 closed, 1 open, 2 half-open.",
        );
        for (service, state) in circuits {
            let _ = writeln!(
                out,
                "ficus_proxy_circuit_state{{service=\"{service}\"}} {state}"
            );
        }
        family(
            &mut out,
            "ficus_proxy_upstream_healthy",
            "gauge",
            "1 while an upstream passes its active health checks.",
        );
        for (name, addr, healthy) in health {
            let _ = writeln!(
                out,
                "ficus_proxy_upstream_healthy{{upstream=\"{name}\",addr=\"{addr}\"}} {}",
                u8::from(*healthy)
            );
        }
        family(
            &mut out,
            "ficus_proxy_flag_rollout_percent",
            "gauge",
            "Each flag's rollout (100 on, 0 off).",
        );
        for (name, value) in flags {
            let _ = writeln!(
                out,
                "ficus_proxy_flag_rollout_percent{{flag=\"{name}\"}} {value}"
            );
        }
        family(
            &mut out,
            "ficus_proxy_flag_changes_total",
            "counter",
            "Flag changes made through the admin API.",
        );
        let _ = writeln!(
            out,
            "ficus_proxy_flag_changes_total {}",
            self.flag_changes.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "ficus_proxy_flags_rejected",
            "gauge",
            "1 while the newest flag file or fetch was refused (the last good set is in use).",
        );
        let _ = writeln!(out, "ficus_proxy_flags_rejected {}", u8::from(flags_error));
        family(
            &mut out,
            "ficus_proxy_rate_limited_total",
            "counter",
            "Requests refused with 429, by the limit they went over.",
        );
        for (i, limit) in ["ip", "customer"].iter().enumerate() {
            let v = self.rate_limited[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "ficus_proxy_rate_limited_total{{limit=\"{limit}\"}} {v}"
            );
        }
        family(
            &mut out,
            "ficus_proxy_unverified_tokens_total",
            "counter",
            "Requests with a bearer token the proxy could not verify, sent to Magento.",
        );
        let _ = writeln!(
            out,
            "ficus_proxy_unverified_tokens_total {}",
            self.unverified_tokens.load(Ordering::Relaxed)
        );
        out
    }
}

/// A metric family's `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
