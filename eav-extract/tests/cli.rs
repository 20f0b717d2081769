//! The `eav-extract` binary's answers to bad input: one clear line, exit code 2, no output left.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eav-extract"))
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_is_named() {
    let server = std::env::var("FICUS_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://ficus:ficus@127.0.0.1:3306".into());
    let dir = std::env::temp_dir().join(format!("ficus_x_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("o.jsonl");
    let out = out.to_str().expect("path");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--source".into(),
                "mysql://ficus:hunter2@127.0.0.1:1/magento".into(),
            ],
            "cannot connect to mysql://ficus:***@127.0.0.1:1/magento",
        ),
        (
            vec!["--source".into(), format!("{server}/mysql")],
            "is not a Magento 2 database: missing table(s) eav_entity_type",
        ),
        (
            vec![
                "--source".into(),
                format!("{server}/mysql"),
                "--entity".into(),
                "invoice".into(),
            ],
            "unknown entity 'invoice'",
        ),
    ];
    for (args, message) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .chain(if args.iter().any(|a| a == "--output") {
                vec![]
            } else {
                vec!["--output", out]
            })
            .collect();
        let (code, err) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("hunter2"));
    }
    assert!(!std::path::Path::new(out).exists());
    std::fs::remove_dir_all(&dir).ok();
}
