//! The CLI on bad input: clear one-line errors, masked passwords, exit code 2, nothing touched.

mod common;

use std::process::Command;

use common::*;
use mysql_async::prelude::Queryable;

fn fixture(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_magento-fixture"))
        .args(args)
        .env_remove("FICUS_MAGENTO_DSN")
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn unknown_profile_lists_the_profiles() {
    let (code, _, err) = fixture(&[
        "create",
        "--dsn",
        "mysql://u:p@127.0.0.1:1/x",
        "--profile",
        "huge",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("unknown profile 'huge'") && err.contains("small, multistore, medium, large"),
        "{err}"
    );
}

#[test]
fn unreachable_server_is_one_line_with_the_password_masked() {
    let (code, _, err) = fixture(&[
        "create",
        "--dsn",
        "mysql://ficus:sekret@127.0.0.1:1/magento",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("mysql://ficus:***@127.0.0.1:1/magento"),
        "{err}"
    );
    assert!(!err.contains("sekret"), "{err}");
}

#[test]
fn a_dsn_without_a_database_is_refused() {
    let (code, _, err) = fixture(&["create", "--dsn", "mysql://ficus:pw@127.0.0.1:3306"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("names no database") && !err.contains(":pw@"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_with_tables_is_refused_without_drop() {
    let name = db_name("notempty");
    let mut c = mysql_async::Conn::new(mysql_async::Opts::from_url(&server()).expect("opts"))
        .await
        .expect("connect");
    c.query_drop(format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .expect("drop");
    c.query_drop(format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    c.query_drop(format!("CREATE TABLE {name}.precious (id int primary key)"))
        .await
        .expect("table");
    c.query_drop(format!("INSERT INTO {name}.precious VALUES (1), (2)"))
        .await
        .expect("rows");
    let dsn = format!("{}/{name}", server());

    let (code, _, err) = fixture(&["create", "--dsn", &dsn]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("already has 1 tables") && err.contains("precious") && err.contains("--drop"),
        "{err}"
    );
    let kept: Option<u64> = c
        .query_first(format!("SELECT COUNT(*) FROM {name}.precious"))
        .await
        .expect("count");
    assert_eq!(kept, Some(2), "the refused run left the data alone");

    let (code, out, err) = fixture(&["create", "--dsn", &dsn, "--drop"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("products") && out.contains("1200"), "{out}");
    let gone: Option<u64> = c.query_first(format!("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{name}' AND table_name = 'precious'")).await.expect("count");
    assert_eq!(gone, Some(0));
    c.query_drop(format!("DROP DATABASE {name}"))
        .await
        .expect("cleanup");
}
