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

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_leaves_no_database_behind() {
    let name = db_name("interrupted");
    let dsn = format!("{}/{name}", server());
    let mut child = Command::new(env!("CARGO_BIN_EXE_magento-fixture"))
        .args(["create", "--profile", "medium", "--drop", "--dsn", &dsn])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut c = mysql_async::Conn::new(mysql_async::Opts::from_url(&server()).expect("opts"))
        .await
        .expect("connect");
    // Wait until products are being loaded, then interrupt as an operator's Ctrl-C would.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let q = format!(
            "SELECT table_rows FROM information_schema.tables WHERE table_schema = '{name}' AND table_name = 'catalog_product_entity_varchar'"
        );
        let rows: Option<u64> = c.query_first(q).await.unwrap_or_default();
        if rows.unwrap_or(0) > 0 {
            break;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished before it could be interrupted"
        );
        assert!(std::time::Instant::now() < deadline, "no rows appeared");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted") && err.contains(&name), "{err}");
    let left: Option<u64> = c
        .query_first(format!(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"
        ))
        .await
        .expect("count");
    assert_eq!(left, Some(0), "the partial database was dropped");
}
