//! Support for end-to-end tests: start a real `hekad`, read what it prints, send it
//! numbered datagrams, and check what it wrote. Every wait is bounded.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod surface;

pub use surface::{Surface, Verdict};
mod nats;
mod tls;

pub use nats::NatsServer;
pub use tls::Pki;

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
        let mut child = Command::new(bin.as_ref())
            .args(args)
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

    /// The value of `counter` for `owner` in the final report (`  owner: a=1 b=2`).
    pub fn final_count(&self, owner: &str, counter: &str) -> Option<u64> {
        let prefix = format!("  {owner}:");
        let lines = self.stderr();
        let line = lines.iter().rev().find(|l| l.starts_with(&prefix))?;
        let key = format!(" {counter}=");
        let at = line.find(&key)? + key.len();
        line[at..].split_whitespace().next()?.parse().ok()
    }
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
    mut make: impl FnMut(u64, &mut Vec<u8>),
) -> u64 {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let mut buf = Vec::with_capacity(1024);
    let start = Instant::now();
    let burst = 64u64;
    let mut sent = 0;
    while sent < count {
        let due = Duration::from_secs_f64(sent as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            thread::sleep(wait);
        }
        for _ in 0..burst.min(count - sent) {
            make(sent, &mut buf);
            sock.send_to(&buf, addr).expect("send");
            sent += 1;
        }
    }
    sent
}

/// Reads `path` and returns the sequence numbers (`seq=NNNNNNNNNN`) of its lines.
pub fn seqs_in(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
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
        let path = dir.join("hekad.json");
        std::fs::write(&path, body).expect("write config");
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
