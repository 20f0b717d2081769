//! MySQL/MariaDB connection strings: parsing, and printing them with the password masked.

use crate::error::{Error, Result};

/// A `mysql://user:password@host:port/database` connection string.
#[derive(Clone)]
pub struct Dsn {
    url: String,
    opts: mysql_async::Opts,
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Dsn {
    /// Parses a DSN; an error names it with the password masked.
    pub fn parse(url: &str) -> Result<Self> {
        let opts = mysql_async::Opts::from_url(url).map_err(|e| Error::BadDsn {
            dsn: mask_password(url),
            reason: e.to_string(),
        })?;
        Ok(Dsn {
            url: url.to_string(),
            opts,
        })
    }

    /// The database the DSN names, if any.
    pub fn database(&self) -> Option<&str> {
        self.opts.db_name()
    }

    /// The connection options.
    pub fn opts(&self) -> &mysql_async::Opts {
        &self.opts
    }

    /// The same server without a database, for CREATE/DROP DATABASE.
    pub fn server_opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::from_opts(self.opts.clone())
            .db_name(None::<String>)
            .into()
    }

    /// The DSN as it may be printed: the password replaced by `***`.
    pub fn masked(&self) -> String {
        mask_password(&self.url)
    }
}

/// Replaces the password of a URL-shaped connection string by `***`.
pub fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_password;

    #[test]
    fn masks_only_the_password() {
        assert_eq!(
            mask_password("mysql://root:s3cr:et@db.example:3306/magento"),
            "mysql://root:***@db.example:3306/magento"
        );
        assert_eq!(
            mask_password("mysql://root@127.0.0.1/magento"),
            "mysql://root@127.0.0.1/magento"
        );
        assert_eq!(
            mask_password("mysql://u:p@h/db?x=a@b"),
            "mysql://u:***@h/db?x=a@b"
        );
        assert_eq!(mask_password("not a url"), "not a url");
    }
}
