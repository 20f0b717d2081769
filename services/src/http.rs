//! The catalog's routes: Magento's URLs (with and without a store code), Magento's bodies and
//! status codes, and the caller's identity as ficus-proxy passes it.
//!
//! Identity: ficus-proxy validates Magento's tokens at the edge and passes the caller on as
//! `x-ficus-identity` (`admin`, `integration` or `customer:<id>`) together with the shared secret
//! in `x-ficus-gateway-secret`. Without the secret a caller is a guest; with a wrong one, 401.
//! Product reads need an admin or integration caller, or guest access switched on (Magento's
//! "Allow Anonymous Guest Access", `webapi/webapisecurity/allow_insecure`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::catalog::{Catalog, ListError};
use crate::search;

/// The header carrying the caller's identity, set by ficus-proxy.
pub const IDENTITY_HEADER: &str = "x-ficus-identity";
/// The header carrying the shared secret that proves a request came through ficus-proxy.
pub const SECRET_HEADER: &str = "x-ficus-gateway-secret";

/// How the routes answer.
#[derive(Debug, Clone)]
pub struct Config {
    /// The store view of `/rest/V1/…` (Magento: the default store view of the default website).
    pub default_store: String,
    /// The store view `/rest/all/V1/…` reads (Magento: the admin store).
    pub admin_store: String,
    /// The secret ficus-proxy sends; `None` trusts no identity header (everyone is a guest).
    pub gateway_secret: Option<String>,
    /// Whether guests may read the catalog.
    pub guest_catalog: bool,
}

#[derive(Debug)]
struct App {
    catalog: Catalog,
    config: Config,
}

/// Who is calling, as the gateway says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Caller {
    Guest,
    Admin,
    Customer(u64),
}

/// The routes, on `catalog`.
pub fn router(catalog: Catalog, config: Config) -> Router {
    let app = Arc::new(App { catalog, config });
    Router::new()
        .route("/rest/V1/products", get(products_default))
        .route("/rest/{store}/V1/products", get(products_in_store))
        .route("/rest/V1/products/{sku}", get(product_default))
        .route("/rest/{store}/V1/products/{sku}", get(product_in_store))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .fallback(no_route)
        .with_state(app)
}

/// A JSON body (a document, or one of Magento's error bodies) with its status.
fn json(status: StatusCode, body: impl Into<String>) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    (status, [(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

async fn no_route() -> Response {
    json(
        StatusCode::NOT_FOUND,
        r#"{"message":"Request does not match any route."}"#,
    )
}

/// Magento masks every unexpected failure; the cause goes to the log, never to the caller.
fn internal(e: &dyn std::fmt::Display) -> Response {
    let report = uuid::Uuid::now_v7().simple().to_string();
    eprintln!("ficus-catalog: report {report}: {e}");
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            r#"{{"message":"Internal Error. Details are available in Magento log file. Report ID: webapi-{report}"}}"#
        ),
    )
}

fn unauthorized(resource: &str) -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        format!(
            r#"{{"message":"The consumer isn't authorized to access %resources.","parameters":{{"resources":"{resource}"}}}}"#
        ),
    )
}

impl App {
    /// The caller; `None` when the request carries a wrong gateway secret.
    fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let Some(given) = headers.get(SECRET_HEADER) else {
            return Some(Caller::Guest);
        };
        let trusted = match &self.config.gateway_secret {
            Some(secret) => constant_time_eq(given.as_bytes(), secret.as_bytes()),
            None => false,
        };
        if !trusted {
            return None;
        }
        let identity = headers
            .get(IDENTITY_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Some(match identity {
            "admin" | "integration" => Caller::Admin,
            other => match other.strip_prefix("customer:").map(str::parse) {
                Some(Ok(id)) => Caller::Customer(id),
                _ => Caller::Guest,
            },
        })
    }

    /// `None` when the caller may read the catalog, else the response refusing it.
    fn refuse_catalog(&self, headers: &HeaderMap) -> Option<Response> {
        let Some(caller) = self.caller(headers) else {
            return Some(json(
                StatusCode::UNAUTHORIZED,
                r#"{"message":"The request did not come through the gateway."}"#,
            ));
        };
        if caller != Caller::Admin && !self.config.guest_catalog {
            return Some(unauthorized("Magento_Catalog::products"));
        }
        None
    }

    /// The store view a URL's store code names (`all`: admin), or the response for an unknown
    /// one (Magento takes an unknown first segment as part of the route).
    async fn store(&self, code: String) -> Result<String, Response> {
        if code == "all" {
            return Ok(self.config.admin_store.clone());
        }
        match self.catalog.has_store(&code).await {
            Ok(true) => Ok(code),
            Ok(false) => Err(no_route().await),
            Err(e) => Err(internal(&e)),
        }
    }

    async fn products(&self, store: &str, query: Option<&str>, headers: &HeaderMap) -> Response {
        if let Some(refused) = self.refuse_catalog(headers) {
            return refused;
        }
        let criteria = match search::required(query) {
            Ok(c) => c,
            Err(bad) => return json(StatusCode::BAD_REQUEST, bad.body()),
        };
        match self.catalog.products(store, &criteria).await {
            Ok((items, total)) => {
                let mut body =
                    String::with_capacity(items.iter().map(String::len).sum::<usize>() + 256);
                body.push_str(r#"{"items":["#);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        body.push(',');
                    }
                    body.push_str(item);
                }
                body.push_str(r#"],"search_criteria":"#);
                body.push_str(&criteria.echo().to_string());
                body.push_str(&format!(r#","total_count":{total}}}"#));
                json(StatusCode::OK, body)
            }
            Err(ListError::Bad(bad)) => json(StatusCode::BAD_REQUEST, bad.body()),
            Err(ListError::Db(e)) => internal(&e),
        }
    }

    async fn product(&self, store: &str, sku: &str, headers: &HeaderMap) -> Response {
        if let Some(refused) = self.refuse_catalog(headers) {
            return refused;
        }
        match self.catalog.product(store, sku).await {
            Ok(Some(doc)) => json(StatusCode::OK, doc),
            Ok(None) => json(
                StatusCode::NOT_FOUND,
                r#"{"message":"The product that was requested doesn't exist. Verify the product and try again."}"#,
            ),
            Err(e) => internal(&e),
        }
    }
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn product_default(
    State(app): State<Arc<App>>,
    Path(sku): Path<String>,
    headers: HeaderMap,
) -> Response {
    let store = app.config.default_store.clone();
    app.product(&store, &sku, &headers).await
}

async fn product_in_store(
    State(app): State<Arc<App>>,
    Path((store, sku)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match app.store(store).await {
        Ok(store) => app.product(&store, &sku, &headers).await,
        Err(response) => response,
    }
}

async fn products_default(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let store = app.config.default_store.clone();
    app.products(&store, query.as_deref(), &headers).await
}

async fn products_in_store(
    State(app): State<Arc<App>>,
    Path(store): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match app.store(store).await {
        Ok(store) => app.products(&store, query.as_deref(), &headers).await,
        Err(response) => response,
    }
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    match app.catalog.migrations_current().await {
        Ok(true) => (StatusCode::OK, "ready\n").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "migrations not current\n").into_response(),
        Err(e) => {
            eprintln!("ficus-catalog: not ready: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}
