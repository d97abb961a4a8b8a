//! Certificates for TLS tests, made with rcgen into a test's temp dir: a CA, a server
//! certificate for `localhost` and `127.0.0.1` and a client certificate it signed, and an
//! unrelated CA with a client certificate of its own. Plus a rustls client that speaks
//! Heka frames to a TLS `TcpInput`.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Paths of PEM files in a test directory.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA that signed `server_cert` and `client_cert`.
    pub ca: PathBuf,
    /// For `localhost` and `127.0.0.1`.
    pub server_cert: PathBuf,
    /// `server_cert`'s key.
    pub server_key: PathBuf,
    /// A client certificate (`edge`) signed by `ca`.
    pub client_cert: PathBuf,
    /// `client_cert`'s key.
    pub client_key: PathBuf,
    /// A CA that signed nothing of the above.
    pub other_ca: PathBuf,
    /// A client certificate signed by `other_ca`.
    pub other_client_cert: PathBuf,
    /// `other_client_cert`'s key.
    pub other_client_key: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    (cert, key)
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    ca: &(rcgen::Certificate, KeyPair),
) -> (rcgen::Certificate, KeyPair) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut p = CertificateParams::new(names).unwrap();
    p.distinguished_name.push(DnType::CommonName, "hekad test");
    p.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.0, &ca.1).unwrap();
    (cert, key)
}

impl Pki {
    /// Generates every certificate and key into `dir`.
    pub fn generate(dir: &Path) -> Pki {
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let root = ca("hekad test CA");
        let other = ca("some other CA");
        let server = leaf(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &root,
        );
        let client = leaf(&["edge"], ExtendedKeyUsagePurpose::ClientAuth, &root);
        let stranger = leaf(&["edge"], ExtendedKeyUsagePurpose::ClientAuth, &other);
        Pki {
            ca: write("ca.pem", root.0.pem()),
            server_cert: write("server.pem", server.0.pem()),
            server_key: write("server.key", server.1.serialize_pem()),
            client_cert: write("client.pem", client.0.pem()),
            client_key: write("client.key", client.1.serialize_pem()),
            other_ca: write("other-ca.pem", other.0.pem()),
            other_client_cert: write("other-client.pem", stranger.0.pem()),
            other_client_key: write("other-client.key", stranger.1.serialize_pem()),
        }
    }

    /// A TcpInput's `"tls"` value: this server certificate, and `client_ca` required of
    /// clients when given.
    pub fn input_tls(&self, client_ca: Option<&Path>) -> String {
        let mut s = format!(
            r#"{{"cert_file": "{}", "key_file": "{}""#,
            self.server_cert.display(),
            self.server_key.display()
        );
        if let Some(ca) = client_ca {
            s.push_str(&format!(r#", "client_ca_file": "{}""#, ca.display()));
        }
        s.push('}');
        s
    }

    /// A TcpOutput's `"tls"` value trusting `ca`, presenting `client` (cert, key) if given.
    pub fn output_tls(&self, ca: &Path, client: Option<(&Path, &Path)>) -> String {
        let mut s = format!(r#"{{"ca_file": "{}""#, ca.display());
        if let Some((cert, key)) = client {
            s.push_str(&format!(
                r#", "cert_file": "{}", "key_file": "{}""#,
                cert.display(),
                key.display()
            ));
        }
        s.push('}');
        s
    }

    /// A blocking rustls client connected to `addr` (verifying `127.0.0.1` against `ca`),
    /// handshake done, presenting the client certificate when `with_cert`.
    pub fn client(
        &self,
        addr: SocketAddr,
        with_cert: bool,
    ) -> StreamOwned<ClientConnection, TcpStream> {
        let conn = self.client_connection(with_cert);
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut s = StreamOwned::new(conn, sock);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock).unwrap();
        }
        s.flush().unwrap();
        s
    }

    /// A rustls client session for `127.0.0.1` trusting `ca` (no socket yet), presenting
    /// the client certificate when `with_cert`.
    pub fn client_connection(&self, with_cert: bool) -> ClientConnection {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&self.ca).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots);
        let config = if with_cert {
            let chain = CertificateDer::pem_file_iter(&self.client_cert)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_file(&self.client_key).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        } else {
            builder.with_no_client_auth()
        };
        let name = ServerName::try_from("127.0.0.1").unwrap();
        ClientConnection::new(Arc::new(config), name).unwrap()
    }
}
