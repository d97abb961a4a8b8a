//! UdpOutput: the seed's worked example (`extending-heka.rst`, "UdpOutput" and "BatchWriter
//! Example"), in Rust. The connected UDP socket lives in a [`Global`] shared by the section
//! and closed on [`Event::Stop`]; the output is a [`runner`] over a [`BatchWriter`] that
//! collects a batch of datagrams and sends them every `flush_interval_ms` with `sendmmsg`
//! (`engine::sys::SendMmsg`, up to [`MMSG_BATCH`] datagrams per call).
//!
//! `format`:
//! - `payload` (the seed's): payloads, each followed by `\n`, packed into as few datagrams
//!   as `max_datagram_bytes` allows; what line-oriented receivers (Graphite, statsd-like)
//!   take.
//! - `json` and `protobuf` (one unsigned Heka stream frame): one message per datagram, as
//!   hekad's and Heka's `UdpInput` read them (a datagram is a message).
//!
//! A message that alone exceeds `max_datagram_bytes` (its payload plus `\n`, or its JSON or
//! frame) is a counted write error, never truncated. A send error fails the messages of the
//! tick it happens in (`write_errors`); UDP has no acknowledgement, so "delivered" means
//! "handed to the kernel". `max_datagram_bytes` defaults to 65,507 (the largest UDP/IPv4
//! payload, and hekad's default `max_message_size`, so whatever one hekad accepts it can
//! forward to the next); set 1472 to avoid IP fragmentation on a 1500-byte-MTU network.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::sys::SendMmsg;
use engine::{
    runner, BatchRunner, BatchWriter, BuildContext, BuildError, DataRecycler, Event, Global,
    PipelinePack, PluginConfig, WriteError,
};
use serde::{Deserialize, Serialize};

use crate::encoders::json::encode_json;
use crate::encoders::protobuf::encode_frame;

/// Datagrams per `sendmmsg` call.
pub const MMSG_BATCH: usize = 256;

/// Sent before the tick once this many datagrams are waiting (bounds the batch's memory).
const SEND_EARLY_DATAGRAMS: usize = 1024;

/// Sent before the tick once this many bytes are waiting.
const SEND_EARLY_BYTES: usize = 4 << 20;

/// The largest UDP payload over IPv4.
const MAX_UDP_PAYLOAD: usize = 65_507;

/// What one message becomes on the wire.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UdpFormat {
    /// The payload and `\n`, several per datagram (the seed's UdpBatchWriter).
    #[default]
    Payload,
    /// The whole message as one JSON object (wire key names), one per datagram.
    Json,
    /// One unsigned Heka stream frame (protobuf) per datagram.
    Protobuf,
}

fn default_address() -> String {
    "127.0.0.1:5565".to_string()
}

const fn default_max_datagram_bytes() -> usize {
    MAX_UDP_PAYLOAD
}

const fn default_flush_interval_ms() -> u64 {
    100
}

/// Config of `UdpOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UdpOutputConfig {
    /// `host:port` to send to (a name is resolved once, at start).
    #[serde(default = "default_address")]
    pub address: String,
    /// `payload`, `json` or `protobuf` (framed).
    #[serde(default)]
    pub format: UdpFormat,
    /// The largest datagram sent, 1 to 65,507. Default 65,507.
    #[serde(default = "default_max_datagram_bytes")]
    pub max_datagram_bytes: usize,
    /// How often the batch is sent (Heka's ticker). Default 100.
    #[serde(default = "default_flush_interval_ms", alias = "flush_interval")]
    pub flush_interval_ms: u64,
}

impl Default for UdpOutputConfig {
    fn default() -> Self {
        UdpOutputConfig {
            address: default_address(),
            format: UdpFormat::default(),
            max_datagram_bytes: default_max_datagram_bytes(),
            flush_interval_ms: default_flush_interval_ms(),
        }
    }
}

/// The section's socket (the seed's `UdpOutputGlobal`): connected at build, closed on
/// [`Event::Stop`]. Locked once per send, never per message.
#[derive(Debug)]
pub struct UdpOutputGlobal {
    socket: Mutex<Option<UdpSocket>>,
    peer: SocketAddr,
}

impl UdpOutputGlobal {
    fn connect(address: &str) -> Result<Self, BuildError> {
        let peer = address
            .to_socket_addrs()
            .map_err(|e| BuildError::io(format!("resolve {address:?}"), e))?
            .next()
            .ok_or_else(|| {
                BuildError::Invalid(format!("address {address:?} resolves to nothing"))
            })?;
        let local: SocketAddr = if peer.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket =
            UdpSocket::bind(local).map_err(|e| BuildError::io(format!("bind {local}"), e))?;
        socket
            .connect(peer)
            .map_err(|e| BuildError::io(format!("connect {peer}"), e))?;
        Ok(UdpOutputGlobal {
            socket: Mutex::new(Some(socket)),
            peer,
        })
    }

    /// Where datagrams go.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
}

impl Global for UdpOutputGlobal {
    fn event(&self, event: Event) {
        if event == Event::Stop {
            let mut s = self.socket.lock().unwrap_or_else(|e| e.into_inner());
            // Dropping the socket closes it.
            s.take();
        }
    }
}

/// Formats messages for the wire (the UdpOutput's `DataRecycler`).
#[derive(Clone, Copy, Debug)]
pub struct UdpRecycler {
    format: UdpFormat,
}

impl DataRecycler for UdpRecycler {
    type OutData = Vec<u8>;

    fn make_out_data(&self) -> Vec<u8> {
        Vec::with_capacity(1024)
    }

    fn zero_out_data(&self, out: &mut Vec<u8>) {
        out.clear();
    }

    fn prep_out_data(&self, pack: &PipelinePack, out: &mut Vec<u8>) -> Result<(), WriteError> {
        let m = &pack.message;
        match self.format {
            UdpFormat::Payload => {
                out.extend_from_slice(m.payload.as_bytes());
                out.push(b'\n');
            }
            UdpFormat::Json => encode_json(m, out),
            UdpFormat::Protobuf => encode_frame(m, None, out),
        }
        Ok(())
    }
}

/// Batches datagrams and sends them per tick (the seed's `UdpBatchWriter`).
#[derive(Debug)]
pub struct UdpWriter {
    global: Arc<UdpOutputGlobal>,
    format: UdpFormat,
    max_datagram: usize,
    interval: Duration,
    /// Datagram bytes back to back; datagram `i` ends at `ends[i]`.
    data: Vec<u8>,
    ends: Vec<usize>,
    /// Where the datagram being packed starts (payload format).
    open_start: usize,
    mmsg: SendMmsg,
    /// A send failed since the last commit: the tick's messages are write errors.
    failed: Option<WriteError>,
}

impl UdpWriter {
    /// Closes the datagram being packed, if it holds anything.
    fn close_open(&mut self) {
        if self.data.len() > self.open_start {
            self.ends.push(self.data.len());
            self.open_start = self.data.len();
        }
    }

    /// Sends every closed datagram, `MMSG_BATCH` per call, then clears the batch.
    fn send_all(&mut self) -> Result<(), WriteError> {
        self.close_open();
        let result = self.send_closed();
        self.data.clear();
        self.ends.clear();
        self.open_start = 0;
        result
    }

    fn send_closed(&mut self) -> Result<(), WriteError> {
        if self.ends.is_empty() {
            return Ok(());
        }
        let guard = self.global.socket.lock().unwrap_or_else(|e| e.into_inner());
        let socket = guard
            .as_ref()
            .ok_or(WriteError::Io(std::io::ErrorKind::NotConnected))?;
        let (mut at, mut start) = (0, 0);
        let mut refused_retry = true;
        while at < self.ends.len() {
            match self
                .mmsg
                .send(socket.as_fd(), &self.data, start, &self.ends[at..])
            {
                Ok(n) => {
                    at += n;
                    start = self.ends[at - 1];
                    refused_retry = true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // An ICMP "port unreachable" for an earlier datagram is reported (once) on
                // the next send: the receiver was down then; try these again.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused && refused_retry => {
                    refused_retry = false;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

impl BatchWriter for UdpWriter {
    type Recycler = UdpRecycler;

    fn recycler(&self) -> UdpRecycler {
        UdpRecycler {
            format: self.format,
        }
    }

    fn batch(&mut self, out: &mut Vec<u8>) -> Result<(), WriteError> {
        if out.len() > self.max_datagram {
            return Err(WriteError::Format("message larger than max_datagram_bytes"));
        }
        if self.format == UdpFormat::Payload {
            if self.data.len() - self.open_start + out.len() > self.max_datagram {
                self.close_open();
            }
            self.data.extend_from_slice(out);
        } else {
            self.data.extend_from_slice(out);
            self.ends.push(self.data.len());
            self.open_start = self.data.len();
        }
        if self.ends.len() >= SEND_EARLY_DATAGRAMS || self.data.len() >= SEND_EARLY_BYTES {
            if let Err(e) = self.send_all() {
                self.failed = Some(e);
            }
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), WriteError> {
        let sent = self.send_all();
        match self.failed.take() {
            Some(e) => Err(e),
            None => sent,
        }
    }

    fn commit_interval(&self) -> Duration {
        self.interval
    }
}

impl PluginConfig for UdpOutputConfig {
    type Plugin = BatchRunner<UdpWriter>;

    fn build(&self, ctx: &BuildContext) -> Result<BatchRunner<UdpWriter>, BuildError> {
        if !(1..=MAX_UDP_PAYLOAD).contains(&self.max_datagram_bytes) {
            return Err(BuildError::Invalid(format!(
                "max_datagram_bytes must be 1 to {MAX_UDP_PAYLOAD}, not {}",
                self.max_datagram_bytes
            )));
        }
        if self.flush_interval_ms == 0 {
            return Err(BuildError::Invalid(
                "flush_interval_ms must be at least 1".into(),
            ));
        }
        let global = ctx.global(|| UdpOutputGlobal::connect(&self.address))?;
        engine::log::info(format_args!(
            "{} sends {} datagrams to udp {}",
            ctx.name(),
            match self.format {
                UdpFormat::Payload => "payload",
                UdpFormat::Json => "json",
                UdpFormat::Protobuf => "protobuf",
            },
            global.peer()
        ));
        Ok(runner(UdpWriter {
            global,
            format: self.format,
            max_datagram: self.max_datagram_bytes,
            interval: Duration::from_millis(self.flush_interval_ms),
            data: Vec::with_capacity(64 * 1024),
            ends: Vec::with_capacity(SEND_EARLY_DATAGRAMS),
            open_start: 0,
            mmsg: SendMmsg::new(MMSG_BATCH),
            failed: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use engine::Output;

    use super::*;

    fn receiver() -> (UdpSocket, String) {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        (rx, addr)
    }

    fn pack(payload: &str) -> PipelinePack {
        let mut p = PipelinePack::new(1024);
        p.message.payload.push_str(payload);
        p
    }

    fn recv(rx: &UdpSocket) -> Vec<u8> {
        let mut buf = vec![0u8; 70_000];
        let n = rx.recv(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn payloads_pack_into_datagrams_no_larger_than_the_limit() {
        let (rx, address) = receiver();
        let c = UdpOutputConfig {
            address,
            max_datagram_bytes: 10,
            ..UdpOutputConfig::default()
        };
        let mut out = c.build(&BuildContext::standalone("udp_out")).unwrap();
        for p in ["aaa", "bbb", "cc", "dddddddd"] {
            out.deliver(&pack(p)).unwrap();
        }
        // Nine bytes plus the newline is ten: fits; ten plus one does not.
        assert!(out.deliver(&pack("eeeeeeeee")).is_ok());
        assert_eq!(
            out.deliver(&pack("ffffffffff")),
            Err(WriteError::Format("message larger than max_datagram_bytes"))
        );
        assert_eq!(out.commit(Instant::now(), true), Ok(true));
        assert_eq!(recv(&rx), b"aaa\nbbb\n");
        assert_eq!(recv(&rx), b"cc\n");
        assert_eq!(recv(&rx), b"dddddddd\n");
        assert_eq!(recv(&rx), b"eeeeeeeee\n");
    }

    #[test]
    fn protobuf_sends_one_frame_per_datagram_and_stop_closes_the_socket() {
        let (rx, address) = receiver();
        let c = UdpOutputConfig {
            address,
            format: UdpFormat::Protobuf,
            ..UdpOutputConfig::default()
        };
        let ctx = BuildContext::standalone("udp_out");
        let mut out = c.build(&ctx).unwrap();
        let mut a = pack("seq=0000000001");
        a.message.timestamp = 7;
        out.deliver(&a).unwrap();
        out.deliver(&pack("seq=0000000002")).unwrap();
        assert_eq!(out.commit(Instant::now(), true), Ok(true));
        for want in ["seq=0000000001", "seq=0000000002"] {
            let d = recv(&rx);
            let frame = crate::framing::parse_frame(&d, 65_507).unwrap();
            let mut back = engine::Message::default();
            crate::decoders::protobuf::decode_message(frame.message, 0, &mut back, 0).unwrap();
            assert_eq!(back.payload, want);
        }
        let g: Arc<UdpOutputGlobal> = ctx.global(|| unreachable!("built")).unwrap();
        g.event(Event::Stop);
        out.deliver(&a).unwrap();
        assert!(out.commit(Instant::now(), true).is_err(), "closed on Stop");
    }

    /// A message with a uuid, the usual headers, a payload and two fields.
    fn rich(seq: u64, payload: &str) -> PipelinePack {
        let mut p = pack(payload);
        let m = &mut p.message;
        m.uuid = [seq as u8 + 1; 16];
        m.timestamp = 1_795_579_080_105_194_000;
        m.msg_type.push_str("flood");
        m.logger.push_str("edge1");
        m.severity = 6;
        let f = m.add_field().unwrap();
        f.name.push_str("seq");
        f.values.push_integer(seq as i64);
        let f = m.add_field().unwrap();
        f.name.push_str("tags");
        f.values.push_string().push('a');
        f.values.push_string().push_str("b\"c");
        p
    }

    #[test]
    fn json_sends_one_parseable_message_per_datagram_within_the_limit() {
        let (rx, address) = receiver();
        let json_len = |p: &PipelinePack| {
            let mut v = Vec::new();
            encode_json(&p.message, &mut v);
            v.len()
        };
        // Room for two small messages in one datagram: `json` must still send one each.
        let small = json_len(&rich(0, "seq=0000000000"));
        let max = 2 * small + 10;
        let c = UdpOutputConfig {
            address,
            format: UdpFormat::Json,
            max_datagram_bytes: max,
            ..UdpOutputConfig::default()
        };
        let mut out = c.build(&BuildContext::standalone("udp_out")).unwrap();
        for seq in 0..3 {
            out.deliver(&rich(seq, &format!("seq={seq:010}"))).unwrap();
        }
        // Exactly at the limit fits; one byte more is a write error, never truncated.
        let exact = "x".repeat(max - small + "seq=0000000000".len());
        assert_eq!(json_len(&rich(3, &exact)), max);
        out.deliver(&rich(3, &exact)).unwrap();
        assert_eq!(
            out.deliver(&rich(4, &format!("{exact}y"))),
            Err(WriteError::Format("message larger than max_datagram_bytes"))
        );
        assert_eq!(out.commit(Instant::now(), true), Ok(true));
        for seq in 0..4u64 {
            let d = recv(&rx);
            assert!(d.len() <= max, "datagram of {} bytes over {max}", d.len());
            let v: serde_json::Value = serde_json::from_slice(&d)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&d)));
            let payload = if seq < 3 {
                format!("seq={seq:010}")
            } else {
                exact.clone()
            };
            let u = format!("{:02x}", seq + 1);
            let uuid = format!(
                "{}-{}-{}-{}-{}",
                u.repeat(4),
                u.repeat(2),
                u.repeat(2),
                u.repeat(2),
                u.repeat(6)
            );
            assert_eq!(
                v,
                serde_json::json!({
                    "uuid": uuid,
                    "timestamp": "2026-11-25T03:58:00.105194000Z",
                    "type": "flood", "logger": "edge1", "severity": 6, "payload": payload,
                    "env_version": "", "metlog_pid": 0, "metlog_hostname": "",
                    "fields": {"seq": seq, "tags": ["a", "b\"c"]}
                })
            );
        }
        rx.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 16];
        assert!(
            rx.recv(&mut buf).is_err(),
            "the oversized message was not sent"
        );
    }

    #[test]
    fn config_defaults_round_trip() {
        let c = UdpOutputConfig::default();
        let back: UdpOutputConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let json: UdpFormat = serde_json::from_str("\"json\"").unwrap();
        assert_eq!(json, UdpFormat::Json);
    }

    #[test]
    fn bad_limits_are_refused() {
        for max in [0, 65_508] {
            let c = UdpOutputConfig {
                max_datagram_bytes: max,
                ..UdpOutputConfig::default()
            };
            assert!(c.build(&BuildContext::standalone("u")).is_err());
        }
    }
}
