//! One flag decision as the proxy makes it per request: a lock-free snapshot load, then
//! `ficus.kill` and a domain's 50 % `flexibleRollout` evaluated by Unleash's engine for one
//! visitor. Reference, same run: the same two look-ups done with a `HashMap<String, u8>` and a
//! std hasher (the least a decision by name can cost).
//!
//! `cargo bench -p ficus-flags --bench evaluate`

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::hint::black_box;
use std::time::Instant;

use ficus_flags::{FlagSet, Flags, Who, names};

fn per_call(n: u64, mut f: impl FnMut(u64) -> bool) -> f64 {
    let started = Instant::now();
    let mut on = 0u64;
    for i in 0..n {
        on += u64::from(f(black_box(i)));
    }
    black_box(on);
    started.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let reads = names::reads("catalog");
    let json = format!(
        r#"{{"version": 2, "features": [
        {{"name": "ficus.kill", "enabled": false, "strategies": [{{"name": "default"}}]}},
        {{"name": "{reads}", "enabled": true, "strategies": [{{"name": "flexibleRollout",
          "parameters": {{"rollout": "50", "stickiness": "default", "groupId": "{reads}"}}}}]}}]}}"#
    );
    let flags = Flags::fixed(FlagSet::parse(&json, "bench").expect("flags"));
    let keys: Vec<String> = (0..4096).map(|i| format!("{i:032x}")).collect();
    let table: HashMap<String, u8> =
        HashMap::from([(names::KILL.to_owned(), 0), (reads.clone(), 50)]);
    let hasher = std::collections::hash_map::RandomState::new();
    let n = 5_000_000;
    for round in 1..=3 {
        let ours = per_call(n, |i| {
            let set = flags.snapshot();
            let who = Who {
                session_id: Some(&keys[(i & 4095) as usize]),
                ..Who::default()
            };
            !set.is_enabled(names::KILL, &who) && set.is_enabled(&reads, &who)
        });
        let reference = per_call(n, |i| {
            let key = &keys[(i & 4095) as usize];
            let kill = table.get(names::KILL).copied().unwrap_or(0) > 0;
            let rollout = table.get(&reads).copied().unwrap_or(0);
            let mut h = hasher.build_hasher();
            h.write(key.as_bytes());
            !kill && (h.finish() % 100) < u64::from(rollout)
        });
        println!(
            "round {round}: ficus decision (snapshot + 2 flags) {ours:.0} ns, \
             HashMap reference {reference:.0} ns, ratio {:.1}x",
            ours / reference
        );
    }
}
