//! ficus's phase playbooks and their runner (binary `ficus`), and the verifier that tells whether
//! a new service holds exactly what Magento holds.
//!
//! - [`playbook`]: the YAML format (one phase of one domain: settings and steps);
//! - [`runner`]: runs the steps in order, resumable from a state file, with an audit log of
//!   every flag change and gates that roll a dial back on a breach;
//! - [`preflight`]: the checks before anything moves;
//! - [`verify`]: row-level parity between Magento (pivoted by Magento's rules) and a service's
//!   database, tolerant of live writes;
//! - [`fingerprint`]: a JSON document's canonical fingerprint, straight from its text;
//! - [`pghash`]: PostgreSQL's `hashtextextended` in Rust, to compare stored documents by hash;
//! - [`http`]: the little HTTP and Prometheus text the runner reads.
#![forbid(unsafe_code)]

pub mod fingerprint;
pub mod http;
pub mod pghash;
pub mod playbook;
pub mod preflight;
pub mod runner;
pub mod verify;
