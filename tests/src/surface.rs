//! The surfaces hostile bytes reach, each wrapped as one function from bytes to a
//! [`Verdict`] that checks the surface's contract: the JSON, msgpack and protobuf decoders,
//! the Heka stream framing splitter, the statsd parser and aggregator, and the config
//! loader. The cargo-fuzz targets (`fuzz/`), the stable harness (`tests/tests/hostile.rs`)
//! and the corpus replay (`tests/corpus/<surface>/`) all call [`Surface::feed`], so a find
//! of one is a regression test of the others.
//!
//! The contract, per surface: no panic; a clear error or a valid result; nothing allocated
//! beyond a small multiple of the input (so a length prefix larger than the input cannot
//! allocate), and for the decoders nothing at all when the same bytes are decoded again
//! into the same pack (a ring slot's steady state). The allocation bound is checked when the caller's binary installs
//! [`engine::testing::CountingAllocator`] as its global allocator (the harnesses do).
//!
//! ```
//! use tests::{Surface, Verdict};
//!
//! assert_eq!(Surface::Json.feed(br#"{"payload": "hi"}"#), Verdict::Accepted);
//! assert!(matches!(Surface::Json.feed(b"{\"payload\": \"hi"), Verdict::Rejected(_)));
//! ```

use std::time::Duration;

use engine::config::Config;
use engine::testing::thread_allocated_bytes;
use engine::{BuildContext, DecodeError, Decoder, Message, PipelinePack, PluginConfig, Values};
use engine::{MAX_FIELDS, MAX_MESSAGE_SIZE};
use plugins::decoders::{JsonDecoderConfig, MsgPackDecoderConfig, ProtobufDecoderConfig};
use plugins::framing::{frame_len, max_frame_len, parse_frame};
use plugins::inputs::tcp::{FrameBuffer, ReadOutcome};
use plugins::statsd::{lines, parse_line, Aggregator, AggregatorConfig};

/// One kind of input hekad reads from the outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Surface {
    /// `JsonDecoder` on one datagram.
    Json,
    /// `MsgPackDecoder` on one datagram.
    MsgPack,
    /// `ProtobufDecoder` on one datagram (a frame or a bare message).
    Protobuf,
    /// The Heka stream framing splitter on a TCP byte stream, each frame then decoded.
    Framing,
    /// The statsd line parser and aggregator on one datagram, then a flush.
    Statsd,
    /// The config loader: parse, then validate against every built-in plugin.
    Config,
}

/// What a surface made of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A valid result (a decoded message, a config, samples all counted ok).
    Accepted,
    /// A counted error, with the error's text.
    Rejected(String),
}

/// Bytes a decode may allocate per input byte, plus a constant: a field costs about 200
/// bytes of `Field` in a doubling `Vec` and takes at least two input bytes.
const ALLOC_PER_BYTE: u64 = 512;
const ALLOC_BASE: u64 = 16 << 10;
/// The config loader builds maps, regexes and error strings: a looser bound.
const CONFIG_ALLOC_PER_BYTE: u64 = 4096;
const CONFIG_ALLOC_BASE: u64 = 16 << 20;

impl Surface {
    /// Every surface.
    pub const ALL: [Surface; 6] = [
        Surface::Json,
        Surface::MsgPack,
        Surface::Protobuf,
        Surface::Framing,
        Surface::Statsd,
        Surface::Config,
    ];

    /// The name of its corpus directory (`tests/corpus/<name>/`) and its fuzz target.
    pub fn name(self) -> &'static str {
        match self {
            Surface::Json => "json",
            Surface::MsgPack => "msgpack",
            Surface::Protobuf => "protobuf",
            Surface::Framing => "framing",
            Surface::Statsd => "statsd",
            Surface::Config => "config",
        }
    }

    /// The surface called `name` (see [`Surface::name`]).
    pub fn from_name(name: &str) -> Option<Surface> {
        Surface::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Feeds `data` to the surface and checks its contract.
    ///
    /// # Panics
    ///
    /// When the surface breaks its contract: it panics itself, allocates more than the
    /// bound, or returns a result that is not valid (e.g. more than [`MAX_FIELDS`] fields,
    /// a buffer larger than the input, a config error that names no file position).
    pub fn feed(self, data: &[u8]) -> Verdict {
        match self {
            Surface::Json => decode(
                &mut JsonDecoderConfig::default()
                    .build(&BuildContext::standalone("json"))
                    .expect("JsonDecoder builds"),
                data,
            ),
            Surface::MsgPack => decode(
                &mut MsgPackDecoderConfig::default()
                    .build(&BuildContext::standalone("msgpack"))
                    .expect("MsgPackDecoder builds"),
                data,
            ),
            Surface::Protobuf => decode(&mut protobuf_decoder(), data),
            Surface::Framing => framing(data),
            Surface::Statsd => statsd(data),
            Surface::Config => config(data),
        }
    }
}

/// A ProtobufDecoder that knows signer `ops` version 1 (key `s3cret`), so frames signed
/// by it reach the HMAC check.
fn protobuf_decoder() -> plugins::decoders::Protobuf {
    let mut config = ProtobufDecoderConfig::default();
    config.signers.insert(
        "ops_1".into(),
        plugins::decoders::SignerConfig {
            hmac_key: "s3cret".into(),
        },
    );
    config
        .build(&BuildContext::standalone("ProtobufDecoder"))
        .expect("ProtobufDecoder builds")
}

/// Runs `f` and asserts it allocated at most `per_byte * len + base` bytes.
fn bounded<T>(what: &str, len: usize, per_byte: u64, base: u64, f: impl FnOnce() -> T) -> T {
    let before = thread_allocated_bytes();
    let out = f();
    let used = thread_allocated_bytes() - before;
    let limit = per_byte * len as u64 + base;
    assert!(
        used <= limit,
        "{what}: {used} bytes allocated for {len} bytes of input (limit {limit})"
    );
    out
}

/// Decodes `data` twice (fresh buffers, then reused ones) and checks the outcome.
fn decode(decoder: &mut impl Decoder, data: &[u8]) -> Verdict {
    let mut pack = PipelinePack::new(MAX_MESSAGE_SIZE);
    if !pack.set_raw(data) {
        // Longer than any datagram: UdpInput counts it as truncated and never decodes it.
        return Verdict::Rejected("longer than max_message_size: truncated".into());
    }
    pack.recv_time = 42;
    let first = bounded("decode", data.len(), ALLOC_PER_BYTE, ALLOC_BASE, || {
        decoder.decode(&mut pack)
    });
    check_decoded(&first, &pack.message, data.len());
    // Again into the same, now used, buffers: the same answer, and no allocation at all
    // (the steady state of a ring slot), whatever the input.
    let second = bounded("decode again", data.len(), 0, 0, || {
        decoder.decode(&mut pack)
    });
    assert_eq!(first, second, "decoding the same bytes twice");
    check_decoded(&second, &pack.message, data.len());
    match first {
        Ok(_) => Verdict::Accepted,
        Err(e) => Verdict::Rejected(e.to_string()),
    }
}

/// A decoded message is within the limits and no larger than its input; an error's offset
/// points into the input.
fn check_decoded(result: &Result<engine::Decoded, DecodeError>, m: &Message, len: usize) {
    match *result {
        Ok(_) => assert_bounded(m, len),
        Err(DecodeError::Malformed { offset: at } | DecodeError::InvalidUtf8 { offset: at }) => {
            assert!(at <= len, "error offset {at} past the input's {len} bytes");
        }
        Err(_) => {}
    }
}

fn assert_bounded(m: &Message, len: usize) {
    assert!(m.fields.len() <= MAX_FIELDS, "{} fields", m.fields.len());
    for s in [
        &m.msg_type,
        &m.logger,
        &m.payload,
        &m.env_version,
        &m.hostname,
    ] {
        assert!(s.len() <= len, "a {}-byte string from {len} bytes", s.len());
    }
    for f in m.fields.as_slice() {
        assert!(f.name.len() <= len && f.representation.len() <= len);
        assert!(
            f.values.len() <= len,
            "{} values from {len} bytes",
            f.values.len()
        );
        match f.values.get() {
            Values::String(v) => assert!(v.iter().all(|s| s.len() <= len)),
            Values::Bytes(v) => assert!(v.iter().all(|b| b.len() <= len)),
            _ => {}
        }
    }
}

/// Splits `data` as TcpInput does: frame after frame until one is incomplete or bad; each
/// whole frame must parse and is decoded.
fn framing(data: &[u8]) -> Verdict {
    const MAX: usize = MAX_MESSAGE_SIZE;
    let mut decoder = protobuf_decoder();
    let mut rest = data;
    let mut rejected = None;
    let mut frames: Vec<&[u8]> = Vec::new();
    let mut bad_framing = false;
    loop {
        let len = bounded("frame_len", rest.len(), 0, 0, || frame_len(rest, MAX));
        match len {
            Ok(Some(n)) => {
                assert!(n <= max_frame_len(MAX), "frame of {n} bytes");
                if n > rest.len() {
                    // TcpInput waits for more; its buffer holds a whole frame.
                    break;
                }
                let frame = &rest[..n];
                frames.push(frame);
                let parsed = parse_frame(frame, MAX);
                assert!(parsed.is_ok(), "frame_len accepts, parse_frame: {parsed:?}");
                if let Verdict::Rejected(e) = decode(&mut decoder, frame) {
                    rejected.get_or_insert(e);
                }
                rest = &rest[n..];
            }
            Ok(None) => {
                assert!(
                    rest.len() < 3 + 255,
                    "{} bytes and still no header",
                    rest.len()
                );
                break;
            }
            // Bad framing closes the connection: the stream cannot be resynchronised.
            Err(e) => {
                rejected = Some(e.to_string());
                bad_framing = true;
                break;
            }
        }
    }
    // TcpInput's own buffer, reading the same stream in pieces of every size, frames it
    // the same way: the same frames, bad framing at the same place, the same leftover.
    let (split, split_bad, leftover) = frame_in_pieces(data, MAX);
    assert_eq!(split, frames, "TcpInput's FrameBuffer over split reads");
    assert_eq!(
        split_bad, bad_framing,
        "bad framing seen by one splitter only"
    );
    if bad_framing {
        return rejected.map_or(Verdict::Accepted, Verdict::Rejected);
    }
    assert_eq!(leftover, rest.len(), "unframed bytes at the end");
    // One whole frame in one datagram, as UdpInput hands it to the decoder.
    if let Ok(frame) = parse_frame(data, MAX) {
        assert_eq!(frame_len(data, MAX), Ok(Some(data.len())));
        assert!(frame.message.len() <= MAX);
    }
    if !rest.is_empty() {
        rejected.get_or_insert_with(|| format!("{} bytes of an incomplete frame", rest.len()));
    }
    rejected.map_or(Verdict::Accepted, Verdict::Rejected)
}

/// Feeds `data` to TcpInput's [`FrameBuffer`] in reads of 1, 3, 17, 256 and 4,096 bytes in
/// turn, taking every whole frame after each read: (the frames, whether the framing went
/// bad, the bytes left unframed at the end).
fn frame_in_pieces(data: &[u8], max: usize) -> (Vec<&[u8]>, bool, usize) {
    struct Pieces<'a> {
        data: &'a [u8],
        at: usize,
        turn: usize,
    }
    impl std::io::Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            const SIZES: [usize; 5] = [1, 3, 17, 256, 4096];
            let n = SIZES[self.turn % SIZES.len()]
                .min(buf.len())
                .min(self.data.len() - self.at);
            self.turn += 1;
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }
    let mut src = Pieces {
        data,
        at: 0,
        turn: 0,
    };
    thread_local! {
        // Allocated once, as TcpInput allocates one per connection (its size is the
        // largest frame's, which would dominate the per-input allocation bound).
        static BUFFER: std::cell::RefCell<Option<FrameBuffer>> = const { std::cell::RefCell::new(None) };
    }
    let mut buffer = BUFFER
        .with(|b| b.borrow_mut().take())
        .unwrap_or_else(|| FrameBuffer::new(max));
    buffer.clear();
    let result = frames_of(&mut buffer, &mut src, data);
    BUFFER.with(|b| *b.borrow_mut() = Some(buffer));
    result
}

fn frames_of<'a>(
    buffer: &mut FrameBuffer,
    src: &mut impl std::io::Read,
    data: &'a [u8],
) -> (Vec<&'a [u8]>, bool, usize) {
    let mut frames = Vec::new();
    let mut at = 0;
    loop {
        loop {
            match buffer.next_frame() {
                Ok(Some(frame)) => {
                    // The same bytes as the whole stream's frame at this offset.
                    let n = frame.len();
                    assert_eq!(frame, &data[at..at + n]);
                    frames.push(&data[at..at + n]);
                    at += n;
                }
                Ok(None) => break,
                Err(_) => return (frames, true, data.len() - at),
            }
        }
        match buffer.read_from(src).expect("reads from memory") {
            ReadOutcome::Data(_) => {}
            ReadOutcome::Eof | ReadOutcome::WouldBlock => break,
        }
    }
    assert_eq!(buffer.has_partial(), at < data.len());
    (frames, false, buffer.pending().len())
}

/// One datagram through the statsd aggregator, then a flush: every sample is counted once,
/// and the flush writes Graphite lines.
fn statsd(data: &[u8]) -> Verdict {
    // The parser alone, every sample of every line read.
    for line in lines(data) {
        if let Ok(metric) = parse_line(line) {
            assert!(metric.samples().count() <= line.len());
        }
    }
    let mut agg =
        Aggregator::new(AggregatorConfig::default(), 1_700_000_000).expect("default aggregator");
    agg.ingest(data);
    let c = agg.counters();
    assert_eq!(c.packets, 1);
    assert_eq!(c.lines, c.ok + c.malformed + c.refused, "{c:?}");
    let mut out = String::new();
    agg.flush(1_700_000_010, Duration::from_secs(10), &mut out);
    for line in out.lines() {
        assert_eq!(line.split(' ').count(), 3, "graphite line {line:?}");
    }
    if c.malformed + c.refused == 0 {
        Verdict::Accepted
    } else {
        Verdict::Rejected(format!(
            "{} malformed, {} refused of {} samples",
            c.malformed, c.refused, c.lines
        ))
    }
}

/// The config loader on `data` as the file `fuzz.json`: parse, then validate every plugin
/// section. Every error names the file, and a line and column inside the text.
fn config(data: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(data) else {
        // `Config::load` reads the file as UTF-8 and names it in the error.
        return Verdict::Rejected("not UTF-8".into());
    };
    let registry = crate::registry();
    let result = bounded(
        "config",
        data.len(),
        CONFIG_ALLOC_PER_BYTE,
        CONFIG_ALLOC_BASE,
        || {
            let config = Config::parse(text, "fuzz.json")?;
            engine::validate(&registry, &config).map(drop)
        },
    );
    match result {
        Ok(()) => Verdict::Accepted,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.json:"), "{message}");
            if let Some(p) = e.position() {
                let lines = text.split('\n').count();
                assert!(
                    p.line >= 1 && p.line <= lines,
                    "line {} of {lines}: {message}",
                    p.line
                );
                assert!(p.column >= 1, "{message}");
            }
            Verdict::Rejected(message)
        }
    }
}
