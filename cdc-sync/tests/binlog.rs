//! The built-in binlog source against the real MariaDB (row binlog on): a table with one column
//! of each type Magento's schema uses, written in two transactions; the source, started at the
//! position before them, yields their changes — typed, named, printed as the database prints
//! them — each transaction closed by a commit whose position resumes after it. Expected values
//! are the literals the test wrote.

use ficus_cdc_sync::binlog::{BinlogSource, Event, Position};
use ficus_cdc_sync::{Catalog, Change, Op};
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::testing::{drop_magento, empty_database, mysql_server};
use mysql_async::prelude::Queryable;

const TABLE: &str = "CREATE TABLE t (
  id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  price decimal(20,6) NOT NULL,
  qty decimal(12,4) DEFAULT NULL,
  name varchar(64) NOT NULL,
  note text,
  flag tinyint(1) NOT NULL DEFAULT 0,
  big bigint unsigned NOT NULL,
  neg smallint NOT NULL,
  d date DEFAULT NULL,
  dt datetime DEFAULT NULL,
  ts timestamp NULL DEFAULT NULL,
  dt6 datetime(6) DEFAULT NULL,
  kind enum('simple','configurable') NOT NULL,
  tags set('a','b','c') NOT NULL DEFAULT '',
  raw varbinary(8) DEFAULT NULL,
  y year DEFAULT NULL,
  bits bit(10) DEFAULT NULL,
  tm time DEFAULT NULL
)";

fn texts(c: &Change, after: bool) -> Vec<(String, Option<String>)> {
    let row = if after { &c.after } else { &c.before };
    row.as_ref()
        .expect("image")
        .iter()
        .map(|(n, v)| (n.clone(), v.to_mysql_text()))
        .collect()
}

fn row(values: [Option<&str>; 18]) -> Vec<(String, Option<String>)> {
    let names = [
        "id", "price", "qty", "name", "note", "flag", "big", "neg", "d", "dt", "ts", "dt6", "kind",
        "tags", "raw", "y", "bits", "tm",
    ];
    names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
        .collect()
}

/// Reads changes of database `db` (other tests write to the same binlog) until `n` of them and
/// the commit after the last; returns them with the commits seen after changes of `db`.
async fn read(source: &mut BinlogSource, db: &str, n: usize) -> (Vec<Change>, Vec<Event>) {
    let (mut changes, mut commits) = (Vec::new(), Vec::new());
    let mut ours = false;
    let deadline = std::time::Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout(deadline, source.next())
            .await
            .expect("the source keeps up")
            .expect("an event");
        match event {
            Event::Change(c) if c.source.db == db => {
                ours = true;
                changes.push(c);
            }
            Event::Change(_) => ours = false,
            Event::Idle { .. } => {}
            commit @ Event::Commit { .. } => {
                if ours {
                    commits.push(commit);
                    if changes.len() >= n {
                        return (changes, commits);
                    }
                }
                ours = false;
            }
        }
    }
}

#[tokio::test]
async fn the_binlog_source_reads_typed_changes_by_transaction() {
    let (db, url) = empty_database("binlog").await;
    let server = mysql_server();
    let admin = mysql_async::Pool::new(server.as_str());
    let mut conn = admin.get_conn().await.expect("connect");
    conn.query_drop(format!("USE {db}")).await.expect("use");
    conn.query_drop(TABLE).await.expect("table");
    let catalog = Catalog::load(&mut conn, &db).await.expect("catalog");
    let (file, pos): (String, u64) = {
        let row: mysql_async::Row = conn
            .query_first("SHOW MASTER STATUS")
            .await
            .expect("master status")
            .expect("binlog on");
        (row.get(0).expect("file"), row.get(1).expect("position"))
    };

    // Two transactions: two rows in one INSERT, then an update and a delete.
    conn.query_drop("SET time_zone = '+00:00'")
        .await
        .expect("zone");
    conn.query_drop("START TRANSACTION").await.expect("begin");
    conn.query_drop(
        "INSERT INTO t (price, qty, name, note, flag, big, neg, d, dt, ts, dt6, kind, tags, raw, y, bits, tm) VALUES
         (129.5, 10.2345, 'Wool ''Glove''', 'line 1\nline 2', 1, 18446744073709551615, -7,
          '2018-06-20', '2018-06-20 06:37:03', '2018-06-20 13:37:03', '2018-06-20 06:37:03.123456',
          'configurable', 'a,c', x'00ff10', 2024, b'1000000011', '01:02:03'),
         (0.000001, NULL, 'plain', NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 'simple', '', NULL, NULL, NULL, NULL)",
    )
    .await
    .expect("insert");
    conn.query_drop("COMMIT").await.expect("commit");
    conn.query_drop("START TRANSACTION").await.expect("begin");
    conn.query_drop("UPDATE t SET price = -12.25, tags = 'b', name = 'Wool Glove' WHERE id = 1")
        .await
        .expect("update");
    conn.query_drop("DELETE FROM t WHERE id = 2")
        .await
        .expect("delete");
    conn.query_drop("COMMIT").await.expect("commit");

    let dsn = MagentoDsn::parse(&url).expect("dsn");
    let server_id = 10_000 + std::process::id() % 50_000;
    let from = Position {
        file: file.clone(),
        pos,
    };
    let mut source = BinlogSource::open(&dsn, server_id, &from, catalog.clone())
        .await
        .expect("open");
    let (changes, commits) = read(&mut source, &db, 4).await;

    let first = row([
        Some("1"),
        Some("129.500000"),
        Some("10.2345"),
        Some("Wool 'Glove'"),
        Some("line 1\nline 2"),
        Some("1"),
        Some("18446744073709551615"),
        Some("-7"),
        Some("2018-06-20"),
        Some("2018-06-20 06:37:03"),
        Some("2018-06-20 13:37:03"),
        Some("2018-06-20 06:37:03.123456"),
        Some("configurable"),
        Some("a,c"),
        Some("\u{0}\u{fffd}\u{10}"),
        Some("2024"),
        Some("515"),
        Some("01:02:03"),
    ]);
    let second = row([
        Some("2"),
        Some("0.000001"),
        None,
        Some("plain"),
        None,
        Some("0"),
        Some("0"),
        Some("0"),
        None,
        None,
        None,
        None,
        Some("simple"),
        Some(""),
        None,
        None,
        None,
        None,
    ]);
    let ops: Vec<Op> = changes.iter().map(|c| c.op).collect();
    assert_eq!(ops, [Op::Create, Op::Create, Op::Update, Op::Delete]);
    assert_eq!(texts(&changes[0], true), first);
    let raw = ficus_cdc_sync::change::column(changes[0].after.as_ref().expect("after"), "raw");
    assert_eq!(
        raw,
        Some(&ficus_cdc_sync::Value::Bytes(vec![0x00, 0xff, 0x10])),
        "binary as bytes"
    );
    assert_eq!(texts(&changes[1], true), second);
    assert_eq!(
        (changes[0].source.row, changes[1].source.row),
        (0, 1),
        "one event, two rows"
    );
    assert_eq!(changes[0].source.pos, changes[1].source.pos);
    assert_eq!(
        texts(&changes[2], false),
        first,
        "the update's before image"
    );
    let mut updated = first.clone();
    updated[1].1 = Some("-12.250000".into());
    updated[3].1 = Some("Wool Glove".into());
    updated[13].1 = Some("b".into());
    assert_eq!(texts(&changes[2], true), updated);
    assert_eq!(
        texts(&changes[3], false),
        second,
        "the delete's before image"
    );
    assert_eq!(changes[3].after, None);
    for c in &changes {
        assert_eq!(
            (c.source.db.as_str(), c.source.table.as_str()),
            (db.as_str(), "t")
        );
        assert_eq!(
            c.source.file, file,
            "the file name without the rotate's checksum"
        );
        assert!(
            c.source.ts_ms > 0 && c.source.ts_ms % 1000 == 0,
            "whole seconds"
        );
    }
    // MariaDB's GTIDs (domain-server-sequence), one per transaction, on the changes and commits.
    let gtid = |c: &Change| c.source.gtid.clone().expect("a GTID");
    assert!(
        gtid(&changes[0]).split('-').count() == 3,
        "{}",
        gtid(&changes[0])
    );
    assert_eq!(gtid(&changes[0]), gtid(&changes[1]));
    assert_ne!(gtid(&changes[0]), gtid(&changes[2]));
    assert_eq!(commits.len(), 2, "{commits:?}");
    let Event::Commit {
        next,
        gtid: committed,
        ..
    } = &commits[0]
    else {
        unreachable!()
    };
    assert_eq!(committed.as_deref(), changes[0].source.gtid.as_deref());
    assert!(next.pos > changes[1].source.pos && next.pos < changes[2].source.pos);
    drop(source);

    // From the first commit's position: the second transaction comes first.
    let mut resumed = BinlogSource::open(&dsn, server_id + 1, next, catalog)
        .await
        .expect("open");
    let (again, _) = read(&mut resumed, &db, 2).await;
    assert_eq!(again, changes[2..].to_vec());
    drop(resumed);

    // After the first transaction's GTID: the second comes first again.
    let first_gtid = gtid(&changes[0]);
    let mut by_gtid = BinlogSource::open_after_gtid(
        &dsn,
        server_id + 2,
        &first_gtid,
        Catalog::load(&mut conn, &db).await.expect("catalog"),
    )
    .await
    .expect("open by GTID");
    let (again, _) = read(&mut by_gtid, &db, 2).await;
    assert_eq!(again, changes[2..].to_vec(), "after GTID {first_gtid}");

    drop(conn);
    admin.disconnect().await.expect("disconnect");
    drop_magento(&url).await;
}
