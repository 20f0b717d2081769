//! ficus-proxy: the Pingora front door that routes each request to Magento or a new service.
//!
//! Not built yet: the proxy issue fills this crate. It holds no code until then, so nothing here
//! can be mistaken for a working proxy.
#![forbid(unsafe_code)]
