//! The reloadable part of the settings: the route table, the new services and Magento's backends,
//! each upstream with its Pingora peer, circuit and health. The proxy holds one [`Table`] behind an
//! atomic pointer; a request takes the table in use when it arrives and keeps it to the end, so a
//! reload never changes a request half-way and never drops a connection.
//!
//! An upstream that keeps its name and address across a reload keeps its circuit and health.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use pingora::prelude::HttpPeer;

use crate::circuit::Circuit;
use crate::config::Settings;
use crate::routes::RouteTable;

/// One upstream: a new service or a Magento backend.
#[derive(Debug)]
pub struct Upstream {
    /// The service's name (`catalog`, …) or `magento`.
    pub name: String,
    /// `ip:port`.
    pub addr: String,
    /// The peer handed to Pingora (cloned per request).
    pub peer: HttpPeer,
    /// The address the HTTP/1 engine connects to.
    pub sock: std::net::SocketAddr,
    /// The new service's circuit (Magento's backends have none).
    pub circuit: Option<Arc<Circuit>>,
    /// What the active health checks last concluded.
    pub health: Arc<Health>,
}

/// An upstream's health as the active checks see it: healthy until `fall` checks in a row fail,
/// then unhealthy until `rise` checks in a row pass.
#[derive(Debug)]
pub struct Health {
    healthy: AtomicBool,
    streak: AtomicU32,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            healthy: AtomicBool::new(true),
            streak: AtomicU32::new(0),
        }
    }
}

impl Health {
    /// Whether requests may go to the upstream.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Records one check's result; returns `Some(new state)` when the state changed. Only the
    /// health checker's thread calls this.
    pub fn record(&self, passed: bool, fall: u32, rise: u32) -> Option<bool> {
        let healthy = self.is_healthy();
        if passed == healthy {
            self.streak.store(0, Ordering::Relaxed);
            return None;
        }
        let streak = self.streak.fetch_add(1, Ordering::Relaxed) + 1;
        let needed = if healthy { fall } else { rise };
        if streak >= needed {
            self.healthy.store(passed, Ordering::Relaxed);
            self.streak.store(0, Ordering::Relaxed);
            Some(passed)
        } else {
            None
        }
    }
}

/// The routes and upstreams in use.
#[derive(Debug)]
pub struct Table {
    /// The route table; a route's `service_index` indexes `services`.
    pub routes: RouteTable,
    /// The new services, in the route table's service order.
    pub services: Vec<Upstream>,
    /// Magento's backends, balanced round-robin over the healthy ones.
    pub magento: Vec<Upstream>,
    /// The counters' index of each of the route table's domains (the counters are laid out at
    /// start; a reloaded table may list the domains in another order, or fewer of them).
    pub counter_index: Vec<usize>,
    /// How long the HTTP/1 engine waits for an upstream's connection.
    pub connect_timeout: Duration,
    /// How long the HTTP/1 engine waits for each read from an upstream.
    pub read_timeout: Duration,
}

impl Table {
    /// Builds the table of `settings`, keeping the circuits and health of `previous`'s upstreams
    /// that have the same name and address.
    pub fn new(settings: &Settings, previous: Option<&Table>) -> Result<Self, crate::Error> {
        let names: Vec<String> = settings.services.keys().cloned().collect();
        let specs = settings
            .routes
            .clone()
            .unwrap_or_else(crate::routes::default_routes);
        let routes = RouteTable::new(specs, &names)?;
        let connect = Duration::from_millis(settings.connect_timeout_ms);
        let read = Duration::from_millis(settings.read_timeout_ms);
        fn kept<'t>(
            list: Option<&'t Vec<Upstream>>,
            name: &str,
            addr: &str,
        ) -> Option<&'t Upstream> {
            list.and_then(|l| l.iter().find(|u| u.name == name && u.addr == addr))
        }
        let services = settings
            .services
            .iter()
            .map(|(name, addr)| {
                let old = kept(previous.map(|p| &p.services), name, addr);
                Ok(Upstream {
                    name: name.clone(),
                    addr: addr.clone(),
                    peer: peer(addr, connect, read)?,
                    sock: sock(addr)?,
                    circuit: Some(
                        old.and_then(|o| o.circuit.clone())
                            .unwrap_or_else(|| Arc::new(Circuit::new(settings.circuit.settings()))),
                    ),
                    health: old.map(|o| Arc::clone(&o.health)).unwrap_or_default(),
                })
            })
            .collect::<Result<_, crate::Error>>()?;
        let magento = settings
            .magento
            .iter()
            .map(|addr| {
                let old = kept(previous.map(|p| &p.magento), "magento", addr);
                Ok(Upstream {
                    name: "magento".to_owned(),
                    addr: addr.clone(),
                    peer: peer(addr, connect, read)?,
                    sock: sock(addr)?,
                    circuit: None,
                    health: old.map(|o| Arc::clone(&o.health)).unwrap_or_default(),
                })
            })
            .collect::<Result<_, crate::Error>>()?;
        Ok(Self {
            connect_timeout: connect,
            read_timeout: read,
            counter_index: (0..routes.domains().len()).collect(),
            routes,
            services,
            magento,
        })
    }

    /// The Magento backend for the `i`th try of a request: round-robin over the healthy ones (all
    /// of them when none is healthy: Magento is the last resort, never skipped altogether).
    pub fn magento_backend(&self, i: usize) -> &Upstream {
        let healthy = self
            .magento
            .iter()
            .filter(|m| m.health.is_healthy())
            .count();
        if healthy == 0 {
            return &self.magento[i % self.magento.len()];
        }
        self.magento
            .iter()
            .filter(|m| m.health.is_healthy())
            .nth(i % healthy)
            .unwrap_or(&self.magento[0])
    }
}

/// An upstream as a Pingora peer with the proxy's timeouts. `addr` is an `ip:port` (checked by
/// the settings' validation; checked again here so a bad one is an error, not a panic).
fn sock(addr: &str) -> Result<std::net::SocketAddr, crate::Error> {
    addr.parse()
        .map_err(|_| crate::Error::Config(format!("{addr:?} is not host:port with an IP address")))
}

fn peer(addr: &str, connect: Duration, read: Duration) -> Result<HttpPeer, crate::Error> {
    let sock = sock(addr)?;
    let mut peer = HttpPeer::new(sock, false, String::new());
    peer.options.connection_timeout = Some(connect);
    peer.options.read_timeout = Some(read);
    peer.options.idle_timeout = Some(Duration::from_secs(60));
    Ok(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_falls_and_rises_after_streaks() {
        let h = Health::default();
        assert!(h.is_healthy());
        assert_eq!(h.record(false, 2, 3), None);
        assert_eq!(
            h.record(true, 2, 3),
            None,
            "a pass resets the failing streak"
        );
        assert_eq!(h.record(false, 2, 3), None);
        assert_eq!(h.record(false, 2, 3), Some(false));
        assert!(!h.is_healthy());
        assert_eq!(h.record(true, 2, 3), None);
        assert_eq!(h.record(true, 2, 3), None);
        assert_eq!(h.record(true, 2, 3), Some(true));
        assert!(h.is_healthy());
    }
}
