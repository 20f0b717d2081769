//! Operators' changes to one flag (on, off, a rollout percentage), and the summary they see.

use std::collections::HashMap;

use serde::Serialize;
use unleash_types::client_features::{ClientFeature, ClientFeatures, Strategy};

use crate::Error;

/// A change an operator makes to one flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Turn the flag on, keeping its strategies.
    On,
    /// Turn the flag off for everyone.
    Off,
    /// Turn the flag on for this percentage (0–100) of keys, by its single `flexibleRollout`.
    Rollout(u8),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::On => f.write_str("on"),
            Change::Off => f.write_str("off"),
            Change::Rollout(p) => write!(f, "{p}%"),
        }
    }
}

/// What an operator sees of one flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagSummary {
    /// The flag's name.
    pub name: String,
    /// Whether the flag is on at all.
    pub enabled: bool,
    /// The rollout percentage of its single `flexibleRollout` strategy, if it has one.
    pub rollout: Option<u8>,
    /// That strategy's stickiness (`default`, `userId`, `sessionId`, …).
    pub stickiness: Option<String>,
    /// How many strategies it has (Unleash ORs them).
    pub strategies: usize,
}

impl std::fmt::Display for FlagSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.enabled, self.rollout) {
            (false, _) => f.write_str("off"),
            (true, Some(p)) => write!(f, "{p}%"),
            (true, None) => f.write_str("on"),
        }
    }
}

/// Summarises a flag for operators.
pub fn summarize(feature: &ClientFeature) -> FlagSummary {
    let strategies = feature.strategies.as_deref().unwrap_or_default();
    let rollouts: Vec<&Strategy> = strategies
        .iter()
        .filter(|s| s.name == "flexibleRollout")
        .collect();
    let (rollout, stickiness) = match rollouts.as_slice() {
        [only] if strategies.len() == 1 => {
            let params = only.parameters.as_ref();
            (
                params
                    .and_then(|p| p.get("rollout"))
                    .and_then(|r| r.trim().parse::<u8>().ok()),
                params.and_then(|p| p.get("stickiness")).cloned(),
            )
        }
        _ => (None, None),
    };
    FlagSummary {
        name: feature.name.clone(),
        enabled: feature.enabled,
        rollout,
        stickiness,
        strategies: strategies.len(),
    }
}

/// Applies `change` to flag `name` in `features`; a flag that does not exist yet is created with a
/// `flexibleRollout` on `default` stickiness grouped by its own name. Returns the summary before
/// (None for a new flag) and after.
pub fn apply(
    features: &mut ClientFeatures,
    name: &str,
    change: Change,
) -> Result<(Option<FlagSummary>, FlagSummary), Error> {
    if let Change::Rollout(p) = change
        && p > 100
    {
        return Err(Error::Refused(format!(
            "a rollout is 0 to 100 percent, not {p}"
        )));
    }
    let (index, before) = match features.features.iter().position(|f| f.name == name) {
        Some(i) => (i, Some(summarize(&features.features[i]))),
        None => {
            features.features.push(new_flag(name));
            (features.features.len() - 1, None)
        }
    };
    let feature = &mut features.features[index];
    match change {
        Change::On => feature.enabled = true,
        Change::Off => feature.enabled = false,
        Change::Rollout(p) => {
            let strategies = feature.strategies.get_or_insert_with(Vec::new);
            let rollouts = strategies
                .iter()
                .filter(|s| s.name == "flexibleRollout")
                .count();
            match (strategies.len(), rollouts) {
                (1, 1) => {}
                (_, 0) | (0, _) => *strategies = vec![rollout_strategy(name)],
                _ => {
                    return Err(Error::Refused(format!(
                        "flag {name} has {} strategies; a percentage is set on a flag with one \
                         flexibleRollout strategy: edit it in Unleash or in the flag file",
                        strategies.len()
                    )));
                }
            }
            strategies[0]
                .parameters
                .get_or_insert_with(HashMap::new)
                .insert("rollout".to_owned(), p.to_string());
            feature.enabled = true;
        }
    }
    Ok((before, summarize(feature)))
}

fn new_flag(name: &str) -> ClientFeature {
    ClientFeature {
        name: name.to_owned(),
        feature_type: Some("release".to_owned()),
        enabled: false,
        project: Some("default".to_owned()),
        strategies: Some(Vec::new()),
        ..ClientFeature::default()
    }
}

fn rollout_strategy(group: &str) -> Strategy {
    Strategy {
        name: "flexibleRollout".to_owned(),
        sort_order: None,
        segments: None,
        constraints: Some(Vec::new()),
        parameters: Some(HashMap::from([
            ("rollout".to_owned(), "0".to_owned()),
            ("stickiness".to_owned(), "default".to_owned()),
            ("groupId".to_owned(), group.to_owned()),
        ])),
        variants: None,
    }
}
