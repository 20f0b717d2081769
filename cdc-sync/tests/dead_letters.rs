//! Poison changes on the real MariaDB and PostgreSQL: an order whose payment information is not
//! the JSON Magento writes cannot be turned into a document; it becomes a dead letter (in the
//! order service, with its position and error) and the pipeline goes on with the changes after
//! it. Once the data is fixed (without a binlog event, so only the replay can carry it),
//! `cdc-sync dlq replay` applies it and marks it replayed; a letter still broken fails again,
//! named, with exit code 1.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use ficus_cdc_sync::pipeline::{self, Options};
use ficus_magento_fixture::Edition;
use ficus_magento_fixture::testing::*;
use mysql_async::prelude::Queryable;

fn cdc(config: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cdc-sync"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run cdc-sync");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn order_doc(services: &Services, id: u32) -> String {
    let orders = services.targets.orders.as_ref().expect("orders");
    orders.order(id as i64).await.expect("read").expect("held")
}

#[tokio::test]
async fn poison_becomes_a_dead_letter_and_a_replay_applies_the_fix() {
    let magento = magento_store("cdcdlq", "small", 4, Edition::Ce).await;
    let out = std::env::temp_dir().join(format!("ficus-cdcdlq-{}.jsonl", std::process::id()));
    let synced = Services::new("cdcdlq").await;
    let from = synced.backfill(&magento, &out).await;
    let server_id = 50_000 + std::process::id() % 10_000;
    let options = Options {
        batch_entities: 100,
        max_wait: Duration::from_millis(20),
        ..common::options(&magento, from.clone(), server_id)
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let targets = synced.targets.clone();
    let run_options = options.clone();
    let mut running = tokio::spawn(async move {
        pipeline::run(&run_options, &targets, |_| {}, async {
            let _ = stopped.await;
        })
        .await
    });

    let pool = mysql_async::Pool::new(magento.as_str());
    let mut conn = pool.get_conn().await.expect("magento");
    let (broken, fine, still_broken) = (3u32, 4u32, 5u32);
    for id in [broken, still_broken] {
        conn.exec_drop(
            "UPDATE sales_order_payment SET additional_information = 'a:1:{s:12:\"method_title\";}' WHERE parent_id = ?",
            (id,),
        )
        .await
        .expect("poison");
    }
    conn.exec_drop(
        "UPDATE sales_order SET status = 'holded' WHERE entity_id = ?",
        (fine,),
    )
    .await
    .expect("a fine change after the poison");
    let until = master(&mut conn).await;
    caught_up(&synced.targets, &until, async || {
        if running.is_finished() {
            return Err(format!("{:?}", (&mut running).await));
        }
        Ok(())
    })
    .await;

    assert!(
        order_doc(&synced, fine)
            .await
            .contains(r#""status":"holded""#),
        "the pipeline went on"
    );
    let letters = pipeline::dead_letters(&synced.targets, true)
        .await
        .expect("letters");
    let mut ids: Vec<i64> = letters.iter().map(|l| l.letter.legacy_id).collect();
    ids.sort();
    assert_eq!(ids, [broken as i64, still_broken as i64], "{letters:#?}");
    for l in &letters {
        assert_eq!((l.service, l.letter.kind.as_str()), ("order", "order"));
        assert!(
            l.letter.error.contains("additional_information"),
            "{}",
            l.letter.error
        );
        assert_eq!(l.letter.file, until.0);
        assert!(l.letter.position > from.pos as i64);
    }
    let before = order_doc(&synced, broken).await;
    stop.send(()).expect("stop");
    running.await.expect("task").expect("pipeline");

    // The fix, without a binlog event: only the replay can bring it.
    conn.query_drop("SET SESSION sql_log_bin = 0")
        .await
        .expect("no binlog");
    conn.exec_drop(
        "UPDATE sales_order_payment SET additional_information = '{\"method_title\":\"Fixed by hand\"}' WHERE parent_id = ?",
        (broken,),
    )
    .await
    .expect("fix");
    let dir = std::env::temp_dir().join(format!("ficus-cdcdlq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("cdc-sync.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nmagento = \"{magento}\"\nserver_id = {}\n[targets]\ncatalog = \"{}\"\ncustomer = \"{}\"\norder = \"{}\"\n",
            server_id + 1,
            synced.dsns[0],
            synced.dsns[1],
            synced.dsns[2]
        ),
    )
    .expect("config");
    let (ok, listed) = cdc(&config, &["dlq", "list"]);
    assert!(ok, "{listed}");
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(names.len(), 2, "{listed}");
    let broken_letter = letters
        .iter()
        .find(|l| l.letter.legacy_id == broken as i64)
        .expect("letter");
    let name = format!("order/{}", broken_letter.letter.id);
    assert!(names.contains(&name.as_str()), "{listed}");
    let (ok, shown) = cdc(&config, &["dlq", "show", &name]);
    assert!(ok && shown.contains("additional_information"), "{shown}");

    let (ok, replayed) = cdc(&config, &["dlq", "replay", &name]);
    assert!(ok, "{replayed}");
    assert!(
        replayed.contains(&format!("{name}\treplayed")),
        "{replayed}"
    );
    let after = order_doc(&synced, broken).await;
    assert_ne!(before, after);
    assert!(
        after.contains(r#""additional_information":["Fixed by hand"]"#),
        "{after}"
    );
    // The one still broken fails again, named; the replayed one is listed as such.
    let (ok, again) = cdc(&config, &["dlq", "replay"]);
    assert!(!ok && again.contains("failed again"), "{again}");
    let (_, all) = cdc(&config, &["dlq", "list", "--all"]);
    assert!(
        all.lines()
            .any(|l| l.starts_with(&name) && l.contains("replayed")),
        "{all}"
    );
    let pending = pipeline::dead_letters(&synced.targets, true)
        .await
        .expect("letters");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].letter.legacy_id, still_broken as i64);
    let (ok, bad) = cdc(&config, &["dlq", "show", "order"]);
    assert!(!ok && bad.contains("expected <service>/<id>"), "{bad}");

    drop(conn);
    pool.disconnect().await.expect("disconnect");
    synced.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&out);
    drop_magento(&magento).await;
}
