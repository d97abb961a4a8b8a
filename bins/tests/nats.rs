//! Edge hekads → NATS JetStream → an aggregator hekad, all real processes on loopback:
//! three edges (UdpInput → NatsOutput) each get N numbered datagrams, one aggregator
//! (NatsInput → FileOutput) writes them to a file. Every message arrives, and JetStream
//! stores each exactly once (publish retries are de-duplicated by `Nats-Msg-Id` = the uuid
//! given at intake), also when nats-server is killed and restarted mid-run, when it is
//! frozen (SIGSTOP) for longer than the edges' ack timeout, so that they publish again what
//! it had queued and then stores (the copies must be recognised as duplicates), and when the
//! aggregator is stopped (SIGTERM) or killed (SIGKILL) and started again mid-run: it acks a
//! message only once its outputs committed it, so a killed aggregator's messages are
//! redelivered, not lost.
//!
//! The promise is at least once: the aggregator may write a message twice after a crash
//! (receivers de-duplicate by uuid), so the file is checked after de-duplication, and every
//! copy of a message must carry the same uuid.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use tests::{send_paced, Hekad, NatsServer};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// Messages per edge, and the rate each edge is sent them at.
const N: u64 = 3000;
const RATE: u64 = 1500;
const EDGES: u64 = 3;

/// The edges' `ack_timeout_ms`, and how long [`Disruption::ServerFreeze`] freezes the
/// server: long enough for two rounds of retries of what it had queued.
const ACK_TIMEOUT_MS: u64 = 1000;
const FREEZE: Duration = Duration::from_millis(2500);

/// One process test at a time (DESIGN.md section 10).
static SERIAL: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy, Debug, PartialEq)]
enum Disruption {
    None,
    ServerRestart,
    ServerFreeze,
    AggregatorRestart,
    AggregatorKill,
}

fn edge_config(url: &str) -> String {
    format!(
        r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"type": "JsonDecoder", "default": true}}],
  "outputs":  [{{"name": "nats", "type": "NatsOutput", "url": "{url}",
                 "ack_timeout_ms": {ACK_TIMEOUT_MS}}}],
  "chains":   {{"default": {{"outputs": ["nats"]}}}}
}}"#
    )
}

/// An aggregator whose consumer has JetStream redeliver an unacked message after
/// `ack_wait_secs`.
fn aggregator_config(url: &str, out: &Path, ack_wait_secs: u64) -> String {
    format!(
        r#"{{
  "inputs":   [{{"name": "nats", "type": "NatsInput", "url": "{url}",
                 "ack_wait_secs": {ack_wait_secs}}}],
  "decoders": [{{"type": "ProtobufDecoder"}}],
  "outputs":  [{{"name": "file", "type": "FileOutput", "path": "{}", "format": "json",
                 "flush_interval_ms": 100}}],
  "chains":   {{"default": {{"outputs": ["file"]}}}}
}}"#,
        out.display()
    )
}

/// A metlog JSON datagram from edge `edge`, numbered `seq` (no uuid: the edge gives one).
fn datagram(edge: u64, seq: u64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    out.clear();
    write!(
        out,
        "{{\"type\":\"flood\",\"logger\":\"edge{edge}\",\"severity\":6,\
         \"payload\":\"seq={seq:010}\",\"fields\":{{\"seq\":{seq}}}}}"
    )
    .unwrap();
}

/// What the aggregator wrote: lines, and (edge, seq) → the uuids seen for it.
struct Written {
    lines: usize,
    by_message: HashMap<(String, u64), HashSet<String>>,
}

fn written(path: &Path) -> Written {
    let lines = tests::lines(path);
    let mut by_message: HashMap<(String, u64), HashSet<String>> = HashMap::new();
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}"));
        let logger = v["logger"].as_str().expect("logger").to_string();
        let seq = v["fields"]["seq"].as_u64().expect("seq field");
        let uuid = v["uuid"]
            .as_str()
            .expect("every message has a uuid")
            .to_string();
        by_message.entry((logger, seq)).or_default().insert(uuid);
    }
    Written {
        lines: lines.len(),
        by_message,
    }
}

fn start_aggregator(dir: &Path, url: &str, out: &Path, ack_wait_secs: u64) -> Hekad {
    let mut h = Hekad::start_with_config(BIN, dir, &aggregator_config(url, out, ack_wait_secs));
    h.wait_for_stderr("hekad: running", Duration::from_secs(20))
        .unwrap_or_else(|| panic!("aggregator did not start: {:#?}", h.stderr()));
    h
}

fn run(disruption: Disruption) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("js");
    let mut server = NatsServer::start(&store);
    let url = server.url();
    let out = tmp.path().join("aggregated.log");
    let agg_dir = tmp.path().join("agg");
    std::fs::create_dir(&agg_dir).unwrap();
    // 3 s, so a killed aggregator's messages come back soon; 10 s (four times the freeze)
    // while the server is frozen, so that no ack the aggregator sent meanwhile is overtaken
    // by a redelivery when the server resumes (its clock jumps by the freeze). Messages the
    // server hands to a pull request the aggregator gave up on during the freeze come back
    // after this wait, unwritten: it bounds how long that run takes.
    let ack_wait_secs = if disruption == Disruption::ServerFreeze {
        10
    } else {
        3
    };
    let start_agg = |dir: &Path| start_aggregator(dir, &url, &out, ack_wait_secs);
    let mut aggregator = Some(start_agg(&agg_dir));

    let mut edges = Vec::new();
    let mut senders = Vec::new();
    for e in 0..EDGES {
        let dir = tmp.path().join(format!("edge{e}"));
        std::fs::create_dir(&dir).unwrap();
        let mut h = Hekad::start_with_config(BIN, &dir, &edge_config(&url));
        let addr = h.udp_addr("udp");
        edges.push(h);
        senders.push(thread::spawn(move || {
            send_paced(addr, N, RATE, |seq, buf| datagram(e, seq, buf))
        }));
    }

    // Mid-run: once the aggregator has written a few hundred messages (about a tenth of
    // the run; bounded wait, for a loaded box).
    let deadline = Instant::now() + Duration::from_secs(20);
    while written(&out).lines < 500 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(written(&out).lines >= 500, "the aggregator writes nothing");
    match disruption {
        Disruption::None => {}
        Disruption::ServerRestart => {
            server.kill();
            thread::sleep(Duration::from_millis(500));
            server.restart();
        }
        Disruption::ServerFreeze => {
            // The edges keep publishing into the frozen server's sockets; their acks time
            // out and they publish the same messages again (same uuid, so same
            // `Nats-Msg-Id`). On SIGCONT the server stores the first copies, then sees the
            // retries: without the id each would be stored again.
            server.pause();
            thread::sleep(FREEZE);
            server.resume();
        }
        Disruption::AggregatorRestart => {
            let old = aggregator.take().unwrap().stop_gracefully();
            let before = written(&out).lines as u64;
            assert_eq!(old.final_count("file", "delivered"), Some(before));
            thread::sleep(Duration::from_millis(500));
            aggregator = Some(start_agg(&agg_dir));
        }
        Disruption::AggregatorKill => {
            let mut old = aggregator.take().unwrap();
            old.signal("KILL");
            old.wait_exit(Duration::from_secs(10))
                .expect("SIGKILL ends the aggregator");
            aggregator = Some(start_agg(&agg_dir));
        }
    }
    for s in senders {
        assert_eq!(s.join().unwrap(), N);
    }

    // Every message reaches the file (bounded wait).
    let want = (EDGES * N) as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = written(&out);
    while got.by_message.len() < want && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
        got = written(&out);
    }
    let agg = aggregator.take().unwrap();
    assert_eq!(
        got.by_message.len(),
        want,
        "distinct messages in the file; aggregator stderr: {:#?}",
        agg.stderr()
    );
    for e in 0..EDGES {
        for seq in 0..N {
            let uuids = got
                .by_message
                .get(&(format!("edge{e}"), seq))
                .unwrap_or_else(|| panic!("edge{e} seq {seq} missing"));
            assert_eq!(
                uuids.len(),
                1,
                "edge{e} seq {seq}: copies with different uuids"
            );
        }
    }
    let duplicates = got.lines - want;
    eprintln!(
        "{disruption:?}: {} lines, {duplicates} duplicates",
        got.lines
    );
    if matches!(
        disruption,
        Disruption::None | Disruption::ServerFreeze | Disruption::AggregatorRestart
    ) {
        // Without a crash nothing is redelivered after it was written.
        assert_eq!(duplicates, 0, "duplicates without a server crash");
    }
    // JetStream stored every message once: retried publishes were de-duplicated.
    assert_eq!(
        server.stored_messages(),
        Some(EDGES * N),
        "{:?}",
        server.jsz()
    );

    let agg = agg.stop_gracefully();
    assert!(agg.final_count("nats", "acks").unwrap_or(0) > 0);
    for h in edges {
        let h = h.stop_gracefully();
        assert_eq!(
            h.final_count("udp", "accepted"),
            Some(N),
            "{:#?}",
            h.stderr()
        );
        assert_eq!(
            h.final_count("nats", "delivered"),
            Some(N),
            "{:#?}",
            h.stderr()
        );
        assert_eq!(h.final_count("nats", "acked"), Some(N), "{:#?}", h.stderr());
        let retries = h.final_count("nats", "retries").unwrap_or(0);
        let duplicates = h.final_count("nats", "duplicates").unwrap_or(0);
        eprintln!("{disruption:?}: edge retries={retries} duplicates={duplicates}");
        if disruption == Disruption::ServerFreeze {
            // The edge published again what the server had queued and then stored: the
            // retries happened, and JetStream answered them as duplicates.
            assert!(retries > 0, "no publish was retried: {:#?}", h.stderr());
            assert!(
                duplicates > 0,
                "no retry was a duplicate: {:#?}",
                h.stderr()
            );
        }
    }
}

#[test]
fn every_message_arrives_through_nats() {
    run(Disruption::None);
}

#[test]
fn a_nats_server_crash_mid_run_loses_nothing() {
    run(Disruption::ServerRestart);
}

#[test]
fn publishes_retried_while_the_server_was_frozen_are_stored_once() {
    run(Disruption::ServerFreeze);
}

#[test]
fn an_aggregator_restart_mid_run_loses_nothing() {
    run(Disruption::AggregatorRestart);
}

#[test]
fn an_aggregator_killed_mid_run_loses_nothing() {
    run(Disruption::AggregatorKill);
}
