//! One immutable set of flags: Unleash's client-API JSON, compiled once by Unleash's own engine.

use std::collections::HashSet;

use unleash_types::client_features::{ClientFeature, ClientFeatures, ClientFeaturesDelta, Context};
use unleash_yggdrasil::state::EnrichedContext;
use unleash_yggdrasil::{EngineState, ExtendedVariantDef};

use crate::Error;

/// Who a request is for, as the proxy knows it: the keys Unleash's stickiness reads.
///
/// Borrowed, so evaluating a flag for a request allocates nothing. `user_id` is the customer id
/// from a validated token, `session_id` the visitor's session key (the proxy's `ficus_sid` cookie
/// or a configured header). Unleash's `default` stickiness takes `user_id`, then `session_id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Who<'a> {
    /// Unleash's `userId`: a logged-in customer's id.
    pub user_id: Option<&'a str>,
    /// Unleash's `sessionId`: the visitor's session key.
    pub session_id: Option<&'a str>,
    /// Unleash's `remoteAddress`: the client's IP address.
    pub remote_address: Option<&'a str>,
}

/// A compiled set of flags. Built once per file version or server fetch, then only read.
pub struct FlagSet {
    features: ClientFeatures,
    engine: EngineState,
    warnings: Vec<String>,
}

impl std::fmt::Debug for FlagSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlagSet")
            .field("flags", &self.features.features.len())
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl FlagSet {
    /// No flags at all: every flag is off.
    pub fn empty() -> Self {
        Self::from_features(ClientFeatures {
            version: 2,
            features: Vec::new(),
            segments: None,
            query: None,
            meta: None,
        })
    }

    /// Parses the JSON of Unleash's `GET /api/client/features` (or of `/api/client/delta`, which
    /// is applied to an empty set). `origin` names where the text came from, for the error.
    pub fn parse(json: &str, origin: &str) -> Result<Self, Error> {
        let malformed = |source| Error::Malformed {
            origin: origin.to_owned(),
            source,
        };
        let value: serde_json::Value = serde_json::from_str(json).map_err(malformed)?;
        let features = if value.get("events").is_some() && value.get("features").is_none() {
            let delta: ClientFeaturesDelta = serde_json::from_value(value).map_err(malformed)?;
            ClientFeatures::create_from_delta(&delta)
        } else {
            serde_json::from_value(value).map_err(malformed)?
        };
        check_names(&features, origin)?;
        Ok(Self::from_features(features))
    }

    /// Compiles a set of flags. Strategies Unleash's engine cannot compile evaluate to off, as in
    /// every Unleash SDK; they are kept as [`FlagSet::warnings`].
    pub fn from_features(features: ClientFeatures) -> Self {
        let engine = EngineState::initial_state(chrono::Utc::now());
        let warnings = engine
            .take_state(unleash_yggdrasil::UpdateMessage::FullResponse(
                features.clone(),
            ))
            .unwrap_or_default()
            .into_iter()
            .map(|w| format!("{}: {}", w.toggle_name, w.message))
            .collect();
        Self {
            features,
            engine,
            warnings,
        }
    }

    /// The flags as Unleash's client API would serve them.
    pub fn features(&self) -> &ClientFeatures {
        &self.features
    }

    /// One flag's definition.
    pub fn feature(&self, name: &str) -> Option<&ClientFeature> {
        self.features.features.iter().find(|f| f.name == name)
    }

    /// What Unleash's engine could not compile (`flag: problem`), if anything.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The serialized set, in Unleash's client-API JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.features).unwrap_or_else(|_| String::from("{}"))
    }

    /// Whether `name` is on for `who`. An unknown flag is off. No I/O, no lock, no allocation.
    pub fn is_enabled(&self, name: &str, who: &Who<'_>) -> bool {
        let context = EnrichedContext {
            user_id: who.user_id,
            session_id: who.session_id,
            environment: None,
            app_name: None,
            current_time: None,
            remote_address: who.remote_address,
            properties: None,
            external_results: None,
            toggle_name: name,
            runtime_hostname: None,
        };
        self.engine.check_enabled(&context).unwrap_or(false)
    }

    /// Whether `name` is on for a full Unleash context (every field Unleash's strategies and
    /// constraints read). The same engine as [`FlagSet::is_enabled`].
    pub fn is_enabled_in(&self, name: &str, context: &Context) -> bool {
        self.engine.is_enabled(name, context, &None)
    }

    /// The variant Unleash gives `name` in `context` (`disabled` when the flag is off).
    pub fn variant_in(&self, name: &str, context: &Context) -> ExtendedVariantDef {
        self.engine.get_variant(name, context, &None)
    }
}

/// Flag names are keys in logs, metrics and the admin API's paths: they must be non-empty and
/// unique.
fn check_names(features: &ClientFeatures, origin: &str) -> Result<(), Error> {
    let mut seen = HashSet::with_capacity(features.features.len());
    for feature in &features.features {
        if feature.name.is_empty() {
            return Err(Error::Invalid {
                origin: origin.to_owned(),
                problem: "a flag has an empty name".to_owned(),
            });
        }
        if !seen.insert(feature.name.as_str()) {
            return Err(Error::Invalid {
                origin: origin.to_owned(),
                problem: format!("flag {:?} is defined twice", feature.name),
            });
        }
    }
    Ok(())
}
