//! What the proxy's integration tests share: a small HTTP/1.1 client, a free port, an upstream
//! that can be killed, and the ficus-proxy binary started from generated settings.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN: &str = "admin-secret";
pub const TESTER: &str = "tester-secret";

/// One HTTP/1.1 response.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn backend(&self) -> &str {
        self.headers
            .get("x-ficus-backend")
            .map_or("", String::as_str)
    }
}

/// A keep-alive HTTP/1.1 client on one connection (reconnects when the server closes it).
pub struct Client {
    pub addr: SocketAddr,
    pub conn: Option<BufReader<TcpStream>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        for attempt in 0..3 {
            if self.conn.is_none() {
                let stream = TcpStream::connect(self.addr).expect("connect to the proxy");
                stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
                self.conn = Some(BufReader::new(stream));
            }
            let mut request = format!(
                "{method} {path} HTTP/1.1\r\nHost: shop.test\r\nContent-Length: {}\r\n",
                body.len()
            );
            for (k, v) in headers {
                request.push_str(&format!("{k}: {v}\r\n"));
            }
            request.push_str("\r\n");
            request.push_str(body);
            let conn = self.conn.as_mut().expect("connected");
            if conn.get_mut().write_all(request.as_bytes()).is_err() {
                self.conn = None;
                continue;
            }
            match read_response(conn, method == "HEAD") {
                Some(answer) => {
                    if answer
                        .headers
                        .get("connection")
                        .is_some_and(|c| c.eq_ignore_ascii_case("close"))
                    {
                        self.conn = None;
                    }
                    return answer;
                }
                None => {
                    // A kept-alive connection the server had closed: only a fresh one counts.
                    self.conn = None;
                    assert!(attempt < 2, "{method} {path}: no response");
                }
            }
        }
        panic!("{method} {path}: no response on three connections");
    }

    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send("GET", path, headers, "")
    }
}

pub fn read_response(conn: &mut BufReader<TcpStream>, head_only: bool) -> Option<Answer> {
    let mut line = String::new();
    if conn.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        conn.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        let key = k.trim().to_ascii_lowercase();
        let value = v.trim().to_owned();
        headers
            .entry(key)
            .and_modify(|old: &mut String| {
                old.push_str(", ");
                old.push_str(&value);
            })
            .or_insert(value);
    }
    let mut body = Vec::new();
    if head_only || status == 204 || status == 304 {
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        body = read_chunked(conn)?;
    } else if let Some(n) = headers
        .get("content-length")
        .and_then(|n| n.parse::<usize>().ok())
    {
        body.resize(n, 0);
        conn.read_exact(&mut body).ok()?;
    }
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// A chunked body, decoded (the trailer's lines read and skipped).
pub fn read_chunked(conn: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        conn.read_line(&mut size).ok()?;
        let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if n == 0 {
            loop {
                let mut line = String::new();
                if conn.read_line(&mut line).ok()? == 0 || line.trim_end().is_empty() {
                    return Some(body);
                }
            }
        }
        let mut chunk = vec![0; n + 2];
        conn.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..n]);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// An axum app served on a runtime of its own, so the test can kill it (every socket closed).
pub struct Upstream {
    pub addr: SocketAddr,
    pub runtime: Option<tokio::runtime::Runtime>,
}

impl Upstream {
    /// Builds the app on the upstream's own runtime (its database pools live there too).
    pub fn start<F: std::future::Future<Output = axum::Router>>(make: impl FnOnce() -> F) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (listener, app) = runtime.block_on(async {
            let app = make().await;
            (
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("listen"),
                app,
            )
        });
        let addr = listener.local_addr().expect("addr");
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            runtime: Some(runtime),
        }
    }

    pub fn kill(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The proxy binary, killed on drop.
pub struct Proxy {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub flags: PathBuf,
    pub dir: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn flag_file(reads: u8, writes: u8) -> String {
    let rollout = |name: &str, p: u8| {
        format!(
            r#"{{"name": "{name}", "enabled": true, "strategies": [{{"name": "flexibleRollout",
            "constraints": [], "parameters": {{"rollout": "{p}", "stickiness": "default", "groupId": "{name}"}}}}]}}"#
        )
    };
    format!(
        r#"{{"version": 2, "features": [{}, {}, {{"name": "ficus.kill", "enabled": false, "strategies": [{{"name": "default"}}]}}]}}"#,
        rollout("ficus.catalog.reads", reads),
        rollout("ficus.catalog.writes", writes)
    )
}

/// Where the proxy under test takes its flags from.
pub enum FlagsFrom<'a> {
    /// A flag file (written by the test) with the catalog's reads at this percentage.
    File(u8),
    /// These lines of the `[flags]` table.
    Settings(&'a str),
}

/// Starts the ficus-proxy binary in a directory of its own and waits until it listens, with the
/// catalog service at `catalog` (the other services unreachable).
pub fn start_proxy(
    name: &str,
    magento: &[SocketAddr],
    catalog: SocketAddr,
    flags_from: FlagsFrom<'_>,
    extra: &str,
) -> Proxy {
    let unreachable: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    start_proxy_with(
        name,
        magento,
        &[
            ("catalog", catalog),
            ("customer", unreachable),
            ("order", unreachable),
        ],
        flags_from,
        extra,
    )
}

/// [`start_proxy`] with each service's address given.
pub fn start_proxy_with(
    name: &str,
    magento: &[SocketAddr],
    services: &[(&str, SocketAddr)],
    flags_from: FlagsFrom<'_>,
    extra: &str,
) -> Proxy {
    let dir = std::env::temp_dir().join(format!("ficus-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let flags = dir.join("flags.json");
    let flags_settings = match flags_from {
        FlagsFrom::File(reads) => {
            std::fs::write(&flags, flag_file(reads, 0)).expect("flags");
            "file = \"flags.json\"\npoll_ms = 50".to_owned()
        }
        FlagsFrom::Settings(settings) => settings.to_owned(),
    };
    let (port, admin_port) = (free_port(), free_port());
    let magento: Vec<String> = magento.iter().map(|a| format!("\"{a}\"")).collect();
    // No grace and one second to stop, unless the test sets its own.
    let shutdown: String = ["grace_period_seconds = 0", "shutdown_timeout_seconds = 1"]
        .iter()
        .filter(|line| {
            !line
                .split(' ')
                .next()
                .is_some_and(|key| extra.contains(key))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let settings = format!(
        r#"listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin_port}"
admin_token = "{ADMIN}"
tester_token = "{TESTER}"
threads = 2
{shutdown}magento = [{}]
access_log = false
audit_log = "audit.jsonl"
connect_timeout_ms = 500
{extra}
[services]
{}

[flags]
{flags_settings}
"#,
        magento.join(", "),
        services
            .iter()
            .map(|(name, addr)| format!("{name} = \"{addr}\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let config = dir.join("proxy.toml");
    std::fs::write(&config, settings).expect("settings");
    let child = Command::new(env!("CARGO_BIN_EXE_ficus-proxy"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ficus-proxy starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let admin: SocketAddr = format!("127.0.0.1:{admin_port}").parse().expect("addr");
    let started = Instant::now();
    while TcpStream::connect(admin).is_err() || TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "ficus-proxy did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Proxy {
        child,
        addr,
        admin,
        flags,
        dir,
    }
}

pub fn set_flag(proxy: &Proxy, flag: &str, body: &str) -> Answer {
    Client::new(proxy.admin).send(
        "PUT",
        &format!("/flags/{flag}"),
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("x-ficus-operator", "test"),
        ],
        body,
    )
}
