//! The Debezium source end to end: a workload on the `small` store is read from the binlog the
//! way Debezium's MariaDB connector emits it — JSON without schemas, `<prefix>.<db>.<table>`
//! topics keyed by the primary key, a tombstone after each delete, decimals as base64, dates as
//! days, DATETIME as epoch ms, TIMESTAMP as UTC strings — and produced into librdkafka's mock
//! cluster (a real Kafka-protocol broker in process), with a malformed record among them.
//! cdc-sync's Kafka consumer then brings the services to what a fresh back-fill holds, and the
//! malformed record lands on the dead-letter topic, named.

mod common;

use std::time::Duration;

use common::*;
use ficus_cdc_sync::binlog::{BinlogSource, Event};
use ficus_cdc_sync::debezium::Format;
use ficus_cdc_sync::kafka::{KafkaOptions, KafkaSourceError};
use ficus_cdc_sync::pipeline::{self, Options, PipelineError};
use ficus_cdc_sync::{Catalog, Change, ColumnType, Value};
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use mysql_async::prelude::Queryable;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Java's `BigInteger.toByteArray`: minimal big-endian two's complement.
fn twos_complement(v: i128) -> Vec<u8> {
    let all = v.to_be_bytes();
    let fill = if v < 0 { 0xff } else { 0 };
    let mut start = 0;
    while start < 15 && all[start] == fill && (all[start + 1] & 0x80 != 0) == (v < 0) {
        start += 1;
    }
    all[start..].to_vec()
}

/// A value as Debezium's JSON converter writes it (schemas off, the connector's defaults).
fn debezium_value(v: &Value, t: Option<&ColumnType>) -> serde_json::Value {
    use serde_json::json;
    match (v, t) {
        (Value::Null, _) => json!(null),
        (Value::Decimal(d), Some(ColumnType::Decimal { scale })) => {
            let d = d.rescale(*scale).expect("scale");
            json!(base64(&twos_complement(d.unscaled)))
        }
        (Value::DateTime { micros, .. }, Some(ColumnType::Timestamp { .. })) => {
            let t = chrono::DateTime::from_timestamp_micros(*micros).expect("time");
            json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        (Value::DateTime { micros, .. }, Some(ColumnType::DateTime { precision }))
            if *precision <= 3 =>
        {
            json!(micros / 1000)
        }
        (Value::DateTime { micros, .. }, _) => json!(micros),
        (Value::Date(days), _) => json!(days),
        (Value::Int(i), _) => json!(i),
        (Value::UInt(u), _) => json!(u),
        (Value::Float(f), _) => json!(f),
        (Value::Text(s), _) => json!(s),
        (Value::Bytes(b), _) => json!(base64(b)),
        (Value::Time(us), _) => json!(us),
        (Value::Year(y), _) => json!(y),
        (Value::Bits(b), _) => json!(base64(&b.to_le_bytes())),
        (Value::Decimal(d), _) => json!(d.to_string()),
    }
}

fn envelope(c: &Change, catalog: &Catalog) -> serde_json::Value {
    let row = |r: &Option<ficus_cdc_sync::Row>| match r {
        None => serde_json::Value::Null,
        Some(r) => serde_json::Value::Object(
            r.iter()
                .map(|(n, v)| {
                    let t = catalog.column(&c.source.db, &c.source.table, n);
                    (n.clone(), debezium_value(v, t))
                })
                .collect(),
        ),
    };
    serde_json::json!({
        "before": row(&c.before),
        "after": row(&c.after),
        "source": {
            "version": "3.2.0.Final", "connector": "mariadb", "name": "m2",
            "ts_ms": c.source.ts_ms, "snapshot": "false", "db": c.source.db,
            "sequence": null, "table": c.source.table, "server_id": c.source.server_id,
            "gtid": c.source.gtid, "file": c.source.file, "pos": c.source.pos,
            "row": c.source.row, "thread": null, "query": null
        },
        "transaction": null,
        "op": c.op.code(),
        "ts_ms": c.source.ts_ms + 300
    })
}

/// The `small` store (seed 6) as `name`, back-filled into its services: the store's URL, the
/// extract's file, the services, the back-fill's position and the store's database name.
async fn backfilled(
    name: &str,
) -> (
    String,
    std::path::PathBuf,
    Services,
    ficus_cdc_sync::binlog::Position,
    String,
) {
    let magento = magento_store(name, "small", 6, Edition::Ce).await;
    let out = std::env::temp_dir().join(format!("ficus-{name}-{}.jsonl", std::process::id()));
    let synced = Services::new(name).await;
    let from = synced.backfill(&magento, &out).await;
    let db = magento.rsplit('/').next().expect("db").to_string();
    (magento, out, synced, from, db)
}

/// The consumer's settings: Debezium's JSON without schemas, decimals as base64, the store's
/// table topics of prefix `m2`.
fn kafka_options(brokers: &str, db: &str, group: &str) -> KafkaOptions {
    KafkaOptions {
        brokers: brokers.into(),
        group: group.into(),
        topics: format!("^m2\\.{db}\\..*"),
        dead_letter_topic: "m2.dlq".into(),
        format: Format {
            schemas: false,
            decimal_strings: false,
        },
    }
}

#[tokio::test]
async fn debezium_events_on_kafka_reach_the_services() {
    let (magento, out, synced, from, db) = backfilled("cdckafka").await;

    // The workload.
    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    let name = attribute(&mut conn, "catalog_product", "name").await;
    let price = attribute(&mut conn, "catalog_product", "price").await;
    conn.query_drop("START TRANSACTION").await.expect("begin");
    conn.exec_drop(
        "UPDATE catalog_product_entity_varchar SET value = CONCAT('Kafka ', entity_id) WHERE attribute_id = ? AND store_id = 0 AND entity_id <= 40",
        (name,),
    )
    .await
    .expect("names");
    conn.exec_drop(
        "UPDATE catalog_product_entity_decimal SET value = value + 0.5 WHERE attribute_id = ? AND store_id = 0 AND entity_id <= 20",
        (price,),
    )
    .await
    .expect("prices");
    conn.query_drop("COMMIT").await.expect("commit");
    conn.exec_drop(
        "INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value) VALUES (?, 1, 7, 'Kafka store view')",
        (name,),
    )
    .await
    .expect("override");
    conn.query_drop("DELETE FROM catalog_product_entity WHERE entity_id = 11")
        .await
        .expect("delete");
    conn.query_drop("UPDATE customer_entity SET firstname = 'Kafka' WHERE entity_id <= 3")
        .await
        .expect("customers");
    conn.query_drop(
        "UPDATE sales_order SET status = 'holded', updated_at = '2026-12-01 13:00:00' WHERE entity_id IN (1, 2)",
    )
    .await
    .expect("orders");
    // A price whose only event will reach Kafka with an undecodable decimal.
    conn.exec_drop(
        "UPDATE catalog_product_entity_decimal SET value = 777.25 WHERE attribute_id = ? AND store_id = 0 AND entity_id = 30",
        (price,),
    )
    .await
    .expect("poisoned price");
    let until = master(&mut conn).await;

    // Debezium's part: the binlog's changes as its events, into the mock cluster.
    let catalog = {
        let mut c = pool.get_conn().await.expect("conn");
        Catalog::load(&mut c, &db).await.expect("catalog")
    };
    let cluster = MockCluster::new(1).expect("mock cluster");
    let brokers = cluster.bootstrap_servers();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("producer");
    let dsn = MagentoDsn::parse(&magento).expect("dsn");
    let start = ficus_cdc_sync::binlog::Position {
        file: from.file.clone(),
        pos: from.pos,
    };
    let mut connector = BinlogSource::open(
        &dsn,
        40_000 + std::process::id() % 20_000,
        &start,
        catalog.clone(),
    )
    .await
    .expect("binlog");
    let mut produced = 0;
    let mut topics = std::collections::BTreeSet::new();
    let mut poisoned = false;
    let mut corrupted = 0;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), connector.next())
            .await
            .expect("the binlog")
            .expect("an event");
        let change = match event {
            Event::Change(c) if c.source.db == db => c,
            Event::Commit { next, .. } | Event::Idle { next } => {
                if (next.file.as_str(), next.pos) >= (until.0.as_str(), until.1) {
                    break;
                }
                continue;
            }
            Event::Change(_) => continue,
        };
        let topic = format!("m2.{db}.{}", change.source.table);
        topics.insert(topic.clone());
        let key_column = catalog.columns(&db, &change.source.table).expect("table")[0]
            .0
            .clone();
        let image = change.image().expect("image");
        let key_value = ficus_cdc_sync::change::column(image, &key_column)
            .cloned()
            .unwrap_or(Value::Null);
        let key = serde_json::json!({ key_column: debezium_value(&key_value, None) }).to_string();
        let mut value = envelope(&change, &catalog);
        // Only the poisoned update touches product 30's decimals.
        let poisoned_price = change.source.table == "catalog_product_entity_decimal"
            && change
                .after
                .as_ref()
                .and_then(|a| ficus_cdc_sync::change::column(a, "entity_id"))
                .and_then(Value::as_i64)
                == Some(30);
        if poisoned_price {
            // Not base64: the decimal cannot be decoded.
            value["after"]["value"] = serde_json::json!("@@not-base64@@");
            corrupted += 1;
        }
        let value = value.to_string();
        producer
            .send(
                FutureRecord::to(&topic).key(&key).payload(&value),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("produce");
        produced += 1;
        if change.op == ficus_cdc_sync::Op::Delete {
            producer
                .send(
                    FutureRecord::<str, [u8]>::to(&topic).key(&key),
                    Duration::from_secs(5),
                )
                .await
                .map_err(|(e, _)| e)
                .expect("tombstone");
        }
        if !poisoned {
            producer
                .send(
                    FutureRecord::to(&topic).key(&key).payload("{not json"),
                    Duration::from_secs(5),
                )
                .await
                .map_err(|(e, _)| e)
                .expect("poison");
            poisoned = true;
        }
    }
    assert!(produced > 60, "{produced} events");
    assert_eq!(corrupted, 1, "the poisoned price's event was produced");
    // An event of a table Magento does not have (schemas are off: its columns are unknown).
    producer
        .send(
            FutureRecord::to(&format!("m2.{db}.ficus_not_a_table"))
                .key("{\"id\":5}")
                .payload(&serde_json::json!({"before": null, "after": {"id": 5}, "op": "c", "ts_ms": 1,
                    "source": {"db": db, "table": "ficus_not_a_table", "file": until.0, "pos": 4, "ts_ms": 1}}).to_string()),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("unknown table");

    // cdc-sync's Kafka consumer.
    let options = Options {
        source: dsn.clone(),
        server_id: 1,
        name: "kafka".into(),
        start: None,
        start_gtid: None,
        namespace: ficus_id_map::DEFAULT_NAMESPACE,
        admin: true,
        batch_entities: 50,
        max_wait: Duration::from_millis(100),
        lanes: 2,
    };
    let kafka = kafka_options(&brokers, &db, "ficus-test");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (run_options, targets) = (options.clone(), synced.targets.clone());
    let running = tokio::spawn(async move {
        pipeline::run_kafka(&run_options, kafka, &targets, |_| {}, async {
            let _ = stopped.await;
        })
        .await
    });
    let fresh = Services::new("cdckafka_fresh").await;
    fresh.backfill(&magento, &out).await;
    let want = fresh.documents().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let got = synced.documents().await;
        if got == want {
            break;
        }
        if running.is_finished() || std::time::Instant::now() > deadline {
            let diff: Vec<_> = got.symmetric_difference(&want).take(2).collect();
            panic!(
                "not equal: {diff:#?}; pipeline: {:?}",
                running.is_finished()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The malformed record, on the dead-letter topic with what went wrong.
    let dlq: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "dlq-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    dlq.subscribe(&["m2.dlq"]).expect("subscribe");
    // Three dead letters in the order they were consumed: the malformed JSON, the undecodable
    // price, the unknown table.
    let mut m = None;
    for _ in 0..3 {
        let got = tokio::time::timeout(Duration::from_secs(30), dlq.recv())
            .await
            .expect("a dead letter")
            .expect("message")
            .detach();
        if got.payload() == Some(&b"{not json"[..]) {
            m = Some(got);
            break;
        }
    }
    let m = m.expect("the malformed record on the dead-letter topic");
    let headers = m.headers().expect("headers");
    let error = (0..headers.count())
        .map(|i| headers.get(i))
        .find(|h| h.key == "ficus.error")
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .expect("an error header");
    assert!(error.contains("not a Debezium envelope"), "{error}");

    // The undecodable price: its product was read again from Magento (the equality above holds
    // only so) and the event is kept as a dead letter of that product in the catalog service.
    let letters = pipeline::dead_letters(&synced.targets, true)
        .await
        .expect("dead letters");
    assert!(
        letters.iter().any(|l| l.service == "catalog"
            && l.letter.kind == "product"
            && l.letter.legacy_id == 30
            && l.letter.error.contains("undecodable event")
            && l.letter.error.contains("value")),
        "{letters:#?}"
    );
    // The unknown table's event and the malformed JSON are on the topic only (no entity).
    assert!(
        letters.iter().all(|l| l.letter.legacy_id == 30),
        "{letters:#?}"
    );

    stop.send(()).expect("stop");
    running.await.expect("task").expect("pipeline");

    // Stopped gracefully, the consumer group has committed every table topic to its end (each
    // batch's offsets are committed without waiting; the last ones are waited for at shutdown).
    let group: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "ficus-test")
        .create()
        .expect("consumer");
    let mut partitions = Vec::new();
    for topic in &topics {
        let metadata = group
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        for p in metadata.topics().iter().flat_map(|t| t.partitions()) {
            partitions.push((topic.clone(), p.id()));
        }
    }
    let mut list = rdkafka::TopicPartitionList::new();
    for (topic, partition) in &partitions {
        list.add_partition(topic, *partition);
    }
    let committed = group
        .committed_offsets(list, Duration::from_secs(10))
        .expect("committed offsets");
    let mut records = 0;
    for (topic, partition) in &partitions {
        let (_, end) = group
            .fetch_watermarks(topic, *partition, Duration::from_secs(10))
            .expect("watermarks");
        let at = committed
            .find_partition(topic, *partition)
            .map(|p| p.offset())
            .expect("the partition");
        // A partition that no record went to has nothing committed.
        let want = if end == 0 {
            rdkafka::Offset::Invalid
        } else {
            rdkafka::Offset::Offset(end)
        };
        assert_eq!(at, want, "{topic}[{partition}]");
        records += end;
    }
    assert!(records > 60, "{records} records in {partitions:?}");
    drop(group);

    // Every record again, through a new consumer group (a replay; also what a product save looks
    // like once its tables' topics arrive one after another): the services hold every entity as
    // of a snapshot past its changes — product 30's undecodable one included — so none is read
    // again from Magento.
    let totals = std::sync::Arc::new(std::sync::Mutex::new((0u64, 0u64, 0u64)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let kafka = kafka_options(&brokers, &db, "ficus-replay");
    let (targets, counted) = (synced.targets.clone(), totals.clone());
    let running = tokio::spawn(async move {
        pipeline::run_kafka(
            &options,
            kafka,
            &targets,
            |a| {
                let mut t = counted.lock().expect("totals");
                t.0 += a.changes;
                t.1 += a.entities;
                t.2 += a.skipped;
            },
            async {
                let _ = stopped.await;
            },
        )
        .await
    });
    let decodable = produced as u64 - 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // The workload touched 45 entities: products 1–40, customers 1–3, orders 1 and 2 (an
    // entity in two batches counts twice).
    let touched = 40 + 3 + 2;
    while {
        let t = *totals.lock().expect("totals");
        t.0 < decodable || t.1 + t.2 < touched
    } {
        assert!(
            !running.is_finished() && std::time::Instant::now() < deadline,
            "the replay read {:?} of {decodable} changes",
            totals.lock().expect("totals")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (changes, read_again, skipped) = *totals.lock().expect("totals");
    assert_eq!(changes, decodable);
    assert_eq!(read_again, 0, "{skipped} skipped");
    assert!(skipped >= touched, "{skipped} skipped");
    assert_eq!(synced.documents().await, want, "a replay changes nothing");

    // A change newer than what the service holds is read again, on the same group.
    conn.exec_drop(
        "UPDATE catalog_product_entity_varchar SET value = 'After the replay' WHERE attribute_id = ? AND store_id = 0 AND entity_id = 5",
        (name,),
    )
    .await
    .expect("rename");
    let change = loop {
        let event = tokio::time::timeout(Duration::from_secs(20), connector.next())
            .await
            .expect("the binlog")
            .expect("an event");
        // (Other tests write other databases on the same server.)
        if let Event::Change(c) = event
            && c.source.db == db
            && c.source.table == "catalog_product_entity_varchar"
        {
            break c;
        }
    };
    let topic = format!("m2.{db}.catalog_product_entity_varchar");
    let key = serde_json::json!({ "value_id": debezium_value(
        ficus_cdc_sync::change::column(change.image().expect("image"), "value_id").expect("value_id"),
        None,
    ) })
    .to_string();
    producer
        .send(
            FutureRecord::to(&topic)
                .key(&key)
                .payload(&envelope(&change, &catalog).to_string()),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produce");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let renamed = synced
            .documents()
            .await
            .into_iter()
            .filter(|(kind, _, id, _)| kind == "product" && *id == 5)
            // A store view may override the name; the store views that do not show the new one.
            .any(|(_, _, _, doc)| doc.contains("After the replay"));
        if renamed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "product 5 not renamed; {:?}",
            totals.lock().expect("totals")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(totals.lock().expect("totals").1, 1, "product 5 read again");
    stop.send(()).expect("stop");
    running.await.expect("task").expect("pipeline");
    drop(conn);
    pool.disconnect().await.expect("disconnect");
    synced.drop().await;
    fresh.drop().await;
    let _ = std::fs::remove_file(&out);
    drop_magento(&magento).await;
}

/// Records that the topic's retention deleted before cdc-sync read them stop the Kafka source
/// with an error that says so, instead of going on from what is left (the services would miss
/// those changes); a new consumer group, which starts from the earliest record left, is not a
/// loss. librdkafka's mock cluster keeps at most 5 MB per partition, dropping the oldest records
/// beyond that, as a topic's `retention.bytes` does.
#[tokio::test]
async fn records_deleted_before_they_are_read_stop_the_kafka_source() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let (magento, out, synced, from, db) = backfilled("cdcgap").await;
    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    let name = attribute(&mut conn, "catalog_product", "name").await;
    let (value_id, value): (u64, String) = conn
        .exec_first(
            "SELECT value_id, value FROM catalog_product_entity_varchar
             WHERE attribute_id = ? AND store_id = 0 AND entity_id = 1",
            (name,),
        )
        .await
        .expect("query")
        .expect("product 1's name");

    let cluster = MockCluster::new(1).expect("mock cluster");
    let brokers = cluster.bootstrap_servers();
    let topic = format!("m2.{db}.catalog_product_entity_varchar");
    cluster.create_topic(&topic, 1, 1).expect("topic");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    // Product 1's name as it is, as Debezium writes an update of it (an event just before the
    // back-fill's position, so the services already hold it); `query` (Debezium's
    // source.query) pads it.
    let record = |pad: usize| {
        serde_json::json!({
            "before": null,
            "after": {"value_id": value_id, "attribute_id": name, "store_id": 0, "entity_id": 1, "value": value},
            "source": {"version": "3.2.0.Final", "connector": "mariadb", "name": "m2", "ts_ms": 1,
                "snapshot": "false", "db": db, "table": "catalog_product_entity_varchar",
                "server_id": 1, "file": from.file, "pos": from.pos - 1, "row": 0, "thread": null,
                "query": "x".repeat(pad)},
            "op": "u", "ts_ms": 1
        })
        .to_string()
    };
    let key = format!("{{\"value_id\":{value_id}}}");
    let produce = |count: usize, pad: usize| {
        let (producer, topic, key, payload) = (&producer, &topic, &key, record(pad));
        async move {
            let deliveries: Vec<_> = (0..count)
                .map(|_| {
                    producer
                        .send_result(FutureRecord::to(topic).key(key).payload(&payload))
                        .map_err(|(e, _)| e)
                        .expect("enqueue")
                })
                .collect();
            for d in deliveries {
                d.await
                    .expect("delivery")
                    .map_err(|(e, _)| e)
                    .expect("delivered");
            }
        }
    };
    let options = Options {
        start: None,
        name: "kafka".into(),
        ..options(&magento, from.clone(), 1)
    };
    let start = |group: &str| {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (options, targets, kafka) = (
            options.clone(),
            synced.targets.clone(),
            kafka_options(&brokers, &db, group),
        );
        let changes = Arc::new(AtomicU64::new(0));
        let counted = changes.clone();
        let running = tokio::spawn(async move {
            pipeline::run_kafka(
                &options,
                kafka,
                &targets,
                move |a| {
                    counted.fetch_add(a.changes, Ordering::Relaxed);
                },
                async {
                    let _ = stopped.await;
                },
            )
            .await
        });
        (stop, running, changes)
    };
    let applied = async |changes: &AtomicU64, running: &tokio::task::JoinHandle<_>| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while changes.load(Ordering::Relaxed) == 0 {
            assert!(!running.is_finished(), "the pipeline stopped");
            assert!(std::time::Instant::now() < deadline, "nothing applied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };

    // The group reads the first record and commits past it.
    produce(1, 10).await;
    let (stop, running, changes) = start("cdcgap");
    applied(&changes, &running).await;
    stop.send(()).expect("stop");
    running.await.expect("task").expect("first run");

    // While it is stopped, 12 MB more: the records after its committed offset are deleted.
    produce(12_000, 1_000).await;
    let (_stop, running, _) = start("cdcgap");
    let ended = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the source stops at the gap")
        .expect("task");
    match ended {
        Err(e @ PipelineError::Kafka(KafkaSourceError::RecordsLost(_))) => {
            let why = e.to_string();
            assert!(why.contains(&topic), "names the topic: {why}");
            assert!(why.contains("offset reset"), "{why}");
            // The daemon stops for the operator instead of retrying.
            assert!(!e.is_transient(), "{why}");
        }
        other => panic!("want RecordsLost, got {other:?}"),
    }

    // A new group starts from the earliest record left: no loss.
    let (stop, running, changes) = start("cdcgap-new");
    applied(&changes, &running).await;
    stop.send(()).expect("stop");
    running.await.expect("task").expect("a new group's run");

    drop(conn);
    pool.disconnect().await.expect("disconnect");
    let _ = std::fs::remove_file(&out);
    synced.drop().await;
    drop_magento(&magento).await;
}
