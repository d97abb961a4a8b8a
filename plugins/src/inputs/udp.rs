//! UdpInput: one datagram = one message, received with `recvmmsg` straight into ring slots.
//!
//! A datagram whose first byte is `0x1E` is a Heka stream frame: its pack goes to the
//! pipeline's `ProtobufDecoder` (when one is configured), every other datagram to the
//! default decoder. So one port accepts JSON (or msgpack) and framed protobuf, as Heka's
//! inputs did; the choice costs one byte comparison per datagram.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use engine::sys::{self, RecvMmsg};
use engine::{
    Batch, BuildContext, BuildError, Counter, Fill, Input, PackState, PluginConfig, RunError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::udp_socket::bind_udp;
use crate::framing::RECORD_SEPARATOR;

/// How often the kernel's drop count is read (and at stop).
const DROP_SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// The longest a stopping input keeps reading what is queued on its socket (a bound only:
/// the socket takes no new datagram once stopping, so the queue empties).
const FINAL_DRAIN: Duration = Duration::from_secs(20);

const fn default_recv_buffer_bytes() -> usize {
    32 << 20
}

fn default_address() -> String {
    "127.0.0.1:5565".to_string()
}

/// Config of `UdpInput`: one datagram is one message, read with `recvmmsg` straight into
/// the ring. A datagram starting with `0x1E` (a Heka stream frame) goes to the
/// `ProtobufDecoder`, any other to the default decoder. Datagrams over
/// `engine.max_message_size` are counted as `truncated` and dropped; kernel drops are
/// counted too (`kernel_drops`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UdpInputConfig {
    /// `host:port` to listen on.
    #[serde(default = "default_address")]
    pub address: String,
    /// Socket receive buffer in bytes: deep buffers absorb bursts. Set with SO_RCVBUFFORCE
    /// when permitted, else SO_RCVBUF (capped by `net.core.rmem_max`); the effective size
    /// is logged at start.
    #[serde(default = "default_recv_buffer_bytes")]
    pub recv_buffer_bytes: usize,
}

impl Default for UdpInputConfig {
    fn default() -> Self {
        UdpInputConfig {
            address: default_address(),
            recv_buffer_bytes: default_recv_buffer_bytes(),
        }
    }
}

/// The running UDP input.
#[derive(Debug)]
pub struct Udp {
    socket: mio::net::UdpSocket,
    recv: RecvMmsg,
    /// Decoder index for framed datagrams, when a `ProtobufDecoder` is configured.
    framed_decoder: Option<u8>,
    truncated: Counter,
    kernel_drops: Counter,
    next_drop_sample: Instant,
    /// Set by `stop`: read what the kernel already queued for us, until this deadline.
    drain_until: Option<Instant>,
    /// The supervisor's sockets: says whether a stop is a reload's.
    sockets: std::sync::Arc<engine::Sockets>,
}

impl Udp {
    /// The address the socket is bound to (the real port when configured with port 0).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl PluginConfig for UdpInputConfig {
    type Plugin = Udp;

    fn build(&self, ctx: &BuildContext) -> Result<Udp, BuildError> {
        let (socket, rcvbuf) = bind_udp(ctx, &self.address, self.recv_buffer_bytes)?;
        engine::log::info(format_args!(
            "{}: receive buffer {} KiB",
            ctx.name(),
            rcvbuf / 1024
        ));
        Ok(Udp {
            socket,
            recv: RecvMmsg::new(1024),
            framed_decoder: ctx.decoder_index("ProtobufDecoder"),
            truncated: ctx.counter("truncated"),
            kernel_drops: ctx.counter("kernel_drops"),
            next_drop_sample: Instant::now(),
            drain_until: None,
            sockets: ctx.sockets(),
        })
    }
}

/// Points the framed datagrams among `packs` at decoder `index`.
#[inline]
fn route_frames(batch: &mut Batch<'_>, packs: std::ops::Range<usize>, index: u8) {
    for i in packs {
        let pack = batch.get_mut(i);
        if pack.state == PackState::Raw && pack.msg_bytes.first() == Some(&RECORD_SEPARATOR) {
            pack.decoder = index;
        }
    }
}

impl Udp {
    /// Connects the socket to its own address: only datagrams from itself match from now on.
    fn refuse_new_datagrams(&self) -> io::Result<()> {
        let mut me = self.socket.local_addr()?;
        if me.ip().is_unspecified() {
            me.set_ip(match me {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        self.socket.connect(me)
    }

    /// Reads the kernel's drop count for the socket into the `kernel_drops` counter.
    fn sample_drops(&mut self) {
        if let Ok(d) = sys::socket_drops(self.socket.as_fd()) {
            self.kernel_drops.set(u64::from(d));
        }
    }
}

impl Input for Udp {
    /// Samples the kernel's drop count every [`DROP_SAMPLE_EVERY`]: one `getsockopt`
    /// per interval instead of a control message on every datagram.
    fn tick(&mut self, now: Instant) -> bool {
        if now >= self.next_drop_sample {
            self.next_drop_sample = now + DROP_SAMPLE_EVERY;
            self.sample_drops();
        }
        self.drain_until.is_some_and(|d| now < d)
    }

    /// A graceful stop delivers what the kernel already queued on the socket: the socket is
    /// connected to its own address, so the kernel refuses new datagrams (as a closed port
    /// would) but keeps the queue, and the engine keeps filling while `tick` says so, until
    /// the queue is empty (bounded by [`FINAL_DRAIN`]). So every datagram the kernel took is
    /// either accepted or counted as a kernel drop.
    fn stop(&mut self) {
        // On a reload the next pipeline reads the same socket: leave the queue to it.
        if !self.sockets.reloading() {
            if let Err(e) = self.refuse_new_datagrams() {
                engine::log::warn(format_args!(
                    "udp: closing the socket to new datagrams: {e}"
                ));
            }
            self.drain_until = Some(Instant::now() + FINAL_DRAIN);
        }
        // After the connect: the kernel queues (or drops) nothing more for this socket, so
        // the count is final.
        self.sample_drops();
    }

    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        registry.register(&mut self.socket, token, mio::Interest::READABLE)
    }

    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        let mut filled = 0;
        loop {
            match self.recv.recv(self.socket.as_fd(), batch, filled) {
                Ok(r) => {
                    if let Some(index) = self.framed_decoder {
                        route_frames(batch, filled..filled + r.count, index);
                    }
                    filled += r.count;
                    self.truncated.add(r.truncated as u64);
                    if filled == batch.len() {
                        return Ok(Fill::More);
                    }
                    // A short read means the queue was empty at that moment; a datagram
                    // arriving after it raises a new (edge-triggered) event.
                    self.drain_until = None;
                    return Ok(Fill::Drained);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drain_until = None;
                    return Ok(Fill::Drained);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RunError::Io(e)),
            }
        }
    }
}
