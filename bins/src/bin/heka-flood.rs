//! heka-flood: Heka's load generator. Sends `--count` numbered messages to hekad in one of
//! its wire formats, over UDP (one message per datagram) or TCP (Heka stream framing), flat
//! out or paced to `--rate` messages per second, and prints `sent=N secs=T rate=R/s`.
//!
//! Every message `i` (from `--first`) carries `seq=NNNNNNNNNN` (ten digits) at the start of
//! its payload and an Integer field `seq`, so a test can prove that nothing was lost,
//! duplicated or reordered (statsd lines carry it as the gauge `heka_flood.seq`).
//!
//! ```text
//! heka-flood --address 127.0.0.1:5565 --format protobuf --count 100000 --rate 50000 \
//!            --size 200 --sign ops:1:secret --hash sha1
//! heka-flood --address 127.0.0.1:5565 --format protobuf --tcp --count 100000
//! ```
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use engine::Message;
use plugins::encoders::{encode_frame, encode_json, encode_msgpack};
use plugins::framing::{HashFunction, SigningKey};

/// Messages encoded and sent per burst (and per pacing check).
const BURST: u64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// metlog-style JSON, one object per datagram.
    Json,
    /// A msgpack map with the JSON keys.
    Msgpack,
    /// Heka protobuf in stream framing (optionally signed).
    Protobuf,
    /// statsd lines (a counter and the sequence number as a gauge).
    Statsd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Hash {
    Md5,
    Sha1,
}

#[derive(Debug, Parser)]
#[command(
    name = "heka-flood",
    version,
    about = "Sends numbered messages to hekad"
)]
struct Cli {
    /// Where hekad listens.
    #[arg(long, default_value = "127.0.0.1:5565")]
    address: SocketAddr,
    /// Wire format.
    #[arg(long, short, value_enum, default_value = "json")]
    format: Format,
    /// How many messages to send.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    count: u64,
    /// Messages per second; 0 sends flat out.
    #[arg(long, short, default_value_t = 0)]
    rate: u64,
    /// Pad each payload so a message is about this many bytes on the wire; 0 pads nothing.
    #[arg(long, short, default_value_t = 0)]
    size: usize,
    /// Send over TCP with Heka stream framing (protobuf only).
    #[arg(long)]
    tcp: bool,
    /// Sign protobuf frames: `signer:key_version:hmac_key`.
    #[arg(long)]
    sign: Option<String>,
    /// HMAC hash function for `--sign`.
    #[arg(long, value_enum, default_value = "md5")]
    hash: Hash,
    /// Sequence number of the first message.
    #[arg(long, default_value_t = 0)]
    first: u64,
}

/// Builds message after message in one reused [`Message`] and encodes it into one reused
/// buffer.
struct Encoder {
    format: Format,
    key: Option<SigningKey>,
    msg: Message,
    padding: usize,
}

impl Encoder {
    fn new(cli: &Cli) -> Result<Self> {
        let key = match &cli.sign {
            None => None,
            Some(_) if cli.format != Format::Protobuf => bail!("--sign needs --format protobuf"),
            Some(s) => Some(parse_sign(s, cli.hash)?),
        };
        let mut msg = Message {
            severity: 6,
            pid: i32::try_from(std::process::id()).unwrap_or(0),
            ..Message::default()
        };
        msg.msg_type.push_str("heka-flood");
        msg.logger.push_str("heka-flood");
        msg.env_version.push_str("0.8");
        msg.hostname.push_str("localhost");
        msg.add_field().context("a field")?.name.push_str("seq");
        let mut e = Encoder {
            format: cli.format,
            key,
            msg,
            padding: 0,
        };
        if cli.size > 0 {
            let mut out = Vec::new();
            e.encode(cli.first, &mut out);
            e.padding = cli.size.saturating_sub(out.len());
        }
        Ok(e)
    }

    /// Replaces `out` with message `seq`.
    fn encode(&mut self, seq: u64, out: &mut Vec<u8>) {
        out.clear();
        if self.format == Format::Statsd {
            // Writing to a Vec cannot fail.
            write!(out, "heka_flood.count:1|c\nheka_flood.seq:{seq}|g").unwrap_or(());
            out.resize(out.len() + self.padding, b' ');
            return;
        }
        let m = &mut self.msg;
        m.uuid[..8].copy_from_slice(&seq.to_be_bytes());
        m.uuid[8..12].copy_from_slice(&m.pid.to_be_bytes());
        m.timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        m.payload.clear();
        // Ten digits, zero-padded (larger numbers in full); writing to a String cannot fail.
        write!(m.payload, "seq={seq:010}").unwrap_or(());
        if self.padding > 0 {
            m.payload.push(' ');
            m.payload.extend(std::iter::repeat_n('x', self.padding - 1));
        }
        let f = &mut m.fields.as_mut_slice()[0];
        f.values.reset(engine::ValueType::Integer);
        f.values.push_integer(seq as i64);
        match self.format {
            Format::Json => encode_json(m, out),
            Format::Msgpack => encode_msgpack(m, out),
            Format::Protobuf => encode_frame(m, self.key.as_ref(), out),
            Format::Statsd => unreachable!(),
        }
    }
}

fn parse_sign(s: &str, hash: Hash) -> Result<SigningKey> {
    let mut parts = s.splitn(3, ':');
    let (Some(name), Some(version), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("--sign wants signer:key_version:hmac_key, got {s:?}");
    };
    let version: u32 = version
        .parse()
        .with_context(|| format!("--sign key version {version:?}"))?;
    let hash = match hash {
        Hash::Md5 => HashFunction::Md5,
        Hash::Sha1 => HashFunction::Sha1,
    };
    Ok(SigningKey::new(name, version, hash, key.as_bytes())?)
}

/// Sleeps until message `sent` is due at `rate` per second.
fn pace(start: Instant, sent: u64, rate: u64) {
    if rate == 0 {
        return;
    }
    let due = Duration::from_secs_f64(sent as f64 / rate as f64);
    if let Some(wait) = due.checked_sub(start.elapsed()) {
        std::thread::sleep(wait);
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.tcp && cli.format != Format::Protobuf {
        bail!("--tcp sends Heka stream framing: use --format protobuf");
    }
    let mut enc = Encoder::new(&cli)?;
    let mut buf = Vec::with_capacity(64 * 1024);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut errors = 0u64;
    if cli.tcp {
        let mut stream = TcpStream::connect(cli.address)
            .with_context(|| format!("connect to {}", cli.address))?;
        stream.set_nodelay(true)?;
        let mut batch = Vec::with_capacity(BURST as usize * 1024);
        while sent < cli.count {
            pace(start, sent, cli.rate);
            batch.clear();
            let n = BURST.min(cli.count - sent);
            for i in 0..n {
                enc.encode(cli.first + sent + i, &mut buf);
                batch.extend_from_slice(&buf);
            }
            stream.write_all(&batch).context("write")?;
            sent += n;
        }
        stream.flush()?;
        stream.shutdown(std::net::Shutdown::Write)?;
    } else {
        let bind = if cli.address.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let sock = UdpSocket::bind(bind).context("bind")?;
        sock.connect(cli.address)
            .with_context(|| format!("connect to {}", cli.address))?;
        while sent < cli.count {
            pace(start, sent, cli.rate);
            for _ in 0..BURST.min(cli.count - sent) {
                enc.encode(cli.first + sent, &mut buf);
                if sock.send(&buf).is_err() {
                    errors += 1; // e.g. ECONNREFUSED from an earlier datagram's ICMP
                }
                sent += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { sent as f64 / secs } else { 0.0 };
    println!("sent={sent} secs={secs:.3} rate={rate:.0}/s");
    if errors > 0 {
        eprintln!("heka-flood: {errors} sends failed");
    }
    Ok(())
}
