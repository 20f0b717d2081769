//! The `cdc-sync` binary's refusals: bad settings are named with exit code 2; a Magento it
//! cannot log in to, or a binlog position the server no longer has, end the run with exit code 1
//! and a message naming them (password masked); `status` says where each service stands.

use std::process::Command;

use ficus_magento_fixture::testing::*;

fn run(args: &[&str], config: &str) -> (Option<i32>, String, String) {
    let dir = std::env::temp_dir().join(format!("ficus-cdccli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("c{}.toml", config.len()));
    std::fs::write(&path, config).expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_cdc-sync"))
        .arg("--config")
        .arg(&path)
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn bad_settings_and_unreachable_sources_are_named() {
    let target = pg_database("cdccli").await;
    let magento = magento_store("cdccli", "small", 1, ficus_magento_fixture::Edition::Ce).await;
    let (code, _, err) = run(&["run"], "[source]\nmagento = \"mysql://h/m\"\nwat = 1\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("unknown field `wat`") && err.contains(".toml"),
        "{err}"
    );
    let (code, _, err) = run(&["run"], "[source]\nmagento = \"mysql://h/m\"\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no target"), "{err}");

    // A wrong password: refused at once (no retrying an operator's mistake), masked.
    let wrong = magento.replace("ficus:ficus@", "ficus:hunter2@");
    let config = format!(
        "listen = \"127.0.0.1:0\"\n[source]\nmagento = \"{wrong}\"\nstart = \"mariadb-bin.000001:4\"\n[targets]\norder = \"{target}\"\n"
    );
    let (code, _, err) = run(&["run"], &config);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("***") && !err.contains("hunter2"), "{err}");

    // A binlog file the server does not have.
    let config = format!(
        "listen = \"127.0.0.1:0\"\n[source]\nmagento = \"{magento}\"\nstart = \"no-such-bin.000099:4\"\n[targets]\norder = \"{target}\"\n"
    );
    let (code, _, err) = run(&["run"], &config);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no binlog at no-such-bin.000099:4") && err.contains("back-fill again"),
        "{err}"
    );

    // Status before anything ran.
    let (code, out, err) = run(&["status"], &config);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("order") && out.contains("no checkpoint yet"),
        "{out}"
    );
    assert!(
        out.lines().next().is_some_and(|l| l.starts_with("binlog ")),
        "{out}"
    );
    drop_pg(&target).await;
    drop_magento(&magento).await;
}
