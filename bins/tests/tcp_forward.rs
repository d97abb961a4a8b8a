//! Edge hekad (UdpInput → TcpOutput) → aggregator hekad (TcpInput + ProtobufDecoder →
//! FileOutput), real processes on loopback: numbered messages arrive exactly once; an
//! aggregator restart loses nothing within the edge's buffer; a tiny buffer with
//! `on_full: drop` counts its drops and `delivered + dropped = routed`. Every wait is bounded.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::thread;
use std::time::Duration;

use tests::{
    assert_balanced, assert_exactly, json_datagram, send_paced, seqs_in, wait_count, wait_seqs,
    Hekad,
};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

fn aggregator(dir: &Path, address: &str) -> Hekad {
    signed_aggregator(dir, address, "")
}

/// An aggregator whose ProtobufDecoder gets `decoder_extra` (signers).
fn signed_aggregator(dir: &Path, address: &str, decoder_extra: &str) -> Hekad {
    Hekad::start_with_config(
        BIN,
        dir,
        &format!(
            r#"{{
  "inputs":   [{{"name": "tcp", "type": "TcpInput", "address": "{address}"}}],
  "decoders": [{{"type": "ProtobufDecoder"{decoder_extra}}}],
  "outputs":  [{{"name": "file", "type": "FileOutput", "path": "out.log",
                 "flush_interval_ms": 50}}],
  "chains":   {{"default": {{"outputs": ["file"]}}}}
}}"#
        ),
    )
}

fn edge(dir: &Path, to: SocketAddr, extra: &str) -> Hekad {
    Hekad::start_with_config(
        BIN,
        dir,
        &format!(
            r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"type": "JsonDecoder", "default": true}}],
  "outputs":  [{{"name": "fwd", "type": "TcpOutput", "address": "{to}",
                 "reconnect_delay_ms": 20, "reconnect_max_delay_ms": 200{extra}}}],
  "chains":   {{"default": {{"outputs": ["fwd"]}}}}
}}"#
        ),
    )
}

#[test]
fn signed_numbered_messages_arrive_exactly_once_through_edge_and_aggregator() {
    let agg_dir = tempfile::tempdir().unwrap();
    let mut agg = signed_aggregator(
        agg_dir.path(),
        "127.0.0.1:0",
        r#", "signers": {"edge_1": {"hmac_key": "k3y"}}, "require_signature": true"#,
    );
    let agg_addr = agg.listen_addr("tcp", "tcp");
    let edge_dir = tempfile::tempdir().unwrap();
    let mut e = edge(
        edge_dir.path(),
        agg_addr,
        r#", "signer": {"name": "edge", "key_version": 1, "hmac_key": "k3y", "hash_function": "sha1"}"#,
    );
    const N: u64 = 5000;
    let sent = send_paced(e.udp_addr("udp"), N, 20_000, json_datagram);
    let out = agg_dir.path().join("out.log");
    let got = wait_seqs(&out, N as usize);
    assert_eq!(got.len() as u64, N, "edge: {:#?}", e.stderr());
    let e = e.stop_gracefully();
    let agg = agg.stop_gracefully();
    assert_exactly(seqs_in(&out), 0..N);
    assert_eq!(e.final_count("udp", "accepted"), Some(sent));
    assert_eq!(e.final_count("fwd", "routed"), Some(N));
    assert_eq!(e.final_count("fwd", "delivered"), Some(N));
    assert_eq!(e.final_count("fwd", "dropped"), Some(0));
    assert_eq!(e.final_count("fwd", "connects"), Some(1));
    assert_eq!(agg.final_count("file", "delivered"), Some(N));
    assert_eq!(
        agg.final_count("decode", "decode_errors"),
        Some(0),
        "every signature verified"
    );
    assert_balanced(&e);
    assert_balanced(&agg);
}

#[test]
fn an_aggregator_restart_loses_nothing_the_edge_buffered() {
    tests::check_aggregator_restart_loses_nothing_the_edge_buffered(aggregator, |dir, to| {
        edge(dir, to, r#", "buffer_messages": 5000"#)
    });
}

#[test]
fn a_tiny_buffer_with_on_full_drop_counts_every_drop() {
    // A port with nobody on it, for now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let edge_dir = tempfile::tempdir().unwrap();
    let mut e = edge(
        edge_dir.path(),
        port,
        r#", "buffer_messages": 10, "on_full": "drop""#,
    );
    const N: u64 = 300;
    send_paced(e.udp_addr("udp"), N, 20_000, json_datagram);
    assert_eq!(wait_count(&e, "fwd", "routed", N), N);
    assert_eq!(wait_count(&e, "fwd", "dropped", N - 10), N - 10);
    assert_eq!(e.final_count("fwd", "delivered"), Some(0));

    let agg_dir = tempfile::tempdir().unwrap();
    let agg = aggregator(agg_dir.path(), &port.to_string());
    let out = agg_dir.path().join("out.log");
    assert_eq!(wait_seqs(&out, 10).len(), 10, "edge: {:#?}", e.stderr());
    let e = e.stop_gracefully();
    let agg = agg.stop_gracefully();
    // The first ten were kept (drop-newest), the rest counted.
    assert_exactly(seqs_in(&out), 0..10);
    let routed = e.final_count("fwd", "routed").unwrap();
    let delivered = e.final_count("fwd", "delivered").unwrap();
    let dropped = e.final_count("fwd", "dropped").unwrap();
    let errors = e.final_count("fwd", "write_errors").unwrap();
    assert_eq!((routed, delivered, dropped, errors), (N, 10, N - 10, 0));
    assert_eq!(agg.final_count("file", "delivered"), Some(10));
    assert_balanced(&e);
    assert_balanced(&agg);
}

#[test]
fn a_full_buffer_with_on_full_block_holds_messages_in_the_ring_and_loses_none() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let edge_dir = tempfile::tempdir().unwrap();
    let mut e = edge(
        edge_dir.path(),
        port,
        r#", "buffer_messages": 10, "on_full": "block""#,
    );
    // Fewer than the ring holds (1024): the rest wait in the ring, not in the buffer.
    const N: u64 = 300;
    send_paced(e.udp_addr("udp"), N, 20_000, json_datagram);
    assert_eq!(wait_count(&e, "udp", "accepted", N), N);
    let taken = wait_count(&e, "fwd", "routed", 10);
    assert_eq!(taken, 10, "the output takes only what its buffer holds");
    thread::sleep(Duration::from_millis(300));
    e.signal("USR1");
    thread::sleep(Duration::from_millis(100));
    assert_eq!(e.final_count("fwd", "routed"), Some(10), "still held back");

    let agg_dir = tempfile::tempdir().unwrap();
    let agg = aggregator(agg_dir.path(), &port.to_string());
    let out = agg_dir.path().join("out.log");
    assert_eq!(wait_seqs(&out, N as usize).len() as u64, N);
    let e = e.stop_gracefully();
    let agg = agg.stop_gracefully();
    assert_exactly(seqs_in(&out), 0..N);
    assert_eq!(e.final_count("fwd", "delivered"), Some(N));
    assert_eq!(e.final_count("fwd", "dropped"), Some(0));
    assert_balanced(&e);
    assert_balanced(&agg);
}

#[test]
fn a_graceful_aggregator_restart_under_steady_traffic_loses_nothing() {
    // Three edges into one aggregator, as bins/tests/nats.rs does through JetStream: edge
    // `e` gets N numbered datagrams (numbers e*N..(e+1)*N) at RATE per second, 2 s of
    // steady traffic; the aggregator stops gracefully and restarts in the middle.
    const EDGES: u64 = 3;
    const N: u64 = 10_000;
    const RATE: u64 = 5_000;
    let agg_dir = tempfile::tempdir().unwrap();
    let mut agg = aggregator(agg_dir.path(), "127.0.0.1:0");
    let agg_addr = agg.listen_addr("tcp", "tcp");
    let out = agg_dir.path().join("out.log");
    let mut edges = Vec::new();
    let mut senders = Vec::new();
    for e in 0..EDGES {
        let dir = tempfile::tempdir().unwrap();
        let mut h = edge(dir.path(), agg_addr, "");
        let udp = h.udp_addr("udp");
        senders.push(thread::spawn(move || {
            send_paced(udp, N, RATE, move |i, b| json_datagram(e * N + i, b))
        }));
        edges.push((dir, h));
    }
    assert!(wait_seqs(&out, 500).len() >= 500);
    let agg_stopped = agg.stop_gracefully();
    assert_balanced(&agg_stopped);
    let agg = aggregator(agg_dir.path(), &agg_addr.to_string());
    for s in senders {
        assert_eq!(s.join().unwrap(), N);
    }
    // Each edge's stop drains its buffer into the aggregator; its counts then say what the
    // file must hold (under a loaded host an edge's socket may drop datagrams: counted).
    let report = |h: &Hekad| h.stderr()[h.stderr().len().saturating_sub(12)..].join("\n");
    let mut accepted = Vec::new();
    let mut stopped = Vec::new();
    for (dir, h) in edges {
        let h = h.stop_gracefully();
        let a = h.final_count("udp", "accepted").unwrap();
        let kernel_drops = h.final_count("udp", "kernel_drops").unwrap();
        assert_eq!(a + kernel_drops, N);
        assert_eq!(h.final_count("fwd", "delivered"), Some(a), "{}", report(&h));
        assert_balanced(&h);
        accepted.push(a);
        stopped.push((dir, h));
    }
    let total: u64 = accepted.iter().sum();
    wait_seqs(&out, total as usize);
    let agg = agg.stop_gracefully();
    let mut seqs = seqs_in(&out);
    assert_eq!(
        seqs.len() as u64,
        total,
        "edges:\n{}\nfirst aggregator:\n{}\nsecond:\n{}",
        stopped
            .iter()
            .map(|(_, h)| report(h))
            .collect::<Vec<_>>()
            .join("\n"),
        report(&agg_stopped),
        report(&agg)
    );
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len() as u64, total, "each exactly once");
    for (e, &a) in accepted.iter().enumerate() {
        let from_e = seqs.iter().filter(|&&s| s / N == e as u64).count() as u64;
        assert_eq!(from_e, a, "edge {e}: every accepted message in the file");
    }
    let first = agg_stopped.final_count("file", "delivered").unwrap();
    let second = agg.final_count("file", "delivered").unwrap();
    eprintln!("accepted {accepted:?}; the first aggregator wrote {first}, the second {second}");
    assert_eq!(first + second, total);
    assert_balanced(&agg);
}

#[test]
fn on_full_drop_while_the_aggregator_restarts_drops_beyond_the_buffer_and_delivers_the_rest_once() {
    let agg_dir = tempfile::tempdir().unwrap();
    let mut agg = aggregator(agg_dir.path(), "127.0.0.1:0");
    let agg_addr = agg.listen_addr("tcp", "tcp");
    let out = agg_dir.path().join("out.log");
    let edge_dir = tempfile::tempdir().unwrap();
    const BUFFER: u64 = 100;
    let mut e = edge(
        edge_dir.path(),
        agg_addr,
        &format!(r#", "buffer_messages": {BUFFER}, "on_full": "drop""#),
    );
    let udp = e.udp_addr("udp");
    // Up: a gentle stream goes through (a hiccup of a loaded host may drop a few: counted).
    const N1: u64 = 500;
    const N2: u64 = 2000;
    send_paced(udp, N1, 2_000, json_datagram);
    assert_eq!(wait_count(&e, "fwd", "routed", N1), N1);
    assert!(!wait_seqs(&out, 1).is_empty(), "nothing arrives");
    let agg_stopped = agg.stop_gracefully();
    assert_balanced(&agg_stopped);

    // Down: the edge holds at most BUFFER of these and drops the rest.
    send_paced(udp, N2, 20_000, |i, b| json_datagram(N1 + i, b));
    assert_eq!(wait_count(&e, "fwd", "routed", N1 + N2), N1 + N2);
    assert!(wait_count(&e, "fwd", "dropped", N2 - BUFFER) >= N2 - BUFFER);

    // Back on the same port: what the buffer held drains into it at the edge's stop.
    let mut agg = aggregator(agg_dir.path(), &agg_addr.to_string());
    assert_eq!(agg.listen_addr("tcp", "tcp"), agg_addr);
    let e = e.stop_gracefully();
    let routed = e.final_count("fwd", "routed").unwrap();
    let delivered = e.final_count("fwd", "delivered").unwrap();
    let dropped = e.final_count("fwd", "dropped").unwrap();
    assert_eq!(routed, N1 + N2);
    assert_eq!(e.final_count("fwd", "write_errors"), Some(0));
    assert_eq!(delivered + dropped, routed, "{:#?}", e.stderr());
    assert!(
        dropped >= N2 - BUFFER,
        "dropped {dropped}: held more than the buffer"
    );
    wait_seqs(&out, delivered as usize);
    let agg = agg.stop_gracefully();
    // The file holds exactly what the edge counted delivered, each once.
    let mut seqs = seqs_in(&out);
    assert_eq!(seqs.len() as u64, delivered, "{:#?}", e.stderr());
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len() as u64, delivered, "each exactly once");
    let first = agg_stopped.final_count("file", "delivered").unwrap();
    let second = agg.final_count("file", "delivered").unwrap();
    eprintln!("delivered {delivered} (first {first}, second {second}), dropped {dropped}");
    assert_eq!(first + second, delivered);
    assert_balanced(&e);
    assert_balanced(&agg);
}
