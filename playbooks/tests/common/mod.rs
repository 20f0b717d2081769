//! What the playbooks' tests share: the `ficus` binary run to its end, and the mariadb client.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// Runs `ficus` with `args` and extra environment: its exit code and its output (stdout then
/// stderr).
pub fn ficus(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ficus"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("ficus");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `sql` with the mariadb client as root (in database `db` when given): its output,
/// without column names.
pub fn mariadb(db: Option<&str>, sql: &str) -> String {
    let out = Command::new("mariadb")
        .args(["-N", "-uroot"])
        .args(db)
        .args(["-e", sql])
        .output()
        .expect("mariadb client");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
