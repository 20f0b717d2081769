//! The Pingora floor: a proxy with no filters at all, to one upstream. `scripts/bench-proxy`
//! measures it next to ficus-proxy, so the cost ficus adds is told apart from Pingora's own.
//! `cargo run --release -p ficus-proxy --example bare -- <listen> <upstream> <threads>`

use async_trait::async_trait;
use pingora::prelude::{HttpPeer, ProxyHttp, Session};
use pingora::server::Server;
use pingora::server::configuration::{Opt, ServerConf};

struct Bare(HttpPeer);

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();
    fn new_ctx(&self) {}
    async fn upstream_peer(&self, _s: &mut Session, _c: &mut ()) -> pingora::Result<Box<HttpPeer>> {
        Ok(Box::new(self.0.clone()))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, upstream, threads] = args.as_slice() else {
        eprintln!("usage: bare <listen> <upstream ip:port> <threads>");
        std::process::exit(2);
    };
    let upstream: std::net::SocketAddr = upstream.parse().expect("upstream is ip:port");
    let conf = ServerConf {
        threads: threads.parse().expect("threads is a number"),
        work_stealing: false,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        pid_file: format!("/tmp/ficus-bare-{}.pid", std::process::id()),
        upgrade_sock: format!("/tmp/ficus-bare-{}.sock", std::process::id()),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(Opt::default(), conf);
    server.bootstrap();
    let mut svc = pingora::proxy::http_proxy_service(
        &server.configuration,
        Bare(HttpPeer::new(upstream, false, String::new())),
    );
    svc.add_tcp(listen);
    server.add_service(svc);
    server.run_forever();
}
