//! The `id-map` binary: streaming bulk mapping, and clear errors with exit codes for bad input.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use ficus_id_map::DEFAULT_NAMESPACE;
use uuid::Uuid;

fn id_map() -> Command {
    Command::new(env!("CARGO_BIN_EXE_id-map"))
}

#[test]
fn bulk_answers_each_line_before_stdin_closes() {
    let mut child = id_map()
        .args(["bulk", "--entity", "customer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    for id in [1u64, 42, 18_446_744_073_709_551_615] {
        writeln!(stdin, "{id}").expect("write");
        stdin.flush().expect("flush");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read");
        let expected = Uuid::new_v5(
            &DEFAULT_NAMESPACE.as_uuid(),
            format!("customer/{id}").as_bytes(),
        );
        assert_eq!(line, format!("{id}\t{expected}\n"));
    }
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

#[test]
fn map_uses_the_given_namespace() {
    let ns = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"; // RFC 9562's DNS namespace
    let out = id_map()
        .args(["map", "sales_order", "1000", "--namespace", ns])
        .output()
        .expect("run");
    assert!(out.status.success());
    let expected = Uuid::new_v5(&Uuid::NAMESPACE_DNS, b"sales_order/1000");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        expected.to_string()
    );
}

#[test]
fn bad_input_is_named_with_exit_code_2() {
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["map", "catalog_product", "-4"],
            "",
            "'-4' is not a legacy id",
        ),
        (
            &["map", "Catalog Product", "4"],
            "",
            "'Catalog Product' is not an entity name",
        ),
        (
            &["map", "customer", "4", "--namespace", "nope"],
            "",
            "'nope' is not a UUID",
        ),
        (
            &["bulk", "--entity", "customer"],
            "1\n2\nx3\n",
            "stdin line 3: 'x3' is not a legacy id",
        ),
        (
            &[
                "sync",
                "--source",
                "mysql://ficus:hunter2@127.0.0.1:1/magento",
                "--target",
                "postgres://ficus:hunter2@127.0.0.1:1/x",
            ],
            "",
            "cannot connect to postgres://ficus:***@127.0.0.1:1/x",
        ),
        (
            &[
                "verify",
                "--source",
                "mysql://ficus:hunter2@127.0.0.1:3306",
                "--target",
                "postgres://x",
            ],
            "",
            "names no database",
        ),
    ];
    for (args, stdin, message) in cases {
        let mut child = id_map()
            .args(*args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("hunter2"), "{args:?}: password leaked: {err}");
    }
}

#[tokio::test]
async fn reverse_finds_synced_ids_and_names_unknown_ones() {
    let magento = ficus_magento_fixture::testing::magento_store(
        "idcli",
        "small",
        7,
        ficus_magento_fixture::Edition::Ce,
    )
    .await;
    let target = ficus_magento_fixture::testing::pg_database("idcli").await;
    let out = id_map()
        .args([
            "sync", "--source", &magento, "--target", &target, "--entity", "customer",
        ])
        .output()
        .expect("sync");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uuid = Uuid::new_v5(&DEFAULT_NAMESPACE.as_uuid(), b"customer/17");
    let out = id_map()
        .args(["reverse", &uuid.to_string(), "--target", &target])
        .output()
        .expect("reverse");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "customer\t17\tmagento\n"
    );
    let unknown = Uuid::new_v5(&DEFAULT_NAMESPACE.as_uuid(), b"customer/99999999");
    let out = id_map()
        .args(["reverse", &unknown.to_string(), "--target", &target])
        .output()
        .expect("reverse");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("no mapping for {unknown}")));
    let out = id_map()
        .args([
            "verify",
            "--source",
            &magento,
            "--target",
            &target,
            "--entity",
            "customer",
            "--entity",
            "sales_order",
        ])
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1), "sales_order was never synced");
    ficus_magento_fixture::testing::drop_pg(&target).await;
    ficus_magento_fixture::testing::drop_magento(&magento).await;
}
