//! Back-pressure and fault isolation in a real daemon (issue 7): `hekad-faults` (hekad with
//! the fault-injection plugins of `tests::faults`) on loopback, numbered datagrams in, the
//! SIGUSR1 and final reports read from its stderr, the FileOutput's file checked line by
//! line. Every wait is bounded; every process is stopped (or killed on drop).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use tests::{json_datagram, report_count, report_seq, send_paced, seqs_in, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad-faults");

/// One daemon at a time: they share two cores, and the timing-sensitive assertions (kernel
/// drops, no drops) should not depend on how the test harness interleaves them.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The slow output has a thread of its own so that its sleeps stall nothing but itself.
const SLOW_THREADS: &str = r#""threads": [{"stages": ["udp"]},
                          {"stages": ["decode", "route", "file"]},
                          {"stages": ["slow"]}]"#;

/// UDP → JSON → `slow` (a SlowOutput with `slow_keys`) and `file` (out.log), on a ring of
/// `pool_size` slots of `max_message_size` bytes.
fn slow_and_file(pool_size: usize, max_message_size: usize, slow_keys: &str) -> String {
    format!(
        r#"{{
  "engine":   {{"pool_size": {pool_size}, "max_message_size": {max_message_size},
                {SLOW_THREADS}}},
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0",
                "recv_buffer_bytes": 262144}}],
  "decoders": [{{"name": "json", "type": "JsonDecoder", "default": true}}],
  "outputs":  [{{"name": "slow", "type": "SlowOutput", {slow_keys}}},
               {{"name": "file", "type": "FileOutput", "path": "out.log",
                 "flush_interval_ms": 20}}],
  "chains":   {{"default": {{"outputs": ["slow", "file"]}}}}
}}"#
    )
}

fn report(h: &Hekad) -> Vec<String> {
    h.usr1_report()
}

fn count(r: &[String], owner: &str, counter: &str) -> u64 {
    report_count(r, owner, counter)
        .unwrap_or_else(|| panic!("no {owner}.{counter} in\n{}", r.join("\n")))
}

/// SIGUSR1 reports every 200 ms (at most 60 s) until `done` holds for one; returns it.
fn report_when(h: &Hekad, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = report(h);
        if done(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "never {what}:\n{}", r.join("\n"));
        thread::sleep(Duration::from_millis(200));
    }
}

/// Settled: every output delivered all that the input accepted, and the input took
/// nothing new since the previous report.
fn settled(h: &Hekad, outputs: &[&str]) -> Vec<String> {
    let last = Cell::new(u64::MAX);
    report_when(h, "settled", |r| {
        let accepted = count(r, "udp", "accepted");
        let before = last.replace(accepted);
        accepted == before && outputs.iter().all(|o| count(r, o, "delivered") == accepted)
    })
}

/// Stops `h` with SIGTERM (exit 0 asserted) and checks the socket's and the file's account:
/// `accepted + kernel_drops + truncated = sent`, and out.log holds every accepted
/// message once, in order. Returns the stopped process and `accepted`.
fn stop_and_check_file(h: Hekad, dir: &Path, sent: u64) -> (Hekad, u64) {
    let h = h.stop_gracefully();
    let stderr = h.stderr().join("\n");
    let c = |o: &str, n: &str| h.final_count(o, n).unwrap_or_else(|| panic!("{o}.{n}"));
    let accepted = c("udp", "accepted");
    assert_eq!(
        accepted + c("udp", "kernel_drops") + c("udp", "truncated"),
        sent,
        "losses only at the socket, and counted there:\n{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("  balance: ") && l.ends_with(": ok")),
        "{stderr}"
    );
    assert_eq!(c("file", "delivered"), accepted, "{stderr}");
    let seqs = seqs_in(&dir.join("out.log"));
    assert_eq!(seqs.len() as u64, accepted, "{stderr}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    (h, accepted)
}

/// Issue 7 (3): an output sleeping 10 ms per batch next to a FileOutput, 200,000 datagrams
/// at up to 100,000/s. Intake is throttled to the slow output's pace (the socket overflows:
/// kernel drops > 0), both outputs deliver every accepted message, the fast one is never
/// more than the ring ahead, and peak RSS grows by less than the ring (2 MiB) plus 4 MiB.
#[test]
fn a_slow_output_throttles_intake_to_counted_kernel_drops_and_memory_stays_within_the_ring() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let (pool_size, max_message_size) = (1024, 2048);
    let mut h = Hekad::start_with_config(
        BIN,
        dir.path(),
        &slow_and_file(pool_size, max_message_size, r#""sleep_ms": 10"#),
    );
    let addr = h.udp_addr("udp");
    h.wait_for_stderr("running", Duration::from_secs(20))
        .expect("running");
    thread::sleep(Duration::from_millis(300));
    let idle = h.proc_status_bytes("VmRSS").expect("VmRSS");

    let sent = 200_000;
    let sender = thread::spawn(move || send_paced(addr, sent, 100_000, json_datagram));
    // While it sends: the fast output runs ahead of the slow one, by at most the ring.
    // (No lower bound: right after a batch is published, the slow output's thread may
    // take it before the file's.)
    let mut max_ahead = 0;
    while !sender.is_finished() {
        let r = report(&h);
        let (file, slow) = (report_seq(&r, "file"), report_seq(&r, "slow"));
        let ahead = file.unwrap() - slow.unwrap();
        assert!(
            ahead <= pool_size as i64,
            "file ahead of slow by {ahead}:\n{}",
            r.join("\n")
        );
        max_ahead = max_ahead.max(ahead);
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sender.join().unwrap(), sent);
    assert!(max_ahead > 0, "the fast output never ran ahead");

    let r = settled(&h, &["slow", "file"]);
    let peak = h.proc_status_bytes("VmHWM").expect("VmHWM");
    let grown = peak.saturating_sub(idle);
    let ring_bytes = (pool_size * max_message_size) as u64;
    let bound = ring_bytes + (4 << 20);
    // An unbounded queue would hold what was sent: 200,000 datagrams of 199 bytes
    // (38 MiB) before decoding, over six times the bound.
    let mut d = Vec::new();
    json_datagram(0, &mut d);
    assert!(
        bound * 4 < sent * d.len() as u64,
        "a bound that means something"
    );
    assert!(
        grown < bound,
        "peak RSS grew by {grown} bytes (idle {idle}, peak {peak}), bound {bound}"
    );
    let batches = count(&r, "slow", "batches");

    let (h, accepted) = stop_and_check_file(h, dir.path(), sent);
    let stderr = h.stderr().join("\n");
    let drops = h.final_count("udp", "kernel_drops").unwrap();
    assert!(
        drops > 0,
        "intake was throttled into kernel drops:\n{stderr}"
    );
    assert_eq!(
        h.final_count("slow", "delivered"),
        Some(accepted),
        "{stderr}"
    );
    assert_eq!(h.final_count("slow", "dropped"), Some(0), "{stderr}");
    // The slow output took at most a budget (256) per 10 ms batch.
    assert!(
        batches * 256 >= accepted,
        "{batches} batches for {accepted}"
    );
    eprintln!(
        "slow output: sent {sent}, accepted {accepted}, kernel drops {drops}, {batches} \
         batches, fast output at most {max_ahead} ahead; peak RSS +{:.1} MiB (bound {:.1} MiB)",
        grown as f64 / (1 << 20) as f64,
        bound as f64 / (1 << 20) as f64
    );
}

/// Issue 7: "other outputs keep their own pace up to the ring's size". A stuck output
/// (capacity 0 while a file exists) next to a FileOutput: the file gets exactly `pool_size`
/// messages and no more, the stuck one none; once it is unstuck, both get every accepted
/// message.
#[test]
fn a_stuck_output_lets_the_others_run_exactly_one_ring_ahead() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let pool_size = 512u64;
    let stuck = dir.path().join("stuck");
    std::fs::write(&stuck, "").unwrap();
    let mut h = Hekad::start_with_config(
        BIN,
        dir.path(),
        &slow_and_file(
            pool_size as usize,
            2048,
            r#""sleep_ms": 0, "stuck_while_exists": "stuck""#,
        ),
    );
    let addr = h.udp_addr("udp");
    let sent = 4 * pool_size;
    assert_eq!(send_paced(addr, sent, 20_000, json_datagram), sent);

    report_when(&h, "a ring ahead", |r| {
        count(r, "file", "delivered") == pool_size
    });
    // Still exactly the ring ahead a while later: the stuck output holds the producers.
    thread::sleep(Duration::from_millis(500));
    let r = report(&h);
    let text = r.join("\n");
    assert_eq!(count(&r, "file", "delivered"), pool_size, "{text}");
    assert_eq!(count(&r, "slow", "delivered"), 0, "{text}");
    assert_eq!(count(&r, "udp", "accepted"), pool_size, "{text}");
    assert_eq!(
        report_seq(&r, "file").unwrap() - report_seq(&r, "slow").unwrap(),
        pool_size as i64,
        "{text}"
    );
    assert!(
        text.contains(&format!("occupancy {pool_size} (100.0%)")),
        "{text}"
    );

    std::fs::remove_file(&stuck).unwrap();
    settled(&h, &["slow", "file"]);
    let (h, accepted) = stop_and_check_file(h, dir.path(), sent);
    assert_eq!(h.final_count("slow", "delivered"), Some(accepted));
}

/// Issue 7 (4): an output and a filter that each panic on every 1,000th message. hekad
/// runs on; the filter's panics block just their messages; the output panics and is
/// rebuilt (with backoff) once per 1,000 messages it is handed; the FileOutput next to it
/// gets every message the filter passed; the counts balance and SIGTERM exits 0.
#[test]
fn an_output_and_a_filter_panicking_every_1000th_message_leave_the_pipeline_running() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut h = Hekad::start_with_config(
        BIN,
        dir.path(),
        r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}],
  "filters":  [{"name": "shaky", "type": "PanicFilter", "panic_every": 1000}],
  "outputs":  [{"name": "panicky", "type": "PanicOutput", "panic_every": 1000,
                "retries": {"delay_ms": 5, "max_delay_ms": 50}},
               {"name": "file", "type": "FileOutput", "path": "out.log",
                "flush_interval_ms": 20}],
  "chains":   {"default": {"filters": ["shaky"], "outputs": ["panicky", "file"]}}
}"#,
    );
    let addr = h.udp_addr("udp");
    let sent = 20_000;
    assert_eq!(send_paced(addr, sent, 20_000, json_datagram), sent);
    let last = Cell::new(u64::MAX);
    report_when(&h, "settled", |r| {
        let accepted = count(r, "udp", "accepted");
        let before = last.replace(accepted);
        let routed = count(r, "route", "routed");
        let panicky = count(r, "panicky", "delivered") + count(r, "panicky", "write_errors");
        accepted == before
            && routed + count(r, "route", "blocked") == accepted
            && count(r, "file", "delivered") == routed
            && panicky == routed
    });
    assert!(h.wait_exit(Duration::ZERO).is_none(), "hekad runs on");

    let h = h.stop_gracefully();
    let stderr = h.stderr().join("\n");
    let c = |o: &str, n: &str| h.final_count(o, n).unwrap_or_else(|| panic!("{o}.{n}"));
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("  balance: ") && l.ends_with(": ok")),
        "{stderr}"
    );
    let accepted = c("udp", "accepted");
    assert_eq!(accepted + c("udp", "kernel_drops"), sent, "{stderr}");
    // The filter: every 1000th message it saw panicked, was blocked, and it ran on.
    assert_eq!(c("shaky", "panics"), accepted / 1000, "{stderr}");
    assert_eq!(c("route", "blocked"), accepted / 1000, "{stderr}");
    let routed = accepted - accepted / 1000;
    assert_eq!(c("route", "routed"), routed, "{stderr}");
    // The output: handed every routed message once (the one it panicked on is not retried),
    // panicked on every 1000th, rebuilt after each panic (a commit in between resets the
    // backoff, so none is out of retries); what it lost is counted as write errors.
    assert_eq!(c("panicky", "routed"), routed, "{stderr}");
    assert_eq!(c("panicky", "calls"), routed, "{stderr}");
    assert_eq!(c("panicky", "panics"), routed / 1000, "{stderr}");
    assert_eq!(c("panicky", "restarts"), routed / 1000, "{stderr}");
    assert!(c("panicky", "write_errors") >= routed / 1000, "{stderr}");
    assert_eq!(
        c("panicky", "delivered") + c("panicky", "write_errors"),
        routed,
        "{stderr}"
    );
    assert_eq!(c("panicky", "dropped"), 0, "{stderr}");
    // The FileOutput next to it: every message the filter passed, once, in order.
    assert_eq!(c("file", "delivered"), routed, "{stderr}");
    let seqs = seqs_in(&dir.path().join("out.log"));
    assert_eq!(seqs.len() as u64, routed, "{stderr}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    // ~40 panics, logged through the rate-limited panic hook: 5 lines, then a count.
    let panic_lines = h
        .stderr()
        .iter()
        .filter(|l| l.contains(" panicked at "))
        .count();
    assert!(
        (1..=5).contains(&panic_lines),
        "{panic_lines} panic lines:\n{stderr}"
    );
    assert!(stderr.contains("panics: suppressed "), "{stderr}");
    if accepted == sent {
        // Nothing lost at the socket: the blocked ones are exactly seq 999, 1999...
        let got: BTreeSet<u64> = seqs.iter().copied().collect();
        let missing: BTreeSet<u64> = (0..sent).filter(|s| !got.contains(s)).collect();
        let expected: BTreeSet<u64> = (0..sent).filter(|s| s % 1000 == 999).collect();
        assert_eq!(missing, expected);
    }
    eprintln!(
        "panics: accepted {accepted}, filter panics {}, output panics {} restarts {} \
         write_errors {}",
        c("shaky", "panics"),
        c("panicky", "panics"),
        c("panicky", "restarts"),
        c("panicky", "write_errors")
    );
}

/// A custom binary's `doc` lists its own plugin types next to the built-ins.
#[test]
fn the_custom_binary_documents_its_own_plugin_types() {
    let out = std::process::Command::new(BIN).arg("doc").output().unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    for t in [
        "SlowOutput",
        "PanicOutput",
        "PanicFilter",
        "FileOutput",
        "UdpInput",
    ] {
        assert!(md.contains(&format!("### `{t}`")), "{t} missing");
    }
}
