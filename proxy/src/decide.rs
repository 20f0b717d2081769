//! The per-request decision: Magento (legacy) or the new service (modern). A pure function of the
//! flags, the route, the method and the visitor's key, so every replica decides alike.

use ficus_flags::{FlagSet, Who, names};
use http::Method;

use crate::routes::Route;

/// Which backend answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Magento.
    Legacy,
    /// The domain's new service.
    Modern,
}

impl Backend {
    /// `legacy` or `modern`, as in the `x-ficus-backend` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Legacy => "legacy",
            Backend::Modern => "modern",
        }
    }

    /// Parses the tester's override header value.
    pub fn parse(value: &[u8]) -> Option<Self> {
        match value {
            b"legacy" => Some(Backend::Legacy),
            b"modern" => Some(Backend::Modern),
            _ => None,
        }
    }
}

/// Why the decision went the way it did (for the access log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No route matched: Magento's own URL.
    Unrouted,
    /// `ficus.kill` is on.
    Kill,
    /// A tester's override, with a valid token.
    Override,
    /// The new service's circuit is open.
    CircuitOpen,
    /// The domain's reads or writes flag.
    Flag,
    /// The request carries a bearer token the proxy could not verify: Magento decides.
    UnverifiedToken,
    /// Refused with 429 by a rate limit.
    RateLimited,
    /// The new service failed its active health checks.
    Unhealthy,
}

impl Reason {
    /// A short word for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unrouted => "unrouted",
            Reason::Kill => "kill",
            Reason::Override => "override",
            Reason::CircuitOpen => "circuit_open",
            Reason::Flag => "flag",
            Reason::UnverifiedToken => "unverified_token",
            Reason::RateLimited => "rate_limited",
            Reason::Unhealthy => "unhealthy",
        }
    }
}

/// Decides one request. `route` is the matched route (None: Magento's URL); `tester` a backend
/// asked for by a request whose tester token was valid. `ficus.kill` wins over everything; GET and
/// HEAD follow the reads flag, every other method the writes flag. (The proxy then sends a
/// flag's `Modern` to Magento while the service's circuit is open.)
pub fn decide(
    flags: &FlagSet,
    route: Option<&Route>,
    method: &Method,
    who: &Who<'_>,
    tester: Option<Backend>,
) -> (Backend, Reason) {
    let Some(route) = route else {
        return (Backend::Legacy, Reason::Unrouted);
    };
    if flags.is_enabled(names::KILL, who) {
        return (Backend::Legacy, Reason::Kill);
    }
    if let Some(backend) = tester {
        return (backend, Reason::Override);
    }
    let flag = if is_read(method) {
        &route.reads_flag
    } else {
        &route.writes_flag
    };
    if flags.is_enabled(flag, who) {
        (Backend::Modern, Reason::Flag)
    } else {
        (Backend::Legacy, Reason::Flag)
    }
}

/// GET and HEAD: the requests that may be answered from a copy and retried on Magento.
pub fn is_read(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{RouteTable, default_routes};
    use proptest::prelude::*;

    fn flags(reads: u8, writes: u8, kill: bool) -> FlagSet {
        let rollout = |name: String, p: u8| {
            format!(
                r#"{{"name": "{name}", "enabled": true, "strategies": [{{"name": "flexibleRollout",
                "parameters": {{"rollout": "{p}", "stickiness": "default", "groupId": "{name}"}}}}]}}"#
            )
        };
        let json = format!(
            r#"{{"version": 2, "features": [{}, {}, {{"name": "ficus.kill", "enabled": {kill},
            "strategies": [{{"name": "default"}}]}}]}}"#,
            rollout(names::reads("catalog"), reads),
            rollout(names::writes("catalog"), writes)
        );
        FlagSet::parse(&json, "test").expect("test setup")
    }

    fn table() -> RouteTable {
        RouteTable::new(
            default_routes(),
            &["catalog".into(), "customer".into(), "order".into()],
        )
        .expect("test setup")
    }

    #[test]
    fn kill_wins_then_tester_then_flags() {
        let t = table();
        let route = t.route("/rest/V1/products/a");
        let who = Who {
            session_id: Some("s1"),
            ..Who::default()
        };
        let all = flags(100, 100, false);
        assert_eq!(
            decide(&all, route, &Method::GET, &who, None),
            (Backend::Modern, Reason::Flag)
        );
        assert_eq!(
            decide(&all, route, &Method::PUT, &who, None),
            (Backend::Modern, Reason::Flag)
        );
        assert_eq!(
            decide(&all, None, &Method::GET, &who, None),
            (Backend::Legacy, Reason::Unrouted)
        );
        assert_eq!(
            decide(&all, route, &Method::GET, &who, Some(Backend::Legacy)),
            (Backend::Legacy, Reason::Override)
        );
        let killed = flags(100, 100, true);
        assert_eq!(
            decide(&killed, route, &Method::GET, &who, Some(Backend::Modern)),
            (Backend::Legacy, Reason::Kill)
        );
        let reads_only = flags(100, 0, false);
        assert_eq!(
            decide(&reads_only, route, &Method::HEAD, &who, None).0,
            Backend::Modern
        );
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            assert_eq!(
                decide(&reads_only, route, &method, &who, None).0,
                Backend::Legacy
            );
        }
    }

    proptest! {
        /// Writes never reach the new service while the writes flag is 0, whatever the reads flag,
        /// the visitor or the method.
        #[test]
        fn writes_stay_on_magento_at_zero(reads in 0u8..=100, key in "[a-z0-9]{1,24}",
                                         m in prop::sample::select(vec!["POST", "PUT", "DELETE", "PATCH"])) {
            let t = table();
            let who = Who { session_id: Some(&key), ..Who::default() };
            let method = Method::from_bytes(m.as_bytes()).expect("test setup");
            let (backend, _) = decide(&flags(reads, 0, false), t.route("/rest/V1/products/x"), &method, &who, None);
            prop_assert_eq!(backend, Backend::Legacy);
        }

        /// The same visitor gets the same backend every time, and a visitor on the new service at
        /// p % stays on it at every higher percentage.
        #[test]
        fn sticky_and_monotone(key in "[a-z0-9]{1,24}", p in 0u8..=100, q in 0u8..=100) {
            let t = table();
            let route = t.route("/rest/default/V1/categories/4");
            let who = Who { session_id: Some(&key), ..Who::default() };
            let (lo, hi) = (p.min(q), p.max(q));
            let at = |pct| decide(&flags(pct, 0, false), route, &Method::GET, &who, None).0;
            prop_assert_eq!(at(lo), at(lo));
            prop_assert!(at(lo) == Backend::Legacy || at(hi) == Backend::Modern);
        }
    }
}
