//! TcpInput's TLS: the config section, the rustls server config built from it, and one
//! connection's session, which reads plaintext for the [`FrameBuffer`](super::buffer)
//! through rustls on a non-blocking socket.

use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use engine::{BuildContext, BuildError, Counter};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::SingleCertAndKey;
use rustls::{ServerConfig, ServerConnection};
use serde::{Deserialize, Serialize};

/// TLS for the listener: every connection must complete a TLS handshake (TLS 1.2 or 1.3,
/// the ring provider's safe defaults) before its frames are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpInputTlsConfig {
    /// PEM file of this server's certificate chain (its own certificate first); relative
    /// to the config file's directory.
    pub cert_file: PathBuf,
    /// PEM file of the private key of `cert_file` (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM file of the CA certificate(s) that client certificates must chain to; set, it
    /// requires every client to present one (mutual TLS); absent, clients are not asked.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
}

/// A built server side.
#[derive(Debug)]
pub(super) struct ServerTls {
    config: Arc<ServerConfig>,
    /// Connections closed for a TLS failure (a handshake refused either way, a client
    /// without a valid certificate, bytes that are not TLS).
    pub(super) errors: Counter,
}

impl TcpInputTlsConfig {
    /// The server side.
    ///
    /// # Errors
    ///
    /// An unreadable or invalid file (named in the message), or a key that is not the
    /// certificate's.
    pub(super) fn build(&self, ctx: &BuildContext) -> Result<ServerTls, BuildError> {
        let provider = crate::tls::provider();
        let certified = crate::tls::certified_key(
            &provider,
            &ctx.resolve_path(&self.cert_file),
            &ctx.resolve_path(&self.key_file),
        )?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| BuildError::Invalid(format!("tls: {e}")))?;
        let builder = match &self.client_ca_file {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let roots = crate::tls::roots("client_ca_file", &ctx.resolve_path(path))?;
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| {
                        BuildError::Invalid(format!("tls.client_ca_file {}: {e}", path.display()))
                    })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        Ok(ServerTls {
            config: Arc::new(config),
            errors: ctx.counter("tls_errors"),
        })
    }
}

impl ServerTls {
    /// A session for a newly accepted connection.
    ///
    /// # Errors
    ///
    /// rustls's (it cannot start one: out of randomness).
    pub(super) fn session(&self) -> Result<Box<Session>, rustls::Error> {
        Ok(Box::new(Session {
            conn: ServerConnection::new(self.config.clone())?,
            // Zeroed: pages a connection never fills cost no resident memory.
            records: vec![0; RECORDS_READ],
            unfed: 0..0,
            write_blocked: false,
            writable_interest: false,
            fin_after_flush: false,
        }))
    }
}

/// Bytes of records read from the socket at once. rustls's own `read_tls` reads at most
/// 4 KiB per call into its buffer, four or more syscalls per 16 KiB record; reading here
/// and feeding rustls from memory takes one per several records.
const RECORDS_READ: usize = 64 * 1024;

/// One connection's TLS state.
#[derive(Debug)]
pub(super) struct Session {
    conn: ServerConnection,
    /// TLS records read from the socket; `unfed` is the part rustls has not taken yet.
    records: Vec<u8>,
    unfed: Range<usize>,
    /// The last flush stopped at WouldBlock: TLS bytes (handshake, alerts, tickets) wait
    /// for the socket to be writable.
    pub(super) write_blocked: bool,
    /// The connection is registered for WRITABLE as well as READABLE.
    pub(super) writable_interest: bool,
    /// Half-close the socket once the pending TLS bytes (a close_notify) are out.
    fin_after_flush: bool,
}

impl Session {
    /// Writes pending TLS bytes until done or WouldBlock (noted in `write_blocked`), then
    /// the half-close a stop asked for.
    ///
    /// # Errors
    ///
    /// The socket's, other than WouldBlock.
    pub(super) fn flush(&mut self, sock: &mut mio::net::TcpStream) -> io::Result<()> {
        self.write_blocked = false;
        while self.conn.wants_write() {
            match self.conn.write_tls(sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.write_blocked = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if std::mem::take(&mut self.fin_after_flush) {
            sock.shutdown(std::net::Shutdown::Write).unwrap_or(());
        }
        Ok(())
    }

    /// Sends close_notify, then half-closes the socket (once that is out), so the sender
    /// reads the end of the stream both ways TLS and TCP say it.
    pub(super) fn close_notify(&mut self, sock: &mut mio::net::TcpStream) {
        self.conn.send_close_notify();
        self.fin_after_flush = true;
        self.flush(sock).unwrap_or(());
    }

    /// A reader of this session's plaintext from `sock`.
    pub(super) fn reader<'a>(&'a mut self, sock: &'a mut mio::net::TcpStream) -> Plaintext<'a> {
        Plaintext {
            session: self,
            sock,
        }
    }
}

/// Whether `e` (from a [`Plaintext`] read) is a TLS failure rather than the socket's:
/// rustls reports its own as InvalidData, which a socket never returns.
pub(super) fn is_tls_error(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidData
}

/// Reads a session's plaintext: what rustls already decrypted first, then the records read
/// but not yet given to rustls, then more from the socket. WouldBlock only once rustls
/// holds no plaintext and the socket has nothing more (mio is edge-triggered: a
/// connection stays ready until then). Handshake bytes the server owes are written before
/// each socket read.
#[derive(Debug)]
pub(super) struct Plaintext<'a> {
    session: &'a mut Session,
    sock: &'a mut mio::net::TcpStream,
}

impl Read for Plaintext<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Plaintext { session, sock } = self;
        loop {
            match session.conn.reader().read(buf) {
                // 0: the peer's close_notify.
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // TCP closed without close_notify: an end of stream all the same (frames
                // say whether one was cut: `truncated`).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            session.flush(sock)?;
            if session.unfed.is_empty() {
                // WouldBlock (and any error) goes to the caller from here.
                let n = sock.read(&mut session.records)?;
                if n == 0 {
                    // The end of the stream: rustls notes it (an empty read), and the
                    // reader reports it (above) on the next turn.
                    session.conn.read_tls(&mut &[][..])?;
                    continue;
                }
                session.unfed = 0..n;
            }
            let mut unfed = &session.records[session.unfed.clone()];
            let taken = session.conn.read_tls(&mut unfed)?;
            session.unfed.start += taken;
            if let Err(e) = session.conn.process_new_packets() {
                // The alert saying why, if the socket takes it; the connection is done.
                session.flush(sock).unwrap_or(());
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }
}
