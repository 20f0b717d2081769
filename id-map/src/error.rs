//! id-map's errors: each names the thing (entity, DSN with the password masked, line) and, for an
//! operator, what to do.

/// What can go wrong while mapping, storing or syncing ids.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A UUID (namespace or look-up key) does not parse.
    #[error("'{text}' is not a UUID: {reason}")]
    BadUuid {
        /// What was given.
        text: String,
        /// What the parser said.
        reason: String,
    },
    /// An entity name is not a Magento entity type code or table name.
    #[error(
        "'{entity}' is not an entity name: use Magento's entity type code (catalog_product, catalog_category, customer, customer_address) or a flat table's name (sales_order, sales_order_item, ...)"
    )]
    BadEntity {
        /// What was given.
        entity: String,
    },
    /// A legacy id does not parse as a non-negative integer.
    #[error("{place}: '{text}' is not a legacy id (a non-negative integer)")]
    BadLegacyId {
        /// Where it was read (e.g. "stdin line 3").
        place: String,
        /// What was read.
        text: String,
    },
    /// A connection string does not parse.
    #[error("invalid DSN {dsn}: {reason}")]
    BadDsn {
        /// The DSN, password masked.
        dsn: String,
        /// What the parser said.
        reason: String,
    },
    /// MariaDB/MySQL cannot be reached or refuses the login.
    #[error("cannot connect to {dsn}: {source}")]
    MysqlConnect {
        /// The DSN, password masked.
        dsn: String,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },
    /// PostgreSQL cannot be reached or refuses the login.
    #[error("cannot connect to {dsn}: {source}")]
    PgConnect {
        /// The DSN, password masked.
        dsn: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The Magento database has no table for the entity.
    #[error(
        "unknown entity '{entity}' in {database}: it is not an EAV entity type there and no table has that name{hint}"
    )]
    UnknownEntity {
        /// The entity asked for.
        entity: String,
        /// The Magento database.
        database: String,
        /// A suggestion, starting with "; ".
        hint: String,
    },
    /// A flat table has no single-column integer primary key to take ids from.
    #[error("table '{table}' has no single-column integer primary key, so it has no legacy id")]
    NoIntegerKey {
        /// The table.
        table: String,
    },
    /// A query on the Magento database failed.
    #[error("query on Magento ({what}) failed: {source}")]
    Mysql {
        /// What was being read.
        what: String,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },
    /// A statement on the mapping store failed.
    #[error("mapping store ({what}) failed: {source}")]
    Pg {
        /// What was being done.
        what: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The mapping store's migrations failed.
    #[error("migrating the mapping store failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store was filled under another namespace.
    #[error(
        "the mapping store at {dsn} holds ids of namespace {stored}, not {given}: pass --namespace {stored}, or use another database for the other install"
    )]
    NamespaceMismatch {
        /// The store's DSN, password masked.
        dsn: String,
        /// The namespace the store holds.
        stored: uuid::Uuid,
        /// The namespace given.
        given: uuid::Uuid,
    },
    /// A UUID has no mapping.
    #[error("no mapping for {0}")]
    NotFound(String),
    /// A legacy id was already assigned to another UUID of the entity.
    #[error("{entity}/{legacy_id} is already mapped to {existing}")]
    LegacyIdTaken {
        /// The entity.
        entity: String,
        /// The id.
        legacy_id: u64,
        /// The UUID that holds it.
        existing: uuid::Uuid,
    },
    /// Another `sync` holds the store.
    #[error("another id-map sync is writing to {0}; wait for it to finish")]
    Busy(String),
    /// A first load into the store was interrupted and is not finished.
    #[error(
        "the first sync into {0} was interrupted and the map's keys are not built yet: run `id-map sync` again to finish it"
    )]
    FirstLoadUnfinished(String),
    /// Reading input or writing output failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The run was interrupted (Ctrl-C); what was committed stays and a re-run continues.
    #[error("interrupted; {committed} mappings committed, run again to continue")]
    Interrupted {
        /// Mappings committed before the interruption.
        committed: u64,
    },
}

/// Results with id-map's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the operator can fix this by changing the command (exit code 2), rather than a
    /// failure of a database during the run (exit code 1).
    pub fn is_operator_error(&self) -> bool {
        matches!(
            self,
            Error::BadUuid { .. }
                | Error::BadEntity { .. }
                | Error::BadLegacyId { .. }
                | Error::BadDsn { .. }
                | Error::MysqlConnect { .. }
                | Error::PgConnect { .. }
                | Error::UnknownEntity { .. }
                | Error::NoIntegerKey { .. }
                | Error::NamespaceMismatch { .. }
                | Error::NotFound(_)
        )
    }
}
