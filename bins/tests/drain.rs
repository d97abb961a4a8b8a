//! Graceful stop under load (issue 7): a million numbered messages, SIGTERM mid-stream with
//! the ring full and the socket's queue holding datagrams; every accepted message is in the
//! file exactly once, what was not accepted is a kernel drop or was sent after the socket
//! stopped taking datagrams. And the bounded drain: an output that cannot finish ends hekad
//! with exit 1 and a list of what was abandoned, after `engine.drain_timeout_ms` or at a
//! second signal.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tests::{
    json_datagram, report_count, report_line, send_paced, seqs_in, udp_no_ports, udp_rx_queue,
    Flood, Hekad,
};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// Makes a FIFO at `dir/name`.
fn mkfifo(dir: &Path, name: &str) -> PathBuf {
    let fifo = dir.join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    fifo
}

/// Reads the lines hekad writes into `fifo` while `paused` is false; returns their
/// sequence numbers at EOF (hekad closed it).
fn read_fifo(fifo: PathBuf, paused: Arc<AtomicBool>) -> thread::JoinHandle<Vec<u64>> {
    thread::spawn(move || {
        // Opening for reading waits for hekad to open the writing end.
        let mut r = std::io::BufReader::new(std::fs::File::open(fifo).unwrap());
        let (mut seqs, mut line) = (Vec::new(), String::new());
        loop {
            while paused.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(1));
            }
            line.clear();
            if r.read_line(&mut line).unwrap() == 0 {
                return seqs;
            }
            if let Some(s) = line.find("seq=").and_then(|i| line.get(i + 4..i + 14)) {
                seqs.push(s.parse().unwrap());
            }
        }
    })
}

/// `(occupancy, slots)` from a SIGUSR1 report's `  ring: ` line.
fn ring_occupancy(report: &[String]) -> (u64, u64) {
    let words: Vec<&str> = report_line(report, "  ring: ").split_whitespace().collect();
    (words[6].parse().unwrap(), words[1].parse().unwrap())
}

#[test]
fn sigterm_mid_stream_loses_no_accepted_message() {
    let dir = tempfile::tempdir().unwrap();
    // Two outputs: the file under test, and a FIFO the test reads, so it decides when the
    // pipeline falls behind. The input has a thread of its own: it keeps reading the socket
    // until the ring is full, and takes the stop while the other thread is blocked.
    let fifo = mkfifo(dir.path(), "side.fifo");
    let paused = Arc::new(AtomicBool::new(false));
    let reader = read_fifo(fifo, paused.clone());
    let body = r#"{
  "engine":   {"pool_size": 1024,
               "threads": [{"cores": [], "stages": ["udp"]},
                           {"cores": [], "stages": ["decode", "route", "out", "side"]}]},
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 200},
               {"name": "side", "type": "FileOutput", "path": "side.fifo", "flush_interval_ms": 10}],
  "chains":   {"default": {"outputs": ["out", "side"]}}
}"#;
    let mut h = Hekad::start_with_config(BIN, dir.path(), body);
    let addr = h.udp_addr("udp");
    let flood = Flood::start(addr, 1_000_000, 50_000);
    flood.wait_sent(500_000, Duration::from_secs(60));

    // Mid-stream: stop reading the FIFO. The pipe fills, the side output blocks, the ring
    // fills behind it and datagrams wait in the socket's queue: shown, not assumed.
    paused.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (before, queued) = loop {
        let r = h.usr1_report();
        let (occupancy, slots) = ring_occupancy(&r);
        let queued = udp_rx_queue(addr).unwrap_or(0);
        if occupancy == slots && queued > 0 {
            break (r, queued);
        }
        assert!(Instant::now() < deadline, "the ring never filled: {r:#?}");
        thread::sleep(Duration::from_millis(20));
    };
    let sent_before_signal = flood.sent();
    let refused_before = udp_no_ports();
    h.signal("TERM");
    // The sender goes on to its million; the socket stops taking datagrams at the stop.
    thread::sleep(Duration::from_millis(300));
    paused.store(false, Ordering::Relaxed);
    let sent = flood.join();
    let status = h
        .wait_exit(Duration::from_secs(30))
        .expect("hekad exits after SIGTERM");
    let refused_after = udp_no_ports();
    let side = reader.join().unwrap();
    let stderr = h.stderr().join("\n");
    assert!(status.success(), "exit status {status}; stderr:\n{stderr}");
    let (occupancy, slots) = ring_occupancy(&before);
    eprintln!(
        "at SIGTERM: ring occupancy {occupancy}/{slots}, socket queue {queued} bytes, \
         out uncommitted {}; sent {sent_before_signal} before the signal, {sent} in all",
        report_count(&before, "out", "routed").unwrap()
            - report_count(&before, "out", "delivered").unwrap()
    );

    let count = |owner: &str, name: &str| {
        h.final_count(owner, name)
            .unwrap_or_else(|| panic!("no {owner}.{name}:\n{stderr}"))
    };
    let (accepted, drops) = (count("udp", "accepted"), count("udp", "kernel_drops"));
    assert_eq!(count("udp", "truncated"), 0);
    // Every datagram sent before the signal reached the socket: read, or dropped by the
    // kernel (the socket stopped taking datagrams only after the signal).
    assert!(
        accepted + drops >= sent_before_signal,
        "accepted {accepted} + drops {drops} < {sent_before_signal} sent before SIGTERM"
    );
    // The rest were sent after the stop and refused: sent = accepted + kernel_drops +
    // refused (truncated = 0), and the kernel counted at least that many refusals.
    let refused = sent - accepted - drops;
    eprintln!("accepted {accepted}, kernel drops {drops}, refused after the stop {refused}");
    assert!(refused > 0, "the sender was still sending at the stop");
    assert!(
        refused_after - refused_before >= refused,
        "{refused} refused but NoPorts rose by {}",
        refused_after - refused_before
    );
    // Every accepted message is in the file exactly once, in order, and committed.
    assert_eq!(count("out", "delivered"), accepted, "{stderr}");
    let seqs = seqs_in(&dir.path().join("out.log"));
    assert_eq!(seqs.len() as u64, accepted, "{stderr}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    assert!(
        seqs.last() < Some(&(accepted + drops)),
        "none sent after the stop"
    );
    if drops == 0 {
        assert_eq!(seqs, (0..accepted).collect::<Vec<_>>());
    }
    assert_eq!(side, seqs, "the side output got the same messages");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("  balance: ") && l.ends_with(": ok")),
        "{stderr}"
    );
}

/// Starts hekad (with `engine` settings) writing into a FIFO that is opened and never
/// read, sends it 20,000 datagrams (several times a pipe's 64 KiB of lines) and SIGTERM:
/// the drain cannot finish. Returns hekad, the held FIFO and when the signal was sent.
fn stuck_drain(dir: &Path, engine: &str) -> (Hekad, std::fs::File, Instant) {
    let fifo = mkfifo(dir, "out.fifo");
    // Opening for reading waits for hekad to open the writing end; then nobody reads.
    let reader = thread::spawn(move || std::fs::File::open(fifo).unwrap());
    let body = format!(
        r#"{{
  "engine":   {engine},
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"name": "json", "type": "JsonDecoder", "default": true}}],
  "outputs":  [{{"name": "out", "type": "FileOutput", "path": "out.fifo", "flush_interval_ms": 10}}],
  "chains":   {{"default": {{"outputs": ["out"]}}}}
}}"#
    );
    let mut h = Hekad::start_with_config(BIN, dir, &body);
    let addr = h.udp_addr("udp");
    let held = reader.join().unwrap();
    send_paced(addr, 20_000, 40_000, json_datagram);
    thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    h.signal("TERM");
    (h, held, signalled)
}

/// Checks the list after `header` accounts for every accepted message: the ones not yet
/// through route, plus the output's uncommitted and not-yet-taken ones, plus what it
/// committed or counted as failed, is what the input accepted (one output, one chain, so
/// every ring slot route passed is a message for it).
fn assert_abandoned_accounts_for_everything(h: &Hekad, header: &str) {
    let lines = h.stderr();
    let stderr = lines.join("\n");
    let at = lines
        .iter()
        .position(|l| l.contains(header))
        .unwrap_or_else(|| panic!("no {header:?}:\n{stderr}"));
    let before_route: u64 = lines[at + 1]
        .strip_suffix(" message(s) accepted but not yet through route")
        .unwrap_or_else(|| panic!("{:?}", lines[at + 1]))
        .trim()
        .parse()
        .unwrap();
    // `  out: C message(s) not committed, W not yet taken from the ring`
    let words: Vec<&str> = lines[at + 2].split_whitespace().collect();
    assert_eq!(
        (words[0], &words[2..5], &words[6..]),
        (
            "out:",
            &["message(s)", "not", "committed,"][..],
            &["not", "yet", "taken", "from", "the", "ring"][..]
        ),
        "{}",
        lines[at + 2]
    );
    let (uncommitted, not_taken): (u64, u64) =
        (words[1].parse().unwrap(), words[5].parse().unwrap());
    // The counts follow the list.
    let report = &lines[at + 3..];
    let c = |owner: &str, name: &str| report_count(report, owner, name).unwrap_or(0);
    let accepted = c("udp", "accepted");
    assert!(
        uncommitted + not_taken > 0,
        "something was abandoned:\n{stderr}"
    );
    assert_eq!(
        before_route
            + uncommitted
            + not_taken
            + c("out", "delivered")
            + c("out", "write_errors")
            + c("out", "dropped")
            + c("decode", "decode_errors"),
        accepted,
        "every accepted message is committed, failed or listed:\n{stderr}"
    );
}

#[test]
fn a_drain_longer_than_drain_timeout_ms_exits_1_and_says_what_was_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let (mut h, _held, signalled) = stuck_drain(dir.path(), r#"{"drain_timeout_ms": 1000}"#);
    let status = h
        .wait_exit(Duration::from_secs(20))
        .expect("the drain timeout ends hekad");
    let took = signalled.elapsed();
    let stderr = h.stderr().join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    // Not before the timeout; well within it plus a loaded box's delays.
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_secs(15),
        "exited {took:?} after SIGTERM"
    );
    assert!(!stderr.contains("second signal"), "{stderr}");
    assert_abandoned_accounts_for_everything(&h, "drain timed out after 1s; abandoned:");
}

#[test]
fn a_second_signal_forces_exit_and_says_what_was_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    // The default drain timeout (30 s): only the second signal ends this drain.
    let (mut h, _held, _) = stuck_drain(dir.path(), "{}");
    thread::sleep(Duration::from_millis(500));
    assert!(
        h.wait_exit(Duration::ZERO).is_none(),
        "still draining into the stuck output"
    );
    h.signal("TERM");
    let status = h
        .wait_exit(Duration::from_secs(10))
        .expect("the second signal ends hekad");
    let stderr = h.stderr().join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_abandoned_accounts_for_everything(&h, "second signal: forced exit; abandoned:");
}
