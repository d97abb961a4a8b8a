//! The `http` section: where the status endpoint listens.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `http` section: the address of the status endpoint (absent: none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on, e.g. `127.0.0.1:4352`.
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::HttpConfig;

    #[test]
    fn default_round_trips_through_json() {
        let c = HttpConfig {
            address: "127.0.0.1:4352".into(),
        };
        let back: HttpConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
