//! Support for end-to-end tests: start a real `hekad`, read what it prints, send it
//! numbered datagrams, and check what it wrote. Every wait is bounded.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub mod faults;
mod surface;

pub use surface::{Surface, Verdict};
mod flood;
mod nats;
mod tls;
mod udp_stats;

pub use flood::Flood;
pub use nats::NatsServer;
pub use tls::Pki;
pub use udp_stats::{udp_no_ports, udp_rx_queue};

/// A running hekad process; killed on drop if still running.
#[derive(Debug)]
pub struct Hekad {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            into.lock().unwrap().push(line);
        }
    });
}

impl Hekad {
    /// Starts `bin` with `args`, reading its stdout and stderr on threads (a full pipe
    /// would block the daemon).
    pub fn start(bin: impl AsRef<Path>, args: &[&str]) -> Hekad {
        Hekad::spawn(Command::new(bin.as_ref()).args(args))
    }

    /// Starts `cmd` as [`Hekad::start`] does: hekad itself (with `uid`, say), or a wrapper
    /// that execs it, so the pid stays hekad's (`sh -c 'ulimit -f 64; exec "$0" "$@"' hekad
    /// --config ...`).
    pub fn spawn(cmd: &mut Command) -> Hekad {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hekad");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        collect(child.stderr.take().unwrap(), stderr.clone());
        collect(child.stdout.take().unwrap(), stdout.clone());
        Hekad {
            child,
            stderr,
            stdout,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stderr line so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Every stdout line so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// The first stderr line containing `needle`, waiting at most `timeout`.
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.stderr().into_iter().find(|l| l.contains(needle)) {
                return Some(l);
            }
            if Instant::now() > deadline || self.child.try_wait().ok().flatten().is_some() {
                return self.stderr().into_iter().find(|l| l.contains(needle));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The address input `name` listens on, from its `listening <name> udp <addr>` line.
    pub fn udp_addr(&mut self, name: &str) -> SocketAddr {
        self.listen_addr(name, "udp")
    }

    /// The address input `name` listens on for `protocol` (`udp`, `tcp`), from its
    /// `listening <name> <protocol> <addr>` line.
    pub fn listen_addr(&mut self, name: &str, protocol: &str) -> SocketAddr {
        let needle = format!("listening {name} {protocol} ");
        let line = self
            .wait_for_stderr(&needle, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("no {needle:?} line; stderr: {:#?}", self.stderr()));
        let rest = &line[line.find(&needle).unwrap() + needle.len()..];
        rest.split_whitespace()
            .next()
            .unwrap()
            .parse()
            .expect("listen address")
    }

    /// Sends signal `sig` (e.g. "TERM", "INT", "USR1") with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -{sig} failed");
    }

    /// Waits at most `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                // Let the reader threads catch the last lines.
                thread::sleep(Duration::from_millis(100));
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The SIGUSR1 reports printed so far, one `Vec` of lines per report (from `hekad:
    /// counts after` to `  rss:`).
    pub fn usr1_reports(&self) -> Vec<Vec<String>> {
        let mut reports = Vec::new();
        let mut current: Option<Vec<String>> = None;
        for l in self.stderr() {
            if l.starts_with("hekad: counts after ") {
                current = Some(Vec::new());
            }
            if let Some(c) = current.as_mut() {
                c.push(l.clone());
                if l.starts_with("  rss: ") {
                    reports.push(current.take().unwrap());
                }
            }
        }
        reports
    }

    /// Waits (at most `timeout`) until `n` SIGUSR1 reports were printed; returns them all.
    pub fn wait_usr1_reports(&self, n: usize, timeout: Duration) -> Vec<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.usr1_reports();
            if r.len() >= n || Instant::now() > deadline {
                return r;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGUSR1 and returns the report it prints (waiting at most 10 s).
    pub fn usr1_report(&self) -> Vec<String> {
        let n = self.usr1_reports().len();
        self.signal("USR1");
        let mut r = self.wait_usr1_reports(n + 1, Duration::from_secs(10));
        assert!(
            r.len() > n,
            "no SIGUSR1 report; stderr:\n{}",
            self.stderr().join("\n")
        );
        r.swap_remove(n)
    }

    /// The value of `counter` for `owner` in the final report (`  owner: a=1 b=2`).
    pub fn final_count(&self, owner: &str, counter: &str) -> Option<u64> {
        report_count(&self.stderr(), owner, counter)
    }

    /// `key` of `/proc/<pid>/status` (`VmRSS`, `VmHWM`...) in bytes, while it runs.
    pub fn proc_status_bytes(&self, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    }
}

/// The value of `counter` for `owner` in the last counters line of `lines` that names
/// `owner` (`  owner: a=1 b=2`, as in the final and the SIGUSR1 reports).
pub fn report_count(lines: &[String], owner: &str, counter: &str) -> Option<u64> {
    let prefix = format!("  {owner}:");
    let line = lines.iter().rev().find(|l| l.starts_with(&prefix))?;
    let key = format!(" {counter}=");
    let at = line.find(&key)? + key.len();
    line[at..].split_whitespace().next()?.parse().ok()
}

/// The ring sequence stage `stage` had finished in a SIGUSR1 report
/// (`    stage: delivered 1.0 | 1.0; seq N lag M`).
pub fn report_seq(lines: &[String], stage: &str) -> Option<i64> {
    let prefix = format!("    {stage}:");
    let line = lines.iter().find(|l| l.starts_with(&prefix))?;
    let at = line.rfind("; seq ")? + "; seq ".len();
    line[at..].split_whitespace().next()?.parse().ok()
}

impl Drop for Hekad {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.child.kill().unwrap_or(());
            self.child.wait().map(drop).unwrap_or(());
        }
    }
}

/// A config: one UdpInput `udp` on a free loopback port → JsonDecoder `json` (default) →
/// the default chain → one FileOutput per `(name, path, flush_interval_ms)`.
pub fn udp_json_to_files(outputs: &[(&str, &str, u64)]) -> String {
    let sections: Vec<String> = outputs
        .iter()
        .map(|(n, p, ms)| {
            format!(
                r#"{{"name": "{n}", "type": "FileOutput", "path": "{p}", "flush_interval_ms": {ms}}}"#
            )
        })
        .collect();
    let names: Vec<String> = outputs.iter().map(|(n, ..)| format!("\"{n}\"")).collect();
    format!(
        r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"name": "json", "type": "JsonDecoder", "default": true}}],
  "outputs":  [{}],
  "chains":   {{"default": {{"outputs": [{}]}}}}
}}"#,
        sections.join(",\n               "),
        names.join(", ")
    )
}

/// A metlog-style JSON datagram carrying sequence number `seq` in its payload and fields.
pub fn json_datagram(seq: u64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    out.clear();
    write!(
        out,
        "{{\"type\":\"flood\",\"timestamp\":\"2026-11-25T03:58:00.105194Z\",\"logger\":\"test\",\
         \"severity\":6,\"payload\":\"seq={seq:010}\",\"fields\":{{\"seq\":{seq}}},\
         \"env_version\":\"0.8\",\"metlog_pid\":42,\"metlog_hostname\":\"localhost\"}}"
    )
    .unwrap();
}

/// Sends `count` datagrams made by `make` to `addr`, at most `rate` per second (paced in
/// small bursts). Returns how many were sent.
pub fn send_paced(
    addr: SocketAddr,
    count: u64,
    rate: u64,
    make: impl FnMut(u64, &mut Vec<u8>),
) -> u64 {
    let (sent, stop) = (AtomicU64::new(0), AtomicBool::new(false));
    flood::pace(addr, count, rate, make, &sent, &stop)
}

/// Reads `path` and returns the sequence numbers (`seq=NNNNNNNNNN`) of its lines.
pub fn seqs_in(path: &Path) -> Vec<u64> {
    seqs_of(&std::fs::read_to_string(path).unwrap_or_default())
}

/// The sequence numbers (`seq=NNNNNNNNNN`) of the lines of `text`.
pub fn seqs_of(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.find("seq=").map(|i| &l[i + 4..]))
        .filter_map(|s| s.get(..10).and_then(|d| d.parse().ok()))
        .collect()
}

/// A registry with every built-in plugin.
pub fn registry() -> engine::Registry {
    let mut r = engine::Registry::new();
    plugins::register_all(&mut r);
    r
}

/// The line of `report` starting with `prefix`; panics when there is none.
pub fn report_line<'a>(report: &'a [String], prefix: &str) -> &'a str {
    report
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {report:#?}"))
}

/// Starts an in-process pipeline from config text (relative paths resolve against `dir`).
pub fn start(dir: &Path, config: &str) -> engine::Pipeline {
    let config = engine::config::Config::parse(config, dir.join("test.json")).expect("config");
    engine::run_with(&registry(), &config).expect("start pipeline")
}

/// The address of the pipeline's input `name`.
pub fn input_addr(p: &engine::Pipeline, name: &str) -> SocketAddr {
    p.listeners()
        .iter()
        .find(|l| l.name == name)
        .expect("input listens")
        .address
}

/// Waits at most `timeout` until `counter` reaches `target`; returns its last value.
pub fn wait_for(counter: &engine::Counter, target: u64, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    while counter.get() < target && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    counter.get()
}

impl Hekad {
    /// Writes `body` to `dir/hekad.json` and starts `bin` on it.
    pub fn start_with_config(bin: impl AsRef<Path>, dir: &Path, body: &str) -> Hekad {
        let path = write_config(dir, body);
        Hekad::start(bin, &["--config", path.to_str().expect("utf-8 temp path")])
    }

    /// Sends SIGTERM and asserts a clean exit within 30 s; returns the process for its
    /// output.
    pub fn stop_gracefully(mut self) -> Hekad {
        self.signal("TERM");
        let status = self
            .wait_exit(Duration::from_secs(30))
            .expect("hekad exits after SIGTERM");
        let stderr = self.stderr().join("\n");
        assert!(status.success(), "exit status {status}; stderr:\n{stderr}");
        self
    }
}

/// Writes `body` to `dir/hekad.json` and returns that path (for [`Hekad::spawn`]).
pub fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("hekad.json");
    std::fs::write(&path, body).expect("write config");
    path
}

/// The lines of the file at `path` (none when it does not exist yet).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits at most `timeout` for a line of `path` containing `needle`.
pub fn wait_line(path: &Path, needle: &str, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(l) = lines(path).into_iter().find(|l| l.contains(needle)) {
            return Some(l);
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Asks `h` for its counts (SIGUSR1) until `owner`'s counter `name` reaches `target`, at
/// most 30 s; returns the last value seen.
pub fn wait_count(h: &Hekad, owner: &str, name: &str, target: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        h.signal("USR1");
        thread::sleep(Duration::from_millis(100));
        let v = h.final_count(owner, name).unwrap_or(0);
        if v >= target || Instant::now() > deadline {
            return v;
        }
    }
}

/// Waits at most 30 s until `path` holds `n` numbered lines; returns them.
pub fn wait_seqs(path: &Path, n: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = seqs_in(path);
        if s.len() >= n || Instant::now() > deadline {
            return s;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that `seqs`, in any order, are exactly `want`, each once.
pub fn assert_exactly(mut seqs: Vec<u64>, want: impl Iterator<Item = u64>) {
    seqs.sort_unstable();
    let want: Vec<u64> = want.collect();
    assert_eq!(seqs.len(), want.len(), "count");
    assert_eq!(seqs, want, "each exactly once");
}

/// Waits at most `timeout` for the server to close `s` (a read returning 0 or an error
/// other than a timeout). `s` needs a short read timeout (its socket's), or a read could
/// outlast `timeout`.
pub fn closed_by_server(s: &mut impl std::io::Read, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut b = [0u8; 256];
    while Instant::now() < deadline {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Asserts that `h` printed an accounting balance that holds (`balance: ...: ok`).
pub fn assert_balanced(h: &Hekad) {
    assert!(
        h.stderr()
            .iter()
            .any(|l| l.contains("balance:") && l.ends_with(": ok")),
        "{:#?}",
        h.stderr()
    );
}

/// Edge (`edge(dir, aggregator address)`: UdpInput `udp` → TcpOutput `fwd` with room for
/// 3,000 messages) → aggregator (`aggregator(dir, address)`: TcpInput `tcp` → FileOutput
/// `file` writing `out.log`): 1,000 numbered messages go through, the aggregator stops
/// gracefully, 2,000 more wait in the edge's buffer, and an aggregator on the same port
/// gets them all: every message once, nothing dropped, failed or truncated, both balanced.
/// The plain and the TLS forwarding tests run it with their own configs.
pub fn check_aggregator_restart_loses_nothing_the_edge_buffered(
    aggregator: impl Fn(&Path, &str) -> Hekad,
    edge: impl Fn(&Path, SocketAddr) -> Hekad,
) {
    let agg_dir = tempfile::tempdir().unwrap();
    let mut agg = aggregator(agg_dir.path(), "127.0.0.1:0");
    let agg_addr = agg.listen_addr("tcp", "tcp");
    let edge_dir = tempfile::tempdir().unwrap();
    let mut e = edge(edge_dir.path(), agg_addr);
    let udp = e.udp_addr("udp");
    let out = agg_dir.path().join("out.log");
    const N1: u64 = 1000;
    const N2: u64 = 2000;
    send_paced(udp, N1, 20_000, json_datagram);
    assert_eq!(wait_seqs(&out, N1 as usize).len() as u64, N1);
    let agg = agg.stop_gracefully();
    assert_balanced(&agg);
    assert_eq!(agg.final_count("tcp", "truncated"), Some(0));

    // The aggregator is down: the edge takes these and holds them.
    send_paced(udp, N2, 20_000, |i, b| json_datagram(N1 + i, b));
    assert_eq!(wait_count(&e, "fwd", "routed", N1 + N2), N1 + N2);
    assert_eq!(
        e.final_count("fwd", "delivered"),
        Some(N1),
        "nothing written into the closed connection"
    );
    assert_eq!(seqs_in(&out).len() as u64, N1);

    // Back on the same port: the buffer drains into it.
    let mut agg = aggregator(agg_dir.path(), &agg_addr.to_string());
    assert_eq!(agg.listen_addr("tcp", "tcp"), agg_addr);
    assert_eq!(wait_seqs(&out, (N1 + N2) as usize).len() as u64, N1 + N2);
    let e = e.stop_gracefully();
    let agg = agg.stop_gracefully();
    assert_exactly(seqs_in(&out), 0..N1 + N2);
    assert_eq!(e.final_count("fwd", "delivered"), Some(N1 + N2));
    assert_eq!(e.final_count("fwd", "dropped"), Some(0));
    assert_eq!(e.final_count("fwd", "write_errors"), Some(0));
    assert!(e.final_count("fwd", "connects") >= Some(2));
    assert_eq!(agg.final_count("file", "delivered"), Some(N2));
    assert_eq!(agg.final_count("tcp", "truncated"), Some(0));
    assert_balanced(&e);
    assert_balanced(&agg);
}
