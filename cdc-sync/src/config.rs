//! cdc-sync's settings: one TOML file (`--config`), `FICUS_CDC_*` environment variables over it,
//! validated once before anything runs.
//!
//! ```toml
//! [source]
//! magento = "mysql://cdc:secret@127.0.0.1:3306/magento"   # FICUS_CDC_MAGENTO
//! server_id = 4242            # the replica id (unique among the server's replicas)
//! manifest = "documents.jsonl.manifest.json"   # where to start without checkpoints, or
//! # start = "mariadb-bin.000003:1234"
//!
//! [targets]                   # the services kept in sync; leave one out to skip it
//! catalog = "postgres://ficus:ficus@127.0.0.1:5432/ficus_catalog"     # FICUS_CDC_CATALOG
//! customer = "postgres://ficus:ficus@127.0.0.1:5432/ficus_customer"   # FICUS_CDC_CUSTOMER
//! order = "postgres://ficus:ficus@127.0.0.1:5432/ficus_order"         # FICUS_CDC_ORDER
//!
//! [batch]
//! entities = 500              # entities touched before a batch is applied
//! max_wait_ms = 100           # the longest a committed change waits
//! lanes = 2                   # PostgreSQL transactions per service a batch is written through
//!
//! listen = "127.0.0.1:9184"   # /healthz and /metrics; FICUS_CDC_LISTEN
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::binlog::Position;

/// The most writing lanes a batch may use (each service's pool has 8 connections).
pub const MAX_LANES: usize = 6;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where changes come from.
    #[serde(default)]
    pub source: SourceConfig,
    /// The services' databases.
    #[serde(default)]
    pub targets: TargetsConfig,
    /// Batching.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Read Debezium's events from Kafka instead of the binlog.
    pub kafka: Option<KafkaConfig>,
    /// Address of `/healthz` and `/metrics` (default `127.0.0.1:9184`).
    pub listen: Option<String>,
    /// The name the checkpoints are kept under in the services' databases (default `binlog`).
    pub name: Option<String>,
    /// id-map's namespace (the back-fill's; default id-map's).
    pub namespace: Option<String>,
    /// Also keep the admin store's product and category documents, as a back-fill with
    /// `--admin` holds them (default true).
    pub admin: Option<bool>,
    /// Warn when the binlog behind cdc-sync will be purged within this many hours (default 24).
    pub retention_warning_hours: Option<u64>,
}

/// `[source]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Magento's database (`mysql://user:password@host:port/database`).
    pub magento: Option<String>,
    /// The replica id cdc-sync registers with.
    pub server_id: Option<u32>,
    /// eav-extract's manifest: its snapshot position is where to start without checkpoints.
    pub manifest: Option<PathBuf>,
    /// A binlog position (`file:offset`) to start from without checkpoints.
    pub start: Option<String>,
    /// Or a MariaDB GTID position (`0-1-15`): start after it.
    pub start_gtid: Option<String>,
}

/// `[targets]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TargetsConfig {
    /// The catalog service's database.
    pub catalog: Option<String>,
    /// The customer service's database.
    pub customer: Option<String>,
    /// The order service's database.
    pub order: Option<String>,
}

/// `[kafka]`: Debezium's MySQL/MariaDB connector's topics.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The consumer group (default `ficus-cdc-sync`).
    pub group: Option<String>,
    /// The connector's `topic.prefix`: topics `<prefix>.<db>.<table>` are read.
    pub prefix: String,
    /// The JSON converter's `schemas.enable` (default true, Kafka Connect's default).
    pub schemas: Option<bool>,
    /// `decimal.handling.mode = "string"` (default false: Debezium's `precise`).
    pub decimal_strings: Option<bool>,
}

/// `[batch]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Entities touched before a batch is applied (default 500).
    pub entities: Option<usize>,
    /// The longest a committed change waits before its batch is applied, in ms (default 100).
    pub max_wait_ms: Option<u64>,
    /// PostgreSQL transactions per service a batch is written through at once (default 2, at
    /// most 6: each service's pool has 8 connections).
    pub lanes: Option<usize>,
}

/// Settings that cannot be used, named.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not valid TOML for these settings.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (line and column included).
        reason: String,
    },
    /// A setting is missing or wrong.
    #[error("{0}")]
    Invalid(String),
}

/// Settings validated: everything the daemon needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Magento's database.
    pub magento: ficus_id_map::magento::MagentoDsn,
    /// The replica id.
    pub server_id: u32,
    /// Where to start without checkpoints.
    pub start: Option<Position>,
    /// Or after this GTID position.
    pub start_gtid: Option<String>,
    /// The services' databases.
    pub catalog: Option<String>,
    /// See [`TargetsConfig::customer`].
    pub customer: Option<String>,
    /// See [`TargetsConfig::order`].
    pub order: Option<String>,
    /// Entities per batch.
    pub batch_entities: usize,
    /// The longest wait before a batch is applied.
    pub max_wait: Duration,
    /// Writing lanes per service.
    pub lanes: usize,
    /// `/healthz` and `/metrics`.
    pub listen: String,
    /// The checkpoints' name.
    pub name: String,
    /// id-map's namespace.
    pub namespace: ficus_id_map::Namespace,
    /// Admin-store documents too.
    pub admin: bool,
    /// The Kafka source, when configured.
    pub kafka: Option<crate::kafka::KafkaOptions>,
    /// See [`Config::retention_warning_hours`].
    pub retention_warning_hours: u64,
}

impl Config {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// `FICUS_CDC_MAGENTO`, `_SERVER_ID`, `_CATALOG`, `_CUSTOMER`, `_ORDER`, `_LISTEN`,
    /// `_START` over the file's values; `var` reads the environment.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let v = |k: &str| var(&format!("FICUS_CDC_{k}")).filter(|s| !s.is_empty());
        if let Some(m) = v("MAGENTO") {
            self.source.magento = Some(m);
        }
        if let Some(s) = v("SERVER_ID") {
            self.source.server_id = Some(s.parse().map_err(|_| {
                ConfigError::Invalid(format!("FICUS_CDC_SERVER_ID={s:?} is not a number"))
            })?);
        }
        if let Some(s) = v("START") {
            self.source.start = Some(s);
        }
        for (key, slot) in [
            ("CATALOG", &mut self.targets.catalog),
            ("CUSTOMER", &mut self.targets.customer),
            ("ORDER", &mut self.targets.order),
        ] {
            if let Some(d) = v(key) {
                *slot = Some(d);
            }
        }
        if let Some(l) = v("LISTEN") {
            self.listen = Some(l);
        }
        Ok(self)
    }

    /// Checks every setting; the first problem is named.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let invalid = |s: String| ConfigError::Invalid(s);
        let magento = self.source.magento.ok_or_else(|| {
            invalid("no Magento database: set [source] magento or FICUS_CDC_MAGENTO".into())
        })?;
        let magento = ficus_id_map::magento::MagentoDsn::parse(&magento)
            .map_err(|e| invalid(format!("[source] magento: {e}")))?;
        let magento_db = magento.database().to_string();
        let given = [
            self.source.start.is_some(),
            self.source.manifest.is_some(),
            self.source.start_gtid.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(invalid(
                "[source] more than one of start, manifest and start_gtid given: give one".into(),
            ));
        }
        let start = match (&self.source.start, &self.source.manifest) {
            (Some(_), Some(_)) => unreachable!("refused above"),
            (Some(s), None) => Some(parse_position(s).ok_or_else(|| {
                invalid(format!(
                    "[source] start {s:?}: expected <binlog file>:<offset>"
                ))
            })?),
            (None, Some(m)) => Some(manifest_position(m)?),
            (None, None) => None,
        };
        if self.targets.catalog.is_none()
            && self.targets.customer.is_none()
            && self.targets.order.is_none()
        {
            return Err(invalid(
                "no target: set at least one of [targets] catalog, customer, order".into(),
            ));
        }
        let batch_entities = self.batch.entities.unwrap_or(500);
        if batch_entities == 0 {
            return Err(invalid("[batch] entities must be at least 1".into()));
        }
        let lanes = self.batch.lanes.unwrap_or(2);
        if !(1..=MAX_LANES).contains(&lanes) {
            return Err(invalid(format!(
                "[batch] lanes must be between 1 and {MAX_LANES}, not {lanes}"
            )));
        }
        let namespace = match &self.namespace {
            Some(n) => n
                .parse()
                .map_err(|_| invalid(format!("namespace {n:?} is not a UUID")))?,
            None => ficus_id_map::DEFAULT_NAMESPACE,
        };
        Ok(Settings {
            magento,
            server_id: self.source.server_id.unwrap_or(4242),
            start,
            start_gtid: self.source.start_gtid,
            catalog: self.targets.catalog,
            customer: self.targets.customer,
            order: self.targets.order,
            batch_entities,
            max_wait: Duration::from_millis(self.batch.max_wait_ms.unwrap_or(100)),
            lanes,
            listen: self.listen.unwrap_or_else(|| "127.0.0.1:9184".into()),
            name: self.name.unwrap_or_else(|| "binlog".into()),
            namespace,
            admin: self.admin.unwrap_or(true),
            retention_warning_hours: self.retention_warning_hours.unwrap_or(24),
            kafka: self.kafka.map(|k| {
                let db = magento_db.clone();
                crate::kafka::KafkaOptions {
                    brokers: k.brokers,
                    group: k.group.unwrap_or_else(|| "ficus-cdc-sync".into()),
                    topics: format!("^{}\\.{}\\..*", regex_escape(&k.prefix), regex_escape(&db)),
                    dead_letter_topic: format!("{}.dlq", k.prefix),
                    format: crate::debezium::Format {
                        schemas: k.schemas.unwrap_or(true),
                        decimal_strings: k.decimal_strings.unwrap_or(false),
                    },
                }
            }),
        })
    }
}

/// `s` with the regular expression metacharacters escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `mariadb-bin.000003:1234`.
pub fn parse_position(s: &str) -> Option<Position> {
    let (file, pos) = s.rsplit_once(':')?;
    Some(Position {
        file: file.to_string(),
        pos: pos.parse().ok()?,
    })
}

/// The snapshot position in eav-extract's manifest (`<output>.manifest.json`); refuses an
/// extract that did not complete.
pub fn manifest_position(path: &Path) -> Result<Position, ConfigError> {
    use ficus_services::load::{ManifestError, manifest_snapshot};
    let bad = |reason: String| ConfigError::Invalid(format!("{}: {reason}", path.display()));
    let (file, pos) = manifest_snapshot(path).map_err(|e| match e {
        ManifestError::Unreadable(reason) => bad(reason),
        ManifestError::Incomplete => {
            bad("the extract did not complete; resume it (eav-extract --resume) first".into())
        }
        ManifestError::NoSnapshot => {
            bad("no snapshot position (binlog off when extracted?)".into())
        }
    })?;
    Ok(Position { file, pos })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Result<Settings, ConfigError> {
        let c: Config = toml::from_str(toml).map_err(|e| ConfigError::Parse {
            path: "t.toml".into(),
            reason: e.to_string(),
        })?;
        c.with_env(|_| None)?.validate()
    }

    #[test]
    fn settings_are_validated_naming_the_problem() {
        let ok = config(
            "[source]\nmagento = \"mysql://u:p@h/m\"\nstart = \"mariadb-bin.000003:1234\"\n[targets]\norder = \"postgres://x\"\n",
        )
        .expect("valid");
        assert_eq!(
            ok.start,
            Some(Position {
                file: "mariadb-bin.000003".into(),
                pos: 1234
            })
        );
        assert_eq!(
            (ok.batch_entities, ok.listen.as_str()),
            (500, "127.0.0.1:9184")
        );
        let err = |t: &str| config(t).expect_err(t).to_string();
        assert!(err("[targets]\norder = \"x\"\n").contains("no Magento database"));
        assert!(err("[source]\nmagento = \"mysql://h/m\"\n").contains("no target"));
        assert!(
            err(
                "[source]\nmagento = \"mysql://h/m\"\nstart = \"nope\"\n[targets]\norder = \"x\"\n"
            )
            .contains("expected <binlog file>:<offset>")
        );
        assert!(
            err("[source]\nmagento = \"mysql://h/m\"\nwat = 1\n").contains("unknown field `wat`")
        );
        assert!(err("[batch]\nentities = \"many\"\n").contains("invalid type"));
        let base = "[source]\nmagento = \"mysql://h/m\"\n[targets]\norder = \"postgres://x\"\n";
        assert!(
            err(&format!("{base}[batch]\nlanes = 0\n")).contains("lanes must be between 1 and 6")
        );
        assert!(err(&format!("{base}[batch]\nlanes = 7\n")).contains("not 7"));
        assert_eq!(ok.lanes, 2);
    }

    #[test]
    fn a_kafka_section_names_the_topics_of_the_magento_database() {
        let s = config(
            "[source]\nmagento = \"mysql://u:p@h/magento\"\n[targets]\norder = \"postgres://x\"\n[kafka]\nbrokers = \"k:9092\"\nprefix = \"m2\"\nschemas = false\n",
        )
        .expect("valid");
        let k = s.kafka.expect("kafka");
        assert_eq!(k.topics, "^m2\\.magento\\..*");
        assert_eq!(
            (k.dead_letter_topic.as_str(), k.group.as_str()),
            ("m2.dlq", "ficus-cdc-sync")
        );
        assert!(!k.format.schemas);
        assert!(config("[source]\nmagento = \"mysql://h/m\"\n[targets]\norder = \"x\"\n[kafka]\nprefix = \"m2\"\n").is_err(), "brokers required");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let c: Config = toml::from_str(
            "[source]\nmagento = \"mysql://a/m\"\n[targets]\ncatalog = \"postgres://c\"\n",
        )
        .expect("toml");
        let s = c
            .with_env(|k| (k == "FICUS_CDC_MAGENTO").then(|| "mysql://b/n".to_string()))
            .expect("env")
            .validate()
            .expect("valid");
        assert_eq!(s.magento.database(), "n");
    }
}
