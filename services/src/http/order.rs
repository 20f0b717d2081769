//! The order service's routes, with Magento's ACL: an order by id and the order search need an
//! admin or integration caller (`Magento_Sales::actions_view`); customers and guests are refused,
//! as Magento's REST API refuses them.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::{At, Gateway, internal, json, list};
use crate::order::Orders;
use crate::search;

const SALES: &str = "Magento_Sales::actions_view";

/// `OrderRepository::get`'s answer for an id that names no order.
const NO_ORDER: &str = r#"{"message":"The entity that was requested doesn't exist. Verify the entity and try again."}"#;

#[derive(Debug)]
struct App {
    orders: Orders,
    gateway: Gateway,
}

type Shared = State<Arc<App>>;

/// The order service's routes (without the operations endpoints; see [`super::ops`]). Orders
/// have no store dimension: a store code in the URL changes nothing, but must be one.
pub fn router(orders: Orders, gateway: Gateway) -> Router {
    let app = Arc::new(App { orders, gateway });
    Router::new()
        .route("/rest/V1/orders", get(search))
        .route("/rest/{store}/V1/orders", get(search))
        .route("/rest/V1/orders/{id}", get(by_id))
        .route("/rest/{store}/V1/orders/{id}", get(by_id))
        .route("/readyz", get(ready))
        .with_state(app)
}

impl App {
    /// `None` when the store code (if any) is a store code and the caller is an admin, else the
    /// response refusing the request.
    async fn refuse(&self, headers: &HeaderMap, store: Option<&str>) -> Option<Response> {
        super::admin_only(&self.gateway, headers, store, SALES).await
    }

    async fn by_id(&self, store: Option<&str>, id: &str, headers: &HeaderMap) -> Response {
        if let Some(refused) = self.refuse(headers, store).await {
            return refused;
        }
        let id = match search::int("id", id) {
            Ok(id) => id,
            Err(bad) => return json(StatusCode::BAD_REQUEST, bad.body()),
        };
        match self.orders.order(id).await {
            Ok(Some(doc)) => json(StatusCode::OK, doc),
            Ok(None) => json(StatusCode::NOT_FOUND, NO_ORDER),
            Err(e) => internal(&e),
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
        list(query, async |c| self.orders.search(c).await).await
    }
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
    super::readiness(app.orders.migrations_current().await)
}
