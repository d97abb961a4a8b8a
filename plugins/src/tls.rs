//! PEM files into what rustls needs, for TcpInput (server) and TcpOutput (client). Every
//! config is built with the ring provider passed explicitly (never a process default), and
//! every error names the config key and the file, and says what is wrong with it, so
//! hekad refuses to start with a message an operator can act on.

use std::path::Path;
use std::sync::Arc;

use engine::BuildError;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;

/// The crypto provider of every TLS config hekad builds: ring.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `tls.<key> <path>`, how errors name a file.
fn name(key: &str, path: &Path) -> String {
    format!("tls.{key} {}", path.display())
}

fn pem_error(key: &str, path: &Path, e: pem::Error) -> BuildError {
    match e {
        pem::Error::Io(io) => BuildError::io(format!("read {}", name(key, path)), io),
        other => BuildError::Invalid(format!("{}: not valid PEM: {other}", name(key, path))),
    }
}

/// Every certificate in the PEM file at `path` (config key `key`), in order.
///
/// # Errors
///
/// The file cannot be read, is not PEM, or holds no `CERTIFICATE` section.
pub(crate) fn certs(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, BuildError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(key, path, e))?;
    if certs.is_empty() {
        return Err(BuildError::Invalid(format!(
            "{}: no certificate in it (no \"-----BEGIN CERTIFICATE-----\" section)",
            name(key, path)
        )));
    }
    Ok(certs)
}

/// The certificates of the PEM file at `path` as trust anchors.
///
/// # Errors
///
/// As [`certs`], or a certificate that is not a valid CA certificate.
pub(crate) fn roots(key: &str, path: &Path) -> Result<Arc<RootCertStore>, BuildError> {
    let mut roots = RootCertStore::empty();
    for c in certs(key, path)? {
        roots.add(c).map_err(|e| {
            BuildError::Invalid(format!(
                "{}: not a usable CA certificate: {e}",
                name(key, path)
            ))
        })?;
    }
    Ok(Arc::new(roots))
}

/// The certificate chain of `cert_path` with the private key of `key_path`, checked to
/// belong together.
///
/// # Errors
///
/// Either file cannot be read or parsed, the key is of a kind ring cannot sign with, or
/// the key is not the certificate's.
pub(crate) fn certified_key(
    provider: &CryptoProvider,
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, BuildError> {
    let chain = certs("cert_file", cert_path)?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| match e {
        pem::Error::NoItemsFound => BuildError::Invalid(format!(
            "{}: no private key in it (no PKCS#8, PKCS#1 or SEC1 \"PRIVATE KEY\" section)",
            name("key_file", key_path)
        )),
        e => pem_error("key_file", key_path, e),
    })?;
    let key = provider.key_provider.load_private_key(key).map_err(|e| {
        BuildError::Invalid(format!(
            "{}: not a usable private key: {e}",
            name("key_file", key_path)
        ))
    })?;
    let certified = CertifiedKey::new(chain, key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(BuildError::Invalid(format!(
            "{} is not the private key of {}",
            name("key_file", key_path),
            name("cert_file", cert_path)
        ))),
        Err(e) => Err(BuildError::Invalid(format!(
            "{}: not a usable certificate: {e}",
            name("cert_file", cert_path)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(e: BuildError) -> String {
        match e {
            BuildError::Invalid(m) => m,
            BuildError::Io { what, source } => format!("{what}: {source}"),
        }
    }

    #[test]
    fn errors_name_the_key_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = invalid(certs("ca_file", &missing).unwrap_err());
        assert!(e.starts_with("read tls.ca_file "), "{e}");
        assert!(
            e.contains("missing.pem") && e.contains("No such file"),
            "{e}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "hello\n").unwrap();
        let e = invalid(certs("cert_file", &empty).unwrap_err());
        assert!(e.contains("empty.pem: no certificate in it"), "{e}");

        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = invalid(roots("client_ca_file", &broken).unwrap_err());
        assert!(
            e.contains("tls.client_ca_file") && e.contains("not valid PEM"),
            "{e}"
        );

        let garbage_der = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage_der,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = invalid(roots("ca_file", &garbage_der).unwrap_err());
        assert!(e.contains("not a usable CA certificate"), "{e}");

        let p = provider();
        let e = invalid(certified_key(&p, &garbage_der, &empty).unwrap_err());
        assert!(
            e.contains("tls.key_file") && e.contains("no private key"),
            "{e}"
        );
    }
}
