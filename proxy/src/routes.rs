//! The route table: which Magento URLs belong to which domain and which new service answers them.
//! Anything unmatched belongs to Magento.

use regex::{Regex, RegexSet};
use serde::Deserialize;

use crate::Error;

/// One route, as written in the route table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// A regular expression on the request path (query string excluded).
    pub pattern: String,
    /// The domain whose flags decide (`catalog`, `customer`, `order`, …).
    pub domain: String,
    /// The name of the new service (a key of `[services]`) that answers when the flags say so.
    pub service: String,
}

/// The routes the ficus services answer: catalog (products, categories), customer and order,
/// each with Magento's optional store code (`/rest/V1/…`, `/rest/default/V1/…`, `/rest/all/V1/…`).
pub fn default_routes() -> Vec<RouteSpec> {
    let route = |what: &str, domain: &str| RouteSpec {
        pattern: format!(r"^/rest/(?:[A-Za-z0-9_]+/)?V1/{what}(?:/|$)"),
        domain: domain.to_owned(),
        service: domain.to_owned(),
    };
    vec![
        route("products", "catalog"),
        route("categories", "catalog"),
        route("customers", "customer"),
        route("orders", "order"),
    ]
}

/// A compiled route: its domain's flag names are built once, not per request.
#[derive(Debug)]
pub struct Route {
    /// The route as configured.
    pub spec: RouteSpec,
    /// `ficus.<domain>.reads`.
    pub reads_flag: String,
    /// `ficus.<domain>.writes`.
    pub writes_flag: String,
    /// The position of the domain in [`RouteTable::domains`] (metrics are indexed by it).
    pub domain_index: usize,
    /// The position of the service in the proxy's upstream list.
    pub service_index: usize,
}

/// The compiled route table: one `RegexSet` pass per request, first match wins.
#[derive(Debug)]
pub struct RouteTable {
    set: RegexSet,
    routes: Vec<Route>,
    domains: Vec<String>,
}

impl RouteTable {
    /// Compiles `specs`; `services` are the configured service names (each route's `service`
    /// must be one of them).
    pub fn new(specs: Vec<RouteSpec>, services: &[String]) -> Result<Self, Error> {
        let mut domains: Vec<String> = Vec::new();
        let mut routes = Vec::with_capacity(specs.len());
        for spec in specs {
            Regex::new(&spec.pattern)
                .map_err(|e| Error::Config(format!("route pattern {:?}: {e}", spec.pattern)))?;
            if spec.domain.is_empty()
                || !spec
                    .domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(Error::Config(format!(
                    "route {:?}: domain {:?} must be letters, digits, '_' or '-'",
                    spec.pattern, spec.domain
                )));
            }
            let service_index = services.iter().position(|s| *s == spec.service).ok_or_else(|| {
                Error::Config(format!(
                    "route {:?} names service {:?}, which [services] does not define (defined: {})",
                    spec.pattern,
                    spec.service,
                    services.join(", ")
                ))
            })?;
            let domain_index = match domains.iter().position(|d| *d == spec.domain) {
                Some(i) => i,
                None => {
                    domains.push(spec.domain.clone());
                    domains.len() - 1
                }
            };
            routes.push(Route {
                reads_flag: ficus_flags::names::reads(&spec.domain),
                writes_flag: ficus_flags::names::writes(&spec.domain),
                domain_index,
                service_index,
                spec,
            });
        }
        let set = RegexSet::new(routes.iter().map(|r| r.spec.pattern.as_str()))
            .map_err(|e| Error::Config(format!("route table: {e}")))?;
        Ok(Self {
            set,
            routes,
            domains,
        })
    }

    /// The first route whose pattern matches `path`, if any.
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.position(path).map(|i| &self.routes[i])
    }

    /// The index of the first route whose pattern matches `path`, if any.
    pub fn position(&self, path: &str) -> Option<usize> {
        self.set.matches(path).iter().next()
    }

    /// Every route, in order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The domains, in the order they first appear.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        let services = vec!["catalog".into(), "customer".into(), "order".into()];
        RouteTable::new(default_routes(), &services).expect("test setup")
    }

    #[test]
    fn magento_urls_map_to_domains() {
        let t = table();
        let domain = |p: &str| t.route(p).map(|r| r.spec.domain.clone());
        for (path, want) in [
            ("/rest/V1/products/24-MB01", "catalog"),
            ("/rest/default/V1/products", "catalog"),
            ("/rest/all/V1/categories/3", "catalog"),
            ("/rest/de_store/V1/customers/me", "customer"),
            ("/rest/V1/orders/17", "order"),
        ] {
            assert_eq!(domain(path).as_deref(), Some(want), "{path}");
        }
        for magento in [
            "/",
            "/women.html",
            "/static/version1/frontend/x.css",
            "/admin",
            "/graphql",
            "/rest/V1/carts/mine",
            "/rest/V1/productsx",
            "/rest/default/V1/store/storeViews",
            "/rest/a/b/V1/products",
        ] {
            assert_eq!(domain(magento), None, "{magento}");
        }
    }

    #[test]
    fn bad_tables_are_refused_with_the_reason() {
        let services = vec!["catalog".to_owned()];
        let bad = |pattern: &str, domain: &str, service: &str| {
            RouteTable::new(
                vec![RouteSpec {
                    pattern: pattern.into(),
                    domain: domain.into(),
                    service: service.into(),
                }],
                &services,
            )
            .expect_err("refused")
            .to_string()
        };
        assert!(bad("^/rest/(", "catalog", "catalog").contains("route pattern \"^/rest/(\""));
        assert!(bad("^/x", "catalog", "search").contains("names service \"search\""));
        assert!(bad("^/x", "cat.alog", "catalog").contains("domain \"cat.alog\""));
    }
}
