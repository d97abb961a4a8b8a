//! NatsInput: a JetStream durable pull consumer feeding the ring with the Heka protobuf
//! messages NatsOutput publishes (decoded by the `ProtobufDecoder`, which keeps their uuid).
//!
//! The client thread (async-nats on a tokio current-thread runtime) fetches up to `batch`
//! messages at a time, copies each into a slot of a bounded queue (`buffer` messages) and
//! wakes the input through a pipe registered with the input thread's `mio::Poll`. `fill`
//! moves queued messages into packs without blocking. A message is acknowledged (one ack
//! per message, `AckPolicy::Explicit`) only after every output has committed it (the
//! engine's [`engine::Committed`] cursor has passed the pack's ring sequence): a crash or a
//! kill before that redelivers it after `ack_wait_secs` (at least once). At stop, the
//! input publishes what it already holds, waits (at most [`FINAL_ACK_WAIT`]) for the
//! outputs to commit it, acks it, and negatively acks what it fetched but could not
//! publish, so a restarted hekad gets it at once.

mod consumer;

use std::collections::VecDeque;
use std::io::{self, Read as _};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{
    Batch, BuildContext, BuildError, Committed, Counter, Fill, Input, PluginConfig, QueueConsumer,
    RunError,
};
use serde::{Deserialize, Serialize};

use crate::nats::{self as common, ClientThread};

use self::consumer::Fetcher;

/// How long a stopping input waits for the outputs to commit what it published.
pub const FINAL_ACK_WAIT: Duration = Duration::from_secs(10);

fn default_durable() -> String {
    "hekad".to_string()
}

const fn default_buffer() -> NonZeroUsize {
    crate::nonzero(1024)
}

const fn default_batch() -> NonZeroUsize {
    crate::nonzero(256)
}

const fn default_ack_wait_secs() -> u64 {
    30
}

const fn default_max_ack_pending() -> NonZeroUsize {
    crate::nonzero(16384)
}

/// Config of `NatsInput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsInputConfig {
    /// The NATS server, `nats://host:port` (several comma-separated for a cluster).
    #[serde(default = "common::default_url")]
    pub url: String,
    /// The JetStream stream to consume.
    #[serde(default = "common::default_stream")]
    pub stream: String,
    /// The stream's subjects, used when this input creates it.
    #[serde(default = "common::default_stream_subjects")]
    pub stream_subjects: Vec<String>,
    /// Create the stream at start when it does not exist; with `false` it must exist.
    #[serde(default = "common::yes")]
    pub create_stream: bool,
    /// The durable consumer's name: hekads sharing it share the work; a restarted hekad
    /// resumes where it left off.
    #[serde(default = "default_durable")]
    pub durable: String,
    /// Only messages on these subjects (e.g. `heka.nginx`); empty takes the whole stream.
    #[serde(default)]
    pub filter_subject: String,
    /// Messages held between the client thread and the ring (rounded up to a power of two).
    #[serde(default = "default_buffer")]
    pub buffer: NonZeroUsize,
    /// Messages asked for per pull request.
    #[serde(default = "default_batch")]
    pub batch: NonZeroUsize,
    /// How long JetStream waits for an ack before it redelivers a message.
    #[serde(default = "default_ack_wait_secs")]
    pub ack_wait_secs: u64,
    /// Messages delivered and not yet acked at most (the consumer's `max_ack_pending`). A
    /// message is acked once every output committed it; past half of this, the input asks
    /// the outputs to commit at once instead of at their interval (FileOutput:
    /// `flush_interval_ms`), so the consumer does not stall.
    #[serde(default = "default_max_ack_pending")]
    pub max_ack_pending: NonZeroUsize,
}

impl Default for NatsInputConfig {
    fn default() -> Self {
        NatsInputConfig {
            url: common::default_url(),
            stream: common::default_stream(),
            stream_subjects: common::default_stream_subjects(),
            create_stream: true,
            durable: default_durable(),
            filter_subject: String::new(),
            buffer: default_buffer(),
            batch: default_batch(),
            ack_wait_secs: default_ack_wait_secs(),
            max_ack_pending: default_max_ack_pending(),
        }
    }
}

/// Progress shared with the client thread.
#[derive(Debug, Default)]
struct Shared {
    /// Messages the client thread has put in the queue (`SeqCst`: see `waiting`).
    pushed: AtomicU64,
    /// Messages the input has taken from the queue (`Release` here, `Acquire` there: their
    /// slots are free).
    consumed: AtomicU64,
    /// Messages the input has published into the ring and every output has committed
    /// (`Release` here, `Acquire` there): the client thread acks up to here.
    published: AtomicU64,
    /// The input found the queue empty and waits for a wake-up byte. The input stores it
    /// and then reads `pushed`; the client thread adds to `pushed` and then swaps it, all
    /// `SeqCst`, so one of them sees the other (no lost wake-up).
    waiting: AtomicBool,
    /// The input was stopped: fetch nothing more.
    stopping: AtomicBool,
}

/// The running NATS input.
pub struct Nats {
    queue: QueueConsumer<Vec<u8>>,
    shared: Arc<Shared>,
    wake: mio::unix::pipe::Receiver,
    decoder: u8,
    max_message_size: usize,
    /// Messages taken from the queue.
    consumed: u64,
    /// Messages committed by every output (acked or about to be).
    published: u64,
    /// Per filled batch: (messages consumed up to its end, ring sequence of its last
    /// pack), oldest first; allocated for every batch that can be unacked.
    filled: VecDeque<(u64, i64)>,
    committed: Committed,
    /// Unacked messages past which the outputs are asked to commit early (half of
    /// `max_ack_pending`: JetStream stops delivering at the whole).
    hurry_at: u64,
    stopped: bool,
    oversized: Counter,
    thread: ClientThread,
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats")
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

impl PluginConfig for NatsInputConfig {
    type Plugin = Nats;

    fn build(&self, ctx: &BuildContext) -> Result<Nats, BuildError> {
        common::check_stream_name(&self.stream)?;
        common::check_url(&self.url)?;
        if self.durable.is_empty() || self.durable.contains(['.', '*', '>', ' ']) {
            return Err(BuildError::Invalid(format!(
                "durable {:?}: a consumer name is non-empty, without '.', '*', '>', spaces",
                self.durable
            )));
        }
        if self.ack_wait_secs == 0 {
            return Err(BuildError::Invalid(
                "ack_wait_secs must be at least 1".into(),
            ));
        }
        let decoder = ctx.decoder_index("ProtobufDecoder").ok_or_else(|| {
            BuildError::Invalid("NatsInput reads Heka protobuf: configure a ProtobufDecoder".into())
        })?;
        let size = self.buffer.get().next_power_of_two();
        let max = ctx.max_message_size();
        let (mut producers, queue) = engine::queue(size, 1, || Vec::with_capacity(256));
        let (wake_tx, wake) =
            mio::unix::pipe::new().map_err(|e| BuildError::io("wake-up pipe", e))?;
        let shared = Arc::new(Shared::default());
        let fetcher = Fetcher {
            name: ctx.name().to_string(),
            config: self.clone(),
            size,
            queue: producers.remove(0),
            shared: shared.clone(),
            wake: wake_tx,
            fetched: ctx.counter("fetched"),
            acks: ctx.counter("acks"),
            naks: ctx.counter("naks"),
        };
        let thread = ClientThread::spawn(ctx.name(), move |stop| fetcher.run(stop))?;
        Ok(Nats {
            queue,
            shared,
            wake,
            decoder,
            max_message_size: max,
            consumed: 0,
            published: 0,
            // At most max_ack_pending messages are unacked, so as many batches.
            filled: VecDeque::with_capacity(self.max_ack_pending.get()),
            committed: ctx.committed(),
            hurry_at: (self.max_ack_pending.get() as u64 / 2).max(1),
            stopped: false,
            oversized: ctx.counter("oversized"),
            thread,
        })
    }
}

impl Nats {
    /// Lets the client thread ack what every output has committed.
    fn credit(&mut self) {
        let committed = self.committed.get();
        let mut published = self.published;
        while let Some(&(upto, seq)) = self.filled.front() {
            if seq > committed {
                break;
            }
            published = upto;
            self.filled.pop_front();
        }
        if published != self.published {
            self.published = published;
            self.shared.published.store(published, Ordering::Release);
        }
    }

    fn drain_wake_pipe(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.wake.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return, // WouldBlock (drained) or a closed pipe
            }
        }
    }

    fn queued(&self) -> bool {
        self.shared.pushed.load(Ordering::SeqCst) > self.consumed
    }
}

impl Input for Nats {
    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        registry.register(&mut self.wake, token, mio::Interest::READABLE)
    }

    fn fill(&mut self, batch: &mut Batch<'_>) -> Result<Fill, RunError> {
        self.credit();
        self.drain_wake_pipe();
        let (decoder, max) = (self.decoder, self.max_message_size);
        let mut filled = 0;
        let mut oversized = 0;
        let n = self.queue.poll(batch.len(), |bytes| {
            let pack = batch.get_mut(filled);
            if bytes.len() <= max && pack.set_raw(bytes) {
                pack.decoder = decoder;
            } else {
                pack.state = engine::PackState::Skip;
                oversized += 1;
            }
            filled += 1;
        });
        batch.set_filled(filled);
        self.consumed += n as u64;
        self.shared.consumed.store(self.consumed, Ordering::Release);
        if filled > 0 {
            let last = batch.sequence(filled - 1);
            self.filled.push_back((self.consumed, last));
            if self.consumed - self.published >= self.hurry_at {
                // Waiting out the outputs' commit interval would stall the consumer (and
                // cap the rate at max_ack_pending per interval): ask them to commit now.
                self.committed.request(last);
            }
        }
        self.oversized.add(oversized);
        if filled == batch.len() {
            return Ok(Fill::More);
        }
        self.shared.waiting.store(true, Ordering::SeqCst);
        if self.queued() {
            self.shared.waiting.store(false, Ordering::Relaxed);
            return Ok(Fill::More);
        }
        Ok(Fill::Drained)
    }

    fn tick(&mut self, _now: Instant) -> bool {
        self.credit();
        // After stop: publish what the client thread already queued.
        self.stopped && self.queued()
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.shared.stopping.store(true, Ordering::Release);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        // The input's stage is done and has published everything it filled; outputs on
        // other threads may still be committing it. Wait for them (bounded), then let the
        // client thread ack and finish (`thread` is dropped after this: stop + join).
        let deadline = Instant::now() + FINAL_ACK_WAIT;
        self.credit();
        while !self.filled.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            self.credit();
        }
        self.thread.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_default_round_trips() {
        let c = NatsInputConfig::default();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(serde_json::from_value::<NatsInputConfig>(v).unwrap(), c);
    }

    #[test]
    fn a_protobuf_decoder_is_required() {
        let e = NatsInputConfig::default()
            .build(&BuildContext::standalone("nats"))
            .unwrap_err();
        assert!(e.to_string().contains("ProtobufDecoder"), "{e}");
    }
}
