//! StatsdUdpInput: etsy statsd over UDP, built as Heka built it, a Runner used as an input.
//!
//! Datagrams are read from a mio UDP socket (drained to WouldBlock, Interrupted retried).
//! Each goes through the Runner's two halves ([`writer`]): the [`StatsdRecycler`]'s
//! `prep_out_data` on the receive side, then the [`StatsdWriter`]'s `batch`, which parses
//! its lines and aggregates them (`crate::statsd`). Every `flush_interval_secs` the writer
//! `commit`s: the aggregates become ONE `statmetric` message (Graphite plaintext payload,
//! each metric also a Double field) that the input publishes into the ring as a decoded
//! pack. Both halves run on the input's own thread, so no queue sits between them.
//!
//! The flush timer runs from [`Input::tick`] (and from `fill`, so a busy socket flushes on
//! time too). At stop, the aggregates are flushed once more with the real elapsed interval
//! and that message is published before the input is done.
//!
//! Counters: `lines`, `ok`, `malformed`, `refused` (`lines = ok + malformed + refused`) and
//! `datagrams`.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine::{
    Batch, BatchWriter, BuildContext, BuildError, Counter, DataRecycler, Fill, Input, PackState,
    PipelinePack, PluginConfig, RunError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::udp_socket::bind_udp;
use crate::statsd::{Aggregator, AggregatorConfig};

pub mod writer;

pub use writer::{StatsdRecycler, StatsdWriter, STATMETRIC_TYPE};

/// The longest a stopping input keeps reading what is queued on its socket.
const STOP_DRAIN: Duration = Duration::from_secs(1);

/// Datagrams read per `fill` before yielding to the thread's other stages.
const DATAGRAMS_PER_FILL: usize = 4096;

fn default_address() -> String {
    "127.0.0.1:8125".to_string()
}

const fn default_flush_interval_secs() -> u64 {
    10
}

const fn default_max_buckets() -> usize {
    100_000
}

const fn default_recv_buffer_bytes() -> usize {
    8 << 20
}

/// statsd's `percentThreshold`: one number or a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PercentThreshold {
    /// One percentile, e.g. `90`.
    One(f64),
    /// Several, e.g. `[90, 95, 99]`.
    Many(Vec<f64>),
}

impl Default for PercentThreshold {
    fn default() -> Self {
        PercentThreshold::Many(vec![90.0])
    }
}

impl PercentThreshold {
    fn to_vec(&self) -> Vec<f64> {
        match self {
            PercentThreshold::One(p) => vec![*p],
            PercentThreshold::Many(ps) => ps.clone(),
        }
    }
}

/// Config of `StatsdUdpInput`: statsd lines over UDP (`name:value|c|ms|g|s[|@rate]`),
/// aggregated as etsy statsd does; every flush injects one `statmetric` message with
/// Graphite plaintext in its payload and each metric as a field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsdUdpInputConfig {
    /// `host:port` to listen on. Default `127.0.0.1:8125`.
    #[serde(default = "default_address")]
    pub address: String,
    /// Seconds between flushes (statsd's `flushInterval`, here in seconds). At least 1.
    /// Default 10.
    #[serde(
        default = "default_flush_interval_secs",
        alias = "flush_interval",
        alias = "flushInterval"
    )]
    pub flush_interval_secs: u64,
    /// Timer percentiles (statsd's `percentThreshold`): a number or a list. Default `[90]`.
    #[serde(default, alias = "percentThreshold")]
    pub percent_threshold: PercentThreshold,
    /// Most distinct bucket names; samples for more are refused and counted. Default
    /// 100,000.
    #[serde(default = "default_max_buckets")]
    pub max_buckets: usize,
    /// Socket receive buffer in bytes (SO_RCVBUFFORCE, else SO_RCVBUF). Default 8 MiB.
    #[serde(default = "default_recv_buffer_bytes")]
    pub recv_buffer_bytes: usize,
}

impl Default for StatsdUdpInputConfig {
    fn default() -> Self {
        StatsdUdpInputConfig {
            address: default_address(),
            flush_interval_secs: default_flush_interval_secs(),
            percent_threshold: PercentThreshold::default(),
            max_buckets: default_max_buckets(),
            recv_buffer_bytes: default_recv_buffer_bytes(),
        }
    }
}

/// The running StatsdUdpInput.
#[derive(Debug)]
pub struct StatsdUdp {
    socket: mio::net::UdpSocket,
    recv_buf: Vec<u8>,
    /// The received datagram, as the Runner's recycler sees it.
    pack: PipelinePack,
    recycler: StatsdRecycler,
    out: Vec<u8>,
    writer: StatsdWriter,
    next_flush: Instant,
    stopped: bool,
    datagrams: Counter,
    lines: Counter,
    ok: Counter,
    malformed: Counter,
    refused: Counter,
}

impl PluginConfig for StatsdUdpInputConfig {
    type Plugin = StatsdUdp;

    fn build(&self, ctx: &BuildContext) -> Result<StatsdUdp, BuildError> {
        if self.flush_interval_secs == 0 {
            return Err(BuildError::Invalid(
                "flush_interval_secs must be at least 1".into(),
            ));
        }
        let agg_config = AggregatorConfig {
            percent_thresholds: self.percent_threshold.to_vec(),
            max_buckets: self.max_buckets,
            ..AggregatorConfig::default()
        };
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let aggregator = Aggregator::new(agg_config, start)?;
        let (socket, _) = bind_udp(ctx, &self.address, self.recv_buffer_bytes)?;
        let interval = Duration::from_secs(self.flush_interval_secs);
        let writer = StatsdWriter::new(aggregator, interval, ctx.name());
        let recycler = writer.recycler();
        Ok(StatsdUdp {
            socket,
            recv_buf: vec![0; 65_536],
            pack: PipelinePack::new(65_536),
            out: recycler.make_out_data(),
            recycler,
            writer,
            next_flush: Instant::now() + interval,
            stopped: false,
            datagrams: ctx.counter("datagrams"),
            lines: ctx.counter("lines"),
            ok: ctx.counter("ok"),
            malformed: ctx.counter("malformed"),
            refused: ctx.counter("refused"),
        })
    }
}

impl StatsdUdp {
    /// The address the socket is bound to (the real port when configured with port 0).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Commits (flushes) when the flush timer is due.
    fn flush_if_due(&mut self, now: Instant) {
        if now >= self.next_flush {
            self.next_flush = now + self.writer.commit_interval();
            // The statsd writer's commit renders into memory and cannot fail.
            self.writer.commit().unwrap_or(());
        }
    }

    /// One received datagram through the Runner: prep on this side, batch on the writer.
    fn handle(&mut self, len: usize) {
        self.pack.set_raw(&self.recv_buf[..len]);
        self.recycler.zero_out_data(&mut self.out);
        if self
            .recycler
            .prep_out_data(&self.pack, &mut self.out)
            .is_ok()
        {
            // Aggregating cannot fail: bad lines are counted by the aggregator.
            self.writer.batch(&mut self.out).unwrap_or(());
        }
    }

    /// Publishes the aggregator's counters (once per fill, not per datagram).
    fn publish_counters(&self) {
        let c = self.writer.counters();
        self.datagrams.set(c.packets);
        self.lines.set(c.lines);
        self.ok.set(c.ok);
        self.malformed.set(c.malformed);
        self.refused.set(c.refused);
    }
}

impl Input for StatsdUdp {
    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        registry.register(&mut self.socket, token, mio::Interest::READABLE)
    }

    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        let mut result = Ok(Fill::Drained);
        if !self.stopped {
            result = self.receive();
            self.flush_if_due(Instant::now());
        }
        let mut filled = 0;
        if let Some(m) = self.writer.pending() {
            if !batch.is_empty() {
                let pack = batch.get_mut(0);
                pack.message.copy_from(m);
                pack.state = PackState::Decoded;
                filled = 1;
                self.writer.taken();
            }
        }
        batch.set_filled(filled);
        self.publish_counters();
        result
    }

    fn tick(&mut self, now: Instant) -> bool {
        if !self.stopped {
            self.flush_if_due(now);
        }
        self.writer.pending().is_some()
    }

    fn stop(&mut self) {
        self.stopped = true;
        // Whatever the kernel already queued is read first (for at most STOP_DRAIN, so a
        // flood cannot hold the stop), then flushed with the real time since the previous
        // flush as its interval.
        let deadline = Instant::now() + STOP_DRAIN;
        while matches!(self.receive(), Ok(Fill::More)) && Instant::now() < deadline {}
        if self.writer.pending().is_none() {
            self.writer.flush_elapsed();
            self.writer.commit().unwrap_or(());
        }
        self.publish_counters();
    }
}

impl StatsdUdp {
    /// Reads datagrams until WouldBlock or [`DATAGRAMS_PER_FILL`].
    fn receive(&mut self) -> Result<Fill, RunError> {
        for _ in 0..DATAGRAMS_PER_FILL {
            match self.socket.recv(&mut self.recv_buf) {
                Ok(len) => self.handle(len),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Fill::Drained),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RunError::Io(e)),
            }
        }
        Ok(Fill::More)
    }
}

#[cfg(test)]
mod tests;
