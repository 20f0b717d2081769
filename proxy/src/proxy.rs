//! The Pingora proxy: per request, route → decision → upstream, with the fallback of a failed
//! read to Magento, the circuits, the stickiness cookie and the decision's headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use ficus_flags::{Flags, Who};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::{HttpPeer, ProxyHttp, Session};
use pingora::protocols::http::error_resp::gen_error_response;
use pingora::proxy::FailToProxy;
use pingora::{Error, ErrorSource, ErrorType, Result};

use crate::auth::{self, Identity, Rejected, TokenKey};
use crate::circuit::Circuit;
use crate::config::Settings;
use crate::decide::{Backend, Reason, decide, is_read};
use crate::limits::{Limits, Over, TOO_MANY_BODY};
use crate::metrics::Metrics;
use crate::table::Table;

/// Headers only the proxy sets; copies arriving from clients are removed.
pub(crate) const OVERRIDE_HEADER: &str = "x-ficus-backend";
pub(crate) const TESTER_HEADER: &str = "x-ficus-tester";
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Everything the proxy shares between requests.
#[derive(Debug)]
pub struct FicusProxy {
    /// The flags in use.
    pub flags: Arc<Flags>,
    /// The routes and upstreams in use (swapped whole by a reload).
    table: ArcSwap<Table>,
    next_magento: AtomicUsize,
    /// The counters.
    pub metrics: Metrics,
    pub(crate) cookie: String,
    cookie_prefix: String,
    pub(crate) set_cookie_suffix: String,
    session_header: Option<String>,
    tester_token: Option<String>,
    access_log: bool,
    /// Magento's JWT key, when configured.
    token_key: Option<TokenKey>,
    /// The secret the services expect from the proxy.
    pub(crate) gateway_secret: Option<String>,
    /// A validated customer is the flags' `userId`.
    sticky_customer: bool,
    /// The rate limits, when any is on.
    limits: Option<Limits>,
    /// Where the client IP is read from when not the socket's peer.
    client_ip_header: Option<http::HeaderName>,
}

/// What one request carries through its phases.
#[derive(Debug)]
pub struct RequestCtx {
    pub(crate) start: Instant,
    /// The table in use when the request arrived, kept to its end.
    pub(crate) table: Arc<Table>,
    pub(crate) request_id: String,
    pub(crate) route: Option<usize>,
    pub(crate) domain: usize,
    pub(crate) backend: Backend,
    pub(crate) reason: Reason,
    pub(crate) read: bool,
    pub(crate) fell_back: bool,
    /// Set when the proxy should retry the request on Magento after this error.
    pub(crate) retry_on_magento: bool,
    pub(crate) new_session: Option<String>,
    pub(crate) magento_tries: usize,
    /// The caller a valid Magento token named.
    pub(crate) identity: Option<Identity>,
    /// Why the request's bearer token was not accepted.
    pub(crate) rejected: Option<Rejected>,
}

impl FicusProxy {
    /// Builds the proxy from validated settings and loaded flags.
    pub fn new(settings: &Settings, flags: Arc<Flags>) -> Result<Self, crate::Error> {
        let table = Table::new(settings, None)?;
        let metrics = Metrics::new(table.routes.domains());
        let cookie = settings.stickiness.cookie.clone();
        Ok(Self {
            table: ArcSwap::from_pointee(table),
            flags,
            metrics,
            next_magento: AtomicUsize::new(0),
            cookie_prefix: format!("{cookie}="),
            set_cookie_suffix: format!(
                "; Path=/; Max-Age={}; HttpOnly; SameSite=Lax",
                u64::from(settings.stickiness.cookie_days) * 86_400
            ),
            cookie,
            session_header: settings
                .stickiness
                .header
                .clone()
                .map(|h| h.to_ascii_lowercase()),
            tester_token: settings.tester_token.clone().filter(|t| !t.is_empty()),
            access_log: settings.access_log,
            token_key: settings
                .auth
                .magento_crypt_key
                .as_deref()
                .map(|k| TokenKey::from_crypt_key(k, settings.auth.algorithm)),
            gateway_secret: settings
                .auth
                .gateway_secret
                .clone()
                .filter(|s| !s.is_empty()),
            sticky_customer: settings.stickiness.customer,
            limits: Limits::new(&settings.rate_limit),
            client_ip_header: settings
                .rate_limit
                .client_ip_header
                .as_deref()
                .and_then(|h| http::HeaderName::from_bytes(h.as_bytes()).ok()),
        })
    }

    /// The routes and upstreams in use.
    pub fn table(&self) -> Arc<Table> {
        self.table.load_full()
    }

    /// Swaps in the routes and upstreams of `settings` (re-read by the admin API's reload).
    /// Requests already under way finish with the table they started with; upstreams that keep
    /// their name and address keep their circuit and health. Adding a domain needs a restart (the
    /// counters are laid out at start): refused, naming the domain.
    pub fn reload(&self, settings: &Settings) -> Result<Arc<Table>, crate::Error> {
        let old = self.table();
        let mut new = Table::new(settings, Some(&old))?;
        let mut counter_index = Vec::with_capacity(new.routes.domains().len());
        for domain in new.routes.domains() {
            let Some(i) = self.metrics.domain_index(domain) else {
                return Err(crate::Error::Config(format!(
                    "the route domain {domain:?} is new (the proxy started with {:?}): restart \
                     ficus-proxy (or start one with --upgrade) to add a domain",
                    old.routes.domains()
                )));
            };
            counter_index.push(i);
        }
        new.counter_index = counter_index;
        let new = Arc::new(new);
        self.table.store(Arc::clone(&new));
        Ok(new)
    }

    /// The visitor's session key from the configured header or the cookie.
    fn session_key<'a, H: Head>(&self, req: &'a H) -> Option<&'a str> {
        if let Some(h) = &self.session_header
            && let Some(v) = req.header(h).and_then(visible_ascii)
            && !v.is_empty()
        {
            return Some(v);
        }
        for text in req.headers_named("cookie").filter_map(visible_ascii) {
            for pair in text.split(';') {
                if let Some(value) = pair.trim_start().strip_prefix(self.cookie_prefix.as_str())
                    && !value.is_empty()
                {
                    return Some(value);
                }
            }
        }
        None
    }

    /// The tester's backend, when the request carries the override and the right token.
    fn tester<H: Head>(&self, req: &H) -> Option<Backend> {
        let wanted = Backend::parse(req.header(OVERRIDE_HEADER)?)?;
        let token = self.tester_token.as_deref()?;
        let given = req.header(TESTER_HEADER)?;
        constant_time_eq(given, token.as_bytes()).then_some(wanted)
    }

    fn magento_peer(&self, ctx: &mut RequestCtx) -> Box<HttpPeer> {
        Box::new(self.next_magento(ctx).peer.clone())
    }

    /// The next Magento backend for this request (round robin over the healthy ones).
    pub(crate) fn next_magento<'c>(&self, ctx: &'c mut RequestCtx) -> &'c crate::table::Upstream {
        let i = self.next_magento.fetch_add(1, Ordering::Relaxed);
        ctx.magento_tries += 1;
        ctx.table.magento_backend(i)
    }

    /// The client's IP: the configured header's first value, else the socket's peer.
    fn client_ip<H: Head>(
        &self,
        req: &H,
        peer: impl FnOnce() -> Option<std::net::IpAddr>,
    ) -> Option<std::net::IpAddr> {
        if let Some(h) = &self.client_ip_header
            && let Some(ip) = req
                .header(h.as_str())
                .and_then(visible_ascii)
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Some(ip);
        }
        peer()
    }

    /// Counts a request a rate limit refused.
    pub(crate) fn refuse(&self, ctx: &mut RequestCtx, over: Over) {
        let i = match over {
            Over::Ip => 0,
            Over::Customer => 1,
        };
        self.metrics.rate_limited[i].fetch_add(1, Ordering::Relaxed);
        ctx.reason = Reason::RateLimited;
    }

    /// Answers 429 in Magento's REST error shape.
    async fn too_many(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        over: Over,
    ) -> Result<bool> {
        self.refuse(ctx, over);
        let body = bytes::Bytes::from_static(TOO_MANY_BODY.as_bytes());
        let mut resp = ResponseHeader::build(429, Some(5))?;
        resp.insert_header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )?;
        resp.insert_header(http::header::CONTENT_LENGTH, body.len())?;
        resp.insert_header(http::header::RETRY_AFTER, "1")?;
        resp.insert_header(OVERRIDE_HEADER, Backend::Legacy.as_str())?;
        resp.insert_header(REQUEST_ID, ctx.request_id.as_str())?;
        session.write_response_header(Box::new(resp), false).await?;
        session.write_response_body(Some(body), true).await?;
        Ok(true)
    }

    /// A new request's context, with the table in use now.
    pub(crate) fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            start: Instant::now(),
            table: self.table(),
            request_id: String::new(),
            route: None,
            domain: self.metrics.unrouted(),
            backend: Backend::Legacy,
            reason: Reason::Unrouted,
            read: true,
            fell_back: false,
            retry_on_magento: false,
            new_session: None,
            magento_tries: 0,
            identity: None,
            rejected: None,
        }
    }

    /// Decides the request's backend from its head, once, before any upstream is chosen: the
    /// request id, the caller's token, the route, the rate limits (`Some` when one refuses the
    /// request, already counted), the stickiness key, the flags, the service's health and circuit.
    pub(crate) fn admit<H: Head>(
        &self,
        req: &H,
        peer: impl FnOnce() -> Option<std::net::IpAddr>,
        ctx: &mut RequestCtx,
    ) -> Option<Over> {
        ctx.request_id = match req.header(REQUEST_ID).and_then(visible_ascii) {
            Some(id) if !id.is_empty() && id.len() <= 200 => id.to_owned(),
            _ => random_id(),
        };
        if let Some(token) = req.header("authorization").and_then(auth::bearer) {
            match &self.token_key {
                Some(key) => match key.verify(token, unix_now()) {
                    Ok(identity) => ctx.identity = Some(identity),
                    Err(why) => ctx.rejected = Some(why),
                },
                None => ctx.rejected = Some(Rejected::NoKey),
            }
        }
        let route = ctx.table.routes.position(req.path());
        ctx.route = route;
        ctx.read = is_read(req.method());
        if let Some(r) = route {
            ctx.domain = ctx.table.counter_index[ctx.table.routes.routes()[r].domain_index];
        }
        if let Some(limits) = &self.limits {
            let customer = match ctx.identity {
                Some(Identity::Customer(id)) => Some(id),
                _ => None,
            };
            if let Some(over) = limits.check(self.client_ip(req, peer), customer) {
                self.refuse(ctx, over);
                return Some(over);
            }
        }
        let route_i = route?;
        // Borrowed, not cloned: the request already holds the table.
        let table = &ctx.table;
        let r = &table.routes.routes()[route_i];
        let existing = self.session_key(req);
        if existing.is_none() {
            ctx.new_session = Some(random_id());
        }
        let session_id = existing.or(ctx.new_session.as_deref());
        let customer_key = match ctx.identity {
            Some(Identity::Customer(id)) if self.sticky_customer => Some(id.to_string()),
            _ => None,
        };
        let who = Who {
            user_id: customer_key.as_deref(),
            session_id,
            remote_address: None,
        };
        let (mut backend, mut reason) = if ctx.rejected.is_some() {
            // A token the proxy cannot vouch for: Magento answers it as it always has.
            self.metrics
                .unverified_tokens
                .fetch_add(1, Ordering::Relaxed);
            (Backend::Legacy, Reason::UnverifiedToken)
        } else {
            let flags = self.flags.snapshot();
            decide(&flags, Some(r), req.method(), &who, self.tester(req))
        };
        if backend == Backend::Modern && reason == Reason::Flag {
            let service = &table.services[r.service_index];
            if !service.health.is_healthy() {
                backend = Backend::Legacy;
                reason = Reason::Unhealthy;
                self.metrics.diverted(ctx.domain, true);
            } else if service
                .circuit
                .as_ref()
                .is_some_and(|c| !c.allow(Instant::now()))
            {
                backend = Backend::Legacy;
                reason = Reason::CircuitOpen;
                self.metrics.diverted(ctx.domain, false);
            }
        }
        ctx.backend = backend;
        ctx.reason = reason;
        None
    }

    /// Counts a finished request and writes its access-log line.
    pub(crate) fn record(&self, ctx: &RequestCtx, method: &str, path: &str, status: u16) {
        let seconds = ctx.start.elapsed().as_secs_f64();
        self.metrics
            .request(ctx.domain, ctx.backend, status, seconds);
        if self.access_log {
            let route = ctx
                .route
                .map(|r| ctx.table.routes.routes()[r].spec.pattern.as_str());
            let domain = ctx
                .route
                .map(|r| ctx.table.routes.routes()[r].spec.domain.as_str());
            let line = serde_json::json!({
                "request_id": ctx.request_id,
                "method": method,
                "path": path,
                "route": route,
                "domain": domain,
                "backend": ctx.backend.as_str(),
                "reason": ctx.reason.as_str(),
                "fallback": ctx.fell_back,
                "caller": ctx.identity.map(Identity::header_value),
                "token_rejected": ctx.rejected.map(Rejected::as_str),
                "status": status,
                "ms": (seconds * 1e6).round() / 1e3,
            });
            println!("{line}");
        }
    }

    pub(crate) fn service_index(&self, ctx: &RequestCtx) -> Option<usize> {
        ctx.route
            .map(|r| ctx.table.routes.routes()[r].service_index)
    }

    /// The circuit of the request's service, when it was routed to one.
    pub(crate) fn circuit<'c>(&self, ctx: &'c RequestCtx) -> Option<&'c Circuit> {
        self.service_index(ctx)
            .and_then(|s| ctx.table.services[s].circuit.as_deref())
    }

    /// A read the new service failed: count it against its circuit and go to Magento.
    pub(crate) fn fall_back(&self, ctx: &mut RequestCtx) {
        if let Some(c) = self.circuit(ctx) {
            c.failure(Instant::now());
        }
        ctx.backend = Backend::Legacy;
        ctx.fell_back = true;
        ctx.retry_on_magento = true;
        self.metrics.fallback(ctx.domain);
    }
}

/// A request head as the decision reads it: Pingora's parsed header, or the HTTP/1 engine's
/// (`crate::h1`) borrowed one. Header names are given in lower case.
pub(crate) trait Head {
    fn method(&self) -> &http::Method;
    /// The path, without the query.
    fn path(&self) -> &str;
    /// The first value of the header `name`.
    fn header(&self, name: &str) -> Option<&[u8]>;
    /// Every value of the header `name`, in order.
    fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a;
}

impl Head for RequestHeader {
    fn method(&self) -> &http::Method {
        &self.method
    }
    fn path(&self) -> &str {
        self.uri.path()
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name).map(http::HeaderValue::as_bytes)
    }
    fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .get_all(name)
            .into_iter()
            .map(http::HeaderValue::as_bytes)
    }
}

/// The headers a `Connection` header value names for removal: hop-by-hop headers of the
/// connection they came on, which a proxy does not forward (RFC 9110 §7.6.1). `close` and
/// `keep-alive` are the connection's own options, and `upgrade` is left to Pingora's upgrade
/// handling; none of them is named here.
pub(crate) fn hop_by_hop(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| {
            !t.is_empty()
                && !t.eq_ignore_ascii_case(b"close")
                && !t.eq_ignore_ascii_case(b"keep-alive")
                && !t.eq_ignore_ascii_case(b"upgrade")
        })
}

/// The header names the `Connection` headers of `headers` name as hop-by-hop (Pingora's path
/// removes them).
fn hop_by_hop_names(headers: &http::HeaderMap) -> Vec<http::HeaderName> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .flat_map(|v| hop_by_hop(v.as_bytes()))
        .filter_map(|t| http::HeaderName::from_bytes(t).ok())
        .collect()
}

/// A header value as text when it is visible ASCII (the rule of `http::HeaderValue::to_str`).
pub(crate) fn visible_ascii(v: &[u8]) -> Option<&str> {
    v.iter()
        .all(|&b| b == b'\t' || (32..127).contains(&b))
        .then(|| std::str::from_utf8(v).ok())
        .flatten()
}

/// Seconds since the Unix epoch (a token's `exp` is compared with it).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A random 128-bit id as 32 hex digits, from the thread's CSPRNG (no system call per id, unlike
/// a fresh `getrandom` per UUID, which cost a system call per request).
fn random_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = rand::random::<u128>();
    let mut id = String::with_capacity(32);
    for i in (0..32).rev() {
        id.push(char::from(HEX[((n >> (i * 4)) & 0xf) as usize]));
    }
    id
}

/// Compares secrets without stopping at the first differing byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The Pingora service: the shared proxy behind an `Arc`, so the admin API sees the same flags,
/// circuits and counters.
#[derive(Debug, Clone)]
pub struct Front(pub Arc<FicusProxy>);

impl std::ops::Deref for Front {
    type Target = FicusProxy;
    fn deref(&self) -> &FicusProxy {
        &self.0
    }
}

#[async_trait]
impl ProxyHttp for Front {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        self.0.new_ctx()
    }

    /// Decides the backend once, before any upstream is chosen.
    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let peer = || {
            session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(std::net::SocketAddr::ip)
        };
        match self.admit(session.req_header(), peer, ctx) {
            Some(over) => self.too_many(session, ctx, over).await,
            None => Ok(false),
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        ctx.retry_on_magento = false;
        match (ctx.backend, self.service_index(ctx)) {
            (Backend::Modern, Some(s)) => Ok(Box::new(ctx.table.services[s].peer.clone())),
            _ => Ok(self.magento_peer(ctx)),
        }
    }

    /// A refused or timed-out connection: a read on the new service goes to Magento (nothing was
    /// sent, so this is always safe); a write does not. Another Magento backend is tried when one
    /// refuses.
    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        match ctx.backend {
            Backend::Modern if ctx.read && !ctx.fell_back => {
                self.fall_back(ctx);
                e.set_retry(true);
            }
            Backend::Modern => {
                if let Some(c) = self.circuit(ctx) {
                    c.failure(Instant::now());
                }
            }
            Backend::Legacy => e.set_retry(ctx.magento_tries < ctx.table.magento.len()),
        }
        e
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        for name in hop_by_hop_names(&upstream.headers) {
            upstream.remove_header(&name);
        }
        upstream.remove_header(OVERRIDE_HEADER);
        upstream.remove_header(TESTER_HEADER);
        // Only the proxy says who the caller is.
        upstream.remove_header(auth::IDENTITY_HEADER);
        upstream.remove_header(auth::SECRET_HEADER);
        upstream.insert_header(REQUEST_ID, ctx.request_id.as_str())?;
        if ctx.backend == Backend::Modern
            && let Some(secret) = &self.gateway_secret
        {
            upstream.insert_header(auth::SECRET_HEADER, secret.as_str())?;
            if let Some(identity) = ctx.identity {
                upstream.insert_header(auth::IDENTITY_HEADER, identity.header_value())?;
            }
        }
        Ok(())
    }

    /// A 5xx from the new service on a read is retried on Magento before anything reaches the
    /// client.
    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        upstream: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if ctx.backend != Backend::Modern {
            return Ok(());
        }
        let status = upstream.status.as_u16();
        if status >= 500 {
            if ctx.read && !ctx.fell_back {
                self.fall_back(ctx);
                return Err(Error::explain(
                    ErrorType::HTTPStatus(status),
                    "the new service failed a read; retrying on Magento",
                ));
            }
            if let Some(c) = self.circuit(ctx) {
                c.failure(Instant::now());
            }
        } else if let Some(c) = self.circuit(ctx) {
            c.success(Instant::now());
        }
        Ok(())
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        if ctx.retry_on_magento {
            e.set_retry(true);
        } else if ctx.backend == Backend::Modern
            && ctx.read
            && !ctx.fell_back
            && session.response_written().is_none()
        {
            // The new service broke the connection on a read before answering: Magento answers.
            self.fall_back(ctx);
            e.set_retry(true);
        } else if !session.req_header().method.is_idempotent()
            || session.as_ref().retry_buffer_truncated()
        {
            e.set_retry(false);
        } else {
            e.retry.decide_reuse(client_reused);
        }
        e
    }

    /// Pingora's own error answers (a refused Magento, a broken write) carry the decision's
    /// headers too, so every response says which backend it was meant for.
    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let code = match e.etype() {
            ErrorType::HTTPStatus(code) => *code,
            _ => match e.esource() {
                ErrorSource::Upstream => 502,
                ErrorSource::Downstream => match e.etype() {
                    ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => 0,
                    _ => 400,
                },
                ErrorSource::Internal | ErrorSource::Unset => 500,
            },
        };
        if code > 0 {
            let mut response = gen_error_response(code);
            // Both values were valid header values when the request arrived.
            let _ = response.insert_header(OVERRIDE_HEADER, ctx.backend.as_str());
            let _ = response.insert_header(REQUEST_ID, ctx.request_id.as_str());
            let _ = session
                .as_downstream_mut()
                .write_error_response(response, bytes::Bytes::new())
                .await;
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        for name in hop_by_hop_names(&response.headers) {
            response.remove_header(&name);
        }
        response.insert_header(OVERRIDE_HEADER, ctx.backend.as_str())?;
        response.insert_header(REQUEST_ID, ctx.request_id.as_str())?;
        if let Some(sid) = &ctx.new_session {
            let cookie = format!("{}={sid}{}", self.cookie, self.set_cookie_suffix);
            response.append_header(http::header::SET_COOKIE, cookie)?;
        }
        Ok(())
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let req = session.req_header();
        self.record(ctx, req.method.as_str(), req.uri.path(), status);
    }
}
