//! TcpOutput: Heka stream framing over TCP to another hekad (a `TcpInput` with the
//! `ProtobufDecoder`) or anything else that reads Heka frames; optionally HMAC-signed.
//!
//! **Threads.** The output's stage (on a ring thread) only encodes frames into a local batch
//! and hands the batch to a writer thread of the plugin's own once per poll (one lock per
//! batch, none per message). The writer thread does every blocking network call: connect
//! (with `connect_timeout_ms`), write (with `write_timeout_ms`), and the reconnect backoff,
//! so a slow or absent aggregator never blocks a ring thread.
//!
//! **Addresses.** `addresses` are tried in order, first healthy wins (failover, not
//! round-robin: one stream keeps the messages of one sender in order). After a disconnect
//! the writer starts again from the first address, so traffic returns to the primary.
//! When every address fails it waits `reconnect_delay_ms`, doubling up to
//! `reconnect_max_delay_ms`; a successful connect resets the delay.
//!
//! **Buffer.** Messages accepted and not yet written are held in memory, at most
//! `buffer_messages` messages and `buffer_bytes` bytes of frames. What happens when it is
//! full is the section's `on_full`:
//! - `block` (the default): the output takes no more packs until the buffer has room, so
//!   the ring fills and inputs slow down (back-pressure, nothing lost). The check is per
//!   batch, so the buffer may exceed `buffer_bytes` by one batch of frames.
//! - `drop`: a message that does not fit is dropped and counted (`dropped`), so
//!   `routed = delivered + write_errors + dropped` per output.
//!
//! **Delivery.** A message is `delivered` when its whole frame has been written to the
//! socket. Heka framing has no acknowledgements: frames in the kernel's buffers when a
//! connection breaks are lost. Before each write after a pause the writer checks whether
//! the peer has closed the connection (a stopped aggregator), and reconnects instead of
//! writing into a dead socket; so messages sent while the aggregator restarts wait in the
//! buffer and are delivered once it is back. A frame cut by a broken connection is sent
//! again, whole, on the next one (the receiver drops the partial frame).
//!
//! **TLS.** With `tls`, each connection runs a rustls handshake (within
//! `connect_timeout_ms`) verifying the aggregator's certificate against `ca_file` and its
//! name (`server_name`, else the host of the address), and presents `cert_file` when the
//! aggregator asks (mutual TLS). A failed handshake is a failed connect: logged with its
//! reason, counted (`tls_errors`), retried with the same backoff; the messages wait in the
//! buffer. Under TLS 1.3 a server checks the client certificate after the client's side of
//! the handshake is done, so when one was asked for, the writer waits for the server's
//! first record (its session tickets: accepted; an alert: refused) before writing any
//! frame. Frames are encrypted per `write` call (many frames per record), and bytes taken
//! by rustls count as written, as bytes taken by the kernel do. A stopping aggregator's
//! close_notify is noticed like its plain close.
//!
//! **Stop.** The final commit waits up to `stop_timeout_ms` for the buffer to drain, then
//! abandons what is left as `write_errors`.

mod connection;
mod tls;
mod writer;

use std::io;
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use engine::config::OnFull;
use engine::{
    BuildContext, BuildError, Event, Output, PipelinePack, PluginConfig, Settled, WriteError,
};
use serde::{Deserialize, Serialize};

use crate::encoders::protobuf::encode_frame;
use crate::framing::{HashFunction, SigningKey};

pub use self::tls::TcpOutputTlsConfig;
use self::writer::{Link, Shared, Writer};

const fn default_buffer_messages() -> usize {
    100_000
}
const fn default_buffer_bytes() -> usize {
    64 << 20
}
const fn default_reconnect_delay_ms() -> u64 {
    100
}
const fn default_reconnect_max_delay_ms() -> u64 {
    10_000
}
const fn default_connect_timeout_ms() -> u64 {
    5_000
}
const fn default_write_timeout_ms() -> u64 {
    10_000
}
const fn default_stop_timeout_ms() -> u64 {
    5_000
}

/// An HMAC key to sign every frame with (the receiver's `ProtobufDecoder` `signers` must
/// have `<name>_<key_version>` with the same `hmac_key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSignerConfig {
    /// The signer's name (at most 127 bytes).
    pub name: String,
    /// The key version. Default 0.
    #[serde(default)]
    pub key_version: u32,
    /// The shared HMAC key.
    pub hmac_key: String,
    /// `md5` (default) or `sha1`.
    #[serde(default)]
    pub hash_function: HashFunction,
}

/// Config of `TcpOutput`. Its buffer's `on_full` is the section's common key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpOutputConfig {
    /// One `host:port` (Heka's key); added before `addresses`.
    #[serde(default)]
    pub address: Option<String>,
    /// `host:port`s, tried in order (failover). Names are resolved at each connect.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Sign every frame with this key; absent: unsigned frames.
    #[serde(default)]
    pub signer: Option<TcpSignerConfig>,
    /// The most messages held while the destination is slow or away. Default 100,000.
    #[serde(default = "default_buffer_messages")]
    pub buffer_messages: usize,
    /// The most frame bytes held. Default 64 MiB.
    #[serde(default = "default_buffer_bytes")]
    pub buffer_bytes: usize,
    /// First wait after every address failed. Default 100.
    #[serde(default = "default_reconnect_delay_ms")]
    pub reconnect_delay_ms: u64,
    /// Longest wait between rounds of connects (the delay doubles up to it). Default 10,000.
    #[serde(default = "default_reconnect_max_delay_ms")]
    pub reconnect_max_delay_ms: u64,
    /// Longest one connect may take. Default 5,000.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// A write blocked this long (the peer stopped reading) breaks the connection.
    /// Default 10,000.
    #[serde(default = "default_write_timeout_ms")]
    pub write_timeout_ms: u64,
    /// At stop, how long to wait for the buffer to drain before abandoning the rest as
    /// write errors. Default 5,000.
    #[serde(default = "default_stop_timeout_ms")]
    pub stop_timeout_ms: u64,
    /// Connect with TLS (rustls); absent: plain TCP.
    #[serde(default)]
    pub tls: Option<TcpOutputTlsConfig>,
}

impl Default for TcpOutputConfig {
    fn default() -> Self {
        TcpOutputConfig {
            address: None,
            addresses: Vec::new(),
            signer: None,
            buffer_messages: default_buffer_messages(),
            buffer_bytes: default_buffer_bytes(),
            reconnect_delay_ms: default_reconnect_delay_ms(),
            reconnect_max_delay_ms: default_reconnect_max_delay_ms(),
            connect_timeout_ms: default_connect_timeout_ms(),
            write_timeout_ms: default_write_timeout_ms(),
            stop_timeout_ms: default_stop_timeout_ms(),
            tls: None,
        }
    }
}

/// The running TCP output (an [`Output`] with a writer thread of its own).
#[derive(Debug)]
pub struct Tcp {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    key: Option<SigningKey>,
    on_full: OnFull,
    buffer_messages: u64,
    buffer_bytes: usize,
    stop_timeout: Duration,
    /// Frames encoded since the last hand-over.
    batch: Vec<u8>,
    lens: Vec<u32>,
    /// Messages handed to the writer (cumulative).
    handed: u64,
    /// Dropped since the last settlement.
    dropped: u64,
    /// `written` and `failed` as last reported to the stage.
    reported_written: u64,
    reported_failed: u64,
}

impl Tcp {
    /// Messages accepted and not yet written or abandoned.
    fn in_flight(&self) -> u64 {
        let done = self.shared.written.load(Ordering::Acquire)
            + self.shared.failed.load(Ordering::Acquire);
        self.handed.saturating_sub(done) + self.lens.len() as u64
    }

    fn buffered_bytes(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Acquire) + self.batch.len()
    }

    /// Hands the local batch to the writer thread: one lock, no allocation once warm.
    fn hand_over(&mut self) {
        if self.lens.is_empty() {
            return;
        }
        {
            let mut q = self.shared.queue();
            q.bytes.extend_from_slice(&self.batch);
            q.lens.extend_from_slice(&self.lens);
        }
        self.shared
            .queued_bytes
            .fetch_add(self.batch.len(), Ordering::AcqRel);
        self.handed += self.lens.len() as u64;
        self.batch.clear();
        self.lens.clear();
        self.shared.wake.notify_one();
    }

    /// Waits until the writer has written everything, or `stop_timeout` passes (then
    /// aborts it); joins it either way.
    fn finish_writer(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.queue().draining = true;
        self.shared.wake.notify_one();
        let deadline = Instant::now() + self.stop_timeout;
        while self.in_flight() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        if self.in_flight() > 0 {
            self.abort();
        }
        thread.join().unwrap_or(());
    }

    fn abort(&self) {
        self.shared.abort.store(true, Ordering::Release);
        if let Some(s) = self.shared.current().as_ref() {
            // Breaks a write blocked on a peer that stopped reading.
            s.shutdown(Shutdown::Both).unwrap_or(());
        }
        self.shared.wake.notify_one();
    }
}

impl Drop for Tcp {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.abort();
            thread.join().unwrap_or(());
        }
    }
}

impl Output for Tcp {
    fn deliver(&mut self, pack: &PipelinePack) -> Result<(), WriteError> {
        let start = self.batch.len();
        encode_frame(&pack.message, self.key.as_ref(), &mut self.batch);
        let len = self.batch.len() - start;
        if self.on_full == OnFull::Drop
            && (self.in_flight() >= self.buffer_messages
                || self.buffered_bytes() > self.buffer_bytes)
        {
            self.batch.truncate(start);
            self.dropped += 1;
            return Ok(());
        }
        self.lens.push(len as u32);
        Ok(())
    }

    fn settle(&mut self, _now: Instant, force: bool, _pending: u64) -> Settled {
        self.hand_over();
        if force {
            self.finish_writer();
        }
        let written = self.shared.written.load(Ordering::Acquire);
        let failed = self.shared.failed.load(Ordering::Acquire);
        let s = Settled {
            delivered: written - self.reported_written,
            write_errors: failed - self.reported_failed,
            dropped: std::mem::take(&mut self.dropped),
            error: (failed > self.reported_failed)
                .then_some(WriteError::Io(io::ErrorKind::TimedOut)),
        };
        self.reported_written = written;
        self.reported_failed = failed;
        s
    }

    fn capacity(&mut self) -> usize {
        if self.on_full == OnFull::Drop {
            return usize::MAX;
        }
        let n = self.in_flight();
        if n >= self.buffer_messages || self.buffered_bytes() >= self.buffer_bytes {
            0
        } else {
            (self.buffer_messages - n) as usize
        }
    }

    fn event(&mut self, event: Event) {
        if event == Event::Stop {
            self.finish_writer();
        }
    }
}

impl PluginConfig for TcpOutputConfig {
    type Plugin = Tcp;

    fn build(&self, ctx: &BuildContext) -> Result<Tcp, BuildError> {
        let addresses: Vec<String> = self
            .address
            .iter()
            .chain(&self.addresses)
            .cloned()
            .collect();
        if addresses.is_empty() {
            return Err(BuildError::Invalid(
                "TcpOutput needs an address (or addresses)".into(),
            ));
        }
        for a in &addresses {
            let port_ok = match a.rsplit_once(':') {
                Some((_, port)) => port.parse::<u16>().is_ok(),
                None => false,
            };
            if !port_ok {
                return Err(BuildError::Invalid(format!(
                    "address {a:?} is not host:port"
                )));
            }
        }
        if self.buffer_messages == 0 || self.buffer_bytes == 0 {
            return Err(BuildError::Invalid(
                "buffer_messages and buffer_bytes must be at least 1".into(),
            ));
        }
        if self.reconnect_delay_ms == 0 || self.reconnect_max_delay_ms < self.reconnect_delay_ms {
            return Err(BuildError::Invalid(
                "reconnect_delay_ms must be at least 1 and at most reconnect_max_delay_ms".into(),
            ));
        }
        if self.connect_timeout_ms == 0 || self.write_timeout_ms == 0 {
            return Err(BuildError::Invalid(
                "connect_timeout_ms and write_timeout_ms must be at least 1".into(),
            ));
        }
        let key = match &self.signer {
            None => None,
            Some(s) => Some(
                SigningKey::new(
                    &s.name,
                    s.key_version,
                    s.hash_function,
                    s.hmac_key.as_bytes(),
                )
                .map_err(|e| BuildError::Invalid(format!("signer: {e}")))?,
            ),
        };
        let tls = match &self.tls {
            Some(t) => Some(t.build(ctx, &addresses)?),
            None => None,
        };
        let shared = Arc::new(Shared::new());
        let link = Link {
            name: ctx.name().to_string(),
            addresses: addresses.clone(),
            delay: Duration::from_millis(self.reconnect_delay_ms),
            max_delay: Duration::from_millis(self.reconnect_max_delay_ms),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            write_timeout: Duration::from_millis(self.write_timeout_ms),
            connects: ctx.counter("connects"),
            disconnects: ctx.counter("disconnects"),
            tls,
        };
        // Shown in reports even while zero (the stage adds to the same counter).
        ctx.counter("dropped");
        let writer = Writer::new(shared.clone(), link);
        let thread = thread::Builder::new()
            .name(format!("{}.writer", ctx.name()))
            .spawn(move || writer.run())
            .map_err(|e| BuildError::io("spawn the writer thread", e))?;
        engine::log::info(format_args!(
            "{} sends heka frames to {} {} (on_full {})",
            ctx.name(),
            if self.tls.is_some() { "tls" } else { "tcp" },
            addresses.join(", "),
            match ctx.on_full() {
                OnFull::Block => "block",
                OnFull::Drop => "drop",
            }
        ));
        Ok(Tcp {
            shared,
            thread: Some(thread),
            key,
            on_full: ctx.on_full(),
            buffer_messages: self.buffer_messages as u64,
            buffer_bytes: self.buffer_bytes,
            stop_timeout: Duration::from_millis(self.stop_timeout_ms),
            batch: Vec::with_capacity(64 * 1024),
            lens: Vec::with_capacity(1024),
            handed: 0,
            dropped: 0,
            reported_written: 0,
            reported_failed: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::net::{SocketAddr, TcpListener};

    use super::*;
    use crate::framing::{frame_len, parse_frame, Signers};

    fn pack(seq: u64) -> PipelinePack {
        let mut p = PipelinePack::new(1024);
        p.message.payload = format!("seq={seq:010}");
        p
    }

    /// A port nothing listens on (bound, then closed).
    fn closed_port() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    fn build(c: &TcpOutputConfig, on_full: OnFull) -> Tcp {
        c.build(&BuildContext::standalone("tcp_out").with_on_full(on_full))
            .unwrap()
    }

    /// Reads frames from one accepted connection until `n` arrived (or 10 s passed).
    fn read_frames(l: &TcpListener, n: usize) -> Vec<Vec<u8>> {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        while out.len() < n {
            let k = s.read(&mut chunk).unwrap();
            assert!(k > 0, "closed early");
            buf.extend_from_slice(&chunk[..k]);
            while let Some(len) = frame_len(&buf, 1 << 20).unwrap() {
                out.push(buf.drain(..len).collect());
            }
        }
        out
    }

    fn settle_until(t: &mut Tcp, delivered: u64) -> Settled {
        let mut total = Settled::default();
        let deadline = Instant::now() + Duration::from_secs(10);
        while total.delivered < delivered && Instant::now() < deadline {
            let s = t.settle(Instant::now(), false, 0);
            total.delivered += s.delivered;
            total.write_errors += s.write_errors;
            total.dropped += s.dropped;
            thread::sleep(Duration::from_millis(5));
        }
        total
    }

    #[test]
    fn signed_frames_arrive_in_order_after_failing_over_from_a_dead_address() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpOutputConfig {
            addresses: vec![
                closed_port().to_string(),
                l.local_addr().unwrap().to_string(),
            ],
            signer: Some(TcpSignerConfig {
                name: "ops".into(),
                key_version: 2,
                hmac_key: "s3cret".into(),
                hash_function: HashFunction::Sha1,
            }),
            ..TcpOutputConfig::default()
        };
        let mut t = build(&c, OnFull::Block);
        for i in 0..100 {
            t.deliver(&pack(i)).unwrap();
        }
        // The writer may have written everything already: count what this settles too.
        let first = t.settle(Instant::now(), false, 100);
        assert_eq!(first.dropped, 0);
        let frames = read_frames(&l, 100);
        let mut signers = Signers::default();
        signers.add("ops_2", b"s3cret").unwrap();
        for (i, f) in frames.iter().enumerate() {
            let f = parse_frame(f, 1 << 20).unwrap();
            assert_eq!(signers.verify(&f.header, f.message), Ok(true));
            let mut m = engine::Message::default();
            crate::decoders::protobuf::decode_message(f.message, 0, &mut m, 0).unwrap();
            assert_eq!(m.payload, format!("seq={i:010}"));
        }
        let s = settle_until(&mut t, 100 - first.delivered);
        assert_eq!(
            (
                first.delivered + s.delivered,
                first.write_errors + s.write_errors
            ),
            (100, 0)
        );
        let s = t.settle(Instant::now(), true, 0);
        assert_eq!(s.total(), 0);
        assert_eq!(t.shared.written.load(Ordering::Acquire), 100);
    }

    #[test]
    fn drop_mode_counts_what_does_not_fit_and_stop_abandons_the_rest() {
        let c = TcpOutputConfig {
            address: Some(closed_port().to_string()),
            buffer_messages: 3,
            stop_timeout_ms: 100,
            ..TcpOutputConfig::default()
        };
        let mut t = build(&c, OnFull::Drop);
        assert_eq!(t.capacity(), usize::MAX, "drop never back-pressures");
        for i in 0..10 {
            t.deliver(&pack(i)).unwrap();
        }
        let s = t.settle(Instant::now(), false, 10);
        assert_eq!((s.delivered, s.dropped), (0, 7));
        let s = t.settle(Instant::now(), true, 3);
        assert_eq!((s.delivered, s.write_errors, s.dropped), (0, 3, 0));
        assert!(s.error.is_some());
    }

    #[test]
    fn stop_abandons_every_batch_handed_over_not_only_the_one_being_written() {
        let c = TcpOutputConfig {
            address: Some(closed_port().to_string()),
            reconnect_delay_ms: 10,
            reconnect_max_delay_ms: 20,
            stop_timeout_ms: 100,
            ..TcpOutputConfig::default()
        };
        let mut t = build(&c, OnFull::Block);
        for batch in 0..5 {
            for i in 0..10 {
                t.deliver(&pack(batch * 10 + i)).unwrap();
            }
            t.settle(Instant::now(), false, 10);
            thread::sleep(Duration::from_millis(20));
        }
        let s = t.settle(Instant::now(), true, 50);
        assert_eq!((s.delivered, s.write_errors), (0, 50));
        assert_eq!(t.in_flight(), 0);
        assert_eq!(t.shared.queued_bytes.load(Ordering::Acquire), 0);
    }

    #[test]
    fn block_mode_has_no_capacity_while_the_buffer_is_full_and_drains_on_connect() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let c = TcpOutputConfig {
            address: Some(addr.to_string()),
            buffer_messages: 3,
            reconnect_delay_ms: 10,
            reconnect_max_delay_ms: 20,
            ..TcpOutputConfig::default()
        };
        let mut t = build(&c, OnFull::Block);
        assert_eq!(t.capacity(), 3);
        for i in 0..3 {
            t.deliver(&pack(i)).unwrap();
        }
        assert_eq!(t.capacity(), 0, "full before the hand-over");
        t.settle(Instant::now(), false, 3);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(t.capacity(), 0, "still full: nobody listens");
        let l = TcpListener::bind(addr).unwrap();
        assert_eq!(read_frames(&l, 3).len(), 3);
        assert_eq!(settle_until(&mut t, 3).delivered, 3);
        assert_eq!(t.capacity(), 3);
    }

    #[test]
    fn config_defaults_round_trip() {
        let c = TcpOutputConfig::default();
        let back: TcpOutputConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let signed: TcpOutputConfig = serde_json::from_str(
            r#"{"address": "a:1", "signer": {"name": "ops", "hmac_key": "k"}}"#,
        )
        .unwrap();
        assert_eq!(signed.signer.unwrap().hash_function, HashFunction::Md5);
    }

    #[test]
    fn bad_configs_are_refused() {
        let ctx = BuildContext::standalone("t");
        assert!(
            TcpOutputConfig::default().build(&ctx).is_err(),
            "no address"
        );
        let bad = TcpOutputConfig {
            address: Some("localhost".into()),
            ..TcpOutputConfig::default()
        };
        assert!(bad.build(&ctx).is_err(), "no port");
        let bad = TcpOutputConfig {
            address: Some("127.0.0.1:1".into()),
            buffer_messages: 0,
            ..TcpOutputConfig::default()
        };
        assert!(bad.build(&ctx).is_err());
    }
}
