//! The writer thread's connection to one address: plain TCP, or TLS over it. Opening runs
//! the TCP connect and the TLS handshake within `connect_timeout_ms`; writing keeps the
//! plain path's `write` semantics (a count of bytes taken), so the writer's partial-write
//! tracking works the same on both.

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ProtocolVersion, StreamOwned};

use super::tls::ClientTls;

/// How long a closing connection waits to send its close_notify.
const CLOSE_NOTIFY_TIMEOUT: Duration = Duration::from_millis(100);

/// At most this many TLS reads per peer check (the receiver never talks: a few session
/// tickets at most; more waits for the next check).
const CHECK_READS: usize = 16;

/// Why a connect failed.
#[derive(Debug)]
pub(super) enum ConnectError {
    /// The TCP connect (or the name's resolution) failed, or the handshake timed out.
    Io(io::Error),
    /// The TLS handshake failed: a certificate refused by either side, a wrong name, a
    /// peer that does not speak TLS.
    Tls(io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Io(e) => write!(f, "{e}"),
            ConnectError::Tls(e) => write!(f, "tls handshake failed: {e}"),
        }
    }
}

/// TLS over one TCP stream.
#[derive(Debug)]
pub(super) struct Tls {
    stream: StreamOwned<ClientConnection, TcpStream>,
    /// A flush failed after the bytes were taken: the next write reports it.
    broken: Option<io::Error>,
}

/// One open connection.
#[derive(Debug)]
pub(super) enum Connection {
    Plain(TcpStream),
    Tls(Box<Tls>),
}

/// Connects to one of the addresses `address` resolves to, the first that answers.
fn connect_tcp(address: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "resolves to nothing");
    for a in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// What the handshake returned as an `io::Error`: a TLS failure (rustls's error, the peer
/// closing, or no answer in time: not a TLS listener), or the socket's.
fn classify(e: io::Error) -> ConnectError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ConnectError::Tls(io::Error::new(
            io::ErrorKind::TimedOut,
            "no answer within connect_timeout_ms (not a TLS listener?)",
        )),
        io::ErrorKind::UnexpectedEof => ConnectError::Tls(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer closed the connection (not a TLS listener?)",
        )),
        _ if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => ConnectError::Tls(e),
        _ => ConnectError::Io(e),
    }
}

/// The time left until `deadline`, never zero (a zero timeout means none).
fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

impl Connection {
    /// Connects to `address` and, with `tls`, runs the handshake verifying `name`, all
    /// within `timeout`; the stream then blocks at most `write_timeout` per write.
    pub(super) fn open(
        address: &str,
        tls: Option<(&ClientTls, &ServerName<'static>)>,
        timeout: Duration,
        write_timeout: Duration,
    ) -> Result<Connection, ConnectError> {
        let deadline = Instant::now() + timeout;
        let sock = connect_tcp(address, timeout).map_err(ConnectError::Io)?;
        sock.set_nodelay(true).unwrap_or(());
        let Some((tls, name)) = tls else {
            sock.set_write_timeout(Some(write_timeout)).unwrap_or(());
            return Ok(Connection::Plain(sock));
        };
        let t = Tls::handshake(sock, tls, name.clone(), deadline)?;
        let sock = &t.stream.sock;
        sock.set_read_timeout(None).unwrap_or(());
        sock.set_write_timeout(Some(write_timeout)).unwrap_or(());
        Ok(Connection::Tls(Box::new(t)))
    }

    /// The TCP stream under the connection.
    pub(super) fn socket(&self) -> &TcpStream {
        match self {
            Connection::Plain(s) => s,
            Connection::Tls(t) => &t.stream.sock,
        }
    }

    /// Writes from `buf`, returning how many bytes were taken: into the kernel (plain), or
    /// into rustls, then flushed as records to the kernel (TLS). Like bytes in the kernel's
    /// buffer, bytes taken are lost if the connection breaks before they go out.
    ///
    /// # Errors
    ///
    /// The socket's (a timeout after `write_timeout`, a reset).
    pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            // `write`, not `write_all`: the caller tracks short writes.
            #[allow(clippy::disallowed_methods)]
            Connection::Plain(s) => s.write(buf),
            Connection::Tls(t) => t.write(buf),
        }
    }

    /// Whether the peer closed the connection (a stopping aggregator; with TLS, its
    /// close_notify), or sent something: the receiver never talks, so data means something
    /// else is listening. Never blocks.
    pub(super) fn peer_closed(&mut self) -> bool {
        let sock = self.socket();
        if sock.set_nonblocking(true).is_err() {
            return true;
        }
        let closed = match self {
            Connection::Plain(s) => {
                let mut b = [0u8; 64];
                match s.read(&mut b) {
                    Ok(0) => true,
                    // The receiver never talks: data means something else is listening.
                    Ok(_) => true,
                    Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                }
            }
            Connection::Tls(t) => t.peer_closed(),
        };
        self.socket().set_nonblocking(false).is_err() || closed
    }

    /// Closes the connection; `graceful` first sends TLS's close_notify (not after a
    /// failed write: the connection is broken anyway).
    pub(super) fn close(self, graceful: bool) {
        if let Connection::Tls(mut t) = self {
            if graceful {
                t.stream.conn.send_close_notify();
                let sock = &t.stream.sock;
                sock.set_write_timeout(Some(CLOSE_NOTIFY_TIMEOUT))
                    .unwrap_or(());
                t.flush().unwrap_or(());
            }
            t.stream.sock.shutdown(Shutdown::Both).unwrap_or(());
        } else {
            self.socket().shutdown(Shutdown::Both).unwrap_or(());
        }
    }
}

impl Tls {
    /// The handshake, with the socket's timeouts set to what is left until `deadline`.
    fn handshake(
        mut sock: TcpStream,
        tls: &ClientTls,
        name: ServerName<'static>,
        deadline: Instant,
    ) -> Result<Tls, ConnectError> {
        let mut conn = ClientConnection::new(tls.config.clone(), name)
            .map_err(|e| ConnectError::Tls(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        tls.cert.reset();
        while conn.is_handshaking() || conn.wants_write() {
            sock.set_read_timeout(Some(left(deadline)))
                .map_err(ConnectError::Io)?;
            sock.set_write_timeout(Some(left(deadline)))
                .map_err(ConnectError::Io)?;
            conn.complete_io(&mut sock).map_err(classify)?;
        }
        if conn.protocol_version() == Some(ProtocolVersion::TLSv1_3) && tls.cert.asked() {
            Tls::confirm(&mut conn, &mut sock, deadline)?;
        }
        Ok(Tls {
            stream: StreamOwned::new(conn, sock),
            broken: None,
        })
    }

    /// TLS 1.3 with a client certificate requested: the server checks ours only after our
    /// side of the handshake is done, and refuses it with an alert; frames written before
    /// that alert would be lost, yet counted as delivered. So wait for the server's first
    /// record after the handshake: its session tickets (sent once it accepted us), an alert
    /// (a failed connect), or the deadline (a server that sends no tickets: accepted).
    fn confirm(
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        deadline: Instant,
    ) -> Result<(), ConnectError> {
        loop {
            if Instant::now() >= deadline {
                return Ok(());
            }
            sock.set_read_timeout(Some(left(deadline)))
                .map_err(ConnectError::Io)?;
            match conn.read_tls(sock) {
                Ok(0) => {
                    return Err(ConnectError::Tls(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection after the handshake \
                         (refused the client certificate?)",
                    )))
                }
                Ok(_) => {
                    return match conn.process_new_packets() {
                        Ok(_) => Ok(()),
                        Err(e) => Err(ConnectError::Tls(io::Error::new(
                            io::ErrorKind::InvalidData,
                            e,
                        ))),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(())
                }
                Err(e) => return Err(ConnectError::Io(e)),
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(e) = self.broken.take() {
            return Err(e);
        }
        // Encrypts into records, up to rustls's buffer limit (64 KiB by default); the
        // caller tracks the short write as it does the kernel's.
        #[allow(clippy::disallowed_methods)]
        let n = self.stream.conn.writer().write(buf)?;
        if let Err(e) = self.flush() {
            self.broken = Some(e);
        }
        Ok(n)
    }

    /// Writes every pending record to the socket.
    fn flush(&mut self) -> io::Result<()> {
        let StreamOwned { conn, sock } = &mut self.stream;
        while conn.wants_write() {
            match conn.write_tls(sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads what the server sent (on a non-blocking socket). Session tickets and key
    /// updates are TLS's own and consumed here; a close_notify, an end of stream, a TLS
    /// error or application data mean the connection is done.
    fn peer_closed(&mut self) -> bool {
        let StreamOwned { conn, sock } = &mut self.stream;
        for _ in 0..CHECK_READS {
            match conn.read_tls(sock) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return true,
            }
            if conn.process_new_packets().is_err() {
                return true;
            }
            let mut b = [0u8; 64];
            match conn.reader().read(&mut b) {
                // Ok(0): close_notify; Ok(n): data.
                Ok(_) => return true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return true,
            }
        }
        false
    }
}
