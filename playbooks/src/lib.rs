//! ficus's phase playbooks and their runner (binary `ficus`), and the verifier that tells whether
//! a new service holds exactly what Magento holds.
//!
//! - [`verify`]: row-level parity between Magento (pivoted by Magento's rules) and a service's
//!   database, tolerant of live writes.
#![forbid(unsafe_code)]

pub mod verify;
