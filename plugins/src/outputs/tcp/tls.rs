//! TcpOutput's TLS settings: the config section, and the rustls client config built from
//! it (checked at build, so a running output cannot be misconfigured).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use engine::{BuildContext, BuildError, Counter};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, SignatureScheme};
use serde::{Deserialize, Serialize};

/// TLS to the aggregator (a `TcpInput` with `tls`, or any TLS server that reads Heka
/// frames). TLS 1.2 and 1.3, the ring provider's safe defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpOutputTlsConfig {
    /// PEM file of the CA certificate(s) the aggregator's certificate must chain to;
    /// relative to the config file's directory.
    pub ca_file: PathBuf,
    /// The name the aggregator's certificate must be valid for (a DNS name or an IP
    /// address); absent: the host part of the address being connected to.
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM file of this hekad's certificate (chain), presented when the aggregator asks
    /// for one (its `client_ca_file`: mutual TLS); needs `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM file of the private key of `cert_file` (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// Presents the configured client certificate, if any, and notes that the server asked
/// for one (then a TLS 1.3 server decides only after our side of the handshake is done:
/// see `Tls::confirm`).
#[derive(Debug)]
pub(super) struct ClientCert {
    key: Option<Arc<CertifiedKey>>,
    /// Set when the server sent a CertificateRequest. One writer thread connects at a
    /// time: it clears this before a handshake and reads it after (`Relaxed`: the same
    /// thread, through rustls, sets it).
    asked: AtomicBool,
}

impl ClientCert {
    /// Forgets the previous handshake's request.
    pub(super) fn reset(&self) {
        self.asked.store(false, Ordering::Relaxed);
    }

    /// Whether the server asked for a certificate since [`ClientCert::reset`].
    pub(super) fn asked(&self) -> bool {
        self.asked.load(Ordering::Relaxed)
    }
}

impl ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// A built client side: the rustls config and the name to verify for each address.
#[derive(Debug)]
pub(super) struct ClientTls {
    pub(super) config: Arc<ClientConfig>,
    /// `names[i]` is verified when connecting to the output's `addresses[i]`.
    pub(super) names: Vec<ServerName<'static>>,
    pub(super) cert: Arc<ClientCert>,
    /// Handshakes that failed (a bad certificate on either side, a wrong name, not TLS).
    pub(super) errors: Counter,
}

/// The host of `host:port` (without an IPv6 address's brackets).
fn host(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn server_name(name: &str, key: &str) -> Result<ServerName<'static>, BuildError> {
    ServerName::try_from(name.to_string()).map_err(|_| {
        BuildError::Invalid(format!(
            "tls: {key} {name:?} is neither a DNS name nor an IP address"
        ))
    })
}

impl TcpOutputTlsConfig {
    /// The client side for `addresses` (each `host:port`).
    ///
    /// # Errors
    ///
    /// An unreadable or invalid file (named in the message), a `cert_file` without
    /// `key_file` or the reverse, or a name that cannot be verified.
    pub(super) fn build(
        &self,
        ctx: &BuildContext,
        addresses: &[String],
    ) -> Result<ClientTls, BuildError> {
        let names = addresses
            .iter()
            .map(|a| match &self.server_name {
                Some(n) => server_name(n, "server_name"),
                None => server_name(host(a), "the host of address"),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(BuildError::Invalid(
                "tls: cert_file and key_file go together (the client certificate and its key)"
                    .into(),
            ));
        }
        let provider = crate::tls::provider();
        let roots = crate::tls::roots("ca_file", &ctx.resolve_path(&self.ca_file))?;
        let key = match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => Some(Arc::new(crate::tls::certified_key(
                &provider,
                &ctx.resolve_path(c),
                &ctx.resolve_path(k),
            )?)),
            _ => None,
        };
        let cert = Arc::new(ClientCert {
            key,
            asked: AtomicBool::new(false),
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| BuildError::Invalid(format!("tls: {e}")))?
            .with_root_certificates(roots)
            .with_client_cert_resolver(cert.clone());
        Ok(ClientTls {
            config: Arc::new(config),
            names,
            cert,
            errors: ctx.counter("tls_errors"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_server_name_is_the_host_of_each_address() {
        assert_eq!(host("aggregator-1.example:5566"), "aggregator-1.example");
        assert_eq!(host("127.0.0.1:5566"), "127.0.0.1");
        assert_eq!(host("[::1]:5566"), "::1");
        assert!(server_name(host("[::1]:1"), "h").is_ok());
        assert!(server_name("not a name!", "server_name").is_err());
    }

    #[test]
    fn config_defaults_round_trip_and_a_lone_cert_file_is_refused() {
        let c: TcpOutputTlsConfig =
            serde_json::from_str(r#"{"ca_file": "ca.pem", "server_name": "agg"}"#).unwrap();
        let back: TcpOutputTlsConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<TcpOutputTlsConfig>(r#"{"ca": "x"}"#).is_err());
        let dir = tempfile::tempdir().unwrap();
        let ctx = BuildContext::standalone("t");
        let missing = TcpOutputTlsConfig {
            ca_file: dir.path().join("missing.pem"),
            ..TcpOutputTlsConfig::default()
        };
        match missing.build(&ctx, &["a:1".into()]) {
            Err(BuildError::Io { what, .. }) => assert!(what.contains("tls.ca_file"), "{what}"),
            other => panic!("{other:?}"),
        }
        let lone = TcpOutputTlsConfig {
            cert_file: Some("edge.pem".into()),
            ..missing
        };
        match lone.build(&ctx, &["a:1".into()]) {
            Err(BuildError::Invalid(m)) => assert!(m.contains("go together"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
