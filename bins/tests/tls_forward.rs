//! Edge hekad (UdpInput → TcpOutput with `tls`) → aggregator hekad (TcpInput with `tls` +
//! ProtobufDecoder → FileOutput), real processes on loopback with certificates made in a
//! temp dir: numbered messages arrive exactly once; mutual TLS reads only edges with a
//! certificate the aggregator's CA signed; an edge that distrusts the aggregator delivers
//! nothing and says why; an aggregator restart and a reload lose nothing. Every wait is
//! bounded.

use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use tests::{
    assert_balanced, assert_exactly, json_datagram, send_paced, seqs_in, wait_count, wait_seqs,
    Hekad, Pki,
};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// An aggregator on `address` whose TcpInput has `"tls": <tls>`.
fn aggregator(dir: &Path, address: &str, tls: &str) -> Hekad {
    Hekad::start_with_config(
        BIN,
        dir,
        &format!(
            r#"{{
  "inputs":   [{{"name": "tcp", "type": "TcpInput", "address": "{address}", "tls": {tls}}}],
  "decoders": [{{"type": "ProtobufDecoder"}}],
  "outputs":  [{{"name": "file", "type": "FileOutput", "path": "out.log",
                 "flush_interval_ms": 50}}],
  "chains":   {{"default": {{"outputs": ["file"]}}}}
}}"#
        ),
    )
}

/// An edge forwarding to `to` with `"tls": <tls>`.
fn edge(dir: &Path, to: SocketAddr, tls: &str, extra: &str) -> Hekad {
    Hekad::start_with_config(
        BIN,
        dir,
        &format!(
            r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"type": "JsonDecoder", "default": true}}],
  "outputs":  [{{"name": "fwd", "type": "TcpOutput", "address": "{to}", "tls": {tls},
                 "reconnect_delay_ms": 20, "reconnect_max_delay_ms": 200{extra}}}],
  "chains":   {{"default": {{"outputs": ["fwd"]}}}}
}}"#
        ),
    )
}

fn no_panic(h: &Hekad) {
    assert!(
        !h.stderr().iter().any(|l| l.contains("panick")),
        "{:#?}",
        h.stderr()
    );
}

/// The accounting of an edge that could not deliver: all it took is abandoned at stop.
fn assert_abandoned(e: &Hekad, routed: u64) {
    assert_eq!(e.final_count("fwd", "routed"), Some(routed));
    assert_eq!(e.final_count("fwd", "delivered"), Some(0));
    assert_eq!(e.final_count("fwd", "write_errors"), Some(routed));
    assert_balanced(e);
    no_panic(e);
}

/// Certificates, an aggregator (TcpInput with `tls`, no client certificates) on a free
/// port, and an edge forwarding to it over TLS with `edge_tls(&pki)` and `edge_extra` keys.
struct TlsPair {
    /// Holds the certificates and the aggregator's files.
    agg_dir: tempfile::TempDir,
    agg: Hekad,
    _edge_dir: tempfile::TempDir,
    edge: Hekad,
}

impl TlsPair {
    fn start(edge_tls: impl Fn(&Pki) -> String, edge_extra: &str) -> TlsPair {
        let agg_dir = tempfile::tempdir().unwrap();
        let pki = Pki::generate(agg_dir.path());
        let mut agg = aggregator(agg_dir.path(), "127.0.0.1:0", &pki.input_tls(None));
        let agg_addr = agg.listen_addr("tcp", "tcp");
        let edge_dir = tempfile::tempdir().unwrap();
        let edge = edge(edge_dir.path(), agg_addr, &edge_tls(&pki), edge_extra);
        TlsPair {
            agg_dir,
            agg,
            _edge_dir: edge_dir,
            edge,
        }
    }

    /// The aggregator's output file.
    fn out(&self) -> std::path::PathBuf {
        self.agg_dir.path().join("out.log")
    }
}

/// The edge's `tls` trusting the aggregator's CA.
fn trusting(pki: &Pki) -> String {
    pki.output_tls(&pki.ca, None)
}

#[test]
fn numbered_messages_arrive_exactly_once_over_tls() {
    // Bound first: the fields not moved out (the temp dirs) live to the end of the test.
    let pair = TlsPair::start(trusting, "");
    let out = pair.out();
    let TlsPair {
        agg, edge: mut e, ..
    } = pair;
    const N: u64 = 20_000;
    let sent = send_paced(e.udp_addr("udp"), N, 20_000, json_datagram);
    let got = wait_seqs(&out, N as usize);
    assert_eq!(got.len() as u64, N, "edge: {:#?}", e.stderr());
    let e = e.stop_gracefully();
    let agg = agg.stop_gracefully();
    assert_exactly(seqs_in(&out), 0..N);
    assert_eq!(e.final_count("udp", "accepted"), Some(sent));
    assert_eq!(e.final_count("fwd", "delivered"), Some(N));
    assert_eq!(e.final_count("fwd", "connects"), Some(1));
    assert_eq!(e.final_count("fwd", "tls_errors"), Some(0));
    assert_eq!(agg.final_count("file", "delivered"), Some(N));
    assert_eq!(agg.final_count("tcp", "tls_errors"), Some(0));
    assert_eq!(
        agg.final_count("tcp", "truncated"),
        Some(0),
        "close_notify, no cut"
    );
    assert!(
        e.stderr()
            .iter()
            .any(|l| l.contains("fwd connected to tls")),
        "{:#?}",
        e.stderr()
    );
    assert_balanced(&e);
    assert_balanced(&agg);
}

#[test]
fn mutual_tls_reads_only_edges_with_a_certificate_its_ca_signed() {
    let agg_dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(agg_dir.path());
    let mut agg = aggregator(agg_dir.path(), "127.0.0.1:0", &pki.input_tls(Some(&pki.ca)));
    let agg_addr = agg.listen_addr("tcp", "tcp");
    let out = agg_dir.path().join("out.log");

    // No client certificate, and one signed by another CA: refused, their messages held.
    let anon_dir = tempfile::tempdir().unwrap();
    let mut anon = edge(
        anon_dir.path(),
        agg_addr,
        &pki.output_tls(&pki.ca, None),
        "",
    );
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger_tls = pki.output_tls(
        &pki.ca,
        Some((&pki.other_client_cert, &pki.other_client_key)),
    );
    let mut stranger = edge(stranger_dir.path(), agg_addr, &stranger_tls, "");
    const M: u64 = 300;
    send_paced(anon.udp_addr("udp"), M, 20_000, |i, b| {
        json_datagram(1_000_000 + i, b)
    });
    send_paced(stranger.udp_addr("udp"), M, 20_000, |i, b| {
        json_datagram(2_000_000 + i, b)
    });

    // A certificate the aggregator's CA signed: delivered.
    let good_dir = tempfile::tempdir().unwrap();
    let good_tls = pki.output_tls(&pki.ca, Some((&pki.client_cert, &pki.client_key)));
    let mut good = edge(good_dir.path(), agg_addr, &good_tls, "");
    const N: u64 = 2000;
    send_paced(good.udp_addr("udp"), N, 20_000, json_datagram);
    assert_eq!(wait_seqs(&out, N as usize).len() as u64, N);

    // The refused edges keep trying (each try a counted TLS error) and hold their messages.
    assert!(
        wait_count(&anon, "fwd", "tls_errors", 3) >= 3,
        "{:#?}",
        anon.stderr()
    );
    assert!(wait_count(&stranger, "fwd", "tls_errors", 3) >= 3);
    assert_eq!(wait_count(&anon, "fwd", "routed", M), M);
    assert_eq!(anon.final_count("fwd", "delivered"), Some(0));
    assert_eq!(wait_count(&stranger, "fwd", "routed", M), M);
    assert_eq!(stranger.final_count("fwd", "delivered"), Some(0));
    let refused = anon
        .wait_for_stderr("fwd: cannot connect", Duration::from_secs(10))
        .unwrap();
    assert!(refused.contains("tls handshake failed"), "{refused}");

    let good = good.stop_gracefully();
    let anon = anon.stop_gracefully();
    let stranger = stranger.stop_gracefully();
    let agg = agg.stop_gracefully();
    assert_exactly(seqs_in(&out), 0..N);
    assert_eq!(good.final_count("fwd", "delivered"), Some(N));
    assert_eq!(good.final_count("fwd", "tls_errors"), Some(0));
    assert_balanced(&good);
    assert_abandoned(&anon, M);
    assert_abandoned(&stranger, M);
    assert!(agg.final_count("tcp", "tls_errors") >= Some(6));
    assert_eq!(agg.final_count("file", "delivered"), Some(N));
    assert_balanced(&agg);
    no_panic(&agg);
}

#[test]
fn an_edge_that_does_not_trust_the_aggregator_delivers_nothing_and_says_why() {
    let pair = TlsPair::start(
        |pki| pki.output_tls(&pki.other_ca, None),
        r#", "stop_timeout_ms": 200"#,
    );
    let out = pair.out();
    let TlsPair {
        agg, edge: mut e, ..
    } = pair;
    const M: u64 = 500;
    send_paced(e.udp_addr("udp"), M, 20_000, json_datagram);
    assert_eq!(wait_count(&e, "fwd", "routed", M), M);
    let line = e
        .wait_for_stderr("fwd: cannot connect", Duration::from_secs(10))
        .unwrap();
    assert!(
        line.contains("invalid peer certificate") && line.contains("UnknownIssuer"),
        "{line}"
    );
    assert!(wait_count(&e, "fwd", "tls_errors", 2) >= 2);
    let e = e.stop_gracefully();
    let agg = agg.stop_gracefully();
    assert!(seqs_in(&out).is_empty());
    assert_abandoned(&e, M);
    // The edge's alert (unknown CA) closes the aggregator's side too, counted.
    assert!(agg.final_count("tcp", "tls_errors") >= Some(1));
    assert_eq!(agg.final_count("file", "delivered"), Some(0));
    assert_eq!(
        e.stderr()
            .iter()
            .filter(|l| l.contains("fwd: cannot connect"))
            .count(),
        1,
        "logged once, however many tries"
    );
    no_panic(&agg);
}

#[test]
fn an_aggregator_restart_loses_nothing_the_edge_buffered_over_tls() {
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::generate(certs.path());
    tests::check_aggregator_restart_loses_nothing_the_edge_buffered(
        |dir, address| aggregator(dir, address, &pki.input_tls(None)),
        |dir, to| {
            edge(
                dir,
                to,
                &pki.output_tls(&pki.ca, None),
                r#", "buffer_messages": 5000"#,
            )
        },
    );
}

#[test]
fn a_reload_of_a_tls_aggregator_under_traffic_loses_nothing() {
    let pair = TlsPair::start(trusting, "");
    let out = pair.out();
    let TlsPair {
        agg, edge: mut e, ..
    } = pair;
    let udp = e.udp_addr("udp");
    // 3 s of traffic; the aggregator reloads (same config) twice in the middle.
    const N: u64 = 30_000;
    let sender = thread::spawn(move || send_paced(udp, N, 10_000, json_datagram));
    for i in 1..=2 {
        assert!(wait_seqs(&out, 5000 * i).len() >= 5000 * i);
        agg.signal("HUP");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agg
            .stderr()
            .iter()
            .filter(|l| l.contains("hekad: reloaded"))
            .count()
            < i
        {
            assert!(Instant::now() < deadline, "{:#?}", agg.stderr());
            thread::sleep(Duration::from_millis(10));
        }
    }
    assert_eq!(sender.join().unwrap(), N);
    let e = e.stop_gracefully();
    let accepted = e.final_count("udp", "accepted").unwrap();
    let kernel_drops = e.final_count("udp", "kernel_drops").unwrap();
    assert_eq!(accepted + kernel_drops, N);
    assert_eq!(e.final_count("fwd", "delivered"), Some(accepted));
    assert!(
        e.final_count("fwd", "connects") >= Some(3),
        "one per pipeline"
    );
    wait_seqs(&out, accepted as usize);
    let agg = agg.stop_gracefully();
    let seqs = seqs_in(&out);
    // One sender: in order, none twice, none lost.
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, once each");
    assert_eq!(
        seqs.len() as u64,
        accepted,
        "edge:\n{}\naggregator:\n{}",
        e.stderr().join("\n"),
        agg.stderr().join("\n")
    );
    assert_eq!(agg.final_count("tcp", "tls_errors"), Some(0));
    assert_eq!(agg.final_count("tcp", "truncated"), Some(0));
    assert_balanced(&e);
    assert_balanced(&agg);
}
