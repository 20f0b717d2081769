//! Flags in Unleash's format, evaluated locally by Unleash's own engine (unleash-yggdrasil).
//!
//! A flag file holds exactly what Unleash's client API (`GET /api/client/features`) serves, so an
//! operator can move from the file to an Unleash server without rewriting a flag. ficus reads
//! three kinds of flag ([`names`]): `ficus.<domain>.reads`, `ficus.<domain>.writes` and
//! `ficus.kill`. A [`Flags`] handle holds the set in use; the request path takes a
//! [`Flags::snapshot`] (lock-free) and asks [`FlagSet::is_enabled`] (no I/O, no allocation).
//!
//! ```
//! use ficus_flags::{FlagSet, Who, names};
//! let json = r#"{"version": 2, "features": [{"name": "ficus.catalog.reads", "enabled": true,
//!   "strategies": [{"name": "flexibleRollout",
//!     "parameters": {"rollout": "100", "stickiness": "default", "groupId": "ficus.catalog.reads"}}]}]}"#;
//! let set = FlagSet::parse(json, "example").unwrap();
//! let who = Who { session_id: Some("visitor-1"), ..Who::default() };
//! assert!(set.is_enabled(&names::reads("catalog"), &who));
//! assert!(!set.is_enabled(names::KILL, &who));
//! ```
#![forbid(unsafe_code)]

mod change;
mod provider;
mod set;

use std::path::PathBuf;

pub use change::{Change, FlagSummary, apply, summarize};
pub use provider::{Applied, Flags, Source, UnleashSource};
pub use set::{FlagSet, Who};
pub use unleash_types::client_features::{ClientFeatures, Context};

/// The names of ficus's flags.
pub mod names {
    /// Everything to Magento, whatever the other flags say.
    pub const KILL: &str = "ficus.kill";

    /// The flag that moves a domain's reads (GET, HEAD).
    pub fn reads(domain: &str) -> String {
        format!("ficus.{domain}.reads")
    }

    /// The flag that moves a domain's writes (every other method).
    pub fn writes(domain: &str) -> String {
        format!("ficus.{domain}.writes")
    }
}

/// What can go wrong with flags.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not Unleash's client-API JSON.
    #[error("{origin}: not Unleash's client-API JSON: {source}")]
    Malformed {
        /// Where the text came from (a path, a URL).
        origin: String,
        /// What the JSON parser said, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON parsed but a flag cannot be used.
    #[error("{origin}: {problem}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// What is wrong.
        problem: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The Unleash server could not be reached or answered badly.
    #[error("{0}")]
    Unavailable(String),
    /// An operator's change that cannot be made.
    #[error("{0}")]
    Refused(String),
}
