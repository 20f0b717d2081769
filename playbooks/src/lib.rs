//! Phase playbooks and their runner.
//!
//! Not built yet: the playbooks issue fills this crate.
#![forbid(unsafe_code)]
