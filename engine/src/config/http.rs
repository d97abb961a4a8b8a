//! The `http` section: where the status endpoint listens.

use std::net::ToSocketAddrs;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The status endpoint's address when the section names none: loopback only, so turning
/// the endpoint on never exposes it to the network by accident.
const DEFAULT_HTTP_ADDRESS: &str = "127.0.0.1:4352";

fn default_address() -> String {
    DEFAULT_HTTP_ADDRESS.to_string()
}

/// The `http` section: the address of the status endpoint (absent: none; `"http": {}`
/// serves it on `127.0.0.1:4352`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on. Default `127.0.0.1:4352` (loopback: name another address
    /// to serve other hosts).
    #[serde(default = "default_address")]
    pub address: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: default_address(),
        }
    }
}

impl HttpConfig {
    /// Checks that `address` is a `host:port` that resolves, so `hekad validate` catches
    /// what would otherwise fail only at start.
    ///
    /// # Errors
    ///
    /// A message saying why the address is unusable.
    pub fn check(&self) -> Result<(), String> {
        let bad =
            |why: String| format!("{:?} is not a host:port to listen on ({why})", self.address);
        match self.address.to_socket_addrs() {
            Ok(mut addrs) => match addrs.next() {
                Some(_) => Ok(()),
                None => Err(bad("it resolves to no address".into())),
            },
            Err(e) => Err(bad(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HttpConfig, DEFAULT_HTTP_ADDRESS};

    #[test]
    fn default_round_trips_through_json() {
        let c = HttpConfig {
            address: "127.0.0.1:4352".into(),
        };
        let back: HttpConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn the_default_address_is_loopback() {
        let c: HttpConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c.address, DEFAULT_HTTP_ADDRESS);
        assert_eq!(c, HttpConfig::default());
        assert!(c.check().is_ok());
    }

    #[test]
    fn check_refuses_what_cannot_be_listened_on() {
        for bad in [":4352", "nowhere", "127.0.0.1", "127.0.0.1:99999", ""] {
            let c = HttpConfig {
                address: bad.into(),
            };
            let e = c.check().expect_err(bad);
            assert!(e.starts_with(&format!("{bad:?} is not a host:port")), "{e}");
        }
        for good in ["0.0.0.0:0", "[::1]:4352", "localhost:4352"] {
            let c = HttpConfig {
                address: good.into(),
            };
            assert_eq!(c.check(), Ok(()), "{good}");
        }
    }
}
