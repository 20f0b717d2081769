//! In-process mapping speed on one core: `Mapper::uuid` against the `uuid` crate's `new_v5` on
//! the formatted name (the straightforward way), measured in the same run.
//!
//! `cargo bench -p ficus-id-map --bench mapping`

use std::hint::black_box;
use std::time::Instant;

use ficus_id_map::{DEFAULT_NAMESPACE, Mapper};
use uuid::Uuid;

fn rate(ids: u64, f: impl Fn(u64) -> u128) -> f64 {
    let started = Instant::now();
    let mut acc = 0u128;
    for id in 0..ids {
        acc ^= f(black_box(id + 1_000_000));
    }
    black_box(acc);
    ids as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let mapper = Mapper::new(DEFAULT_NAMESPACE, "catalog_product").expect("mapper");
    let ns = DEFAULT_NAMESPACE.as_uuid();
    let n = 20_000_000;
    let mut best = (0f64, 0f64);
    for _ in 0..3 {
        let ours = rate(n, |id| mapper.uuid(id).as_u128());
        let reference = rate(n / 4, |id| {
            Uuid::new_v5(&ns, format!("catalog_product/{id}").as_bytes()).as_u128()
        });
        best.0 = best.0.max(ours);
        best.1 = best.1.max(reference);
    }
    println!(
        "mapping: {:.2} M ids/s (Mapper::uuid), reference uuid::new_v5 + format!: {:.2} M ids/s, ratio {:.1}x",
        best.0 / 1e6,
        best.1 / 1e6,
        best.0 / best.1
    );
}
