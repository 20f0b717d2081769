//! eav-extract's errors: each names the thing (table, store code, file, DSN with the password
//! masked) and, for an operator, what to do.

/// What can go wrong during an extract.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting or resolving ids went wrong (DSN, connection, entity names).
    #[error(transparent)]
    IdMap(#[from] ficus_id_map::Error),
    /// The database lacks tables every Magento 2 database has.
    #[error(
        "{database} is not a Magento 2 database: missing table(s) {missing}. Check the DSN's database name"
    )]
    NotMagento {
        /// The database.
        database: String,
        /// The missing tables, comma-separated.
        missing: String,
    },
    /// A store code that the store table does not have.
    #[error("unknown store code '{code}'; the store views are: {known}")]
    UnknownStore {
        /// What was asked for.
        code: String,
        /// The codes there are.
        known: String,
    },
    /// An entity kind the extractor does not know.
    #[error("unknown entity '{name}'; eav-extract knows: product, category, customer, order")]
    UnknownEntity {
        /// What was asked for.
        name: String,
    },
    /// A query on the Magento database failed.
    #[error("reading {what} failed: {source}")]
    Mysql {
        /// What was being read.
        what: String,
        /// The driver's error.
        #[source]
        source: mysql_async::Error,
    },
    /// The wire reader's query on the Magento database failed.
    #[error("reading {what} failed: {source}")]
    Wire {
        /// What was being read.
        what: String,
        /// The reader's error.
        #[source]
        source: crate::wire::WireError,
    },
    /// A value in Magento's tables does not parse as its column type says.
    #[error(
        "{table} row for entity {entity_id}: column {column} holds '{value}', which is not {expected}"
    )]
    BadValue {
        /// The table.
        table: String,
        /// The entity.
        entity_id: u64,
        /// The column.
        column: String,
        /// What it holds.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// Writing the output (or its checkpoint or manifest) failed.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The PostgreSQL sink failed.
    #[error("PostgreSQL sink ({what}) failed: {source}")]
    Pg {
        /// What was being done.
        what: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// `--resume` was asked but there is nothing to resume, or it does not match.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// The output exists already and this is not a resume.
    #[error("{0}")]
    Exists(String),
    /// The run was interrupted; the checkpoint allows `--resume`.
    #[error("interrupted after {entities} documents; run again with --resume to continue")]
    Interrupted {
        /// Documents written before the interruption.
        entities: u64,
    },
}

/// Results with eav-extract's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the operator can fix this by changing the command (exit code 2).
    pub fn is_operator_error(&self) -> bool {
        match self {
            Error::IdMap(e) => e.is_operator_error(),
            Error::NotMagento { .. }
            | Error::UnknownStore { .. }
            | Error::UnknownEntity { .. }
            | Error::Output { .. }
            | Error::Resume(_)
            | Error::Exists(_) => true,
            _ => false,
        }
    }
}

pub(crate) fn mysql(what: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> Error {
    let what = what.into();
    move |source| Error::Mysql { what, source }
}
