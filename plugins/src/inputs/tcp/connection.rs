//! One accepted connection of TcpInput: its socket, its frames in the making, and its TLS
//! session if the input serves TLS. Reads go through the session when there is one, so the
//! input's read loop is the same for both.

use std::io;
use std::net::Shutdown;
use std::time::Instant;

use super::buffer::{FrameBuffer, ReadOutcome};
use super::tls::Session;

/// One accepted connection.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) stream: mio::net::TcpStream,
    pub(super) frames: FrameBuffer,
    pub(super) last_read: Instant,
    /// Readiness was reported and the stream has not returned WouldBlock since.
    pub(super) readable: bool,
    /// The TLS session; `None`: plain.
    pub(super) tls: Option<Box<Session>>,
}

impl Connection {
    /// A connection that may have data already.
    pub(super) fn new(
        stream: mio::net::TcpStream,
        frames: FrameBuffer,
        tls: Option<Box<Session>>,
    ) -> Self {
        Connection {
            stream,
            frames,
            last_read: Instant::now(),
            readable: true,
            tls,
        }
    }

    /// The interest to register: READABLE, and WRITABLE while TLS bytes wait for room.
    pub(super) fn interest(&self) -> mio::Interest {
        match &self.tls {
            Some(s) if s.writable_interest => mio::Interest::READABLE | mio::Interest::WRITABLE,
            _ => mio::Interest::READABLE,
        }
    }

    /// Reads once into the frame buffer: from the socket, or through the TLS session.
    ///
    /// # Errors
    ///
    /// The socket's, or a TLS failure ([`super::tls::is_tls_error`]).
    pub(super) fn read(&mut self) -> io::Result<ReadOutcome> {
        match self.tls.as_mut() {
            None => self.frames.read_from(&mut self.stream),
            Some(s) => self.frames.read_from(&mut s.reader(&mut self.stream)),
        }
    }

    /// Half-closes the connection (a stop): the sender reads the end of the stream, after
    /// a close_notify with TLS; its frames can still be read.
    pub(super) fn half_close(&mut self) {
        match self.tls.as_mut() {
            None => self.stream.shutdown(Shutdown::Write).unwrap_or(()),
            Some(s) => s.close_notify(&mut self.stream),
        }
    }
}
