//! Test helpers: a Magento store on the real MariaDB and a database on the real PostgreSQL, both
//! private to one test.
#![allow(dead_code)]

use ficus_magento_fixture::{Dsn, Edition, Options, Profile, create, quote_ident};
use mysql_async::prelude::Queryable;
use sqlx::{Connection, PgConnection};

/// The MariaDB server (`FICUS_TEST_MYSQL`, default: the set-up script's login).
pub fn mysql_server() -> String {
    std::env::var("FICUS_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://ficus:ficus@127.0.0.1:3306".into())
}

/// The PostgreSQL server (`FICUS_TEST_POSTGRES`, default: the set-up script's login).
pub fn pg_server() -> String {
    std::env::var("FICUS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://ficus:ficus@127.0.0.1:5432".into())
}

/// A name unique to this test and process.
pub fn db_name(test: &str) -> String {
    format!("ficus_t_{test}_{}", std::process::id())
}

/// Generates a Magento store; returns its DSN.
pub async fn magento(test: &str, profile: &str, edition: Edition) -> String {
    let url = format!("{}/{}", mysql_server(), db_name(test));
    let options = Options {
        dsn: Dsn::parse(&url).expect("dsn"),
        profile: Profile::by_name(profile).expect("profile"),
        seed: 7,
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

/// Drops a Magento test database.
pub async fn drop_magento(url: &str) {
    let opts = mysql_async::Opts::from_url(url).expect("opts");
    let name = opts.db_name().expect("db").to_string();
    let mut conn = mysql_async::Conn::new(opts).await.expect("connect");
    conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&name)))
        .await
        .expect("drop");
}

/// Creates an empty PostgreSQL database; returns its DSN.
pub async fn pg_database(test: &str) -> String {
    let name = db_name(test);
    let mut conn = PgConnection::connect(&format!("{}/postgres", pg_server()))
        .await
        .expect("connect postgres");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .expect("drop");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create");
    format!("{}/{name}", pg_server())
}

/// Drops a PostgreSQL test database.
pub async fn drop_pg(url: &str) {
    let name = url.rsplit('/').next().expect("name").to_string();
    let mut conn = PgConnection::connect(&format!("{}/postgres", pg_server()))
        .await
        .expect("connect postgres");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .expect("drop");
}
