//! The services' routes: Magento's URLs (with and without a store code), Magento's bodies and
//! status codes, the caller's identity as ficus-proxy passes it, and the operations endpoints.
//!
//! Identity: ficus-proxy validates Magento's tokens at the edge and passes the caller on as
//! `x-ficus-identity` (`admin`, `integration` or `customer:<id>`) together with the shared secret
//! in `x-ficus-gateway-secret`. Without the secret a caller is a guest; with a wrong one, 401.

pub mod catalog;
pub mod customer;
pub mod fields;
pub mod ops;
pub mod order;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ListError;
use crate::search::{self, Criteria};

/// The header carrying the caller's identity, set by ficus-proxy.
pub const IDENTITY_HEADER: &str = "x-ficus-identity";
/// The header carrying the shared secret that proves a request came through ficus-proxy.
pub const SECRET_HEADER: &str = "x-ficus-gateway-secret";

/// A route's path parameters, with or without the store code: `/rest/V1/…` and
/// `/rest/{store}/V1/…` share their handler.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct At {
    /// The store code, when the URL has one.
    pub store: Option<String>,
    /// The entity's SKU or id, on routes of one entity.
    #[serde(alias = "sku", alias = "id", default)]
    pub key: String,
}

/// Who is calling, as the gateway says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A wrong gateway secret: refused whatever the route ([`forged`]).
    Forged,
    Guest,
    Admin,
    Customer(i64),
}

/// Whom a service believes.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    /// The secret ficus-proxy sends; `None` trusts no identity header (everyone is a guest).
    pub secret: Option<String>,
}

impl Gateway {
    /// The caller as the headers say.
    pub(crate) fn caller(&self, headers: &HeaderMap) -> Caller {
        let Some(given) = headers.get(SECRET_HEADER) else {
            return Caller::Guest;
        };
        let trusted = match &self.secret {
            Some(secret) => constant_time_eq(given.as_bytes(), secret.as_bytes()),
            None => false,
        };
        if !trusted {
            return Caller::Forged;
        }
        let identity = headers
            .get(IDENTITY_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match identity {
            "admin" | "integration" => Caller::Admin,
            other => match other.strip_prefix("customer:").map(str::parse) {
                Some(Ok(id)) => Caller::Customer(id),
                _ => Caller::Guest,
            },
        }
    }
}

/// The 401 for a request with a wrong gateway secret.
pub(crate) fn forged() -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        r#"{"message":"The request did not come through the gateway."}"#,
    )
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON body (a document, or one of Magento's error bodies) with its status.
pub(crate) fn json(status: StatusCode, body: impl Into<String>) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    (status, [(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

/// Magento's answer to a URL it has no route for.
pub(crate) async fn no_route() -> Response {
    json(
        StatusCode::NOT_FOUND,
        r#"{"message":"Request does not match any route."}"#,
    )
}

/// Magento masks every unexpected failure; the cause goes to the access log (as
/// [`ops::Failure`]), never to the caller.
pub(crate) fn internal(e: &dyn std::fmt::Display) -> Response {
    let report = uuid::Uuid::now_v7().simple().to_string();
    let mut response = json(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            r#"{{"message":"Internal Error. Details are available in Magento log file. Report ID: webapi-{report}"}}"#
        ),
    );
    response.extensions_mut().insert(ops::Failure {
        report,
        error: e.to_string(),
    });
    response
}

/// Magento's 401 for a caller its ACL refuses `resource`.
pub(crate) fn unauthorized(resource: &str) -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        format!(
            r#"{{"message":"The consumer isn't authorized to access %resources.","parameters":{{"resources":"{resource}"}}}}"#
        ),
    )
}

/// Magento's 404 for an id that names nothing (`NoSuchEntityException::singleField`).
pub(crate) fn no_such_entity(field: &str, value: i64) -> Response {
    json(
        StatusCode::NOT_FOUND,
        format!(
            r#"{{"message":"No such entity with %fieldName = %fieldValue","parameters":{{"fieldName":"{field}","fieldValue":{value}}}}}"#
        ),
    )
}

/// A list response: `{items, search_criteria, total_count}`.
pub(crate) fn list_body(items: &[String], criteria: &Criteria, total: i64) -> Response {
    let mut body = String::with_capacity(items.iter().map(String::len).sum::<usize>() + 256);
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

/// `None` when the store code (if any) is a store code and the caller is an admin or an
/// integration, else the response refusing the request (Magento's 401 naming `resource`).
pub(crate) async fn admin_only(
    gateway: &Gateway,
    headers: &HeaderMap,
    store: Option<&str>,
    resource: &str,
) -> Option<Response> {
    if store.is_some_and(|code| !is_store_code(code)) {
        return Some(no_route().await);
    }
    match gateway.caller(headers) {
        Caller::Forged => Some(forged()),
        Caller::Admin => None,
        _ => Some(unauthorized(resource)),
    }
}

/// A store code as Magento allows them: a letter, then letters, digits or underscores.
pub(crate) fn is_store_code(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `/readyz`: the database reachable and its migrations current.
pub(crate) fn readiness(current: Result<bool, crate::Error>) -> Response {
    match current {
        Ok(true) => (StatusCode::OK, "ready\n").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "migrations not current\n").into_response(),
        Err(e) => {
            let mut r = (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response();
            r.extensions_mut().insert(ops::Failure {
                report: String::new(),
                error: e.to_string(),
            });
            r
        }
    }
}

/// Answers a list request: its `searchCriteria` (required), then the page `run` finds.
pub(crate) async fn list<F>(query: Option<&str>, run: F) -> Response
where
    F: AsyncFnOnce(&Criteria) -> Result<(Vec<String>, i64), ListError>,
{
    let criteria = match search::required(query) {
        Ok(c) => c,
        Err(bad) => return json(StatusCode::BAD_REQUEST, bad.body()),
    };
    match run(&criteria).await {
        Ok((items, total)) => list_body(&items, &criteria, total),
        Err(ListError::Bad(bad)) => json(StatusCode::BAD_REQUEST, bad.body()),
        Err(ListError::Db(e)) => internal(&e),
    }
}
