//! The customer service's routes, with Magento's ACL: a customer by id and the search need an
//! admin or integration caller (`Magento_Customer::customer`); `/V1/customers/me` answers the
//! calling customer (`self`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::{
    At, Caller, Gateway, forged, internal, is_store_code, json, list, no_route, no_such_entity,
    unauthorized,
};
use crate::customer::Customers;
use crate::search;

const CUSTOMER: &str = "Magento_Customer::customer";

#[derive(Debug)]
struct App {
    customers: Customers,
    gateway: Gateway,
}

type Shared = State<Arc<App>>;

/// The customer service's routes (without the operations endpoints; see [`super::ops`]).
/// Customers have no store dimension: a store code in the URL changes nothing, but must be one
/// (letters, digits, underscores, from a letter).
pub fn router(customers: Customers, gateway: Gateway) -> Router {
    let app = Arc::new(App { customers, gateway });
    Router::new()
        .route("/rest/V1/customers/me", get(me))
        .route("/rest/{store}/V1/customers/me", get(me))
        .route("/rest/V1/customers/search", get(search))
        .route("/rest/{store}/V1/customers/search", get(search))
        .route("/rest/V1/customers/{id}", get(by_id))
        .route("/rest/{store}/V1/customers/{id}", get(by_id))
        .route("/readyz", get(ready))
        .with_state(app)
}

impl App {
    /// `None` when the store code (if any) is a store code and the caller is an admin (the
    /// routes of `Magento_Customer::customer`), else the response refusing the request.
    async fn refuse(&self, headers: &HeaderMap, store: Option<&str>) -> Option<Response> {
        super::admin_only(&self.gateway, headers, store, CUSTOMER).await
    }

    async fn customer(&self, id: i64) -> Response {
        match self.customers.customer(id).await {
            Ok(Some(doc)) => json(StatusCode::OK, doc),
            Ok(None) => no_such_entity("customerId", id),
            Err(e) => internal(&e),
        }
    }

    async fn by_id(&self, store: Option<&str>, id: &str, headers: &HeaderMap) -> Response {
        if let Some(refused) = self.refuse(headers, store).await {
            return refused;
        }
        match search::int("customerId", id) {
            Ok(id) => self.customer(id).await,
            Err(bad) => json(StatusCode::BAD_REQUEST, bad.body()),
        }
    }

    async fn me(&self, store: Option<&str>, headers: &HeaderMap) -> Response {
        if store.is_some_and(|code| !is_store_code(code)) {
            return no_route().await;
        }
        match self.gateway.caller(headers) {
            Caller::Customer(id) => self.customer(id).await,
            Caller::Forged => forged(),
            _ => unauthorized("self"),
        }
    }

    async fn search(
        &self,
        store: Option<&str>,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Response {
        if let Some(refused) = self.refuse(headers, store).await {
            return refused;
        }
        list(query, async |c| self.customers.search(c).await).await
    }
}

async fn me(State(app): Shared, Path(at): Path<At>, headers: HeaderMap) -> Response {
    app.me(at.store.as_deref(), &headers).await
}

async fn search(
    State(app): Shared,
    Path(at): Path<At>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    app.search(at.store.as_deref(), q.as_deref(), &headers)
        .await
}

async fn by_id(State(app): Shared, Path(at): Path<At>, headers: HeaderMap) -> Response {
    app.by_id(at.store.as_deref(), &at.key, &headers).await
}

async fn ready(State(app): Shared) -> Response {
    super::readiness(app.customers.migrations_current().await)
}
