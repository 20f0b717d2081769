//! Rate limits per client IP and per customer, counted in one-second windows with Pingora's
//! estimator (pingora-limits: a count-min sketch, lock-free, never under-counts).
//!
//! A request over a limit gets Magento's REST error shape with status 429 and `Retry-After: 1`.

use std::hash::Hash;
use std::time::Duration;

use pingora_limits::rate::Rate;

use crate::config::RateLimitSettings;

/// The body of a 429, in Magento's REST error shape (`message` with `%1` placeholders filled from
/// `parameters`).
pub const TOO_MANY_BODY: &str =
    r#"{"message":"Too many requests. Try again in %1 second.","parameters":["1"]}"#;

/// The sketch's width: wide enough that thousands of distinct clients per second rarely share a
/// counter in all four rows (a shared counter only ever over-counts).
const SLOTS: usize = 1 << 16;
const HASHES: usize = 4;

/// Which limit a request went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The client IP's.
    Ip,
    /// The customer's.
    Customer,
}

impl Over {
    /// A short word for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Over::Ip => "ip",
            Over::Customer => "customer",
        }
    }
}

/// The configured limits and their counters.
pub struct Limits {
    per_ip: isize,
    per_customer: isize,
    ip: Rate,
    customer: Rate,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("per_ip", &self.per_ip)
            .field("per_customer", &self.per_customer)
            .finish_non_exhaustive()
    }
}

impl Limits {
    /// The limits of the settings; `None` when both are off.
    pub fn new(settings: &RateLimitSettings) -> Option<Self> {
        if settings.per_ip == 0 && settings.per_customer == 0 {
            return None;
        }
        let rate = || Rate::new_with_estimator_config(Duration::from_secs(1), HASHES, SLOTS);
        Some(Self {
            per_ip: isize::try_from(settings.per_ip).unwrap_or(isize::MAX),
            per_customer: isize::try_from(settings.per_customer).unwrap_or(isize::MAX),
            ip: rate(),
            customer: rate(),
        })
    }

    /// Counts one request of `ip` (and of `customer`, when the token named one) and says which
    /// limit, if any, it goes over.
    pub fn check(&self, ip: Option<impl Hash>, customer: Option<u64>) -> Option<Over> {
        if self.per_ip > 0
            && let Some(ip) = ip
            && self.ip.observe(&ip, 1) > self.per_ip
        {
            return Some(Over::Ip);
        }
        if self.per_customer > 0
            && let Some(c) = customer
            && self.customer.observe(&c, 1) > self.per_customer
        {
            return Some(Over::Customer);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_key_apart_and_refuses_over_the_limit() {
        let limits = Limits::new(&RateLimitSettings {
            per_ip: 10,
            per_customer: 3,
            client_ip_header: None,
        })
        .expect("limits on");
        let started = std::time::Instant::now();
        let a: Vec<_> = (0..12)
            .map(|_| limits.check(Some("10.0.0.1"), None))
            .collect();
        // Another IP has its own count.
        let other = limits.check(Some("10.0.0.2"), None);
        // The customer limit counts the customer whatever the IP.
        let c: Vec<_> = (0..4)
            .map(|i| limits.check(Some(format!("10.1.0.{i}")), Some(42)))
            .collect();
        // The windows start when the limits are made: all of the above fell in the first one.
        assert!(started.elapsed() < Duration::from_millis(900));
        assert!(a[..10].iter().all(Option::is_none), "{a:?}");
        assert_eq!(&a[10..], &[Some(Over::Ip), Some(Over::Ip)]);
        assert_eq!(other, None);
        assert_eq!(c, vec![None, None, None, Some(Over::Customer)]);
        assert!(
            Limits::new(&RateLimitSettings {
                per_ip: 0,
                per_customer: 0,
                client_ip_header: None
            })
            .is_none()
        );
        serde_json::from_str::<serde_json::Value>(TOO_MANY_BODY).expect("the body is JSON");
    }
}
