//! The generator's errors: each names the thing and, where it helps, what to do.

/// What can go wrong while creating a test store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection string does not parse.
    #[error("invalid DSN {dsn}: {reason}")]
    BadDsn {
        /// The DSN, password masked.
        dsn: String,
        /// What the parser said.
        reason: String,
    },
    /// The DSN names no database.
    #[error(
        "the DSN {dsn} names no database: add one, e.g. mysql://user:pass@127.0.0.1:3306/magento_small"
    )]
    NoDatabase {
        /// The DSN, password masked.
        dsn: String,
    },
    /// The server cannot be reached or refuses the login.
    #[error("cannot connect to {dsn}: {source}")]
    Connect {
        /// The DSN, password masked.
        dsn: String,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },
    /// The profile name is not one the generator knows.
    #[error("unknown profile '{name}'; the profiles are: {known}")]
    UnknownProfile {
        /// What was asked for.
        name: String,
        /// The profiles there are, comma-separated.
        known: String,
    },
    /// The target database already holds tables and `--drop` was not given.
    #[error(
        "database '{database}' already has {tables} tables (e.g. {example}); refusing to write into it. Pass --drop to drop and recreate it"
    )]
    NotEmpty {
        /// The database.
        database: String,
        /// How many tables it has.
        tables: u64,
        /// One of them.
        example: String,
    },
    /// A statement failed while loading.
    #[error("loading table {table} failed: {source}")]
    Load {
        /// The table being written.
        table: String,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },
    /// A statement outside a table load failed.
    #[error("{what} failed: {source}")]
    Sql {
        /// What was being done.
        what: String,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },
    /// The generator stopped because the loader went away without reporting an error.
    #[error("the loader stopped before every row was written")]
    LoaderStopped,
    /// A load connection's task panicked.
    #[error("a load worker panicked: {0}")]
    WorkerPanicked(String),
    /// The run was interrupted (Ctrl-C); the partial database was dropped.
    #[error("interrupted; the partly written database '{database}' was dropped")]
    Interrupted {
        /// The database.
        database: String,
    },
}

/// The generator's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
