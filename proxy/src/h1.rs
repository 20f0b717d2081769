//! ficus-proxy's HTTP/1 engine: the hot path of the front door.
//!
//! Pingora accepts the connections (listeners, graceful upgrade, shutdown); this engine reads
//! each request head itself and answers the common case — a `GET` or `HEAD` over HTTP/1.1 with
//! no body and no upgrade — with one parse, one write to a kept upstream connection, one read and
//! one write back: what nginx does per request. Everything else (writes and their bodies, HTTP/1.0,
//! upgrades, `Expect`, heads over 16 KiB, anything it cannot parse) is handed, bytes and all, to
//! Pingora's proxy with the same filters ([`crate::proxy::Front`]), on the same connection.
//!
//! Both paths decide through [`FicusProxy::admit`] and count through [`FicusProxy::record`], so a
//! request gets the same backend, headers, fallback, circuit and log line whichever path serves
//! it. Why: Pingora's proxy framework costs about twice nginx's CPU per request on this machine
//! (BENCHMARKS.md); this path costs about the same as nginx.
//!
//! A read has no body, so it can always be sent again before the client has seen a byte: a
//! refused or broken new service, or its 5xx, goes to Magento (once), a refused Magento to the
//! next one, and a kept upstream connection found closed to a fresh one.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Write as _};
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::Method;
use pingora::apps::ServerApp;
use pingora::protocols::Stream;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::proxy::HttpProxy;
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Sleep, timeout};

use crate::auth;
use crate::decide::Backend;
use crate::limits::TOO_MANY_BODY;
use crate::proxy::{
    FicusProxy, Front, Head, OVERRIDE_HEADER, REQUEST_ID, RequestCtx, TESTER_HEADER, hop_by_hop,
};
use crate::table::Table;

/// Request heads with more headers than this go to Pingora.
const MAX_HEADERS: usize = 100;
/// Response heads with more headers than this are refused (502).
const MAX_RESPONSE_HEADERS: usize = 256;
/// A buffer grown past this (a large body went through it) is not kept, neither as a spare nor
/// with a kept upstream connection.
const KEPT_BUFFER: usize = 64 * 1024;
/// Request heads longer than this go to Pingora (which allows more).
const MAX_HEAD: usize = 16 * 1024;
/// Upstream response heads longer than this are refused (502).
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Kept upstream connections idle longer than this are closed instead of reused.
const UPSTREAM_IDLE: Duration = Duration::from_secs(55);
/// Kept upstream connections per address and thread.
const UPSTREAM_KEPT: usize = 256;

/// Request headers the proxy never passes upstream: its own (set again below) and the
/// connection's own (hop-by-hop).
const DROP_UPSTREAM: [&str; 7] = [
    OVERRIDE_HEADER,
    TESTER_HEADER,
    auth::IDENTITY_HEADER,
    auth::SECRET_HEADER,
    REQUEST_ID,
    "connection",
    "keep-alive",
];
/// Response headers the proxy sets itself or that belong to the upstream connection.
const DROP_DOWNSTREAM: [&str; 4] = [OVERRIDE_HEADER, REQUEST_ID, "connection", "keep-alive"];

/// The proxy service: this engine in front, Pingora's proxy for what it hands over.
pub struct Engine {
    front: Front,
    pingora: Arc<HttpProxy<Front>>,
    /// Off: every request goes through Pingora's proxy (the setting `fast_http1 = false`).
    fast: bool,
    /// How long a client connection may stay idle between requests, and take to send a head.
    client_idle: Duration,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("fast", &self.fast)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// The engine over `front`, handing requests it does not serve to `pingora`.
    pub fn new(
        front: Front,
        pingora: Arc<HttpProxy<Front>>,
        fast: bool,
        client_idle: Duration,
    ) -> Self {
        Self {
            front,
            pingora,
            fast,
            client_idle,
        }
    }
}

#[async_trait]
impl ServerApp for Engine {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        // Only a plain TCP stream can take back bytes already read, which a hand-over needs.
        if !self.fast || !stream.as_any().is::<L4Stream>() {
            return self.pingora.process_new(stream, shutdown).await;
        }
        self.serve(stream, shutdown).await;
        None
    }

    async fn cleanup(&self) {
        self.pingora.cleanup().await;
    }
}

/// What became of one request head.
enum Served {
    /// Answered; the connection takes the next request.
    KeepAlive,
    /// Answered, or failed; the connection is closed.
    Close,
    /// Not this engine's: Pingora serves it.
    HandOver,
}

impl Engine {
    /// Serves one client connection until it closes.
    async fn serve(&self, mut client: Stream, shutdown: &ShutdownWatch) {
        let shutdown = shutdown.clone();
        // One wait for the shutdown per connection, not one per request (each registers with
        // the watch and leaves it again).
        let mut watch = shutdown.clone();
        let mut stopping: Pin<Box<dyn Future<Output = ()> + Send>> =
            Box::pin(async move { while watch.changed().await.is_ok() && !*watch.borrow() {} });
        let mut buf: Vec<u8> = Vec::new();
        let mut peer_ip: Option<Option<IpAddr>> = None;
        let mut timers = Timers::new(self.client_idle);
        loop {
            let Some(end) =
                read_head(&mut client, &mut buf, &shutdown, &mut stopping, &mut timers).await
            else {
                return;
            };
            let served = match end {
                HeadEnd::Crlf(n) => {
                    self.one(&mut client, &buf[..n], &mut peer_ip, &mut timers)
                        .await
                }
                HeadEnd::Other => Served::HandOver,
            };
            match served {
                Served::KeepAlive => {
                    if let HeadEnd::Crlf(n) = end {
                        buf.drain(..n);
                    }
                }
                Served::Close => {
                    let _ = client.shutdown().await;
                    return;
                }
                Served::HandOver => {
                    let Ok(mut l4) = client.into_any().downcast::<L4Stream>() else {
                        return;
                    };
                    l4.rewind(&buf);
                    buf.clear();
                    match self.pingora.process_new(l4, &shutdown).await {
                        Some(back) => client = back,
                        None => return,
                    }
                }
            }
            if *shutdown.borrow() {
                let _ = client.shutdown().await;
                return;
            }
            if buf.is_empty() && buf.capacity() > MAX_HEAD {
                buf = Vec::new();
            }
        }
    }

    /// Serves one request whose head is `raw`.
    async fn one(
        &self,
        client: &mut Stream,
        raw: &[u8],
        peer_ip: &mut Option<Option<IpAddr>>,
        timers: &mut Timers,
    ) -> Served {
        // Left uninitialised: httparse writes the ones it finds. Zeroing all 100 (and the
        // response's 256) on every request was measurable in the engine's own time.
        let mut headers = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut []);
        if !matches!(
            parsed.parse_with_uninit_headers(raw, &mut headers),
            Ok(httparse::Status::Complete(_))
        ) {
            return Served::HandOver;
        }
        let Some(head) = FastHead::new(&parsed) else {
            return Served::HandOver;
        };
        let front: &FicusProxy = &self.front;
        let mut ctx = front.new_ctx();
        let peer = || *peer_ip.get_or_insert_with(|| socket_peer(client));
        if front.admit(&head, peer, &mut ctx).is_some() {
            let status = too_many(client, &head, &ctx).await;
            front.record(&ctx, head.method.as_str(), head.path, status);
            return keep_if(status != 0 && !head.close);
        }
        let mut request = scratch();
        let mut out = scratch();
        let answer = loop {
            let (sock, modern) = match (ctx.backend, front.service_index(&ctx)) {
                (Backend::Modern, Some(s)) => (ctx.table.services[s].sock, true),
                _ => (front.next_magento(&mut ctx).sock, false),
            };
            upstream_request(&mut request, &head, front, &ctx);
            let exchanged = exchange(
                (ctx.start, sock),
                &request,
                &mut out,
                head.is_head(),
                &ctx.table,
                timers,
            );
            match exchanged.await {
                Ok(answer) if modern && answer.status >= 500 => {
                    // A read the new service failed: Magento answers before the client sees it.
                    front.fall_back(&mut ctx);
                }
                Ok(answer) => {
                    if modern && let Some(c) = front.circuit(&ctx) {
                        // The request's start stands for now: one clock read less per request.
                        c.success(ctx.start);
                    }
                    break Some(answer);
                }
                Err(_) if modern => front.fall_back(&mut ctx),
                Err(UpstreamError::Connect) if ctx.magento_tries < ctx.table.magento.len() => {}
                Err(_) => break None,
            }
        };
        let (status, keep) = match answer {
            Some(answer) => {
                let status = answer.status;
                let keep = relay(client, answer, &mut out, &head, front, &ctx, timers).await;
                (status, keep)
            }
            None => (bad_gateway(client, &ctx).await, false),
        };
        unscratch(request);
        unscratch(out);
        front.record(&ctx, head.method.as_str(), head.path, status);
        keep_if(keep)
    }
}

thread_local! {
    /// Each thread's spare buffers for the requests and responses it writes: taken for one
    /// request and given back, so a request allocates none and an idle connection holds none.
    static SCRATCH: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn scratch() -> Vec<u8> {
    SCRATCH
        .with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| Vec::with_capacity(4096))
}

fn unscratch(mut buf: Vec<u8>) {
    if buf.capacity() <= KEPT_BUFFER {
        buf.clear();
        SCRATCH.with_borrow_mut(|spare| {
            if spare.len() < 64 {
                spare.push(buf);
            }
        });
    }
}

fn keep_if(keep: bool) -> Served {
    if keep {
        Served::KeepAlive
    } else {
        Served::Close
    }
}

/// The client's address, from the socket (a system call, made once per connection and only when
/// a rate limit needs it).
fn socket_peer(client: &Stream) -> Option<IpAddr> {
    client
        .get_socket_digest()
        .and_then(|d| d.peer_addr().and_then(|a| a.as_inet()).map(SocketAddr::ip))
}

/// Where a request head ends.
#[derive(Clone, Copy)]
enum HeadEnd {
    /// After `n` bytes, with CRLF line ends: this engine's to parse.
    Crlf(usize),
    /// Lines ended by a bare LF, or a head longer than [`MAX_HEAD`]: Pingora's.
    Other,
}

/// Reads until `buf` holds a whole request head, within the client timeout of the call. `None`: the
/// client went away or stayed idle too long, or the server is shutting down, between requests.
async fn read_head(
    client: &mut Stream,
    buf: &mut Vec<u8>,
    shutdown: &ShutdownWatch,
    stopping: &mut Pin<Box<dyn Future<Output = ()> + Send>>,
    timers: &mut Timers,
) -> Option<HeadEnd> {
    if let Some(end) = head_end(buf) {
        return Some(end);
    }
    timers
        .client
        .as_mut()
        .reset(tokio::time::Instant::now() + timers.client_idle);
    loop {
        if buf.len() >= MAX_HEAD {
            return Some(HeadEnd::Other);
        }
        buf.reserve(4096);
        if buf.is_empty() && *shutdown.borrow() {
            return None;
        }
        let read = tokio::select! {
            biased;
            read = client.read_buf(buf) => read,
            () = timers.client.as_mut() => return None,
            () = stopping.as_mut(), if buf.is_empty() => return None,
        };
        match read {
            Ok(n) if n > 0 => {}
            // Closed or failed, maybe with part of a head: there is nothing to answer.
            _ => return None,
        }
        if let Some(end) = head_end(buf) {
            return Some(end);
        }
    }
}

/// A connection's timers: the client's (idle between requests, and the head's arrival) and the
/// upstream's (each read). Each is registered with the runtime once and then only pushed later,
/// which is an atomic store. A `timeout` per read registers a new timer each time, and tokio
/// wakes its driver (an `eventfd` write) whenever a new timer is due before the driver's next
/// wake: measured at about one system call for every four requests.
struct Timers {
    client: Pin<Box<Sleep>>,
    client_idle: Duration,
    upstream: Pin<Box<Sleep>>,
}

impl Timers {
    fn new(client_idle: Duration) -> Self {
        Self {
            client: Box::pin(tokio::time::sleep(client_idle)),
            client_idle,
            upstream: Box::pin(tokio::time::sleep(client_idle)),
        }
    }

    /// Reads from the upstream into `buf`, or fails when nothing comes by `deadline`.
    async fn read_upstream(
        &mut self,
        conn: &mut TcpStream,
        buf: &mut Vec<u8>,
        deadline: std::time::Instant,
    ) -> io::Result<usize> {
        self.upstream.as_mut().reset(deadline.into());
        tokio::select! {
            biased;
            read = conn.read_buf(buf) => read,
            () = self.upstream.as_mut() => Err(io::ErrorKind::TimedOut.into()),
        }
    }
}

/// The end of the head in `buf`: the first empty line.
fn head_end(buf: &[u8]) -> Option<HeadEnd> {
    for i in memchr::memchr_iter(b'\n', buf) {
        let next = &buf[i + 1..];
        if next.first() == Some(&b'\n') {
            return Some(HeadEnd::Other);
        }
        if next.starts_with(b"\r\n") {
            let crlf = i > 0 && buf[i - 1] == b'\r';
            return Some(if crlf {
                HeadEnd::Crlf(i + 3)
            } else {
                HeadEnd::Other
            });
        }
    }
    None
}

/// A request head this engine serves, borrowed from the connection's buffer.
struct FastHead<'b> {
    method: Method,
    target: &'b str,
    path: &'b str,
    headers: &'b [httparse::Header<'b>],
    /// The client asked to close the connection after this request.
    close: bool,
    /// A `Connection` header names hop-by-hop headers to drop.
    hop: bool,
}

impl<'b> FastHead<'b> {
    /// `None` for what Pingora serves instead: other methods, HTTP/1.0, a body, an upgrade, an
    /// `Expect`, a target that is not a path.
    fn new(req: &'b httparse::Request<'_, 'b>) -> Option<Self> {
        let method = match req.method? {
            "GET" => Method::GET,
            "HEAD" => Method::HEAD,
            _ => return None,
        };
        if req.version? != 1 {
            return None;
        }
        let target = req.path?;
        if !target.starts_with('/') {
            return None;
        }
        let mut close = false;
        let mut hop = false;
        for h in req.headers.iter() {
            let name = h.name;
            if name.eq_ignore_ascii_case("content-length") {
                if h.value.trim_ascii() != b"0" {
                    return None;
                }
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                || name.eq_ignore_ascii_case("upgrade")
                || name.eq_ignore_ascii_case("expect")
            {
                return None;
            } else if name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        return None;
                    }
                }
                hop |= hop_by_hop(h.value).next().is_some();
            }
        }
        let path = target.split_once('?').map_or(target, |(p, _)| p);
        Some(Self {
            method,
            target,
            path,
            headers: req.headers,
            close,
            hop,
        })
    }

    fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

impl Head for FastHead<'_> {
    fn method(&self) -> &Method {
        &self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
    fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
}

fn dropped(name: &str, list: &[&str]) -> bool {
    list.iter().any(|d| name.eq_ignore_ascii_case(d))
}

/// Whether a `Connection` header among `headers` names `name` as hop-by-hop.
fn named_hop(name: &str, headers: &[httparse::Header<'_>]) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .any(|h| hop_by_hop(h.value).any(|t| t.eq_ignore_ascii_case(name.as_bytes())))
}

/// The request as the upstream gets it: the client's head without the proxy's own headers and
/// the hop-by-hop ones, with the request id and, for a new service, the gateway's secret and the
/// caller's identity.
fn upstream_request(out: &mut Vec<u8>, head: &FastHead<'_>, front: &FicusProxy, ctx: &RequestCtx) {
    out.clear();
    push_all(
        out,
        &[head.method.as_str(), " ", head.target, " HTTP/1.1\r\n"],
    );
    for h in head.headers {
        let skip = dropped(h.name, &DROP_UPSTREAM) || head.hop && named_hop(h.name, head.headers);
        if !skip {
            push_header(out, h.name, h.value);
        }
    }
    push_header(out, REQUEST_ID, ctx.request_id.as_bytes());
    if ctx.backend == Backend::Modern
        && let Some(secret) = &front.gateway_secret
    {
        push_header(out, auth::SECRET_HEADER, secret.as_bytes());
        if let Some(identity) = ctx.identity {
            push_header(
                out,
                auth::IDENTITY_HEADER,
                identity.header_value().as_bytes(),
            );
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn push_all(out: &mut Vec<u8>, parts: &[&str]) {
    for p in parts {
        out.extend_from_slice(p.as_bytes());
    }
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Why an upstream gave no usable response head.
#[derive(Debug)]
enum UpstreamError {
    /// No connection (refused, unreachable, timed out): nothing was sent.
    Connect,
    /// Sent, but no whole and valid response head came back (closed, reset, timed out, garbage).
    Exchange,
}

/// How a response's body ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    /// At the upstream's close (no length, not chunked).
    Close,
}

/// An upstream's response head, read, with its connection.
struct Answer {
    sock: SocketAddr,
    conn: TcpStream,
    /// The head and whatever of the body came with it.
    buf: Vec<u8>,
    head_len: usize,
    status: u16,
    framing: Framing,
    /// The upstream keeps the connection after this response.
    reusable: bool,
}

/// Up to how many requests under way on a thread its requests to the upstreams are batched (see
/// [`exchange`]).
const BATCH_UPSTREAM_BELOW: usize = 128;

thread_local! {
    /// The requests under way on this thread, between their upstream exchange's start and its
    /// end. Shared with the guards, so a task that another thread resumes (the work-stealing
    /// runtime) still counts down where it counted up.
    static IN_FLIGHT: Arc<AtomicUsize> = Arc::new(AtomicUsize::new(0));
}

/// One request counted in its thread's [`IN_FLIGHT`] until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Counts a request in; returns the guard and the count with it.
    fn enter() -> (Self, usize) {
        let counter = IN_FLIGHT.with(Arc::clone);
        let under_way = counter.fetch_add(1, Ordering::Relaxed) + 1;
        (Self(counter), under_way)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sends `request` to `sock` on a kept connection, or a new one, and reads the response head. A
/// kept connection that turns out closed before answering anything is replaced by a new one: the
/// request is a read, and the upstream never saw it.
async fn exchange(
    (now, sock): (Instant, SocketAddr),
    request: &[u8],
    out: &mut Vec<u8>,
    is_head: bool,
    table: &Table,
    timers: &mut Timers,
) -> Result<Answer, UpstreamError> {
    // With few requests under way on this thread, the request waits until the runtime has run
    // the other connections it has ready, so the requests of one turn of its loop reach the
    // upstream together and it wakes once for them. Written at once, they reached it one or two
    // at a time, and its extra wake-ups cost CPU on the cores the proxy shares with it. With
    // many under way, a turn is long and its writes leave close together anyway; waiting for it
    // would only delay each request by a whole turn (with 10,000 connections, an unconditional
    // wait before the write kept a third to a half of the throughput). BENCHMARKS.md has the
    // figures. The wait comes before a kept connection is taken, so none is held idle through
    // it.
    let _in_flight = {
        let (guard, under_way) = InFlight::enter();
        if under_way <= BATCH_UPSTREAM_BELOW {
            tokio::task::yield_now().await;
        }
        guard
    };
    loop {
        let (conn, buf, kept) = match kept_take(sock, now) {
            Some((conn, buf)) => (conn, buf, true),
            None => {
                let conn = match timeout(table.connect_timeout, TcpStream::connect(sock)).await {
                    Ok(Ok(conn)) => conn,
                    _ => return Err(UpstreamError::Connect),
                };
                let _ = conn.set_nodelay(true);
                (conn, Vec::with_capacity(8192), false)
            }
        };
        let deadline = now + table.read_timeout;
        let answer = send_and_read_head((sock, conn, buf), out, request, is_head, deadline, timers);
        match answer.await {
            Ok(answer) => return Ok(answer),
            Err(nothing_read) if kept && nothing_read => continue,
            Err(_) => return Err(UpstreamError::Exchange),
        }
    }
}

/// Sends `request`, reads the response head and writes the client's status line and the
/// upstream's headers (without the ones the proxy sets or that belong to the upstream connection)
/// into `out`.
/// `Err(true)` when the connection failed before a byte of the response came.
async fn send_and_read_head(
    (sock, mut conn, mut buf): (SocketAddr, TcpStream, Vec<u8>),
    out: &mut Vec<u8>,
    request: &[u8],
    is_head: bool,
    deadline: Instant,
    timers: &mut Timers,
) -> Result<Answer, bool> {
    conn.write_all(request).await.map_err(|_| true)?;
    buf.clear();
    let mut start = 0;
    loop {
        let end = loop {
            if let Some(end) = response_head_end(&buf[start..]) {
                break start + end;
            }
            if buf.len() - start > MAX_RESPONSE_HEAD {
                return Err(false);
            }
            buf.reserve(8192);
            match timers.read_upstream(&mut conn, &mut buf, deadline).await {
                Ok(n) if n > 0 => {}
                _ => return Err(buf.is_empty()),
            }
        };
        let mut headers = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut []);
        let parse = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut parsed,
            &buf[start..end],
            &mut headers,
        );
        if !matches!(parse, Ok(httparse::Status::Complete(_))) {
            return Err(false);
        }
        let status = parsed.code.ok_or(false)?;
        if (100..200).contains(&status) {
            if status == 101 {
                // Switching protocols on a request that asked for no upgrade.
                return Err(false);
            }
            // An interim response (103 Early Hints, a stray 100): the final one follows.
            start = end;
            continue;
        }
        let (framing, upstream_close) = framing(&parsed, status, is_head)?;
        downstream_head(out, status, &parsed, framing == Framing::Chunked);
        let reusable = parsed.version == Some(1) && !upstream_close && framing != Framing::Close;
        buf.drain(..start);
        return Ok(Answer {
            sock,
            conn,
            head_len: end - start,
            buf,
            status,
            framing,
            reusable,
        });
    }
}

/// The client's status line and the upstream's headers but the dropped ones.
/// With a chunked body, a `Content-Length` beside it is dropped: chunked framing wins (RFC 9112
/// §6.3), and a client that believed the length would read the body wrong.
fn downstream_head(
    out: &mut Vec<u8>,
    status: u16,
    resp: &httparse::Response<'_, '_>,
    chunked: bool,
) {
    out.clear();
    // A status is three digits (httparse refuses any other).
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&[
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
        b' ',
    ]);
    out.extend_from_slice(resp.reason.unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let hop = resp
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("connection") && hop_by_hop(h.value).next().is_some());
    for h in resp.headers.iter() {
        let length = chunked && h.name.eq_ignore_ascii_case("content-length");
        let skip =
            length || dropped(h.name, &DROP_DOWNSTREAM) || hop && named_hop(h.name, resp.headers);
        if !skip {
            push_header(out, h.name, h.value);
        }
    }
}

fn response_head_end(buf: &[u8]) -> Option<usize> {
    static EMPTY_LINE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    EMPTY_LINE.find(buf).map(|i| i + 4)
}

/// The response's framing (RFC 9112 §6.3) and whether the upstream said it closes.
fn framing(
    resp: &httparse::Response<'_, '_>,
    status: u16,
    is_head: bool,
) -> Result<(Framing, bool), bool> {
    let mut length: Option<u64> = None;
    let mut chunked = None;
    let mut close = false;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = h
                .value
                .rsplit(|&b| b == b',')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
            chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value.trim_ascii())
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(false)?;
            if length.is_some_and(|l| l != n) {
                return Err(false);
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("connection") {
            close |= h
                .value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }
    let framing = if is_head || status == 204 || status == 304 {
        Framing::None
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::Close,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::Close,
        }
    };
    Ok((framing, close))
}

/// Writes the response head and body to the client, and keeps the upstream connection when the
/// body ended where its framing said. Returns whether the client connection can go on.
async fn relay(
    client: &mut Stream,
    answer: Answer,
    out: &mut Vec<u8>,
    head: &FastHead<'_>,
    front: &FicusProxy,
    ctx: &RequestCtx,
    timers: &mut Timers,
) -> bool {
    let Answer {
        sock,
        mut conn,
        mut buf,
        head_len,
        framing,
        mut reusable,
        ..
    } = answer;
    let close = head.close || framing == Framing::Close;
    push_header(out, OVERRIDE_HEADER, ctx.backend.as_str().as_bytes());
    push_header(out, REQUEST_ID, ctx.request_id.as_bytes());
    if let Some(sid) = &ctx.new_session {
        push_all(
            out,
            &[
                "set-cookie: ",
                &front.cookie,
                "=",
                sid,
                &front.set_cookie_suffix,
                "\r\n",
            ],
        );
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");

    // The body: what came with the head, then reads until its framing ends.
    let mut body = Body::new(framing);
    let mut start = head_len;
    loop {
        let (taken, done) = match body.take(&buf[start..]) {
            Ok(step) => step,
            Err(()) => return false,
        };
        out.extend_from_slice(&buf[start..start + taken]);
        if start + taken < buf.len() {
            // More than the body: the upstream cannot be trusted with another request.
            reusable = false;
        }
        if !out.is_empty() && client.write_all(out).await.is_err() {
            return false;
        }
        out.clear();
        if done {
            break;
        }
        buf.clear();
        start = 0;
        buf.reserve(16 * 1024);
        let deadline = Instant::now() + ctx.table.read_timeout;
        match timers.read_upstream(&mut conn, &mut buf, deadline).await {
            Ok(n) if n > 0 => {}
            Ok(_) if framing == Framing::Close => break,
            // The upstream failed half-way: the client cannot be told but by closing.
            _ => return false,
        }
    }
    if client.flush().await.is_err() {
        return false;
    }
    if reusable {
        if buf.capacity() > KEPT_BUFFER {
            buf = Vec::with_capacity(8192);
        }
        kept_put(sock, conn, buf, ctx.start);
    }
    !close
}

/// Where a response body stands.
enum Body {
    Done,
    Remaining(u64),
    Chunked(Chunks),
    UntilClose,
}

impl Body {
    fn new(framing: Framing) -> Self {
        match framing {
            Framing::None | Framing::Length(0) => Body::Done,
            Framing::Length(n) => Body::Remaining(n),
            Framing::Chunked => Body::Chunked(Chunks::Size { size: 0, digits: 0 }),
            Framing::Close => Body::UntilClose,
        }
    }

    /// How many bytes of `bytes` belong to the body, and whether it ends with them.
    fn take(&mut self, bytes: &[u8]) -> Result<(usize, bool), ()> {
        match self {
            Body::Done => Ok((0, true)),
            Body::UntilClose => Ok((bytes.len(), false)),
            Body::Remaining(n) => {
                let taken = bytes.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                *n -= taken as u64;
                Ok((taken, *n == 0))
            }
            Body::Chunked(state) => state.feed(bytes),
        }
    }
}

/// A chunked body's parser (RFC 9112 §7.1), which only finds where the body ends: the bytes pass
/// through unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Chunks {
    Size { size: u64, digits: u8 },
    Extension { size: u64 },
    SizeLf { size: u64 },
    Data(u64),
    DataCr,
    DataLf,
    TrailerLineStart,
    TrailerLine,
    TrailerLf,
    EndLf,
    Done,
}

impl Chunks {
    /// Bytes of `bytes` consumed, and whether the body ended with them.
    fn feed(&mut self, bytes: &[u8]) -> Result<(usize, bool), ()> {
        let mut i = 0;
        while i < bytes.len() {
            if let Chunks::Data(n) = *self {
                let take = (bytes.len() - i).min(usize::try_from(n).unwrap_or(usize::MAX));
                i += take;
                let left = n - take as u64;
                *self = if left == 0 {
                    Chunks::DataCr
                } else {
                    Chunks::Data(left)
                };
                continue;
            }
            let b = bytes[i];
            i += 1;
            *self = match (*self, b) {
                (Chunks::Size { size, digits }, _) if b.is_ascii_hexdigit() => {
                    if digits >= 15 {
                        return Err(());
                    }
                    let d = u64::from((b as char).to_digit(16).ok_or(())?);
                    Chunks::Size {
                        size: size * 16 + d,
                        digits: digits + 1,
                    }
                }
                (Chunks::Size { size, digits }, b';' | b' ' | b'\t') if digits > 0 => {
                    Chunks::Extension { size }
                }
                (Chunks::Size { size, digits }, b'\r') if digits > 0 => Chunks::SizeLf { size },
                (Chunks::Extension { size }, b'\r') => Chunks::SizeLf { size },
                (Chunks::Extension { size }, _) => Chunks::Extension { size },
                (Chunks::SizeLf { size: 0 }, b'\n') => Chunks::TrailerLineStart,
                (Chunks::SizeLf { size }, b'\n') => Chunks::Data(size),
                (Chunks::DataCr, b'\r') => Chunks::DataLf,
                (Chunks::DataLf, b'\n') => Chunks::Size { size: 0, digits: 0 },
                (Chunks::TrailerLineStart, b'\r') => Chunks::EndLf,
                (Chunks::TrailerLine, b'\r') => Chunks::TrailerLf,
                (Chunks::TrailerLineStart | Chunks::TrailerLine, _) => Chunks::TrailerLine,
                (Chunks::TrailerLf, b'\n') => Chunks::TrailerLineStart,
                (Chunks::EndLf, b'\n') => {
                    *self = Chunks::Done;
                    return Ok((i, true));
                }
                _ => return Err(()),
            };
        }
        Ok((i, *self == Chunks::Done))
    }
}

/// Answers 429 in Magento's REST error shape; the status written, 0 when the client is gone.
async fn too_many(client: &mut Stream, head: &FastHead<'_>, ctx: &RequestCtx) -> u16 {
    let mut out = Vec::with_capacity(512);
    let _ = write!(
        out,
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 1\r\n",
        TOO_MANY_BODY.len()
    );
    push_header(
        &mut out,
        OVERRIDE_HEADER,
        Backend::Legacy.as_str().as_bytes(),
    );
    push_header(&mut out, REQUEST_ID, ctx.request_id.as_bytes());
    if head.close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head.is_head() {
        out.extend_from_slice(TOO_MANY_BODY.as_bytes());
    }
    match client.write_all(&out).await {
        Ok(()) if client.flush().await.is_ok() => 429,
        _ => 0,
    }
}

/// Answers 502 when no upstream gave a response; the connection closes after it.
async fn bad_gateway(client: &mut Stream, ctx: &RequestCtx) -> u16 {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(
        b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\ncache-control: private, no-store\r\n",
    );
    push_header(&mut out, OVERRIDE_HEADER, ctx.backend.as_str().as_bytes());
    push_header(&mut out, REQUEST_ID, ctx.request_id.as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    match client.write_all(&out).await {
        Ok(()) if client.flush().await.is_ok() => 502,
        _ => 0,
    }
}

/// An upstream connection kept for the next request, with its read buffer.
struct Kept {
    conn: TcpStream,
    buf: Vec<u8>,
    since: Instant,
}

thread_local! {
    /// Each thread's kept upstream connections, by address: a connection is registered with the
    /// thread's runtime, and a request stays on its thread between two awaits.
    static KEPT: RefCell<Vec<(SocketAddr, Vec<Kept>)>> = const { RefCell::new(Vec::new()) };
}

/// The most recently kept live connection to `sock`, if any.
/// The upstreams are few (the services and Magento's backends): a list beats a hash map.
fn kept_take(sock: SocketAddr, now: Instant) -> Option<(TcpStream, Vec<u8>)> {
    KEPT.with_borrow_mut(|kept| {
        let list = &mut kept.iter_mut().find(|(addr, _)| *addr == sock)?.1;
        while let Some(k) = list.pop() {
            if now.saturating_duration_since(k.since) < UPSTREAM_IDLE && idle_and_open(&k.conn) {
                return Some((k.conn, k.buf));
            }
        }
        None
    })
}

fn kept_put(sock: SocketAddr, conn: TcpStream, buf: Vec<u8>, now: Instant) {
    KEPT.with_borrow_mut(|kept| {
        let i = match kept.iter().position(|(addr, _)| *addr == sock) {
            Some(i) => i,
            None => {
                kept.push((sock, Vec::new()));
                kept.len() - 1
            }
        };
        let list = &mut kept[i].1;
        // Taken newest first, the oldest would otherwise wait at the bottom for ever, each
        // holding a socket the upstream may long have closed.
        while list
            .first()
            .is_some_and(|k| now.saturating_duration_since(k.since) >= UPSTREAM_IDLE)
        {
            list.remove(0);
        }
        if list.len() < UPSTREAM_KEPT {
            list.push(Kept {
                conn,
                buf,
                since: now,
            });
        }
    });
}

/// A kept connection with nothing to read is open and idle. The runtime's readiness answers
/// without a system call when nothing arrived; otherwise one read tells a close (or stray bytes,
/// which make the connection unusable too) from a stale readiness.
fn idle_and_open(conn: &TcpStream) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    match conn.poll_read_ready(&mut cx) {
        Poll::Pending => true,
        Poll::Ready(Err(_)) => false,
        Poll::Ready(Ok(())) => {
            let mut byte = [0u8; 1];
            matches!(conn.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` in the given pieces; the bytes taken and whether the body ended.
    fn feed_split(bytes: &[u8], cuts: &[usize]) -> Result<(usize, bool), ()> {
        let mut state = Chunks::Size { size: 0, digits: 0 };
        let mut taken = 0;
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            let (n, done) = state.feed(&bytes[from..cut])?;
            taken += n;
            if done {
                return Ok((taken, true));
            }
            from = cut;
        }
        Ok((taken, false))
    }

    #[test]
    fn a_chunked_body_ends_at_its_last_chunk_and_trailer_however_it_arrives() {
        let body: &[u8] =
            b"5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n0123456789\r\n0\r\nx-t: 1\r\n\r\n";
        let mut wire = body.to_vec();
        wire.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        for a in 0..=body.len() {
            for b in a..=body.len() {
                assert_eq!(
                    feed_split(&wire, &[a, b]),
                    Ok((body.len(), true)),
                    "cut at {a}, {b}"
                );
            }
        }
        // Without a trailer, and a lone last chunk.
        assert_eq!(feed_split(b"0\r\n\r\nnext", &[]), Ok((5, true)));
        // Not yet ended.
        assert_eq!(feed_split(b"5\r\nhel", &[]), Ok((6, false)));
    }

    #[test]
    fn a_malformed_chunked_body_is_an_error() {
        for bad in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"5\r\nhelloX\r\n",
            b"5\nhello",
            b"ffffffffffffffff0\r\n",
        ] {
            assert_eq!(
                feed_split(bad, &[]),
                Err(()),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn requests_under_way_are_counted_per_thread_and_where_they_started() {
        let (first, one) = InFlight::enter();
        let (second, two) = InFlight::enter();
        assert_eq!((one, two), (1, 2));
        // Another thread counts its own.
        let elsewhere = std::thread::spawn(|| InFlight::enter().1).join();
        assert_eq!(elsewhere.ok(), Some(1));
        // A guard dropped on another thread (a task the work-stealing runtime moved) counts down
        // where it counted up.
        assert!(std::thread::spawn(move || drop(second)).join().is_ok());
        drop(first);
        assert_eq!(InFlight::enter().1, 1);
    }

    #[test]
    fn kept_connections_are_taken_newest_first_and_the_stale_dropped() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("listen");
            let sock = listener.local_addr().expect("addr");
            let connect = || async { TcpStream::connect(sock).await.expect("connect") };
            let start = Instant::now();
            let (old, newer, newest) = (connect().await, connect().await, connect().await);
            let (old_port, newest_port) = (
                old.local_addr().expect("addr").port(),
                newest.local_addr().expect("addr").port(),
            );
            kept_put(sock, old, Vec::new(), start);
            kept_put(sock, newer, Vec::new(), start + Duration::from_secs(1));
            let taken = kept_take(sock, start + Duration::from_secs(2)).expect("kept");
            assert_ne!(taken.0.local_addr().expect("addr").port(), old_port);
            kept_put(sock, taken.0, taken.1, start + Duration::from_secs(2));
            // Past the idle limit of the oldest: putting the newest drops it.
            let later = start + UPSTREAM_IDLE + Duration::from_secs(1);
            kept_put(sock, newest, Vec::new(), later);
            let kept = KEPT.with_borrow(|kept| {
                kept.iter()
                    .find(|(addr, _)| *addr == sock)
                    .map(|(_, list)| list.len())
            });
            assert_eq!(kept, Some(2), "the stale connection is still held");
            let first = kept_take(sock, later).expect("the newest");
            assert_eq!(first.0.local_addr().expect("addr").port(), newest_port);
            let second = kept_take(sock, later).expect("the one put back at 2 s");
            assert_ne!(second.0.local_addr().expect("addr").port(), old_port);
            assert!(kept_take(sock, later).is_none(), "the stale one was kept");
        });
    }

    #[test]
    fn a_head_ends_at_its_first_empty_line() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(matches!(head_end(head), Some(HeadEnd::Crlf(n)) if n == head.len()));
        let mut two = head.to_vec();
        two.extend_from_slice(head);
        assert!(matches!(head_end(&two), Some(HeadEnd::Crlf(n)) if n == head.len()));
        assert!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n").is_none());
        assert!(matches!(
            head_end(b"GET / HTTP/1.1\nHost: a\n\n"),
            Some(HeadEnd::Other)
        ));
        assert!(matches!(
            head_end(b"GET / HTTP/1.1\nHost: a\n\r\n"),
            Some(HeadEnd::Other)
        ));
    }
}
