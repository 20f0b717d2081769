//! cdc-sync's speed with the built-in binlog source, on a generated store (`BENCH_PROFILE`,
//! default `medium`: 40,000 products in 3 store views and the admin store) back-filled into the
//! catalog service:
//!
//! 1. **throughput**: one transaction rewrites the name and the price of `BENCH_PRODUCTS`
//!    products (default 20,000: 40,000 row events); timed from its commit until the catalog's
//!    checkpoint has passed it, three rounds. Reference, same run: `mariadb-binlog` reading the
//!    same binlog range from the server to /dev/null (reading the events and nothing else).
//! 2. **lag**: a steady `BENCH_RATE` row events/s (default 2,000) for `BENCH_SECONDS` (default
//!    20): every 50 ms a transaction renaming products; each transaction's lag is from its commit
//!    until the checkpoint has passed it (polled every 2 ms), reported as p50, p99 and max.
//!
//! With `BENCH_SOURCE=kafka` the same throughput rounds run through the Kafka source instead:
//! after each transaction's commit its row events are produced into librdkafka's mock cluster
//! (a Kafka-protocol broker in process) as Debezium's MariaDB connector writes them (JSON without
//! schemas, `decimal.handling.mode=string`), and the time is from the first record produced until
//! the catalog's checkpoint has passed the transaction; the lag part is not run. The rounds
//! start once the pipeline has joined its consumer group (a warm-up record applied). With
//! `BENCH_BACKLOG=1` as well the pipeline is stopped while a round's records are produced and
//! started again once they wait in Kafka (a backlog, as after a restart or behind a back-fill):
//! the time is from its start — connecting and joining the consumer group included — until the
//! checkpoint has passed the transaction, and the producer's work is not in it.
//!
//! With `BENCH_WORKLOAD=save` each round's transaction changes eight attributes of each of
//! `BENCH_PRODUCTS` products (default 5,000: 40,000 row events) — name, URL key, layout
//! container, price, status, visibility, tax class and stock status, a row of its own each, as an
//! edit in Magento's admin writes them — instead of the name and the price of 20,000.
//!
//! ```sh
//! cargo bench -p ficus-cdc-sync --bench pipeline
//! BENCH_SOURCE=kafka cargo bench -p ficus-cdc-sync --bench pipeline
//! BENCH_SOURCE=kafka BENCH_WORKLOAD=save cargo bench -p ficus-cdc-sync --bench pipeline
//! BENCH_SOURCE=kafka BENCH_WORKLOAD=save BENCH_BACKLOG=1 cargo bench -p ficus-cdc-sync --bench pipeline
//! ```

use std::time::{Duration, Instant};

use ficus_cdc_sync::pipeline::{self, Options, Targets};
use ficus_eav_extract::{Kind, SinkSpec};
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::testing::*;
use ficus_services::catalog::Catalog;
use mysql_async::prelude::Queryable;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn master(conn: &mut mysql_async::Conn) -> (String, u64) {
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .expect("status")
        .expect("binlog on");
    (row.get(0).expect("file"), row.get(1).expect("pos"))
}

fn position(p: &(String, u64)) -> ficus_services::Position {
    ficus_services::Position::from_binlog(&p.0, p.1).expect("position")
}

async fn reached(targets: &Targets) -> Option<ficus_services::Position> {
    pipeline::resume_point(targets, "binlog")
        .await
        .expect("checkpoint")
        .and_then(|c| c.position())
}

async fn wait_for(targets: &Targets, until: ficus_services::Position) {
    while reached(targets).await.is_none_or(|r| r < until) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The id of product attribute `code`.
async fn attribute_id(pool: &mysql_async::Pool, code: &str) -> u32 {
    let mut c = pool.get_conn().await.expect("conn");
    c.exec_first(
        "SELECT a.attribute_id FROM eav_attribute a JOIN eav_entity_type t USING (entity_type_id)
         WHERE t.entity_type_code = 'catalog_product' AND a.attribute_code = ?",
        (code,),
    )
    .await
    .expect("attribute")
    .expect("exists")
}

/// One attribute a throughput round changes for every product: its value table and id, the
/// SQL expression that gives the new value (of `value`, `entity_id` and the round), and whether
/// Debezium prints it as a JSON number (integers) or a string (text, and decimals in
/// `decimal.handling.mode=string`).
struct Changed {
    table: &'static str,
    attribute: u32,
    set: String,
    number: bool,
}

/// What a round changes: `narrow` (the default) the name and the price; `save` the eight
/// attributes an edit in Magento's admin typically writes at once (name, URL key, layout
/// container, price, status, visibility, tax class, stock status), each a row of its own.
async fn workload(which: &str, round: u64, pool: &mysql_async::Pool) -> Vec<Changed> {
    let attribute = |code: &'static str| attribute_id(pool, code);
    let mut out = vec![
        Changed {
            table: "catalog_product_entity_varchar",
            attribute: attribute("name").await,
            set: format!("CONCAT('Round {round} ', entity_id)"),
            number: false,
        },
        Changed {
            table: "catalog_product_entity_decimal",
            attribute: attribute("price").await,
            set: "value + 1".into(),
            number: false,
        },
    ];
    if which == "save" {
        let more: [(&str, &str, &str, bool); 6] = [
            (
                "catalog_product_entity_varchar",
                "url_key",
                "CONCAT('round-{round}-', entity_id)",
                false,
            ),
            (
                "catalog_product_entity_varchar",
                "options_container",
                "IF(value = 'container1', 'container2', 'container1')",
                false,
            ),
            ("catalog_product_entity_int", "status", "3 - value", true),
            (
                "catalog_product_entity_int",
                "visibility",
                "IF(value = 4, 2, 4)",
                true,
            ),
            (
                "catalog_product_entity_int",
                "tax_class_id",
                "IF(value = 2, 0, 2)",
                true,
            ),
            (
                "catalog_product_entity_int",
                "quantity_and_stock_status",
                "1 - value",
                true,
            ),
        ];
        for (table, code, set, number) in more {
            out.push(Changed {
                table,
                attribute: attribute(code).await,
                set: set.replace("{round}", &round.to_string()),
                number,
            });
        }
    }
    out
}

/// Produces the row events of one throughput round (the changed values of products
/// `1..=products`, as the transaction left them, in the transaction's order: table by table) the
/// way Debezium's MariaDB connector writes them: JSON without schemas, decimals as strings, one
/// topic per table, keyed by `value_id`.
async fn produce(
    producer: &rdkafka::producer::FutureProducer,
    db: &str,
    at: &(String, u64),
    round: u64,
    products: u64,
    changed: &[Changed],
    conn: &mut mysql_async::Conn,
) -> usize {
    let source = |table: &str, row: usize| {
        serde_json::json!({
            "version": "3.2.0.Final", "connector": "mariadb", "name": "m2", "ts_ms": 0,
            "snapshot": "false", "db": db, "table": table, "server_id": 1,
            "file": at.0, "pos": at.1 - 1, "row": row, "thread": null, "query": null
        })
    };
    let mut deliveries = Vec::new();
    for c in changed {
        let rows: Vec<(u64, u64, String)> = conn
            .exec(
                format!(
                    "SELECT value_id, entity_id, CAST(value AS CHAR) FROM {}
                     WHERE attribute_id = ? AND store_id = 0 AND entity_id <= ? ORDER BY entity_id",
                    c.table
                ),
                (c.attribute, products),
            )
            .await
            .expect("rows");
        let topic = format!("m2.{db}.{}", c.table);
        for (value_id, entity, value) in rows {
            let value = if c.number {
                serde_json::json!(value.parse::<i64>().expect("an integer"))
            } else {
                serde_json::json!(value)
            };
            let body = serde_json::json!({
                "before": null,
                "after": {"value_id": value_id, "attribute_id": c.attribute, "store_id": 0, "entity_id": entity, "value": value},
                "source": source(c.table, deliveries.len()),
                "op": "u", "ts_ms": round
            });
            let key = format!("{{\"value_id\":{value_id}}}");
            let payload = body.to_string();
            let record = rdkafka::producer::FutureRecord::to(&topic)
                .key(&key)
                .payload(&payload);
            deliveries.push(
                producer
                    .send_result(record)
                    .map_err(|(e, _)| e)
                    .expect("enqueue"),
            );
        }
    }
    let n = deliveries.len();
    for d in deliveries {
        d.await
            .expect("delivery")
            .map_err(|(e, _)| e)
            .expect("delivered");
    }
    n
}

/// Counts a batch into [entities read, skipped, batches, batches that read, their µs].
fn tally(counts: &[std::sync::atomic::AtomicU64; 5], a: &pipeline::Applied) {
    use std::sync::atomic::Ordering::Relaxed;
    counts[0].fetch_add(a.entities, Relaxed);
    counts[1].fetch_add(a.skipped, Relaxed);
    counts[2].fetch_add(1, Relaxed);
    if a.entities > 0 {
        counts[3].fetch_add(1, Relaxed);
        counts[4].fetch_add((a.apply_seconds * 1e6) as u64, Relaxed);
    }
}

#[tokio::main]
async fn main() {
    let profile = std::env::var("BENCH_PROFILE").unwrap_or_else(|_| "medium".into());
    let save = std::env::var("BENCH_WORKLOAD").is_ok_and(|w| w == "save");
    // 40,000 row events a round either way.
    let products = env("BENCH_PRODUCTS", if save { 5_000 } else { 20_000 });
    let rate = env("BENCH_RATE", 2_000);
    let seconds = env("BENCH_SECONDS", 20);
    let t = Instant::now();
    let magento = magento_store("benchcdc", &profile, 42, ficus_magento_fixture::Edition::Ce).await;
    eprintln!(
        "store {profile} generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let target = pg_database("benchcdc").await;
    let catalog = Catalog::connect(&target).await.expect("catalog");
    catalog.migrate().await.expect("migrate");
    let out = std::env::temp_dir().join(format!("ficus-benchcdc-{}.jsonl", std::process::id()));
    let options = ficus_eav_extract::Options {
        admin: true,
        kinds: vec![Kind::Product, Kind::Category],
        ..ficus_eav_extract::Options::new(
            MagentoDsn::parse(&magento).expect("dsn"),
            SinkSpec::Jsonl(out.clone()),
        )
    };
    let summary = ficus_eav_extract::extract(&options, |_| {}, std::future::pending())
        .await
        .expect("extract");
    let snap = summary.position.expect("binlog on");
    let at = ficus_services::Position::from_binlog(&snap.file, snap.position).expect("position");
    let text = std::fs::read_to_string(&out).expect("documents");
    let (mut products_docs, mut categories) = (Vec::new(), Vec::new());
    for line in text.lines() {
        match ficus_services::load::Kind::of(line) {
            Some(ficus_services::load::Kind::Product) => products_docs.push(line.to_string()),
            _ => categories.push(line.to_string()),
        }
    }
    for piece in products_docs.chunks(256) {
        catalog.upsert_products(piece, at).await.expect("back-fill");
    }
    for c in &categories {
        catalog.upsert_category(c, at).await.expect("back-fill");
    }
    catalog.vacuum().await.expect("vacuum");
    eprintln!(
        "back-filled {} documents in {:.1} s",
        text.lines().count(),
        t.elapsed().as_secs_f64()
    );

    let targets = Targets {
        catalog: Some(catalog),
        ..Targets::default()
    };
    let options = Options {
        source: MagentoDsn::parse(&magento).expect("dsn"),
        server_id: 60_000 + std::process::id() % 5_000,
        name: "binlog".into(),
        start: Some(ficus_cdc_sync::binlog::Position {
            file: snap.file.clone(),
            pos: snap.position,
        }),
        start_gtid: None,
        namespace: ficus_id_map::DEFAULT_NAMESPACE,
        admin: true,
        batch_entities: env("BENCH_BATCH", 500) as usize,
        max_wait: Duration::from_millis(50),
        lanes: env("BENCH_LANES", 2) as usize,
    };
    let kafka = std::env::var("BENCH_SOURCE").is_ok_and(|s| s == "kafka");
    let backlog = kafka && std::env::var("BENCH_BACKLOG").is_ok_and(|b| b == "1");
    let db = magento.rsplit('/').next().expect("db").to_owned();
    let cluster = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
    let brokers = cluster.bootstrap_servers();
    let run_targets = targets.clone();
    // Row events the Kafka source has applied so far (a round is done when all of its are: every
    // record of a round carries the transaction's position, so the checkpoint alone passes it
    // with the first batch).
    let changes_applied = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let changes_seen = changes_applied.clone();
    // When the first batch since the pipeline's start began to be applied.
    let first_batch = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    // Entities read again and written, entities skipped (already held past their changes),
    // batches, batches that read entities, and the time spent applying those (µs).
    let entity_counts = std::sync::Arc::new(std::array::from_fn::<_, 5, _>(|_| {
        std::sync::atomic::AtomicU64::new(0)
    }));
    let entity_counts_seen = entity_counts.clone();
    let kafka_options = ficus_cdc_sync::kafka::KafkaOptions {
        brokers: brokers.clone(),
        group: "ficus-bench".into(),
        topics: format!("^m2\\.{db}\\..*"),
        dead_letter_topic: "m2.dlq".into(),
        format: ficus_cdc_sync::debezium::Format {
            schemas: false,
            decimal_strings: true,
        },
    };
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    if kafka {
        // The table topics exist before the consumer subscribes (as Debezium's would): a
        // tombstone in each, which the consumer skips.
        for table in [
            "catalog_product_entity_varchar",
            "catalog_product_entity_decimal",
            "catalog_product_entity_int",
        ] {
            producer
                .send(
                    rdkafka::producer::FutureRecord::<str, [u8]>::to(&format!("m2.{db}.{table}"))
                        .key("{}"),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(e, _)| e)
                .expect("create the topic");
        }
    }
    let start = || {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (options, targets, kafka_options) =
            (options.clone(), run_targets.clone(), kafka_options.clone());
        let (changes_seen, entity_counts_seen) = (changes_seen.clone(), entity_counts_seen.clone());
        let first_batch = first_batch.clone();
        *first_batch.lock().expect("first batch") = None;
        let running = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            if kafka {
                let count = |a: &pipeline::Applied| {
                    changes_seen.fetch_add(a.changes, std::sync::atomic::Ordering::Relaxed);
                    first_batch
                        .lock()
                        .expect("first batch")
                        .get_or_insert_with(|| {
                            Instant::now() - Duration::from_secs_f64(a.apply_seconds)
                        });
                    tally(&entity_counts_seen, a);
                };
                pipeline::run_kafka(&options, kafka_options, &targets, count, stopped).await
            } else {
                let count = |a: &pipeline::Applied| {
                    tally(&entity_counts_seen, a);
                };
                pipeline::run(&options, &targets, count, stopped).await
            }
        });
        (stop, running)
    };
    // With a backlog the pipeline is stopped while a round's records are produced.
    let mut running = (!backlog).then(start);

    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    let name = attribute_id(&pool, "name").await;
    let which = std::env::var("BENCH_WORKLOAD").unwrap_or_else(|_| "narrow".into());
    let columns = workload(&which, 0, &pool).await.len() as u64;
    if !kafka {
        wait_for(&targets, position(&master(&mut conn).await)).await;
    }
    // Live, the rounds start once the pipeline has joined its consumer group and applies (as a
    // running pipeline does), so round 1 does not wait out the group's first rebalance: product
    // 1's current values are produced once and waited for.
    let mut warm_up = 0;
    if kafka && !backlog {
        let joining = Instant::now();
        let at = master(&mut conn).await;
        let current = workload(&which, 0, &pool).await;
        warm_up = produce(&producer, &db, &at, 0, 1, &current, &mut conn).await as u64;
        while changes_applied.load(std::sync::atomic::Ordering::Relaxed) < warm_up {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        eprintln!(
            "consumer group joined: a warm-up record applied {:.2} s after the start",
            joining.elapsed().as_secs_f64()
        );
    }

    println!(
        "cdc-sync, {} source, profile {profile}, {} cores",
        if kafka {
            "Kafka (mock cluster)"
        } else {
            "binlog"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "throughput ({which} workload): one transaction of {} row events ({products} products × {columns} attributes)",
        columns * products
    );
    for round in 1..=3 {
        let counted = entity_counts
            .each_ref()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        let before = master(&mut conn).await;
        let changed = workload(&which, round, &pool).await;
        conn.query_drop("START TRANSACTION").await.expect("begin");
        for c in &changed {
            conn.exec_drop(
                format!(
                    "UPDATE {} SET value = {} WHERE attribute_id = ? AND store_id = 0 AND entity_id <= ?",
                    c.table, c.set
                ),
                (c.attribute, products),
            )
            .await
            .expect("update");
        }
        conn.query_drop("COMMIT").await.expect("commit");
        let mut committed = Instant::now();
        let after = master(&mut conn).await;
        if kafka {
            // Debezium's part: the transaction's row events, produced after its commit.
            committed = Instant::now();
            let produced =
                produce(&producer, &db, &after, round, products, &changed, &mut conn).await;
            eprintln!(
                "  round {round}: {produced} records produced in {:.2} s",
                committed.elapsed().as_secs_f64()
            );
            if backlog {
                // The records wait in Kafka; the time is from the pipeline's start (connecting,
                // joining the consumer group included).
                committed = Instant::now();
                running = Some(start());
            }
        }
        if kafka {
            let want = warm_up + round * columns * products;
            // librdkafka's mock cluster keeps at most 5 MB (and 100,000 message sets) per
            // partition and drops the oldest beyond that: records a round produces past it are
            // gone before the pipeline reads them, and the count never arrives.
            let (mut seen, mut moved) = (0, Instant::now());
            loop {
                let now = changes_applied.load(std::sync::atomic::Ordering::Relaxed);
                if now >= want {
                    break;
                }
                if now != seen {
                    (seen, moved) = (now, Instant::now());
                }
                assert!(
                    moved.elapsed() < Duration::from_secs(60),
                    "{} of this round's {} records not applied after 60 s without progress: most \
                     likely past the mock cluster's 5 MB per partition, which drops the oldest \
                     records (use fewer BENCH_PRODUCTS)",
                    want - now,
                    columns * products
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        wait_for(&targets, position(&after)).await;
        let applied = committed.elapsed().as_secs_f64();
        if backlog && let Some(first) = *first_batch.lock().expect("first batch") {
            let from_first = first.elapsed().as_secs_f64();
            println!(
                "  round {round}: from the start of the first batch's apply ({:.2} s after the pipeline's start): {from_first:.2} s = {:.0} row events/s",
                applied - from_first,
                (columns * products) as f64 / from_first
            );
        }
        if backlog && let Some((stop, task)) = running.take() {
            stop.send(()).expect("stop");
            task.await.expect("task").expect("pipeline");
        }
        // Reference: the same events read from the server by mariadb-binlog, to /dev/null.
        let url = mysql_async::Opts::from_url(&magento).expect("opts");
        let started = Instant::now();
        let status = std::process::Command::new("mariadb-binlog")
            .args([
                "--read-from-remote-server",
                &format!("--host={}", url.ip_or_hostname()),
                &format!("--port={}", url.tcp_port()),
                &format!("--user={}", url.user().unwrap_or("root")),
                &format!("--password={}", url.pass().unwrap_or("")),
                &format!("--start-position={}", before.1),
                &format!("--stop-position={}", after.1),
                "--base64-output=decode-rows",
                "--verbose",
                &before.0,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("mariadb-binlog");
        let reference = started.elapsed().as_secs_f64();
        let events = (columns * products) as f64;
        println!(
            "  round {round}: applied in {applied:.2} s = {:.0} row events/s ({:.0} products/s); mariadb-binlog -v read them in {reference:.2} s ({}); ratio {:.2}",
            events / applied,
            products as f64 / applied,
            if status.success() { "ok" } else { "failed" },
            applied / reference
        );
        let [read, skipped, batches, reading, micros] = entity_counts
            .each_ref()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        println!(
            "  round {round}: {} entities read again and written, {} skipped (already held past their changes); {} batches, {} of them reading entities, in {:.2} s",
            read - counted[0],
            skipped - counted[1],
            batches - counted[2],
            reading - counted[3],
            (micros - counted[4]) as f64 / 1e6
        );
    }

    // The lag part runs with the binlog source only.
    if !kafka {
        println!("lag: {rate} row events/s for {seconds} s, a transaction every 50 ms");
        let per_tx = (rate / 20).max(1);
        let (tx, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(ficus_services::Position, Instant)>();
        let poll_targets = targets.clone();
        let poller = tokio::spawn(async move {
            let mut lags = Vec::new();
            let mut pending: std::collections::VecDeque<(ficus_services::Position, Instant)> =
                Default::default();
            let mut open = true;
            loop {
                while let Ok(p) = rx.try_recv() {
                    pending.push_back(p);
                }
                if !open && pending.is_empty() {
                    return lags;
                }
                let now = reached(&poll_targets).await;
                let seen = Instant::now();
                while let Some((pos, at)) = pending.front() {
                    if now.is_some_and(|r| r >= *pos) {
                        lags.push(seen.duration_since(*at).as_secs_f64());
                        pending.pop_front();
                    } else {
                        break;
                    }
                }
                if rx.is_closed() && open {
                    open = false;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let start = Instant::now();
        let mut n = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while start.elapsed() < Duration::from_secs(seconds) {
            tick.tick().await;
            let first = 1 + (n * per_tx) % products;
            conn.exec_drop(
            "UPDATE catalog_product_entity_varchar SET value = CONCAT('Steady ', ?, ' ', entity_id)
             WHERE attribute_id = ? AND store_id = 0 AND entity_id BETWEEN ? AND ?",
            (n, name, first, first + per_tx - 1),
        )
        .await
        .expect("steady");
            let committed = Instant::now();
            let after = master(&mut conn).await;
            tx.send((position(&after), committed)).expect("poller");
            n += 1;
        }
        let writing = start.elapsed().as_secs_f64();
        drop(tx);
        let mut lags = poller.await.expect("poller");
        lags.sort_by(|a, b| a.total_cmp(b));
        let q = |f: f64| lags[((lags.len() as f64 * f) as usize).min(lags.len() - 1)] * 1000.0;
        println!(
            "  {n} transactions ({:.0} row events/s): lag p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            (n * per_tx) as f64 / writing,
            q(0.5),
            q(0.99),
            q(1.0)
        );
    }

    if let Some((stop, task)) = running.take() {
        stop.send(()).expect("stop");
        task.await.expect("task").expect("pipeline");
    }
    drop(conn);
    pool.disconnect().await.expect("disconnect");
    drop(targets);
    if std::env::var("BENCH_KEEP").is_ok() {
        println!("kept: {target} and {magento}");
    } else {
        drop_pg(&target).await;
        drop_magento(&magento).await;
    }
    for suffix in ["", ".manifest.json", ".checkpoint.json"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", out.display()));
    }
}
