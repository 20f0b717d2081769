//! ficus-proxy's HTTP/1 engine on the wire: the real binary in front of a scripted upstream that
//! answers in the shapes real servers use (chunked with trailers, close-delimited, interim 103,
//! a kept-alive connection closed without notice, conflicting lengths), and requests the engine
//! hands to Pingora on the same connection (a POST with a body, HTTP/1.0).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

/// What the scripted upstream saw: each request's head and body, and its connection count.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, Vec<u8>)>,
    connections: usize,
}

/// A raw HTTP/1.1 upstream; the response is chosen by the request's path.
fn scripted() -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = Arc::clone(&seen);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let seen = Arc::clone(&shared);
            seen.lock().expect("lock").connections += 1;
            std::thread::spawn(move || serve(conn, &seen));
        }
    });
    (addr, seen)
}

fn serve(conn: TcpStream, seen: &Mutex<Seen>) {
    let mut reader = BufReader::new(conn);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())
                    .flatten()
            })
            .unwrap_or(0);
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            match read_chunked(&mut reader) {
                Some(body) => body,
                None => return,
            }
        } else {
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        seen.lock()
            .expect("lock")
            .requests
            .push((head.clone(), body.clone()));
        let conn = reader.get_mut();
        let reply: Vec<u8> = match path.as_str() {
            "/x/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"
                .to_vec(),
            "/x/close" => {
                let _ =
                    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ");
                std::thread::sleep(Duration::from_millis(50));
                let _ = conn.write_all(b"the close");
                return;
            }
            "/x/both" => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
                4\r\nbody\r\n0\r\n\r\n"
                    .to_vec()
            }
            "/x/big" => {
                let body = "0123456789".repeat(50_000);
                let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                    .into_bytes();
                r.extend_from_slice(body.as_bytes());
                r
            }
            "/x/early" => b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
                HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                .to_vec(),
            "/x/stale" => {
                // Answers, then closes without saying so (an idle keep-alive timeout).
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh");
                return;
            }
            "/x/slow" => {
                std::thread::sleep(Duration::from_millis(1500));
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow".to_vec()
            }
            "/x/lengths" => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec()
            }
            "/x/headers" => {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nx-ficus-backend: made-up\r\nx-request-id: upstream-id\r\n\
                     Connection: keep-alive, X-Upstream-Hop\r\nX-Upstream-Hop: 1\r\n\
                     Keep-Alive: timeout=5\r\nContent-Length: {}\r\n\r\n",
                    head.len()
                )
                .into_bytes();
                r.extend_from_slice(head.as_bytes());
                r
            }
            _ => {
                let text = format!("{path} {}", String::from_utf8_lossy(&body));
                let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", text.len())
                    .into_bytes();
                r.extend_from_slice(text.as_bytes());
                r
            }
        };
        if conn.write_all(&reply).is_err() {
            return;
        }
    }
}

fn proxy_in_front(name: &str, upstream: SocketAddr, fast: bool) -> Proxy {
    proxy_with(name, upstream, &format!("fast_http1 = {fast}"))
}

/// A proxy whose every upstream is `upstream`, with `settings` added to its configuration.
fn proxy_with(name: &str, upstream: SocketAddr, settings: &str) -> Proxy {
    start_proxy(name, &[upstream], upstream, FlagsFrom::File(0), settings)
}

fn connect(proxy: &Proxy) -> BufReader<TcpStream> {
    let conn = TcpStream::connect(proxy.addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    BufReader::new(conn)
}

fn get(conn: &mut BufReader<TcpStream>, path: &str, extra: &str) -> Answer {
    let request = format!("GET {path} HTTP/1.1\r\nHost: shop.test\r\n{extra}\r\n");
    conn.get_mut().write_all(request.as_bytes()).expect("send");
    read_response(conn, false).unwrap_or_else(|| panic!("GET {path}: no response"))
}

/// The connection was closed by the proxy: the next read ends.
fn closed(conn: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).is_ok() && rest.is_empty()
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

#[test]
fn bodies_pass_whole_in_every_framing_and_the_connection_goes_on() {
    let (upstream, _seen) = scripted();
    let proxy = proxy_in_front("h1-framing", upstream, true);
    let mut conn = connect(&proxy);

    let chunked = get(&mut conn, "/x/chunked", "");
    assert_eq!(chunked.status, 200);
    assert_eq!(text(&chunked), "hello world");
    assert_eq!(chunked.backend(), "legacy");
    // The same connection carries the next request after a chunked body with a trailer.
    let early = get(&mut conn, "/x/early", "");
    assert_eq!((early.status, text(&early).as_str()), (200, "ok"));

    // Chunked and a length: chunked wins, and the client is not told the length.
    let both = get(&mut conn, "/x/both", "");
    assert_eq!(text(&both), "body");
    assert!(
        !both.headers.contains_key("content-length"),
        "{:?}",
        both.headers
    );
    // A body larger than any buffer: whole.
    let big = get(&mut conn, "/x/big", "");
    assert_eq!(big.body.len(), 500_000);
    assert!(big.body.chunks(10).all(|c| c == b"0123456789"));

    // HEAD: the length is told, no body follows, and the connection goes on.
    conn.get_mut()
        .write_all(b"HEAD /x/plain HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .expect("send");
    let head = read_response(&mut conn, true).expect("HEAD answered");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.headers.get("content-length").map(String::as_str),
        Some("9")
    );
    let after = get(&mut conn, "/x/plain", "");
    assert_eq!(text(&after), "/x/plain ");

    // Two requests in one write (pipelined): two answers, in order.
    conn.get_mut()
        .write_all(b"GET /x/one HTTP/1.1\r\nHost: a\r\n\r\nGET /x/two HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("send");
    let one = read_response(&mut conn, false).expect("first");
    let two = read_response(&mut conn, false).expect("second");
    assert_eq!(
        (text(&one).as_str(), text(&two).as_str()),
        ("/x/one ", "/x/two ")
    );

    // A body that ends when the upstream closes: all of it, then the proxy closes too.
    conn.get_mut()
        .write_all(b"GET /x/close HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("send");
    let mut status = String::new();
    conn.read_line(&mut status).expect("status");
    let mut rest = String::new();
    conn.read_to_string(&mut rest).expect("until the close");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let (head, body) = rest.split_once("\r\n\r\n").expect("a head");
    assert_eq!(body, "until the close");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
}

#[test]
fn a_kept_upstream_connection_closed_without_notice_is_replaced() {
    let (upstream, seen) = scripted();
    let proxy = proxy_in_front("h1-stale", upstream, true);
    let mut conn = connect(&proxy);
    for i in 0..6 {
        let a = get(&mut conn, "/x/stale", "");
        assert_eq!((a.status, text(&a).as_str()), (200, "fresh"), "request {i}");
        // Half of them right away (the close may still be on its way), half after it landed.
        if i % 2 == 1 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let seen = seen.lock().expect("lock");
    let stale = seen
        .requests
        .iter()
        .filter(|(h, _)| h.starts_with("GET /x/stale "))
        .count();
    assert_eq!(stale, 6, "each read reached the upstream once");
    assert!(seen.connections >= 6, "a closed connection was reused");
}

#[test]
fn a_response_with_two_lengths_is_refused_not_guessed() {
    let (upstream, _seen) = scripted();
    let proxy = proxy_in_front("h1-lengths", upstream, true);
    let mut conn = connect(&proxy);
    let a = get(&mut conn, "/x/lengths", "x-request-id: lengths-1\r\n");
    assert_eq!(a.status, 502);
    assert_eq!(
        a.headers.get("x-request-id").map(String::as_str),
        Some("lengths-1")
    );
    assert_eq!(a.backend(), "legacy");
    assert!(closed(&mut conn));
}

#[test]
fn writes_and_old_clients_go_through_pingora_on_the_same_connection() {
    let (upstream, seen) = scripted();
    let proxy = proxy_in_front("h1-handover", upstream, true);
    let mut conn = connect(&proxy);
    let first = get(&mut conn, "/x/a", "");
    assert_eq!(text(&first), "/x/a ");
    conn.get_mut()
        .write_all(b"POST /x/b HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world")
        .expect("send");
    let post = read_response(&mut conn, false).expect("POST answered");
    assert_eq!(
        (post.status, text(&post).as_str()),
        (200, "/x/b hello world")
    );
    assert_eq!(post.backend(), "legacy");
    let again = get(&mut conn, "/x/c", "");
    assert_eq!(text(&again), "/x/c ");
    // A chunked request body, then HTTP/1.0.
    conn.get_mut()
        .write_all(
            b"PUT /x/d HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        .expect("send");
    let put = read_response(&mut conn, false).expect("PUT answered");
    assert_eq!((put.status, text(&put).as_str()), (200, "/x/d abc"));
    let mut old = connect(&proxy);
    old.get_mut()
        .write_all(b"GET /x/e HTTP/1.0\r\nHost: a\r\n\r\n")
        .expect("send");
    let mut whole = String::new();
    old.read_to_string(&mut whole)
        .expect("HTTP/1.0 answer, then the close");
    assert!(whole.starts_with("HTTP/1."), "{whole}");
    assert!(whole.ends_with("/x/e "), "{whole}");
    let seen = seen.lock().expect("lock");
    let bodies: Vec<&[u8]> = seen.requests.iter().map(|(_, b)| b.as_slice()).collect();
    assert!(
        bodies.contains(&b"hello world".as_slice()),
        "the POST's body reached the upstream"
    );
    let put_head = &seen
        .requests
        .iter()
        .find(|(h, _)| h.starts_with("PUT "))
        .expect("PUT")
        .0;
    assert!(
        put_head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{put_head}"
    );
}

/// Both engines (ficus's and Pingora's) strip what only the proxy may say and set the request id
/// and the decision's headers the same way.
#[test]
fn both_engines_rewrite_the_same_headers() {
    for fast in [true, false] {
        let (upstream, _seen) = scripted();
        let proxy = proxy_in_front(&format!("h1-headers-{fast}"), upstream, fast);
        let mut conn = connect(&proxy);
        let a = get(
            &mut conn,
            "/x/headers",
            "x-ficus-identity: customer:1\r\nx-ficus-gateway-secret: forged\r\n\
             x-ficus-backend: modern\r\nx-request-id: client-id-7\r\nCookie: ficus_sid=v1\r\n\
             Connection: x-client-hop\r\nX-Client-Hop: 1\r\n",
        );
        let upstream_saw = text(&a).to_ascii_lowercase();
        assert_eq!(a.status, 200, "fast {fast}");
        assert!(
            !upstream_saw.contains("x-ficus-identity"),
            "fast {fast}: {upstream_saw}"
        );
        assert!(
            !upstream_saw.contains("forged"),
            "fast {fast}: {upstream_saw}"
        );
        assert!(
            !upstream_saw.contains("x-ficus-backend"),
            "fast {fast}: {upstream_saw}"
        );
        assert!(
            upstream_saw.contains("x-request-id: client-id-7"),
            "fast {fast}: {upstream_saw}"
        );
        assert!(
            upstream_saw.contains("cookie: ficus_sid=v1"),
            "fast {fast}: {upstream_saw}"
        );
        // Headers a `Connection` header names belong to that connection (RFC 9110 §7.6.1).
        assert!(
            !upstream_saw.contains("x-client-hop"),
            "fast {fast}: {upstream_saw}"
        );
        assert!(
            !a.headers.contains_key("x-upstream-hop"),
            "fast {fast}: {:?}",
            a.headers
        );
        assert_eq!(a.backend(), "legacy", "fast {fast}");
        assert_eq!(
            a.headers.get("x-request-id").map(String::as_str),
            Some("client-id-7"),
            "fast {fast}"
        );
        // The next request on the same connection is answered too.
        let b = get(&mut conn, "/x/plain", "");
        assert_eq!(text(&b), "/x/plain ", "fast {fast}");
    }
}

#[test]
fn slow_clients_and_a_slow_upstream_are_timed_out() {
    let (upstream, _seen) = scripted();
    let proxy = proxy_with(
        "h1-timeouts",
        upstream,
        "client_timeout_seconds = 1\nread_timeout_ms = 400",
    );
    // Half a head, then nothing: closed once the client timeout passes, with no answer.
    let mut half = connect(&proxy);
    half.get_mut()
        .write_all(b"GET /x/a HTTP/1.1\r\nHost: a\r\n")
        .expect("send");
    let started = std::time::Instant::now();
    assert!(closed(&mut half), "a half head got an answer");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}, before the timeout"
    );
    // An idle kept-alive connection: closed too, after its first request was answered.
    let mut idle = connect(&proxy);
    let a = get(&mut idle, "/x/a", "");
    assert_eq!(text(&a), "/x/a ");
    let started = std::time::Instant::now();
    assert!(closed(&mut idle), "the idle connection got bytes");
    let waited = started.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(5)).contains(&waited),
        "the idle connection was closed after {waited:?}, not after the client timeout (1 s)"
    );
    // An upstream slower than read_timeout_ms: a 502, long before the upstream answers.
    let mut slow = connect(&proxy);
    let started = std::time::Instant::now();
    let b = get(&mut slow, "/x/slow", "");
    assert_eq!(b.status, 502);
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "waited for the slow upstream"
    );
}

#[test]
fn a_shutdown_closes_idle_connections_at_once() {
    let (upstream, _seen) = scripted();
    // A long grace period for requests under way: an idle connection left to it would stay open
    // for 10 s, until Pingora drops the runtime.
    let mut proxy = proxy_with("h1-shutdown", upstream, "grace_period_seconds = 10");
    let mut idle = connect(&proxy);
    assert_eq!(text(&get(&mut idle, "/x/a", "")), "/x/a ");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &proxy.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = std::time::Instant::now();
    assert!(
        closed(&mut idle),
        "the idle connection got bytes instead of a close"
    );
    let waited = started.elapsed();
    eprintln!("idle connection closed {waited:?} after SIGTERM");
    assert!(
        waited < Duration::from_secs(5),
        "closed after {waited:?}: left to the grace period"
    );
    let _ = proxy.child.wait();
}
