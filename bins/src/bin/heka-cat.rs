//! heka-cat: prints the messages of a FileOutput file written in the `json` (one object per
//! line) or `protobuf` (Heka stream framing) format, as Heka's `heka-cat` did. Each record
//! is decoded by hekad's own decoders (a frame by the `ProtobufDecoder`, a line by the
//! `JsonDecoder`) and filtered by a message matcher.
//!
//! ```text
//! heka-cat hekad.pb                                  # every message, as text blocks
//! heka-cat --match 'Type == "nginx" && Severity <= 3' --format json hekad.json
//! heka-cat --tail --format json hekad.pb             # follow the file as it grows
//! heka-cat --count --match 'Fields[seq] >= 100' hekad.pb
//! ```
//!
//! Records that do not decode are skipped, the first few reported on stderr and the total
//! at the end; the exit status is then 1.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use engine::matcher::Matcher;
use engine::{BuildContext, Decoder, Message, PipelinePack, PluginConfig};
use plugins::decoders::{JsonDecoderConfig, ProtobufDecoderConfig};
use plugins::encoders::{encode_json, rfc3339, uuid};

#[path = "heka-cat/records.rs"]
mod records;

use records::{Record, Records};

/// How often `--tail` looks for new bytes.
const TAIL_POLL: Duration = Duration::from_millis(100);
/// Undecodable records reported one by one before only the total is.
const REPORTED_ERRORS: u64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Heka's heka-cat blocks: `:Timestamp:`, `:Type:`, ... `:Fields:`, a blank line.
    Text,
    /// One JSON object per message (FileOutput's json format).
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "heka-cat",
    version,
    about = "Prints the messages of a hekad FileOutput file (json or protobuf format)"
)]
struct Cli {
    /// The file (FileOutput `format` json or protobuf; detected per record).
    file: PathBuf,
    /// Only messages matching this message matcher, e.g. `Type == "x" && Severity <= 4`.
    #[arg(long = "match", short = 'm', value_name = "EXPR")]
    matcher: Option<String>,
    /// How to print each message.
    #[arg(long, short, value_enum, default_value = "text")]
    format: Format,
    /// Keep reading as the file grows (reopens it when it is truncated or replaced).
    #[arg(long, short = 't', conflicts_with = "count")]
    tail: bool,
    /// Print only the number of matching messages.
    #[arg(long, short = 'c')]
    count: bool,
    /// Stop after this many matching messages (Heka's `-maxcount`).
    #[arg(long, value_name = "N")]
    max_count: Option<u64>,
    /// Start reading at this byte offset (Heka's `-offset`).
    #[arg(long, default_value_t = 0)]
    offset: u64,
}

/// Decodes records into one reused pack.
struct Reader {
    json: plugins::decoders::Json,
    protobuf: plugins::decoders::Protobuf,
    pack: PipelinePack,
}

impl Reader {
    fn new() -> Result<Reader> {
        let ctx = BuildContext::standalone("heka-cat");
        Ok(Reader {
            json: JsonDecoderConfig::default().build(&ctx)?,
            protobuf: ProtobufDecoderConfig::default().build(&ctx)?,
            pack: PipelinePack::new(engine::MAX_MESSAGE_SIZE),
        })
    }

    /// The message in `bytes` (a frame or a JSON line).
    fn decode(&mut self, frame: bool, bytes: &[u8]) -> Result<&Message, String> {
        self.pack.reset();
        if !self.pack.set_raw(bytes) {
            return Err(format!("record of {} bytes is too large", bytes.len()));
        }
        let r = if frame {
            self.protobuf.decode(&mut self.pack)
        } else {
            self.json.decode(&mut self.pack)
        };
        r.map_err(|e| e.to_string())?;
        Ok(&self.pack.message)
    }
}

/// What a run saw.
#[derive(Debug, Default)]
struct Tally {
    matched: u64,
    errors: u64,
}

struct Cat<'a> {
    cli: &'a Cli,
    matcher: Option<Matcher>,
    reader: Reader,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    line: Vec<u8>,
    tally: Tally,
}

impl Cat<'_> {
    /// Handles every whole record; `false` once `--max-count` is reached.
    fn drain(&mut self, records: &mut Records, at_end: bool) -> Result<bool> {
        while let Some(record) = records.next(at_end) {
            let (frame, range) = match record {
                Record::Frame(r) => (true, r),
                Record::Line(r) => (false, r),
                Record::Garbage(r) => {
                    let at = records.offset(r.start);
                    self.error(at, &format!("{} bytes that start no record", r.len()));
                    continue;
                }
            };
            let at = records.offset(range.start);
            let msg = match self.reader.decode(frame, records.bytes(&range)) {
                Ok(m) => m,
                Err(e) => {
                    self.error(at, &e);
                    continue;
                }
            };
            if self.matcher.as_ref().is_some_and(|m| !m.matches(msg)) {
                continue;
            }
            self.tally.matched += 1;
            if !self.cli.count {
                self.line.clear();
                render(self.cli.format, msg, &mut self.line);
                self.out.write_all(&self.line)?;
            }
            if self.cli.max_count.is_some_and(|n| self.tally.matched >= n) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn error(&mut self, offset: u64, what: &str) {
        self.tally.errors += 1;
        if self.tally.errors <= REPORTED_ERRORS {
            eprintln!(
                "heka-cat: {}: byte {offset}: {what}",
                self.cli.file.display()
            );
        }
    }
}

/// One message in `format`, with its final newline.
fn render(format: Format, msg: &Message, out: &mut Vec<u8>) {
    match format {
        Format::Json => {
            encode_json(msg, out);
            out.push(b'\n');
        }
        Format::Text => {
            let mut json = Vec::new();
            encode_json(msg, &mut json);
            let fields = serde_json::from_slice::<serde_json::Value>(&json)
                .ok()
                .and_then(|v| v.get("fields").cloned())
                .unwrap_or_default();
            let mut ts = Vec::new();
            rfc3339::format(msg.timestamp, &mut ts);
            let mut id = Vec::new();
            uuid::format(&msg.uuid, &mut id);
            let text = format!(
                ":Timestamp: {}\n:Type: {}\n:Hostname: {}\n:Pid: {}\n:Uuid: {}\n:Logger: {}\n\
                 :Payload: {}\n:EnvVersion: {}\n:Severity: {}\n:Fields: {fields}\n\n",
                String::from_utf8_lossy(&ts),
                msg.msg_type,
                msg.hostname,
                msg.pid,
                String::from_utf8_lossy(&id),
                msg.logger,
                msg.payload,
                msg.env_version,
                msg.severity,
            );
            out.extend_from_slice(text.as_bytes());
        }
    }
}

fn open(path: &Path, offset: u64) -> Result<File> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    f.seek(SeekFrom::Start(offset))?;
    Ok(f)
}

/// Whether `path` is no longer the file `f` (replaced by a rotation) or is shorter than
/// `read` bytes (truncated).
fn replaced_or_truncated(path: &Path, f: &File, read: u64) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(path), f.metadata()) {
        (Ok(now), Ok(open)) => {
            now.ino() != open.ino() || now.dev() != open.dev() || now.len() < read
        }
        _ => false,
    }
}

fn run(cli: &Cli) -> Result<Tally> {
    let matcher = cli
        .matcher
        .as_deref()
        .map(Matcher::compile)
        .transpose()
        .context("--match")?;
    let mut cat = Cat {
        cli,
        matcher,
        reader: Reader::new()?,
        out: std::io::BufWriter::new(std::io::stdout().lock()),
        line: Vec::new(),
        tally: Tally::default(),
    };
    let mut file = open(&cli.file, cli.offset)?;
    let mut read = cli.offset;
    let mut records = Records::new(engine::MAX_MESSAGE_SIZE, cli.offset);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context(format!("reading {}", cli.file.display())),
        };
        records.push(&chunk[..n]);
        read += n as u64;
        let at_end = n == 0 && !cli.tail;
        if !cat.drain(&mut records, at_end)? || at_end {
            break;
        }
        if n == 0 {
            cat.out.flush()?;
            std::thread::sleep(TAIL_POLL);
            if replaced_or_truncated(&cli.file, &file, read) {
                // Finish what the old file held, then start the new one from its start.
                cat.drain(&mut records, true)?;
                cat.out.flush()?;
                if let Ok(f) = open(&cli.file, 0) {
                    file = f;
                    read = 0;
                    records = Records::new(engine::MAX_MESSAGE_SIZE, 0);
                }
            }
        }
    }
    if cli.count {
        writeln!(cat.out, "{}", cat.tally.matched)?;
    }
    cat.out.flush()?;
    Ok(cat.tally)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(t) if t.errors == 0 => ExitCode::SUCCESS,
        Ok(t) => {
            eprintln!(
                "heka-cat: {}: {} records could not be decoded",
                cli.file.display(),
                t.errors
            );
            ExitCode::FAILURE
        }
        // `heka-cat ... | head` closes the pipe: not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("heka-cat: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
