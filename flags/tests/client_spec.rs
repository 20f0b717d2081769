//! Unleash's client specification (npm `@unleash/client-specification` 6.1.0, every file listed
//! in its `index.json`) run through ficus's evaluation path: `FlagSet::parse` of each file's
//! state, then `is_enabled_in` / `variant_in` for each test. `scripts/test` installs the package;
//! `FICUS_UNLEASH_SPEC` points at its `specifications` folder when it lives elsewhere.

use std::path::PathBuf;

use ficus_flags::{Context, FlagSet, Who};
use serde_json::Value;

fn spec_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("FICUS_UNLEASH_SPEC") {
        return PathBuf::from(dir);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join("target/client-spec/node_modules/@unleash/client-specification/specifications")
}

fn read(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Install the suite with scripts/setup-npm (scripts/test does).",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn context(value: &Value) -> Context {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("context {value}: {e}"))
}

#[test]
fn every_case_of_the_client_specification_agrees() {
    let dir = spec_dir();
    let index = read(&dir.join("index.json"));
    let files = index.as_array().expect("index.json lists files");
    assert_eq!(files.len(), 22, "client-specification 6.1.0 has 22 files");
    let (mut enabled_cases, mut variant_cases, mut failures) = (0, 0, Vec::new());
    for file in files {
        let file = file.as_str().expect("a file name");
        let spec = read(&dir.join(file));
        let state = serde_json::to_string(&spec["state"]).expect("state");
        let set = FlagSet::parse(&state, file).unwrap_or_else(|e| panic!("{e}"));
        for test in spec["tests"].as_array().into_iter().flatten() {
            enabled_cases += 1;
            let name = test["toggleName"].as_str().expect("toggleName");
            let got = set.is_enabled_in(name, &context(&test["context"]));
            let want = test["expectedResult"].as_bool().expect("expectedResult");
            if got != want {
                failures.push(format!("{file}: {} (got {got})", test["description"]));
            }
        }
        for test in spec["variantTests"].as_array().into_iter().flatten() {
            variant_cases += 1;
            let name = test["toggleName"].as_str().expect("toggleName");
            let got = serde_json::to_value(set.variant_in(name, &context(&test["context"])))
                .expect("variant");
            let want = &test["expectedResult"];
            // The spec's expectation names `feature_enabled` and, for some cases, omits
            // `payload`: compare the fields it states.
            for (key, value) in want.as_object().expect("expectedResult object") {
                let got_value = match key.as_str() {
                    "feature_enabled" => got.get("feature_enabled").or(got.get("featureEnabled")),
                    _ => got.get(key),
                };
                if got_value != Some(value) {
                    failures.push(format!(
                        "{file}: {} field {key}: got {got_value:?}, want {value}",
                        test["description"]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 6.1.0 holds 227 isEnabled cases and 52 variant cases.
    assert_eq!((enabled_cases, variant_cases), (227, 52));
}

/// The proxy's allocation-free path (`Who`) is the same evaluation as a full Unleash context with
/// those fields, for every flexible rollout case of the specification.
#[test]
fn the_request_path_agrees_with_the_full_context() {
    let spec = read(&spec_dir().join("10-flexible-rollout-strategy.json"));
    let state = serde_json::to_string(&spec["state"]).expect("state");
    let set = FlagSet::parse(&state, "10").expect("parses");
    let names: Vec<String> = spec["state"]["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect();
    let mut compared = 0;
    for name in &names {
        for i in 0..200 {
            let user = format!("{i}");
            let session = format!("s-{}", i * 7919);
            for (u, s) in [
                (Some(&user), None),
                (None, Some(&session)),
                (Some(&user), Some(&session)),
            ] {
                let who = Who {
                    user_id: u.map(String::as_str),
                    session_id: s.map(String::as_str),
                    remote_address: None,
                };
                let full = Context {
                    user_id: u.cloned(),
                    session_id: s.cloned(),
                    ..Context::default()
                };
                // Random stickiness is not a function of the key: skip flags that fall back to it.
                let a = set.is_enabled(name, &who);
                let b = set.is_enabled_in(name, &full);
                let random = set
                    .feature(name)
                    .and_then(|f| f.strategies.as_ref())
                    .is_some_and(|s| {
                        s.iter().any(|s| {
                            s.parameters
                                .as_ref()
                                .and_then(|p| p.get("stickiness"))
                                .is_some_and(|v| v == "random")
                        })
                    });
                if !random {
                    assert_eq!(a, b, "{name} for {who:?}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 1000, "compared {compared}");
}
