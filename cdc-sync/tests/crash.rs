//! Crash safety of the `cdc-sync` binary on the real MariaDB and PostgreSQL: while a workload
//! keeps writing to Magento, cdc-sync is killed with SIGKILL at random moments and started again
//! from its settings file, and once the services' PostgreSQL server (a cluster of the test's own)
//! is restarted under it — stopped, so every connection ends and new ones are refused, then
//! started again; after the workload it catches up and every document equals a fresh
//! back-fill's — nothing lost, nothing applied twice in effect. It then stops cleanly on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use mysql_async::prelude::Queryable;

/// A small deterministic generator (seeded from the process id, printed on failure).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn start(binary: &str, config: &std::path::Path) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(binary)
        .args(["--config", config.to_str().expect("utf-8"), "run"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cdc-sync");
    // Keep reading its stderr so it never blocks on a full pipe.
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[cdc-sync] {line}");
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// A plain HTTP/1.1 GET: the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read");
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// One random Magento write (a transaction) among products, customers and orders.
async fn write(conn: &mut mysql_async::Conn, rng: &mut Rng, round: u64, attrs: (u32, u32)) {
    let (name, price) = attrs;
    let product = 1 + rng.below(300) as u32;
    match rng.below(6) {
        0 => {
            conn.exec_drop(
                "UPDATE catalog_product_entity_varchar SET value = ? WHERE attribute_id = ? AND entity_id = ? AND store_id = 0",
                (format!("Round {round}"), name, product),
            )
            .await
            .expect("name");
        }
        1 => {
            conn.query_drop("START TRANSACTION").await.expect("begin");
            conn.exec_drop(
                "INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value)
                 VALUES (?, 1, ?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)",
                (name, product, format!("View {round}")),
            )
            .await
            .expect("override");
            conn.exec_drop(
                "UPDATE catalog_product_entity_decimal SET value = ? WHERE attribute_id = ? AND entity_id = ? AND store_id = 0",
                (format!("{}.{:02}", 10 + round, round % 100), price, product),
            )
            .await
            .expect("price");
            conn.query_drop("COMMIT").await.expect("commit");
        }
        2 => {
            conn.exec_drop(
                "DELETE FROM catalog_product_entity_varchar WHERE attribute_id = ? AND entity_id = ? AND store_id = 1",
                (name, product),
            )
            .await
            .expect("revert");
        }
        3 => {
            conn.exec_drop(
                "UPDATE customer_entity SET lastname = ? WHERE entity_id = ?",
                (format!("Crash{round}"), 1 + rng.below(200)),
            )
            .await
            .expect("customer");
        }
        4 => {
            conn.exec_drop(
                "INSERT INTO sales_order_status_history (parent_id, is_customer_notified, is_visible_on_front, comment, status, created_at, entity_name)
                 VALUES (?, 0, 0, ?, 'processing', '2026-12-01 12:00:00', 'order')",
                (1 + rng.below(80), format!("Note {round}")),
            )
            .await
            .expect("history");
        }
        _ => {
            conn.exec_drop(
                "UPDATE sales_order SET status = ?, updated_at = '2026-12-01 12:00:00' WHERE entity_id = ?",
                (if round.is_multiple_of(2) { "holded" } else { "processing" }, 1 + rng.below(80)),
            )
            .await
            .expect("order");
        }
    }
}

#[tokio::test]
async fn killed_at_random_moments_it_loses_nothing_and_repeats_nothing() {
    let seed = std::process::id() as u64;
    let magento = magento_store("cdccrash", "small", 9, Edition::Ce).await;
    let out = std::env::temp_dir().join(format!("ficus-cdccrash-{seed}.jsonl"));
    // The synced services live on a PostgreSQL server the test may restart.
    let server = PrivatePostgres::start("cdccrash");
    let synced = Services::new_on(&server.url(), "cdccrash").await;
    let from = synced.backfill(&magento, &out).await;
    let dir = std::env::temp_dir().join(format!("ficus-cdccrash-{seed}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("cdc-sync.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[source]\nmagento = \"{magento}\"\nserver_id = {}\nstart = \"{}:{}\"\n\
             [targets]\ncatalog = \"{}\"\ncustomer = \"{}\"\norder = \"{}\"\n[batch]\nentities = 20\nmax_wait_ms = 20\n",
            30_000 + seed % 30_000,
            from.file,
            from.pos,
            synced.dsns[0],
            synced.dsns[1],
            synced.dsns[2],
        ),
    )
    .expect("config");
    let binary = env!("CARGO_BIN_EXE_cdc-sync");

    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    let attrs = (
        attribute(&mut conn, "catalog_product", "name").await,
        attribute(&mut conn, "catalog_product", "price").await,
    );
    let mut rng = Rng(seed);
    let (mut cdc, _) = start(binary, &config);
    let mut round = 0;
    for kill in 0..6 {
        // Write for a random while, cdc-sync reading along; then kill it mid-stream.
        for _ in 0..(20 + rng.below(60)) {
            round += 1;
            write(&mut conn, &mut rng, round, attrs).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(150))).await;
        if kill == 3 {
            // The services' PostgreSQL server restarts: stopped (every connection of cdc-sync's
            // ends; new ones are refused while Magento keeps writing), then started again.
            server.ctl("stop");
            for _ in 0..20 {
                round += 1;
                write(&mut conn, &mut rng, round, attrs).await;
            }
            tokio::time::sleep(Duration::from_millis(800)).await;
            assert!(
                cdc.try_wait().expect("wait").is_none(),
                "seed {seed}: cdc-sync waits while PostgreSQL is down"
            );
            server.ctl("start");
            continue;
        }
        cdc.kill().expect("SIGKILL");
        cdc.wait().expect("reaped");
        cdc = start(binary, &config).0;
    }
    // The last start: its operations endpoints.
    cdc.kill().expect("SIGKILL");
    cdc.wait().expect("reaped");
    let (started, lines) = start(binary, &config);
    cdc = started;
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("cdc-sync says where it listens");
        if let Some(a) = line.strip_prefix("cdc-sync: listening on ") {
            break a.to_string();
        }
    };
    for _ in 0..20 {
        round += 1;
        write(&mut conn, &mut rng, round, attrs).await;
    }
    let until = master(&mut conn).await;
    caught_up(&synced.targets, &until, async || match cdc.try_wait() {
        Ok(None) => Ok(()),
        other => Err(format!("seed {seed}: exited {other:?}")),
    })
    .await;
    assert_eq!(http_get(&addr, "/healthz"), "ok\n");
    let metrics = http_get(&addr, "/metrics");
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
            .parse()
            .expect("a number")
    };
    assert!(value("ficus_cdc_batches_total") >= 1.0, "{metrics}");
    assert!(value("ficus_cdc_checkpoint_offset") > 0.0, "{metrics}");
    assert!(value("ficus_cdc_lag_seconds") >= 0.0, "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ficus_cdc_table_changes_total{table=\"")),
        "changes by table: {metrics}"
    );
    let fresh = Services::new("cdccrash_fresh").await;
    fresh.backfill(&magento, &out).await;
    let (got, want) = (synced.documents().await, fresh.documents().await);
    let only_synced: Vec<_> = got.difference(&want).take(2).collect();
    let only_fresh: Vec<_> = want.difference(&got).take(2).collect();
    assert!(
        only_synced.is_empty() && only_fresh.is_empty(),
        "seed {seed}, {round} writes: synced but not fresh: {only_synced:#?}\nfresh but not synced: {only_fresh:#?}"
    );

    // SIGTERM: a clean stop.
    let pid = cdc.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    assert!(
        cdc.wait().expect("wait").success(),
        "a clean exit on SIGTERM"
    );

    drop(conn);
    pool.disconnect().await.expect("disconnect");
    drop(synced);
    drop(server);
    fresh.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&out);
    drop_magento(&magento).await;
}
