//! TcpInput: Heka stream framing over TCP, as heka-py and Heka's Go client send it. Many
//! frames per connection, frames split across reads, many connections at once, all on the
//! input's own thread with mio (DESIGN.md sections 6 and 10).
//!
//! The listener is registered under the stage's token and connection `k` (`k >= 1`) under
//! `Token(token | k << 16)`, so [`Input::ready`] says which source is readable. Each whole
//! frame becomes one `Raw` pack holding the frame's bytes, for the `ProtobufDecoder` (which
//! checks the header and the signature). `fill` never blocks: it reads until WouldBlock or
//! until the batch is full (then returns [`Fill::More`] and resumes with the same
//! connection).
//!
//! Bad framing (a stream not starting with `0x1E`, a bad header, a message longer than
//! `max_message_size`) cannot be resynchronised: the connection is closed and counted as
//! `framing_errors`. A connection over `max_connections` is accepted and closed at once
//! (`refused`); one silent for `idle_timeout_secs` is closed (`idle_closed`) by the input's
//! tick, which the engine calls at least every `engine.read_timeout_ms` even when nothing is
//! readable, and again before each fill, so a full input frees idle slots before it refuses
//! anyone. A connection closed by its peer in the middle
//! of a frame loses that frame (`truncated`): Heka framing has no acknowledgements. A frame
//! must fit a pack (`max_message_size` bytes, header included, as a UDP frame must); a
//! longer one is skipped and counted (`oversized`), and the stream goes on.
//!
//! A reload's stop hands the live connections, with the bytes read but not framed, to the
//! supervisor's [`Sockets`]; the next pipeline's TcpInput on the same address adopts them
//! (and the listener, which the supervisor keeps open), so a reload resets no connection
//! and loses no byte.
//!
//! A shutdown's stop closes the listener (new connections are refused rather than left in
//! the backlog), half-closes every connection so its sender reads end-of-stream (after a
//! close_notify, with TLS), and keeps reading each until the sender closes its side or one
//! second passes: a sender that notices the close (hekad's TcpOutput does, and reconnects
//! elsewhere or later) loses nothing it wrote.
//!
//! **TLS.** With `tls`, each accepted connection gets a rustls session and its frames are
//! read through it (`tls.rs`); a client that fails the handshake (no or a wrong
//! certificate when `client_ca_file` requires one, a plain-text client, garbage) is closed
//! and counted (`tls_errors`), alone: the others go on. The handshake bytes the server
//! sends are written as they come; when the socket is full, the connection waits for
//! WRITABLE too. A TLS session cannot be handed to another pipeline, so a reload hands over
//! the plain connections only and gives the TLS ones the shutdown treatment (close_notify,
//! half-close, read until the sender closes, at most one second): hekad's TcpOutput then
//! reconnects, to the next pipeline's input on the same kept listener, losing nothing. A
//! reload that turns `tls` on keeps the plain connections it adopts until they close; new
//! ones must speak TLS.

mod buffer;
mod connection;
mod handover;
mod tls;

use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use std::sync::Arc;

use engine::{
    Batch, BuildContext, BuildError, Counter, Fill, Input, PluginConfig, RunError, Sockets,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use self::buffer::{FrameBuffer, ReadOutcome};
use self::connection::Connection;
pub use self::tls::TcpInputTlsConfig;
use self::tls::{ServerTls, Session};

/// Bits of a token below a source's number (the stage's own, DESIGN.md section 10).
const SOURCE_SHIFT: u32 = 16;

/// The longest a stopping input keeps reading connections whose peer has not closed yet.
const FINAL_DRAIN: Duration = Duration::from_secs(1);

/// How often, at most, idle connections are looked for.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

fn default_address() -> String {
    "127.0.0.1:5565".to_string()
}

const fn default_max_connections() -> NonZeroUsize {
    crate::nonzero(1024)
}

const fn default_idle_timeout_secs() -> u64 {
    300
}

/// Config of `TcpInput`: Heka stream framing over TCP (many frames per connection, many
/// connections), each frame one message for the `ProtobufDecoder`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpInputConfig {
    /// `host:port` to listen on.
    #[serde(default = "default_address")]
    pub address: String,
    /// Connections served at once; more are accepted and closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: NonZeroUsize,
    /// Close a connection that sent nothing for this long; 0 never closes.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Serve TLS (rustls) only; absent: plain TCP.
    #[serde(default)]
    pub tls: Option<TcpInputTlsConfig>,
}

impl Default for TcpInputConfig {
    fn default() -> Self {
        TcpInputConfig {
            address: default_address(),
            max_connections: default_max_connections(),
            idle_timeout_secs: default_idle_timeout_secs(),
            tls: None,
        }
    }
}

/// Counters of the input, updated per connection event (never per frame).
#[derive(Debug)]
struct Counts {
    connections: Counter,
    refused: Counter,
    framing_errors: Counter,
    idle_closed: Counter,
    truncated: Counter,
    oversized: Counter,
    read_errors: Counter,
}

/// The running TCP input.
#[derive(Debug)]
pub struct Tcp {
    /// `None` once stopping: new connections are refused, not left unaccepted.
    listener: Option<mio::net::TcpListener>,
    local: SocketAddr,
    /// The listener's socket id: the key of its handed-over connections.
    address: String,
    sockets: Arc<Sockets>,
    /// Set by `stop`: adopt nothing more (what it handed over is for the next input).
    stopped: bool,
    registry: Option<mio::Registry>,
    token: usize,
    listener_ready: bool,
    /// Connection `k` lives in `conns[k - 1]`.
    conns: Vec<Option<Connection>>,
    /// Connections that may have data, in the order they became readable.
    ready: Vec<usize>,
    live: usize,
    max_connections: usize,
    idle_timeout: Option<Duration>,
    last_sweep: Instant,
    max_message_size: usize,
    decoder: u8,
    counts: Counts,
    /// TLS for every new connection; `None`: plain.
    tls: Option<ServerTls>,
    /// Set by `stop`: keep reading the half-closed connections until their peers close
    /// them, or until this deadline.
    draining_until: Option<Instant>,
}

impl Tcp {
    /// The address the listener is bound to (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl PluginConfig for TcpInputConfig {
    type Plugin = Tcp;

    fn build(&self, ctx: &BuildContext) -> Result<Tcp, BuildError> {
        let addr: SocketAddr = self.address.parse().map_err(|e| {
            BuildError::Invalid(format!("address {:?} is not host:port: {e}", self.address))
        })?;
        let decoder = ctx.decoder_index("ProtobufDecoder").ok_or_else(|| {
            BuildError::Invalid("TcpInput reads Heka frames: configure a ProtobufDecoder".into())
        })?;
        let tls = match &self.tls {
            Some(t) => Some(t.build(ctx)?),
            None => None,
        };
        let bind = || {
            let l = std::net::TcpListener::bind(addr)?;
            l.set_nonblocking(true)?;
            Ok(l)
        };
        // The listener a previous pipeline used, if any (a reload keeps it).
        let (listener, _kept) = ctx
            .listen("tcp", &self.address, bind)
            .map_err(|e| BuildError::io(format!("bind {addr}"), e))?;
        let listener = mio::net::TcpListener::from_std(listener);
        let local = listener
            .local_addr()
            .map_err(|e| BuildError::io(format!("local address of {addr}"), e))?;
        ctx.listening("tcp", local);
        Ok(Tcp {
            listener: Some(listener),
            local,
            address: ctx.socket_id(&self.address),
            sockets: ctx.sockets(),
            stopped: false,
            registry: None,
            token: 0,
            listener_ready: true,
            conns: Vec::new(),
            ready: Vec::new(),
            live: 0,
            max_connections: self.max_connections.get(),
            idle_timeout: (self.idle_timeout_secs > 0)
                .then(|| Duration::from_secs(self.idle_timeout_secs)),
            last_sweep: Instant::now(),
            max_message_size: ctx.max_message_size(),
            decoder,
            counts: Counts {
                connections: ctx.counter("connections"),
                refused: ctx.counter("refused"),
                framing_errors: ctx.counter("framing_errors"),
                idle_closed: ctx.counter("idle_closed"),
                truncated: ctx.counter("truncated"),
                oversized: ctx.counter("oversized"),
                read_errors: ctx.counter("read_errors"),
            },
            draining_until: None,
            tls,
        })
    }
}

impl Tcp {
    /// Accepts every pending connection; registers those within `max_connections`.
    fn accept(&mut self) -> Result<(), RunError> {
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return Ok(());
            };
            let (stream, _) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The peer gave up before we accepted: not the listener's fault.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(RunError::Io(e)),
            };
            if self.live >= self.max_connections {
                self.counts.refused.add(1);
                continue; // dropped: closed
            }
            let tls = match self.tls.as_ref().map(ServerTls::session) {
                None => None,
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    self.counts.read_errors.add(1);
                    engine::log::warn(format_args!("tcp: starting a tls session: {e}"));
                    continue;
                }
            };
            let frames = FrameBuffer::new(self.max_message_size);
            if self.add(stream, frames, tls) {
                self.counts.connections.add(1);
            }
        }
    }

    /// Registers `stream` in a free slot and marks it readable; `false` when it could not
    /// be registered (it is closed).
    fn add(
        &mut self,
        mut stream: mio::net::TcpStream,
        frames: FrameBuffer,
        tls: Option<Box<Session>>,
    ) -> bool {
        let slot = match self.conns.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        let token = mio::Token(self.token | (slot + 1) << SOURCE_SHIFT);
        if let Some(r) = &self.registry {
            if let Err(e) = r.register(&mut stream, token, mio::Interest::READABLE) {
                self.counts.read_errors.add(1);
                engine::log::warn(format_args!("tcp: registering a connection: {e}"));
                return false;
            }
        }
        self.conns[slot] = Some(Connection::new(stream, frames, tls));
        self.ready.push(slot);
        self.live += 1;
        true
    }

    /// Deregisters and drops connection `slot`.
    fn close(&mut self, slot: usize) {
        if let Some(mut c) = self.conns[slot].take() {
            if let Some(r) = &self.registry {
                // Dropping the socket removes it from epoll anyway.
                r.deregister(&mut c.stream).unwrap_or(());
            }
            self.live -= 1;
        }
    }

    /// Closes every connection and ends a stop's drain.
    fn close_all(&mut self) {
        for slot in 0..self.conns.len() {
            self.close(slot);
        }
        self.ready.clear();
        self.draining_until = None;
    }

    /// Closes connections idle for longer than the timeout (at most every [`SWEEP_EVERY`]).
    fn sweep(&mut self, now: Instant) {
        let Some(timeout) = self.idle_timeout else {
            return;
        };
        if self.draining_until.is_some() {
            // Stopping: the drain's own deadline closes what is left.
            return;
        }
        if now.duration_since(self.last_sweep) < SWEEP_EVERY {
            return;
        }
        self.last_sweep = now;
        for slot in 0..self.conns.len() {
            let idle = self.conns[slot]
                .as_ref()
                .is_some_and(|c| now.duration_since(c.last_read) >= timeout);
            if idle {
                self.counts.idle_closed.add(1);
                self.close(slot);
            }
        }
    }

    /// Moves the frames of connection `slot` into `batch` from `*filled` on, reading until
    /// WouldBlock or the batch is full. Returns whether the batch filled up first.
    fn drain(&mut self, slot: usize, batch: &mut Batch<'_>, filled: &mut usize) -> bool {
        let decoder = self.decoder;
        let Some(c) = self.conns[slot].as_mut() else {
            return false;
        };
        let outcome = loop {
            loop {
                if *filled == batch.len() {
                    return true;
                }
                match c.frames.next_frame() {
                    Ok(Some(frame)) => {
                        let pack = batch.get_mut(*filled);
                        if pack.set_raw(frame) {
                            pack.decoder = decoder;
                            *filled += 1;
                        } else {
                            self.counts.oversized.add(1);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        self.counts.framing_errors.add(1);
                        self.close(slot);
                        return false;
                    }
                }
            }
            match c.read() {
                Ok(ReadOutcome::Data(_)) => c.last_read = Instant::now(),
                other => break other,
            }
        };
        match outcome {
            Ok(ReadOutcome::WouldBlock) => {
                c.readable = false;
                self.want_writable(slot);
            }
            Ok(ReadOutcome::Eof) => {
                if c.frames.has_partial() {
                    self.counts.truncated.add(1);
                }
                self.close(slot);
            }
            Ok(ReadOutcome::Data(_)) => unreachable!("the read loop only stops without data"),
            Err(e) => {
                match &self.tls {
                    Some(t) if tls::is_tls_error(&e) => t.errors.add(1),
                    _ => self.counts.read_errors.add(1),
                }
                self.close(slot);
            }
        }
        false
    }

    /// Registers TLS connection `slot` for WRITABLE while its session's bytes wait for room
    /// in the socket (a handshake flight, an alert, a close_notify), and only for READABLE
    /// again once they are out; the event brings the connection back to `drain`, whose
    /// reads flush first.
    fn want_writable(&mut self, slot: usize) {
        let Some(c) = self.conns[slot].as_mut() else {
            return;
        };
        let Some(s) = c.tls.as_mut() else {
            return;
        };
        if s.write_blocked == s.writable_interest {
            return;
        }
        s.writable_interest = s.write_blocked;
        let interest = c.interest();
        let token = mio::Token(self.token | (slot + 1) << SOURCE_SHIFT);
        if let Some(r) = &self.registry {
            if let Err(e) = r.reregister(&mut c.stream, token, interest) {
                self.counts.read_errors.add(1);
                engine::log::warn(format_args!("tcp: re-registering a connection: {e}"));
                self.close(slot);
            }
        }
    }
}

impl Input for Tcp {
    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        if let Some(l) = self.listener.as_mut() {
            registry.register(l, token, mio::Interest::READABLE)?;
        }
        self.token = token.0;
        for (slot, c) in self.conns.iter_mut().enumerate() {
            if let Some(c) = c {
                let t = mio::Token(token.0 | (slot + 1) << SOURCE_SHIFT);
                let interest = c.interest();
                registry.register(&mut c.stream, t, interest)?;
            }
        }
        self.registry = Some(registry.try_clone()?);
        Ok(())
    }

    fn tick(&mut self, now: Instant) -> bool {
        self.sweep(now);
        if let Some(deadline) = self.draining_until {
            if self.live == 0 || now >= deadline {
                self.close_all();
            }
            return self.draining_until.is_some();
        }
        self.adopt()
    }

    fn ready(&mut self, token: mio::Token) {
        match token.0 >> SOURCE_SHIFT {
            0 => self.listener_ready = true,
            k => {
                if let Some(Some(c)) = self.conns.get_mut(k - 1) {
                    if !c.readable {
                        c.readable = true;
                        self.ready.push(k - 1);
                    }
                }
            }
        }
    }

    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        self.sweep(Instant::now());
        if self.draining_until.is_some() {
            // Stopping: no new connections; read every open one (no events needed).
            self.listener_ready = false;
            for slot in 0..self.conns.len() {
                if let Some(c) = self.conns[slot].as_mut() {
                    if !c.readable {
                        c.readable = true;
                        self.ready.push(slot);
                    }
                }
            }
        }
        if self.listener_ready {
            self.listener_ready = false;
            self.accept()?;
        }
        let mut filled = 0;
        let mut i = 0;
        while i < self.ready.len() {
            let slot = self.ready[i];
            if self.drain(slot, batch, &mut filled) {
                // Full: this connection goes on first next time.
                self.ready.drain(..i);
                batch.set_filled(filled);
                return Ok(Fill::More);
            }
            i += 1;
        }
        self.ready.clear();
        batch.set_filled(filled);
        if self.draining_until.is_some() && self.live > 0 {
            // Peers have not closed yet: come back (tick ends this at the deadline).
            return Ok(Fill::More);
        }
        self.draining_until = None;
        Ok(Fill::Drained)
    }

    /// On a reload, hands every live plain connection to the next pipeline; on a shutdown,
    /// refuses new connections. Then half-closes the open ones (TLS: after a close_notify),
    /// reading each until its peer closes or [`FINAL_DRAIN`] passes, so frames a sender
    /// wrote before it saw the close are read, not reset (see the module doc).
    fn stop(&mut self) {
        self.stopped = true;
        if self.sockets.reloading() {
            // The listener and the plain connections go to the next pipeline; TLS ones
            // close as at a shutdown, and their senders reconnect to it.
            self.hand_over_plain();
        } else {
            self.refuse_new();
        }
        self.half_close_all();
    }
}
