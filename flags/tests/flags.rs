//! Rollouts against an independent MurmurHash3, operators' changes, and the file provider's
//! reloads.

use std::time::{Duration, Instant};

use ficus_flags::{Change, Error, FlagSet, Flags, Source, UnleashSource, Who, names};
use proptest::prelude::*;

/// MurmurHash3 x86_32, written from the algorithm's description, to compute Unleash's
/// `flexibleRollout` bucket without the engine under test.
fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    let (c1, c2) = (0xcc9e_2d51_u32, 0x1b87_3593_u32);
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(c1).rotate_left(15).wrapping_mul(c2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    let mut k = 0u32;
    for (i, b) in tail.iter().enumerate() {
        k |= u32::from(*b) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(c1).rotate_left(15).wrapping_mul(c2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

fn rollout_json(name: &str, rollout: u8, stickiness: &str) -> String {
    format!(
        r#"{{"version": 2, "features": [{{"name": "{name}", "enabled": true, "strategies": [
        {{"name": "flexibleRollout", "constraints": [], "parameters":
          {{"rollout": "{rollout}", "stickiness": "{stickiness}", "groupId": "{name}"}}}}]}}]}}"#
    )
}

#[test]
fn murmur3_matches_the_published_vector() {
    assert_eq!(murmur3_32(b"hello", 0), 0x248b_fa47);
    assert_eq!(murmur3_32(b"", 0), 0);
}

proptest! {
    #[test]
    fn a_rollout_is_unleash_s_bucket(key in "[a-zA-Z0-9-]{1,40}", rollout in 0u8..=100) {
        let name = names::reads("catalog");
        let set = FlagSet::parse(&rollout_json(&name, rollout, "default"), "test").expect("test setup");
        let bucket = murmur3_32(format!("{name}:{key}").as_bytes(), 0) % 100 + 1;
        let who = Who { session_id: Some(&key), ..Who::default() };
        prop_assert_eq!(set.is_enabled(&name, &who), bucket <= u32::from(rollout));
        // `default` stickiness prefers the customer id over the session.
        let who = Who { user_id: Some(&key), session_id: Some("other"), ..Who::default() };
        prop_assert_eq!(set.is_enabled(&name, &who), bucket <= u32::from(rollout));
    }

    #[test]
    fn lowering_a_rollout_keeps_a_subset(key in "[a-z0-9]{8}", high in 1u8..=100, cut in 0u8..=100) {
        let low = high.saturating_sub(cut);
        let name = names::writes("order");
        let hi = FlagSet::parse(&rollout_json(&name, high, "sessionId"), "hi").expect("test setup");
        let lo = FlagSet::parse(&rollout_json(&name, low, "sessionId"), "lo").expect("test setup");
        let who = Who { session_id: Some(&key), ..Who::default() };
        prop_assert!(!lo.is_enabled(&name, &who) || hi.is_enabled(&name, &who));
    }
}

#[test]
fn unknown_flags_are_off_and_the_split_is_near_the_rollout() {
    let name = names::reads("customer");
    let set = FlagSet::parse(&rollout_json(&name, 25, "default"), "test").expect("test setup");
    assert!(!set.is_enabled("ficus.nothing.reads", &Who::default()));
    let on = (0..10_000)
        .filter(|i| {
            let key = format!("visitor-{i}");
            set.is_enabled(
                &name,
                &Who {
                    session_id: Some(&key),
                    ..Who::default()
                },
            )
        })
        .count();
    assert!((2300..=2700).contains(&on), "{on} of 10,000 at 25 %");
}

#[test]
fn malformed_text_is_named() {
    let err = FlagSet::parse(r#"{"version": 2, "features": [{"name": 3}]}"#, "flags.json")
        .expect_err("a number is not a name");
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("flags.json: not Unleash's client-API JSON"),
        "{err}"
    );
    let twice = r#"{"version": 2, "features": [{"name": "a", "enabled": true},
                   {"name": "a", "enabled": false}]}"#;
    let err = FlagSet::parse(twice, "flags.json").expect_err("defined twice");
    assert_eq!(err.to_string(), r#"flags.json: flag "a" is defined twice"#);
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ficus-flags-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test setup");
    dir
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waited 10 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_file_is_reloaded_and_a_malformed_one_keeps_the_last_good_set() {
    let dir = temp_dir("reload");
    let path = dir.join("flags.json");
    std::fs::write(&path, rollout_json("ficus.kill", 100, "default")).expect("test setup");
    let flags = Flags::load(Source::File(path.clone())).expect("test setup");
    let _watch = flags.watch(Duration::from_millis(20));
    let who = Who {
        session_id: Some("s"),
        ..Who::default()
    };
    assert!(flags.snapshot().is_enabled(names::KILL, &who));

    std::fs::write(&path, rollout_json("ficus.kill", 0, "default")).expect("test setup");
    wait_for("the reload", || {
        !flags.snapshot().is_enabled(names::KILL, &who)
    });
    assert_eq!(flags.last_error(), None);

    let generation = flags.generation();
    std::fs::write(&path, "{\"version\": 2, \"features\": [").expect("test setup");
    wait_for("the error", || flags.last_error().is_some());
    let error = flags.last_error().expect("test setup");
    assert!(
        error.contains("flags.json: not Unleash's client-API JSON"),
        "{error}"
    );
    assert_eq!(flags.generation(), generation, "nothing swapped in");
    assert_eq!(flags.summaries()[0].to_string(), "0%");

    std::fs::write(&path, rollout_json("ficus.kill", 100, "default")).expect("test setup");
    wait_for("the recovery", || {
        flags.snapshot().is_enabled(names::KILL, &who)
    });
    assert_eq!(flags.last_error(), None);
}

#[test]
fn a_missing_or_malformed_file_at_start_is_an_error() {
    let dir = temp_dir("start");
    let err = Flags::load(Source::File(dir.join("absent.json"))).expect_err("missing");
    assert!(err.to_string().contains("absent.json"), "{err}");
    std::fs::write(dir.join("bad.json"), "not json").expect("test setup");
    let err = Flags::load(Source::File(dir.join("bad.json"))).expect_err("malformed");
    assert!(
        err.to_string()
            .contains("bad.json: not Unleash's client-API JSON"),
        "{err}"
    );
}

#[test]
fn changes_are_written_to_the_file_and_used_at_once() {
    let dir = temp_dir("change");
    let path = dir.join("flags.json");
    std::fs::write(&path, r#"{"version": 2, "features": []}"#).expect("test setup");
    let flags = Flags::load(Source::File(path.clone())).expect("test setup");
    let name = names::reads("catalog");

    let applied = flags
        .apply(&name, Change::Rollout(50), "ops", "step 2")
        .expect("test setup");
    assert_eq!(
        (applied.from.as_str(), applied.to.as_str()),
        ("absent", "50%")
    );
    let on = (0..2000)
        .filter(|i| {
            let key = format!("{i}");
            flags.snapshot().is_enabled(
                &name,
                &Who {
                    session_id: Some(&key),
                    ..Who::default()
                },
            )
        })
        .count();
    let expected = (0..2000)
        .filter(|i| murmur3_32(format!("{name}:{i}").as_bytes(), 0) % 100 < 50)
        .count();
    assert_eq!(on, expected);

    // The file holds the change, in Unleash's format: a fresh load agrees.
    let again = FlagSet::parse(&std::fs::read_to_string(&path).expect("test setup"), "file")
        .expect("test setup");
    let summary = ficus_flags::summarize(again.feature(&name).expect("test setup"));
    assert_eq!((summary.enabled, summary.rollout), (true, Some(50)));
    assert_eq!(summary.stickiness.as_deref(), Some("default"));

    let applied = flags
        .apply(&name, Change::Off, "ops", "rollback")
        .expect("test setup");
    assert_eq!((applied.from.as_str(), applied.to.as_str()), ("50%", "off"));
    assert!(!flags.snapshot().is_enabled(
        &name,
        &Who {
            session_id: Some("x"),
            ..Who::default()
        }
    ));
    let err = flags
        .apply(&name, Change::Rollout(101), "ops", "")
        .expect_err("over 100");
    assert!(err.to_string().contains("0 to 100"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("test setup")
        .map(|e| e.expect("test setup").file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("flags.json")],
        "no temporary file left"
    );
}

#[test]
fn an_unreachable_unleash_falls_back_to_its_backup_and_refuses_changes() {
    let dir = temp_dir("unleash");
    // A port nothing listens on: bind one, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("test setup")
        .local_addr()
        .expect("test setup")
        .port();
    let source = UnleashSource {
        url: format!("http://127.0.0.1:{port}"),
        token: "default:development.secret".to_owned(),
        app_name: "ficus-test".to_owned(),
        backup: dir.join("backup.json"),
    };
    let err = Flags::load(Source::Unleash(source.clone())).expect_err("no server, no backup");
    assert!(
        err.to_string()
            .contains(&format!("Unleash at http://127.0.0.1:{port}")),
        "{err}"
    );
    std::fs::write(&source.backup, rollout_json("ficus.kill", 100, "default")).expect("test setup");
    let flags = Flags::load(Source::Unleash(source)).expect("test setup");
    assert!(flags.snapshot().is_enabled(
        names::KILL,
        &Who {
            session_id: Some("a"),
            ..Who::default()
        }
    ));
    let err = flags
        .apply(names::KILL, Change::Off, "ops", "")
        .expect_err("Unleash owns them");
    assert!(err.to_string().contains("change them in Unleash"), "{err}");
    assert!(!flags.refresh());
    assert!(flags.last_error().is_some());
}

/// The watcher never puts back a file it read just before an operator's change was written: each
/// change is in use from the moment `apply` returns until the next change.
#[test]
fn the_watcher_never_undoes_a_change() {
    let dir = temp_dir("race");
    let path = dir.join("flags.json");
    std::fs::write(&path, rollout_json("ficus.kill", 0, "default")).expect("write");
    let flags = Flags::load(Source::File(path)).expect("load");
    let _watch = flags.watch(Duration::from_micros(100));
    let who = Who {
        session_id: Some("s"),
        ..Who::default()
    };
    for i in 0..300 {
        let on = i % 2 == 0;
        let change = if on {
            Change::Rollout(100)
        } else {
            Change::Off
        };
        flags
            .apply(names::KILL, change, "test", "race")
            .expect("apply");
        for _ in 0..20 {
            assert_eq!(
                flags.snapshot().is_enabled(names::KILL, &who),
                on,
                "change {i} was undone"
            );
            std::thread::yield_now();
        }
    }
}
