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
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::catalog::Catalog;

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

    async fn product(&self, store: &str, sku: &str, headers: &HeaderMap) -> Response {
        let Some(caller) = self.caller(headers) else {
            return json(
                StatusCode::UNAUTHORIZED,
                r#"{"message":"The request did not come through the gateway."}"#,
            );
        };
        if caller != Caller::Admin && !self.config.guest_catalog {
            return unauthorized("Magento_Catalog::products");
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
    let store = if store == "all" {
        app.config.admin_store.clone()
    } else {
        match app.catalog.has_store(&store).await {
            Ok(true) => store,
            // Magento takes an unknown first segment as part of the route.
            Ok(false) => return no_route().await,
            Err(e) => return internal(&e),
        }
    };
    app.product(&store, &sku, &headers).await
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
