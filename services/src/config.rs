//! A service's settings: built-in defaults, then a TOML file (`--config`), then `FICUS_`
//! environment variables, then command-line flags — each later source overriding the earlier.
//!
//! Keys (file) and variables (environment), for service `catalog`:
//!
//! | file key | environment | meaning |
//! |---|---|---|
//! | `database` | `FICUS_CATALOG_DATABASE` | the service's own PostgreSQL database |
//! | `listen` | `FICUS_CATALOG_LISTEN` | address to listen on |
//! | `default_store` | `FICUS_CATALOG_DEFAULT_STORE` | store view of `/rest/V1/…` |
//! | `admin_store` | `FICUS_CATALOG_ADMIN_STORE` | store view of `/rest/all/V1/…` |
//! | `gateway_secret` | `FICUS_GATEWAY_SECRET` | the secret ficus-proxy sends |
//! | `guest_access` | `FICUS_CATALOG_GUEST_ACCESS` | guests may read (catalog only) |
//! | `access_log` | `FICUS_CATALOG_ACCESS_LOG` | one JSON line per request on stderr |

use std::path::Path;

use serde::Deserialize;

/// Settings of one service.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The service's own database (`postgres://…`).
    pub database: Option<String>,
    /// Address to listen on.
    pub listen: Option<String>,
    /// Store view of `/rest/V1/…`.
    pub default_store: Option<String>,
    /// Store view of `/rest/all/V1/…`.
    pub admin_store: Option<String>,
    /// The secret ficus-proxy sends in `x-ficus-gateway-secret`.
    pub gateway_secret: Option<String>,
    /// Whether guests may read (Magento's "Allow Anonymous Guest Access"; catalog only).
    pub guest_access: Option<bool>,
    /// Whether to write one JSON access-log line per request.
    pub access_log: Option<bool>,
}

/// Why settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected keys.
    #[error("config file {path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said (line and key).
        reason: String,
    },
    /// An environment variable holds a value of the wrong type.
    #[error("environment variable {name}={value:?}: expected true or false")]
    Env {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
    },
}

impl Settings {
    /// Every field of `over` that is set replaces the field here.
    pub fn merge(self, over: Settings) -> Settings {
        Settings {
            database: over.database.or(self.database),
            listen: over.listen.or(self.listen),
            default_store: over.default_store.or(self.default_store),
            admin_store: over.admin_store.or(self.admin_store),
            gateway_secret: over.gateway_secret.or(self.gateway_secret),
            guest_access: over.guest_access.or(self.guest_access),
            access_log: over.access_log.or(self.access_log),
        }
    }

    /// The settings of a TOML file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.to_string().trim_end().replace('\n', " "),
        })
    }

    /// The settings of `FICUS_<SERVICE>_<KEY>` variables (and `FICUS_GATEWAY_SECRET`), read
    /// through `var`.
    pub fn from_env(
        service: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let prefix = format!("FICUS_{}_", service.to_uppercase());
        let get = |key: &str| var(&format!("{prefix}{key}"));
        let flag = |key: &str| -> Result<Option<bool>, ConfigError> {
            let name = format!("{prefix}{key}");
            match var(&name) {
                None => Ok(None),
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(Some(true)),
                    "0" | "false" | "no" | "off" | "" => Ok(Some(false)),
                    _ => Err(ConfigError::Env { name, value: v }),
                },
            }
        };
        Ok(Settings {
            database: get("DATABASE"),
            listen: get("LISTEN"),
            default_store: get("DEFAULT_STORE"),
            admin_store: get("ADMIN_STORE"),
            gateway_secret: var("FICUS_GATEWAY_SECRET"),
            guest_access: flag("GUEST_ACCESS")?,
            access_log: flag("ACCESS_LOG")?,
        })
    }

    /// Defaults < file (if any) < environment < `flags`.
    pub fn load(
        service: &str,
        file: Option<&Path>,
        flags: Settings,
    ) -> Result<Settings, ConfigError> {
        let defaults = Settings {
            listen: Some(
                match service {
                    "customer" => "127.0.0.1:8082",
                    "order" => "127.0.0.1:8083",
                    _ => "127.0.0.1:8081",
                }
                .into(),
            ),
            default_store: Some("default".into()),
            admin_store: Some("admin".into()),
            guest_access: Some(false),
            access_log: Some(true),
            ..Settings::default()
        };
        let from_file = match file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        let env = Settings::from_env(service, |k| std::env::var(k).ok())?;
        Ok(defaults.merge(from_file).merge(env).merge(flags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_sources_override_earlier_ones() {
        let dir = std::env::temp_dir().join(format!("ficus-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("catalog.toml");
        std::fs::write(
            &file,
            "database = \"postgres://file\"\nlisten = \"0.0.0.0:9\"\nguest_access = true\n",
        )
        .expect("write");
        let from_file = Settings::from_file(&file).expect("parse");
        assert_eq!(from_file.database.as_deref(), Some("postgres://file"));
        assert_eq!(from_file.guest_access, Some(true));

        let env = Settings::from_env("catalog", |k| match k {
            "FICUS_CATALOG_LISTEN" => Some("127.0.0.1:7".into()),
            "FICUS_CATALOG_ACCESS_LOG" => Some("off".into()),
            _ => None,
        })
        .expect("env");
        let flags = Settings {
            database: Some("postgres://flag".into()),
            ..Settings::default()
        };
        let s = from_file.merge(env).merge(flags);
        assert_eq!(s.database.as_deref(), Some("postgres://flag"));
        assert_eq!(s.listen.as_deref(), Some("127.0.0.1:7"));
        assert_eq!(s.guest_access, Some(true));
        assert_eq!(s.access_log, Some(false));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_files_and_values_are_named() {
        let dir = std::env::temp_dir().join(format!("ficus-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("typo.toml");
        std::fs::write(&file, "databse = \"x\"\n").expect("write");
        let e = Settings::from_file(&file)
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("typo.toml") && e.contains("databse"), "{e}");
        std::fs::write(&file, "guest_access = \"maybe\"\n").expect("write");
        let e = Settings::from_file(&file)
            .expect_err("wrong type")
            .to_string();
        assert!(e.contains("guest_access"), "{e}");
        let e = Settings::from_file(&dir.join("absent.toml"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("absent.toml"), "{e}");
        let e = Settings::from_env("customer", |k| {
            (k == "FICUS_CUSTOMER_ACCESS_LOG").then(|| "maybe".to_string())
        })
        .expect_err("not a flag")
        .to_string();
        assert!(e.contains("FICUS_CUSTOMER_ACCESS_LOG"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The command line every service binary takes.
#[derive(Debug, clap::Parser)]
pub struct Cli {
    /// A TOML file of settings (see the keys above); environment and flags override it.
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
    /// The service's own database, e.g. postgres://ficus:ficus@127.0.0.1:5432/ficus_catalog
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A service binary's subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Applies pending migrations and exits.
    Migrate,
    /// Migrates, then applies eav-extract's JSONL output through the write API (documents of
    /// other services' kinds are counted and skipped). Idempotent: run it again to resume.
    Load {
        /// eav-extract's output (its manifest `<file>.manifest.json` gives the position).
        file: std::path::PathBuf,
        /// The binlog position the documents were read at (`mariadb-bin.000042:1234`),
        /// instead of the manifest's.
        #[arg(long)]
        position: Option<String>,
        /// Documents applied at a time.
        #[arg(long, default_value_t = 8)]
        parallel: usize,
        /// Magento's database, to copy each store view's website and root category (catalog).
        #[arg(long)]
        magento: Option<String>,
    },
    /// Migrates, then serves until SIGTERM or Ctrl-C.
    Serve {
        /// Address to listen on.
        #[arg(long)]
        listen: Option<String>,
        /// The store view of /rest/V1/… .
        #[arg(long)]
        default_store: Option<String>,
        /// The shared secret ficus-proxy sends in x-ficus-gateway-secret.
        #[arg(long)]
        gateway_secret: Option<String>,
        /// Let guests read (Magento's "Allow Anonymous Guest Access"; catalog only).
        #[arg(long)]
        guest_access: bool,
        /// No JSON access-log line per request.
        #[arg(long)]
        no_access_log: bool,
    },
}

impl Cli {
    /// The settings for `service`: defaults < `--config` file < environment < flags.
    pub fn settings(&self, service: &str) -> Result<Settings, ConfigError> {
        let mut flags = Settings {
            database: self.database.clone(),
            ..Settings::default()
        };
        if let Command::Serve {
            listen,
            default_store,
            gateway_secret,
            guest_access,
            no_access_log,
        } = &self.command
        {
            flags.listen = listen.clone();
            flags.default_store = default_store.clone();
            flags.gateway_secret = gateway_secret.clone();
            flags.guest_access = guest_access.then_some(true);
            flags.access_log = no_access_log.then_some(false);
        }
        Settings::load(service, self.config.as_deref(), flags)
    }
}
