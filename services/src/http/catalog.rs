//! The catalog's routes: products by SKU and lists, the category tree, categories by id and
//! lists. Reads need an admin or integration caller, or guest access switched on (Magento's
//! "Allow Anonymous Guest Access", `webapi/webapisecurity/allow_insecure`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::{
    At, Caller, Gateway, forged, internal, json, list, no_route, no_such_entity, unauthorized,
};
use crate::catalog::{Catalog, TreeError};
use crate::search;

/// How the catalog's routes answer.
#[derive(Debug, Clone)]
pub struct Config {
    /// The store view of `/rest/V1/…` (Magento: the default store view of the default website).
    pub default_store: String,
    /// The store view `/rest/all/V1/…` reads (Magento: the admin store).
    pub admin_store: String,
    /// Whom to believe.
    pub gateway: Gateway,
    /// Whether guests may read the catalog.
    pub guest_access: bool,
}

#[derive(Debug)]
struct App {
    catalog: Catalog,
    config: Config,
    /// Store codes known to exist: a store view is never removed while the service runs, so
    /// only codes not yet seen cost a query.
    stores: std::sync::RwLock<std::collections::HashSet<String>>,
}

type Shared = State<Arc<App>>;

/// The catalog's routes (without the operations endpoints; see [`super::ops`]).
pub fn router(catalog: Catalog, config: Config) -> Router {
    let app = Arc::new(App {
        catalog,
        config,
        stores: Default::default(),
    });
    Router::new()
        .route("/rest/V1/products", get(products))
        .route("/rest/{store}/V1/products", get(products))
        .route("/rest/V1/products/{sku}", get(product))
        .route("/rest/{store}/V1/products/{sku}", get(product))
        .route("/rest/V1/categories", get(tree))
        .route("/rest/{store}/V1/categories", get(tree))
        .route("/rest/V1/categories/list", get(categories))
        .route("/rest/{store}/V1/categories/list", get(categories))
        .route("/rest/V1/categories/{id}", get(category))
        .route("/rest/{store}/V1/categories/{id}", get(category))
        .route("/readyz", get(ready))
        .with_state(app)
}

impl App {
    /// `None` when the caller may read `resource`, else the response refusing it.
    fn refuse(&self, headers: &HeaderMap, resource: &str) -> Option<Response> {
        match self.config.gateway.caller(headers) {
            Caller::Forged => Some(forged()),
            Caller::Admin => None,
            _ if self.config.guest_access => None,
            _ => Some(unauthorized(resource)),
        }
    }

    /// The store view a URL's store code names (`all`: admin; none: the default), or the
    /// response for an unknown one (Magento takes an unknown first segment as part of the
    /// route).
    async fn store(&self, code: Option<String>) -> Result<String, Response> {
        let Some(code) = code else {
            return Ok(self.config.default_store.clone());
        };
        if code == "all" {
            return Ok(self.config.admin_store.clone());
        }
        let known = |stores: &std::collections::HashSet<String>| stores.contains(&code);
        if self.stores.read().is_ok_and(|s| known(&s)) {
            return Ok(code);
        }
        match self.catalog.has_store(&code).await {
            Ok(true) => {
                if let Ok(mut stores) = self.stores.write() {
                    stores.insert(code.clone());
                }
                Ok(code)
            }
            Ok(false) => Err(no_route().await),
            Err(e) => Err(internal(&e)),
        }
    }

    /// Access, then the store view: what every route checks first.
    async fn enter(
        &self,
        headers: &HeaderMap,
        resource: &str,
        code: Option<String>,
    ) -> Result<String, Response> {
        if let Some(refused) = self.refuse(headers, resource) {
            return Err(refused);
        }
        self.store(code).await
    }

    async fn product(&self, code: Option<String>, sku: &str, headers: &HeaderMap) -> Response {
        let store = match self.enter(headers, PRODUCTS, code).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        match self.catalog.product(&store, sku).await {
            Ok(Some(doc)) => json(StatusCode::OK, doc),
            Ok(None) => json(
                StatusCode::NOT_FOUND,
                r#"{"message":"The product that was requested doesn't exist. Verify the product and try again."}"#,
            ),
            Err(e) => internal(&e),
        }
    }

    async fn products(
        &self,
        code: Option<String>,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Response {
        let store = match self.enter(headers, PRODUCTS, code).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        list(query, async |c| self.catalog.products(&store, c).await).await
    }

    async fn categories(
        &self,
        code: Option<String>,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Response {
        let store = match self.enter(headers, CATEGORIES, code).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        list(query, async |c| self.catalog.categories(&store, c).await).await
    }

    async fn category(&self, code: Option<String>, id: &str, headers: &HeaderMap) -> Response {
        let store = match self.enter(headers, CATEGORIES, code).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        let id = match search::int("categoryId", id) {
            Ok(id) => id,
            Err(bad) => return json(StatusCode::BAD_REQUEST, bad.body()),
        };
        match self.catalog.category(&store, id).await {
            Ok(Some(doc)) => json(StatusCode::OK, doc),
            Ok(None) => no_such_entity("id", id),
            Err(e) => internal(&e),
        }
    }

    async fn tree(
        &self,
        code: Option<String>,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Response {
        let store = match self.enter(headers, CATEGORIES, code).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        let (mut root, mut depth) = (None, None);
        for pair in query.unwrap_or("").split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = search::percent_decode(value);
            let slot = match search::percent_decode(key).as_str() {
                "rootCategoryId" => &mut root,
                "depth" => &mut depth,
                _ => continue,
            };
            match search::int(key, &value) {
                Ok(n) => *slot = Some(n),
                Err(bad) => return json(StatusCode::BAD_REQUEST, bad.body()),
            }
        }
        let depth = depth.map(|d| d.max(0) as u32);
        match self.catalog.category_tree(&store, root, depth).await {
            Ok(tree) => json(StatusCode::OK, tree),
            Err(TreeError::NoSuchCategory(id)) => no_such_entity("id", id),
            Err(TreeError::Db(e)) => internal(&e),
        }
    }
}

const PRODUCTS: &str = "Magento_Catalog::products";
const CATEGORIES: &str = "Magento_Catalog::categories";

async fn product(State(app): Shared, Path(at): Path<At>, headers: HeaderMap) -> Response {
    app.product(at.store, &at.key, &headers).await
}

async fn products(
    State(app): Shared,
    Path(at): Path<At>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    app.products(at.store, q.as_deref(), &headers).await
}

async fn categories(
    State(app): Shared,
    Path(at): Path<At>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    app.categories(at.store, q.as_deref(), &headers).await
}

async fn category(State(app): Shared, Path(at): Path<At>, headers: HeaderMap) -> Response {
    app.category(at.store, &at.key, &headers).await
}

async fn tree(
    State(app): Shared,
    Path(at): Path<At>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    app.tree(at.store, q.as_deref(), &headers).await
}

async fn ready(State(app): Shared) -> Response {
    super::readiness(app.catalog.migrations_current().await)
}
