//! The preflight step refuses with every reason named: a user who may not read the binlog, a
//! database that is not Magento's, an unreachable target, missing tools — and passes on a
//! Magento store whose server is set up for cdc-sync. A refused playbook moves nothing.

mod common;

use common::{ficus, mariadb};
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::{magento_store, mysql_server, pg_database};

/// Runs the playbook text `playbook` from a file in `dir`.
fn run(playbook: &str, dir: &std::path::Path) -> (i32, String) {
    let path = dir.join("p.yaml");
    std::fs::write(&path, playbook).expect("playbook");
    ficus(&["playbook", "run", &path.display().to_string()], &[])
}

fn playbook(
    magento: &str,
    service: &str,
    dir: &std::path::Path,
    bin_dir: &str,
    backfill: bool,
) -> String {
    format!(
        "name: pre\ndomain: catalog\nphase: 1\nsettings:\n  magento: {magento}\n  service_db: {service}\n  \
         work_dir: {}\n  bin_dir: {bin_dir}\nsteps:\n  - preflight: {{}}\n{}",
        dir.join("work").display(),
        if backfill { "  - backfill: {}\n" } else { "" }
    )
}

#[test]
fn preflight_names_every_problem_and_passes_a_ready_store() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let magento = rt.block_on(magento_store("preflight", "small", 5, Edition::Ce));
    let service = rt.block_on(pg_database("preflight_catalog"));
    let dir = std::env::temp_dir().join(format!("ficus-preflight-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = magento.rsplit('/').next().expect("db").to_owned();
    let tools = std::path::Path::new(env!("CARGO_BIN_EXE_ficus"))
        .parent()
        .expect("dir")
        .display()
        .to_string();

    // A user who may read Magento's tables but not the binlog, on an empty database, with an
    // unreachable service database and no tools: every problem is named, nothing runs.
    let user = format!("ficus_pre_{}", std::process::id());
    let empty = format!("{db}_empty");
    mariadb(
        None,
        &format!(
            "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pw';
         CREATE DATABASE IF NOT EXISTS {empty}; GRANT SELECT ON {empty}.* TO '{user}'@'%';"
        ),
    );
    let host = mysql_server();
    let host = host.rsplit('@').next().expect("host");
    let weak = format!("mysql://{user}:pw@{host}/{empty}");
    let (code, out) = run(
        &playbook(
            &weak,
            "postgres://ficus:ficus@127.0.0.1:1/none",
            &dir,
            "/nonexistent",
            true,
        ),
        &dir,
    );
    assert_eq!(code, 1, "{out}");
    for reason in [
        "may not read the binlog: GRANT REPLICATION SLAVE",
        "may not read the binlog position",
        "Magento's table catalog_product_entity is missing",
        "the catalog service's database",
        "/nonexistent/eav-extract is missing",
    ] {
        assert!(out.contains(reason), "{reason:?} not in: {out}");
    }
    assert!(!out.contains(":pw@"), "the password is shown: {out}");
    assert!(
        !out.contains("[2/2]"),
        "the back-fill ran after a refused preflight: {out}"
    );

    // The test store on the test server: binlog ROW/FULL, a user with the replication grants.
    let (code, out) = run(&playbook(&magento, &service, &dir, &tools, false), &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("[1/1] preflight: binlog ROW/FULL"), "{out}");
    mariadb(
        None,
        &format!("DROP USER IF EXISTS '{user}'@'%'; DROP DATABASE IF EXISTS {empty};"),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
