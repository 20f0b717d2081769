//! Helpers for ficus's integration tests: a database per test, on the real MariaDB (and, with the
//! `postgres` feature, the real PostgreSQL), named after the test and the process so tests run
//! in parallel.

use mysql_async::prelude::Queryable;

use crate::{Dsn, Edition, Options, Profile, create, quote_ident};

/// The MariaDB server (`FICUS_TEST_MYSQL`, default: the set-up script's login).
pub fn mysql_server() -> String {
    std::env::var("FICUS_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://ficus:ficus@127.0.0.1:3306".into())
}

/// A database name unique to this test and process.
pub fn db_name(test: &str) -> String {
    format!("ficus_t_{test}_{}", std::process::id())
}

/// Creates an empty database named after `test` (dropped first if a killed run left it);
/// returns its name and its DSN.
///
/// # Panics
/// If the server refuses.
pub async fn empty_database(test: &str) -> (String, String) {
    let db = db_name(test);
    let opts = mysql_async::Opts::from_url(&mysql_server()).expect("opts");
    let mut conn = mysql_async::Conn::new(opts).await.expect("connect");
    for sql in ["DROP DATABASE IF EXISTS", "CREATE DATABASE"] {
        conn.query_drop(format!("{sql} {}", quote_ident(&db)))
            .await
            .expect(sql);
    }
    let url = format!("{}/{db}", mysql_server());
    (db, url)
}

/// Generates a store into a fresh database named after `test`; returns its DSN.
///
/// # Panics
/// If the store cannot be generated: a test cannot go on without it.
pub async fn magento_store(test: &str, profile: &str, seed: u64, edition: Edition) -> String {
    let url = format!("{}/{}", mysql_server(), db_name(test));
    let options = Options {
        dsn: Dsn::parse(&url).expect("dsn"),
        profile: Profile::by_name(profile).expect("profile"),
        seed,
        edition,
        drop: true,
        log_bin: false,
        workers: 3,
    };
    create(&options, |_| {}, std::future::pending())
        .await
        .expect("generate");
    url
}

/// Drops the MariaDB database a DSN names.
///
/// # Panics
/// If the server refuses.
pub async fn drop_magento(url: &str) {
    let opts = mysql_async::Opts::from_url(url).expect("opts");
    let name = opts.db_name().expect("db").to_string();
    let mut conn = mysql_async::Conn::new(opts).await.expect("connect");
    conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&name)))
        .await
        .expect("drop");
}

/// The PostgreSQL server (`FICUS_TEST_POSTGRES`, default: the set-up script's login).
#[cfg(feature = "postgres")]
pub fn pg_server() -> String {
    std::env::var("FICUS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://ficus:ficus@127.0.0.1:5432".into())
}

/// Runs one statement on the server's `postgres` database.
///
/// `DROP DATABASE … WITH (FORCE)` cannot end a superuser's backend, and an autovacuum worker is
/// one: a database left by an earlier run whose process id this run reuses can be under
/// autovacuum just then. That refusal is retried for a few seconds, while the worker finishes.
#[cfg(feature = "postgres")]
async fn pg_admin(sql: String) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", pg_server()))
        .await
        .expect("connect postgres");
    for attempt in 1.. {
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await
        {
            Ok(_) => return,
            Err(e) if attempt < 50 && e.to_string().contains("pg_signal_backend") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
}

/// Creates an empty PostgreSQL database named after `test`; returns its DSN.
#[cfg(feature = "postgres")]
pub async fn pg_database(test: &str) -> String {
    let name = db_name(test);
    pg_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    pg_admin(format!("CREATE DATABASE {name}")).await;
    format!("{}/{name}", pg_server())
}

/// Drops the PostgreSQL database a DSN names.
#[cfg(feature = "postgres")]
pub async fn drop_pg(url: &str) {
    let name = url.rsplit('/').next().expect("name");
    pg_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}
