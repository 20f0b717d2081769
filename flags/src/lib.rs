//! Flags in Unleash's format, evaluated locally; providers: a file (default) and an Unleash server.
//!
//! Not built yet: the proxy-and-flags issue fills this crate.
#![forbid(unsafe_code)]
