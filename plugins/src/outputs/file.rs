//! FileOutput: a Runner over a BatchWriter. Messages are formatted (payload text, JSON, or
//! Heka-framed protobuf)
//! into a recycled buffer, batched into one large buffer, written with `write_all`, and
//! flushed + fsynced every `flush_interval_ms` and at stop. Writeback of a regular file is
//! started every 4 MiB written (`sync_file_range`, not waited for), so the fsync at a commit
//! waits for milliseconds, not for an interval's worth of data: on a one-thread plan that
//! wait is time the UDP socket's queue fills.
//!
//! Failures (issue 7): a failed write or fsync (a full disk, an I/O error) truncates the file
//! back to its length at the last commit, so it never holds a partial line or a message
//! counted as failed, and the messages since that commit are counted as write errors; the
//! next batch tries again.
//!
//! Rotation: at each commit the path is compared with the open file. When it was renamed
//! (logrotate), the commit first finishes on the old file (written, fdatasynced: the lines
//! since the last commit are durable in the renamed file), then the path is opened again, so
//! new messages go to the new file without a restart (a reload reopens it too). When the
//! open file was removed (no name left, `st_nlink == 0`), what was written to it since the
//! last commit is gone with it: it is truncated away and those messages are counted as
//! write errors, never delivered. If nothing had been written to it since the last commit
//! (an idle output), the commit switches first and nothing is lost.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::{
    runner, BatchRunner, BatchWriter, BuildContext, BuildError, DataRecycler, PipelinePack,
    PluginConfig, WriteError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::encoders::json::encode_json;
use crate::encoders::protobuf::encode_frame;
use crate::encoders::rfc3339;

/// `ENOENT` on Linux: the error a removed file's lost batch is counted with.
const ENOENT: i32 = 2;

/// Written to the OS once the batch buffer holds this much, between commits.
const WRITE_THRESHOLD: usize = 1 << 20;

/// Writeback of a regular file is started (not waited for) once this much has been written
/// since the last start: the commit's fdatasync then waits for a few MiB, not for a whole
/// interval's data. (At 300 MB/s, a 1 s interval's fdatasync took 35-75 ms on a one-thread
/// plan, long enough for a UDP socket's 64 MiB queue to overflow.)
const WRITEBACK_BYTES: u64 = 4 << 20;

/// What one message becomes in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The payload and a newline.
    #[default]
    Text,
    /// The whole message as one JSON object (wire key names) and a newline.
    Json,
    /// The whole message as one unsigned Heka stream frame (protobuf), no separator: the
    /// file can be replayed to a TcpInput as is.
    Protobuf,
}

/// A file mode. Config takes an octal string (`"0640"`) or Heka's decimal integer (`420`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm(pub u32);

impl Default for Perm {
    fn default() -> Self {
        Perm(0o644)
    }
}

impl JsonSchema for Perm {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Perm".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A file mode: an octal string (\"0640\") or Heka's decimal integer (420).",
            "type": ["string", "integer"]
        })
    }
}

impl Serialize for Perm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:04o}", self.0))
    }
}

impl<'de> Deserialize<'de> for Perm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Octal(String),
            Decimal(u32),
        }
        let mode = match Raw::deserialize(d)? {
            Raw::Octal(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).map_err(|_| {
                serde::de::Error::custom(format!("perm {s:?} is not an octal mode like \"0644\""))
            })?,
            Raw::Decimal(n) => n,
        };
        if mode > 0o7777 {
            return Err(serde::de::Error::custom(format!(
                "perm {mode:o} is not a file mode"
            )));
        }
        Ok(Perm(mode))
    }
}

const fn default_flush_interval_ms() -> u64 {
    1000
}

/// Config of `FileOutput`: appends each message to a file (payload text, JSON or
/// protobuf frames), written, flushed and fsynced every `flush_interval_ms` and at stop;
/// messages count as delivered once fsynced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    /// The file to append to (created if missing); relative to the config file's directory.
    pub path: PathBuf,
    /// `text` (payload), `json` (the whole message) or `protobuf` (framed).
    #[serde(default)]
    pub format: Format,
    /// Prefix each line with the time the output formats it (RFC 3339 UTC, nanoseconds)
    /// and a space, as Heka's FileOutput prefixed `time.Now()`: the message's own
    /// timestamp is in the `json` format. perf/run.sh reads it for its latency column.
    #[serde(default)]
    pub prefix_ts: bool,
    /// Mode of a newly created file.
    #[serde(default)]
    pub perm: Perm,
    /// How often to write out, flush and fsync the batch.
    #[serde(default = "default_flush_interval_ms", alias = "flush_interval")]
    pub flush_interval_ms: u64,
}

impl Default for FileOutputConfig {
    fn default() -> Self {
        FileOutputConfig {
            path: PathBuf::from("hekad.log"),
            format: Format::Text,
            prefix_ts: false,
            perm: Perm::default(),
            flush_interval_ms: default_flush_interval_ms(),
        }
    }
}

/// Formats messages into lines (the FileOutput's `DataRecycler`).
#[derive(Clone, Copy, Debug)]
pub struct LineFormat {
    format: Format,
    prefix_ts: bool,
}

impl DataRecycler for LineFormat {
    type OutData = Vec<u8>;

    fn make_out_data(&self) -> Vec<u8> {
        Vec::with_capacity(1024)
    }

    fn zero_out_data(&self, out: &mut Vec<u8>) {
        out.clear();
    }

    fn prep_out_data(&self, pack: &PipelinePack, out: &mut Vec<u8>) -> Result<(), WriteError> {
        let m = &pack.message;
        if self.prefix_ts {
            // One vDSO clock read per line, only when asked for.
            rfc3339::format(now_ns(), out);
            out.push(b' ');
        }
        match self.format {
            Format::Text => out.extend_from_slice(m.payload.as_bytes()),
            Format::Json => encode_json(m, out),
            Format::Protobuf => {
                encode_frame(m, None, out);
                return Ok(());
            }
        }
        out.push(b'\n');
        Ok(())
    }
}

/// The wall clock in nanoseconds since the Unix epoch (0 before it).
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Appends batches of lines to a file (the FileOutput's `BatchWriter`).
#[derive(Debug)]
pub struct FileWriter {
    file: File,
    path: PathBuf,
    perm: u32,
    buf: Vec<u8>,
    format: LineFormat,
    interval: Duration,
    /// The file's length after the last commit: what a failed write truncates back to.
    committed_len: u64,
    /// A write since the last commit failed: the commit reports it.
    failed: Option<std::io::Error>,
    /// A regular file (fsynced at commit); not a device or a pipe, where fsync means nothing
    /// (and fails with EINVAL).
    regular: bool,
    /// The file's length as written so far (from `committed_len` on).
    written_len: u64,
    /// Where writeback was last started up to ([`WRITEBACK_BYTES`]).
    writeback_from: u64,
}

/// Opens `path` for appending (created with `perm`), making a new directory entry durable.
fn open_append(path: &Path, perm: u32) -> std::io::Result<File> {
    let existed = path.exists();
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(perm)
        .open(path)?;
    if !existed {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                // Best effort: the file itself is fsynced at every commit.
                d.sync_all().unwrap_or(());
            }
        }
    }
    Ok(file)
}

impl FileWriter {
    /// Writes the buffer out. On failure, truncates the file back to the last commit
    /// (no partial line) and remembers the error for the commit.
    fn write_out(&mut self) {
        if self.buf.is_empty() || self.failed.is_some() {
            self.buf.clear();
            return;
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            self.roll_back();
            self.failed = Some(e);
        } else {
            self.written_len += self.buf.len() as u64;
            self.start_writeback();
        }
        self.buf.clear();
    }

    /// Starts writeback of what was written since the last start, every
    /// [`WRITEBACK_BYTES`]; best effort (the commit's fdatasync is what counts).
    fn start_writeback(&mut self) {
        let pending = self.written_len.saturating_sub(self.writeback_from);
        if !self.regular || pending < WRITEBACK_BYTES {
            return;
        }
        use std::os::fd::AsFd;
        engine::sys::start_writeback(self.file.as_fd(), self.writeback_from, pending).unwrap_or(());
        self.writeback_from = self.written_len;
    }

    /// After a commit, a roll-back or a reopen: the file's length is `len`, all of it
    /// accounted for.
    fn set_committed(&mut self, len: u64) {
        self.committed_len = len;
        self.written_len = len;
        self.writeback_from = len;
    }

    /// Truncates the file to its last committed length (O_APPEND: later writes go on from
    /// there). Not possible on a non-file such as a pipe or `/dev/full`: nothing to undo.
    fn roll_back(&mut self) {
        if self.file.metadata().is_ok_and(|m| m.is_file()) {
            if let Err(e) = self.file.set_len(self.committed_len) {
                engine::log::warn(format_args!(
                    "{}: truncating back to {} bytes after a failed write: {e}",
                    self.path.display(),
                    self.committed_len
                ));
            }
            self.set_committed(self.committed_len);
        }
    }

    /// Opens the path again when `open` (the open file's metadata) is no longer the file at
    /// the path (removed or renamed). Keeps the old file when opening fails.
    fn reopen_if_moved(&mut self, open: &std::io::Result<Metadata>) {
        let moved = match (std::fs::metadata(&self.path), open) {
            (Ok(at_path), Ok(open)) => at_path.ino() != open.ino() || at_path.dev() != open.dev(),
            (Err(_), _) => true,
            (Ok(_), Err(_)) => false,
        };
        if !moved {
            return;
        }
        match open_append(&self.path, self.perm) {
            Ok(f) => {
                let meta = f.metadata();
                self.set_committed(meta.as_ref().map_or(0, |m| m.len()));
                self.regular = meta.is_ok_and(|m| m.is_file());
                self.file = f;
                engine::log::info(format_args!(
                    "{} was moved or removed: reopened",
                    self.path.display()
                ));
            }
            Err(e) => engine::log::warn(format_args!(
                "{} was moved or removed; reopening failed: {e}",
                self.path.display()
            )),
        }
    }

    /// Flushes and fdatasyncs what was written since the last commit into the open file,
    /// unless that file has no name left (removed): then it is truncated back to the last
    /// commit, since nobody can read it any more. Returns the file's metadata after the
    /// writes, for the reopen check.
    fn finish_commit(&mut self) -> std::io::Result<Metadata> {
        self.write_out();
        // After the writes: if the file still had a name here, every byte of this batch was
        // written while it did.
        let open = self.file.metadata();
        let removed = open.as_ref().is_ok_and(|m| m.is_file() && m.nlink() == 0);
        if self.failed.is_none() && removed {
            engine::log::warn(format_args!(
                "{} was removed while open: the {} bytes written since the last commit are \
                 lost (counted as write errors)",
                self.path.display(),
                self.written_len.saturating_sub(self.committed_len)
            ));
            self.roll_back();
            self.failed = Some(std::io::Error::from_raw_os_error(ENOENT));
        }
        if self.failed.is_none() && self.regular {
            if let Err(e) = self.file.sync_data() {
                self.roll_back();
                self.failed = Some(e);
            }
        }
        if self.failed.is_none() {
            let len = open.as_ref().map_or(self.written_len, |m| m.len());
            self.set_committed(len);
        }
        open
    }

    /// The file's path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl BatchWriter for FileWriter {
    type Recycler = LineFormat;

    fn recycler(&self) -> LineFormat {
        self.format
    }

    fn batch(&mut self, out: &mut Vec<u8>) -> Result<(), WriteError> {
        self.buf.extend_from_slice(out);
        if self.buf.len() >= WRITE_THRESHOLD {
            self.write_out();
        }
        Ok(())
    }

    /// Finishes the commit on the open file, then switches to a new file if the path
    /// was rotated. When nothing has been written to the open file since the last commit
    /// (all of this batch is still in the buffer), the switch comes first, so an idle
    /// output loses nothing to a removed file.
    fn commit(&mut self) -> Result<(), WriteError> {
        if self.written_len == self.committed_len {
            let open = self.file.metadata();
            self.reopen_if_moved(&open);
        }
        let open = self.finish_commit();
        let result = match self.failed.take() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        };
        self.reopen_if_moved(&open);
        result
    }

    fn commit_interval(&self) -> Duration {
        self.interval
    }
}

impl PluginConfig for FileOutputConfig {
    type Plugin = BatchRunner<FileWriter>;

    fn build(&self, ctx: &BuildContext) -> Result<BatchRunner<FileWriter>, BuildError> {
        if self.flush_interval_ms == 0 {
            return Err(BuildError::Invalid(
                "flush_interval_ms must be at least 1".into(),
            ));
        }
        if self.prefix_ts && self.format == Format::Protobuf {
            return Err(BuildError::Invalid(
                "prefix_ts does not apply to format protobuf (frames are binary)".into(),
            ));
        }
        let path = ctx.resolve_path(&self.path);
        let file = open_append(&path, self.perm.0)
            .map_err(|e| BuildError::io(format!("open {}", path.display()), e))?;
        let meta = file
            .metadata()
            .map_err(|e| BuildError::io(format!("stat {}", path.display()), e))?;
        let (committed_len, regular) = (meta.len(), meta.is_file());
        engine::log::info(format_args!("{} writes to {}", ctx.name(), path.display()));
        Ok(runner(FileWriter {
            file,
            path,
            perm: self.perm.0,
            committed_len,
            written_len: committed_len,
            writeback_from: committed_len,
            failed: None,
            regular,
            buf: Vec::with_capacity(WRITE_THRESHOLD + 64 * 1024),
            format: LineFormat {
                format: self.format,
                prefix_ts: self.prefix_ts,
            },
            interval: Duration::from_millis(self.flush_interval_ms),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perm_accepts_octal_strings_and_heka_decimals() {
        let p: Perm = serde_json::from_str("\"0640\"").unwrap();
        assert_eq!(p, Perm(0o640));
        let p: Perm = serde_json::from_str("420").unwrap();
        assert_eq!(p, Perm(0o644));
        assert!(serde_json::from_str::<Perm>("\"0999\"").is_err());
        assert_eq!(serde_json::to_string(&Perm(0o600)).unwrap(), "\"0600\"");
    }

    #[test]
    fn protobuf_format_writes_frames_that_decode_back() {
        let mut pack = PipelinePack::new(1024);
        pack.message.payload.push_str("seq=0000000001");
        pack.message.timestamp = 5;
        let f = LineFormat {
            format: Format::Protobuf,
            prefix_ts: false,
        };
        let mut out = f.make_out_data();
        f.prep_out_data(&pack, &mut out).unwrap();
        let frame = crate::framing::parse_frame(&out, 1024).unwrap();
        let mut back = engine::Message::default();
        crate::decoders::protobuf::decode_message(frame.message, 0, &mut back, 0).unwrap();
        assert!(back.same_as(&pack.message));
        let bad = FileOutputConfig {
            format: Format::Protobuf,
            prefix_ts: true,
            ..FileOutputConfig::default()
        };
        assert!(bad.build(&BuildContext::standalone("f")).is_err());
        let json: Format = serde_json::from_str("\"protobuf\"").unwrap();
        assert_eq!(json, Format::Protobuf);
    }

    #[test]
    fn prefix_ts_is_the_time_of_formatting_not_the_message_timestamp() {
        let mut pack = PipelinePack::new(1024);
        pack.message.payload.push_str("hello");
        pack.message.timestamp = 5; // 1970: must not appear
        let f = LineFormat {
            format: Format::Text,
            prefix_ts: true,
        };
        let mut out = f.make_out_data();
        let before = now_ns();
        f.prep_out_data(&pack, &mut out).unwrap();
        let after = now_ns();
        let line = std::str::from_utf8(&out).unwrap();
        let (ts, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, "hello\n");
        assert_eq!(ts.len(), 30, "nine fraction digits: {ts}");
        let at = rfc3339::parse(ts.as_bytes()).unwrap();
        assert!(before <= at && at <= after, "{before} <= {at} <= {after}");
    }

    /// A text writer appending to `path`, as `build` makes it.
    fn writer(path: &Path) -> FileWriter {
        let file = open_append(path, 0o644).unwrap();
        let len = file.metadata().unwrap().len();
        FileWriter {
            file,
            path: path.to_path_buf(),
            perm: 0o644,
            buf: Vec::new(),
            format: LineFormat {
                format: Format::Text,
                prefix_ts: false,
            },
            interval: Duration::from_secs(1),
            committed_len: len,
            written_len: len,
            writeback_from: len,
            failed: None,
            regular: true,
        }
    }

    /// Batches lines `from..to` (`line N` padded to 1 KiB), so more than
    /// [`WRITE_THRESHOLD`] of them are written out before the commit.
    fn batch_lines(w: &mut FileWriter, from: usize, to: usize) {
        for i in from..to {
            let mut line = format!("line {i:07} {}\n", "x".repeat(1010)).into_bytes();
            w.batch(&mut line).unwrap();
        }
    }

    fn line_numbers(path: &Path) -> Vec<usize> {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "whole lines only");
        text.lines().map(|l| l[5..12].parse().unwrap()).collect()
    }

    const CHUNK_LINES: usize = WRITE_THRESHOLD / 1024 + 1;

    /// logrotate renames the file mid-batch: every line up to the commit, both the 1 MiB
    /// already written and the rest still buffered, goes to the renamed file (where the
    /// commit's fdatasync makes it durable); the next batch goes to a new file at the path.
    #[test]
    fn a_renamed_file_gets_every_line_up_to_the_commit_then_a_new_file_starts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let rotated = dir.path().join("out.log.1");
        let mut w = writer(&path);
        batch_lines(&mut w, 0, CHUNK_LINES);
        assert!(
            w.written_len > 0,
            "a chunk is in the file before the rename"
        );
        std::fs::rename(&path, &rotated).unwrap();
        batch_lines(&mut w, CHUNK_LINES, CHUNK_LINES + 10);
        w.commit().unwrap();
        let all: Vec<usize> = (0..CHUNK_LINES + 10).collect();
        let in_rotated = line_numbers(&rotated);
        assert!(
            in_rotated == all,
            "the renamed file holds {} of the {} lines",
            in_rotated.len(),
            all.len()
        );
        assert_eq!(line_numbers(&path), [0usize; 0], "switched at the commit");
        batch_lines(&mut w, 5_000, 5_003);
        w.commit().unwrap();
        assert_eq!(line_numbers(&path), [5_000, 5_001, 5_002]);
        assert_eq!(
            line_numbers(&rotated),
            all,
            "the rotated file is left alone"
        );
    }

    /// The file is removed mid-batch: what was written to it since the last commit is
    /// gone, so it is truncated back and the commit fails (its messages are counted as
    /// write errors, not delivered); the next batch goes to a new file at the path.
    #[test]
    fn a_batch_written_into_a_removed_file_is_truncated_and_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut w = writer(&path);
        batch_lines(&mut w, 0, 3);
        w.commit().unwrap();
        let committed = std::fs::metadata(&path).unwrap().len();
        let held = File::open(&path).unwrap();
        batch_lines(&mut w, 3, 3 + CHUNK_LINES);
        assert!(w.written_len > committed, "a chunk went into the file");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(w.commit(), Err(WriteError::Os(ENOENT)));
        assert_eq!(held.metadata().unwrap().len(), committed, "truncated back");
        assert_eq!(line_numbers(&path), [0usize; 0], "reopened, empty");
        batch_lines(&mut w, 9_000, 9_002);
        w.commit().unwrap();
        assert_eq!(line_numbers(&path), [9_000, 9_001]);
    }

    /// The file is removed while the output is idle: the next batch is still all in the
    /// buffer, so the commit switches to a new file first and loses nothing.
    #[test]
    fn an_idle_output_switches_first_so_a_removed_file_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut w = writer(&path);
        batch_lines(&mut w, 0, 3);
        w.commit().unwrap();
        std::fs::remove_file(&path).unwrap();
        batch_lines(&mut w, 3, 6);
        w.commit().unwrap();
        assert_eq!(line_numbers(&path), [3, 4, 5]);
    }

    /// Writeback starts once [`WRITEBACK_BYTES`] are written (the commit's fdatasync then
    /// has little left to wait for), and a commit settles every length to the file's.
    #[test]
    fn writeback_starts_every_few_mib_and_commit_settles_the_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        std::fs::write(&path, b"old\n").unwrap();
        let mut w = writer(&path);
        let mut line = vec![b'x'; 1023];
        line.push(b'\n');
        let lines = WRITEBACK_BYTES as usize / line.len() - 1;
        for _ in 0..lines {
            w.batch(&mut line.clone()).unwrap();
        }
        assert_eq!(w.writeback_from, 4, "less than WRITEBACK_BYTES written");
        for _ in 0..WRITE_THRESHOLD / line.len() + 1 {
            w.batch(&mut line.clone()).unwrap();
        }
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert_eq!(w.written_len, on_disk);
        assert!(w.writeback_from > 4, "writeback started");
        assert!(w.written_len - w.writeback_from < WRITEBACK_BYTES);
        w.commit().unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            len,
            4 + (lines + WRITE_THRESHOLD / line.len() + 1) as u64 * 1024
        );
        assert_eq!(
            (w.committed_len, w.written_len, w.writeback_from),
            (len, len, len)
        );
    }

    #[test]
    fn config_defaults_round_trip() {
        let c = FileOutputConfig::default();
        let back: FileOutputConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
