//! **A stand-in for Magento, not part of the product.** Magento's PHP application cannot run
//! here, yet ficus-proxy and the demo need a legacy upstream that speaks Magento's REST shapes.
//! This answers Magento's GET routes for single entities straight from a Magento database, with
//! eav-extract's documents (so the same store-scope rules) in Magento's shape:
//!
//! - `GET /rest[/<store>|/all]/V1/products/{sku}`
//! - `GET /rest[/<store>|/all]/V1/categories/{id}`
//! - `GET /rest[/<store>|/all]/V1/customers/{id}`
//! - `GET /rest[/<store>|/all]/V1/orders/{id}`
//!
//! It reads live (each request on its own connection, no snapshot), answers everyone (no
//! tokens, no ACL: ficus-proxy's tests look at routing, not at Magento's auth), and marks every
//! answer `x-magento-standin: 1`. Lists, trees, writes and `fields=` are not answered (404).
#![forbid(unsafe_code)]

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ficus_eav_extract::Kind;
use ficus_eav_extract::lookup::Lookup;

/// The stand-in's state: the lookup and the default store view's code.
#[derive(Debug)]
struct App {
    lookup: Lookup,
    default_store: String,
}

type Shared = State<Arc<App>>;

/// The stand-in's routes over `lookup`; `/rest/V1/…` reads `default_store`.
pub fn router(lookup: Lookup, default_store: String) -> Router {
    let app = Arc::new(App {
        lookup,
        default_store,
    });
    Router::new()
        .route("/rest/V1/products/{sku}", get(product))
        .route("/rest/{store}/V1/products/{sku}", get(product_in))
        .route("/rest/V1/categories/{id}", get(category))
        .route("/rest/{store}/V1/categories/{id}", get(category_in))
        .route("/rest/V1/customers/{id}", get(customer))
        .route("/rest/{store}/V1/customers/{id}", get(customer_in))
        .route("/rest/V1/orders/{id}", get(order))
        .route("/rest/{store}/V1/orders/{id}", get(order_in))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { json(StatusCode::NOT_FOUND, NO_ROUTE.into()) })
        .with_state(app)
}

const NO_ROUTE: &str = r#"{"message":"Request does not match any route."}"#;

fn json(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-magento-standin", HeaderValue::from_static("1"));
    r
}

fn failed(e: &dyn std::fmt::Display) -> Response {
    eprintln!("magento-standin: {e}");
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"message":"Internal Error. Details are available in Magento log file."}"#.into(),
    )
}

fn no_such(field: &str, value: u32) -> Response {
    json(
        StatusCode::NOT_FOUND,
        format!(
            r#"{{"message":"No such entity with %fieldName = %fieldValue","parameters":{{"fieldName":"{field}","fieldValue":{value}}}}}"#
        ),
    )
}

impl App {
    /// The store view a URL names (`all`: admin, none: the default); `None` when unknown
    /// (Magento: no route).
    fn store(&self, code: Option<String>) -> Option<String> {
        let code = match code.as_deref() {
            None => self.default_store.clone(),
            Some("all") => "admin".into(),
            Some(c) => c.to_string(),
        };
        self.lookup.has_store(&code).then_some(code)
    }

    /// The document of `id`, in Magento's shape, or `missing`.
    async fn answer(&self, kind: Kind, id: u32, store: &str, missing: Response) -> Response {
        match self.lookup.document(kind, id, store).await {
            Ok(Some(doc)) => match ficus_services::shape::magento_shape(&doc) {
                Ok(body) => json(StatusCode::OK, body),
                Err(e) => failed(&e),
            },
            Ok(None) => missing,
            Err(e) => failed(&e),
        }
    }

    async fn product(&self, store: Option<String>, sku: &str) -> Response {
        let Some(store) = self.store(store) else {
            return json(StatusCode::NOT_FOUND, NO_ROUTE.into());
        };
        let missing = || {
            json(
                StatusCode::NOT_FOUND,
                r#"{"message":"The product that was requested doesn't exist. Verify the product and try again."}"#.into(),
            )
        };
        match self.lookup.product_id(sku).await {
            Ok(Some(id)) => self.answer(Kind::Product, id, &store, missing()).await,
            Ok(None) => missing(),
            Err(e) => failed(&e),
        }
    }

    async fn by_id(&self, kind: Kind, store: Option<String>, id: &str) -> Response {
        let Some(store) = self.store(store) else {
            return json(StatusCode::NOT_FOUND, NO_ROUTE.into());
        };
        let field = match kind {
            Kind::Customer => "customerId",
            _ => "id",
        };
        let Ok(id) = id.parse::<u32>() else {
            return json(
                StatusCode::BAD_REQUEST,
                format!(
                    r#"{{"message":"Error occurred during \"{field}\" processing. The \"{id}\" value's type is invalid. The \"int\" type was expected. Verify and try again."}}"#
                ),
            );
        };
        let missing = match kind {
            // OrderRepository::get's own message, not the single-field one.
            Kind::Order => json(
                StatusCode::NOT_FOUND,
                r#"{"message":"The entity that was requested doesn't exist. Verify the entity and try again."}"#.into(),
            ),
            _ => no_such(field, id),
        };
        self.answer(kind, id, &store, missing).await
    }
}

async fn product(State(app): Shared, Path(sku): Path<String>) -> Response {
    app.product(None, &sku).await
}

async fn product_in(State(app): Shared, Path((store, sku)): Path<(String, String)>) -> Response {
    app.product(Some(store), &sku).await
}

async fn category(State(app): Shared, Path(id): Path<String>) -> Response {
    app.by_id(Kind::Category, None, &id).await
}

async fn category_in(State(app): Shared, Path((store, id)): Path<(String, String)>) -> Response {
    app.by_id(Kind::Category, Some(store), &id).await
}

async fn customer(State(app): Shared, Path(id): Path<String>) -> Response {
    app.by_id(Kind::Customer, None, &id).await
}

async fn customer_in(State(app): Shared, Path((store, id)): Path<(String, String)>) -> Response {
    app.by_id(Kind::Customer, Some(store), &id).await
}

async fn order(State(app): Shared, Path(id): Path<String>) -> Response {
    app.by_id(Kind::Order, None, &id).await
}

async fn order_in(State(app): Shared, Path((store, id)): Path<(String, String)>) -> Response {
    app.by_id(Kind::Order, Some(store), &id).await
}

/// For the tests that put a back-filled service beside the stand-in.
pub mod testing {
    use std::path::PathBuf;

    use ficus_eav_extract::{Options, SinkSpec};
    use ficus_id_map::magento::MagentoDsn;
    use ficus_services::Position;

    /// Every document of a Magento store, as a back-fill applies them.
    #[derive(Debug)]
    pub struct Extracted {
        /// The JSONL file (with its manifest beside it); the caller removes it.
        pub path: PathBuf,
        /// The file's lines.
        pub text: String,
        /// The snapshot's binlog position, at which the documents are written.
        pub at: Position,
    }

    /// Extracts every entity of every store view of `magento` (the admin store included) to a
    /// JSONL file in the temporary directory named after the database, `chunk_size` entities a
    /// chunk (eav-extract's default when `None`).
    ///
    /// # Panics
    /// When the extract fails or the binlog is off: a test cannot go on without the documents.
    pub async fn extract(magento: &str, chunk_size: Option<usize>) -> Extracted {
        let dsn = MagentoDsn::parse(magento).expect("dsn");
        let database = magento.rsplit('/').next().unwrap_or("magento");
        let path = std::env::temp_dir().join(format!("ficus-{database}.jsonl"));
        let mut options = Options {
            admin: true,
            ..Options::new(dsn, SinkSpec::Jsonl(path.clone()))
        };
        if let Some(chunk_size) = chunk_size {
            options.chunk_size = chunk_size;
        }
        let summary = ficus_eav_extract::extract(&options, |_| {}, std::future::pending())
            .await
            .expect("extract");
        let snapshot = summary.position.expect("binlog on");
        let at = Position::from_binlog(&snapshot.file, snapshot.position).expect("position");
        let text = std::fs::read_to_string(&path).expect("documents");
        Extracted { path, text, at }
    }
}
