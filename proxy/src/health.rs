//! Active health checks: a thread probes every upstream of the table in use each interval — the
//! new services with `GET <service_path>` (their `/healthz`), Magento's backends with
//! `GET <magento_path>` or, when none is set, a TCP connect. A service that fails `fall` checks in
//! a row sends its domain to Magento until it passes `rise` in a row; an unhealthy Magento backend
//! leaves the round-robin (unless none is healthy).
//!
//! The checks run on a thread of their own with blocking sockets and timeouts, so a hanging
//! upstream never stalls the proxy's runtimes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::config::HealthSettings;
use crate::proxy::FicusProxy;

/// Starts the checker (when `interval_ms` is not 0). It stops with the process.
pub fn start(proxy: &Arc<FicusProxy>, settings: &HealthSettings) {
    if settings.interval_ms == 0 {
        return;
    }
    let proxy = Arc::downgrade(proxy);
    let settings = settings.clone();
    let spawned = std::thread::Builder::new()
        .name("ficus health".into())
        .spawn(move || {
            let interval = Duration::from_millis(settings.interval_ms);
            let timeout = Duration::from_millis(settings.timeout_ms);
            while let Some(proxy) = proxy.upgrade() {
                let table = proxy.table();
                let kinds = table
                    .services
                    .iter()
                    .map(|u| (u, settings.service_path.as_deref()))
                    .chain(
                        table
                            .magento
                            .iter()
                            .map(|u| (u, settings.magento_path.as_deref())),
                    );
                for (upstream, path) in kinds {
                    let passed = probe(&upstream.addr, path, timeout);
                    if let Some(now) = upstream.health.record(passed, settings.fall, settings.rise)
                    {
                        eprintln!(
                            "{}",
                            serde_json::json!({
                                "health": if now { "healthy" } else { "unhealthy" },
                                "upstream": upstream.name,
                                "addr": upstream.addr,
                            })
                        );
                    }
                }
                drop(table);
                drop(proxy);
                std::thread::sleep(interval);
            }
        });
    if let Err(e) = spawned {
        eprintln!("ficus-proxy: the health checker did not start: {e}");
    }
}

/// One check: connect (and, with a path, a GET answered 2xx or 3xx) within `timeout` each.
pub fn probe(addr: &str, path: Option<&str>, timeout: Duration) -> bool {
    let Ok(sock) = addr.parse::<SocketAddr>() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&sock, timeout) else {
        return false;
    };
    let Some(path) = path else {
        return true;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: ficus-proxy-health\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match stream.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    // "HTTP/1.x 200 ..."
    let status = std::str::from_utf8(&head[..got])
        .ok()
        .and_then(|s| s.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok());
    matches!(status, Some(200..=399))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server that answers each connection with `status` once.
    fn server(status: u16) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let mut conn = conn;
                let mut buf = [0u8; 512];
                let _ = conn.read(&mut buf);
                let _ = write!(conn, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            }
        });
        addr
    }

    #[test]
    fn a_probe_passes_on_2xx_and_3xx_only() {
        let t = Duration::from_millis(500);
        assert!(probe(&server(200), Some("/healthz"), t));
        assert!(probe(&server(302), Some("/healthz"), t));
        assert!(!probe(&server(503), Some("/healthz"), t));
        assert!(!probe(&server(404), Some("/healthz"), t));
        // Connect only.
        assert!(probe(&server(503), None, t));
        // Nothing listens.
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").to_string()
        };
        assert!(!probe(&closed, None, t));
        assert!(!probe(&closed, Some("/healthz"), t));
        // A server that accepts and never answers: the read times out.
        let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = silent.local_addr().expect("addr").to_string();
        assert!(!probe(&addr, Some("/healthz"), Duration::from_millis(100)));
        drop(silent);
    }
}
