//! In-process pipelines over real loopback sockets and real files.

use std::time::Duration;

use tests::{input_addr, json_datagram, send_paced, seqs_in, start};

#[test]
fn a_quiet_input_never_stalls_the_others() {
    let dir = tempfile::tempdir().unwrap();
    // Two inputs share the ring (multi-producer); "quiet" never receives anything.
    let p = start(
        dir.path(),
        r#"{
      "engine":   {"pool_size": 64},
      "inputs":   [{"name": "quiet", "type": "UdpInput", "address": "127.0.0.1:0"},
                   {"name": "busy", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 50}],
      "chains":   {"default": {"outputs": ["out"]}}
    }"#,
    );
    let routed = p.counters().get("out", "routed");
    send_paced(input_addr(&p, "busy"), 20_000, 40_000, json_datagram);
    assert_eq!(
        tests::wait_for(&routed, 20_000, Duration::from_secs(20)),
        20_000
    );
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("quiet", "accepted"), 0);
    assert_eq!(report.value("busy", "accepted"), 20_000);
    assert_eq!(
        seqs_in(&dir.path().join("out.log")),
        (0..20_000).collect::<Vec<_>>()
    );
}

#[test]
fn chains_route_by_type_and_unmatched_types_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "a", "type": "FileOutput", "path": "a.log", "flush_interval_ms": 50},
                   {"name": "b", "type": "FileOutput", "path": "b.log", "format": "json",
                    "flush_interval_ms": 50}],
      "chains":   {"ta": {"message_type": "ta", "outputs": ["a"]},
                   "tb": {"message_type": ["tb"], "outputs": ["a", "b"]}}
    }"#,
    );
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = input_addr(&p, "udp");
    for (t, seq) in [("ta", 0), ("tb", 1), ("tc", 2), ("ta", 3)] {
        let d = format!(r#"{{"type":"{t}","payload":"seq={seq:010}"}}"#);
        sock.send_to(d.as_bytes(), addr).unwrap();
    }
    sock.send_to(b"not json", addr).unwrap();
    let accepted = p.counters().get("udp", "accepted");
    tests::wait_for(&accepted, 5, Duration::from_secs(10));
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("decode", "decode_errors"), 1);
    assert_eq!(
        report.value("route", "unrouted"),
        1,
        "tc has no chain and there is no default"
    );
    assert_eq!(seqs_in(&dir.path().join("a.log")), [0, 1, 3]);
    let b = std::fs::read_to_string(dir.path().join("b.log")).unwrap();
    assert_eq!(b.lines().count(), 1);
    assert!(
        b.contains(r#""type":"tb""#) && b.contains("seq=0000000001"),
        "{b}"
    );
}

#[test]
fn sockets_n_opens_n_reuseport_sockets_on_one_address_each_read_by_its_own_stage() {
    let dir = tempfile::tempdir().unwrap();
    // Port 0 would give each socket its own port: pick a free one first.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = start(
        dir.path(),
        &format!(
            r#"{{
      "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:{port}", "sockets": 2}}],
      "decoders": [{{"type": "JsonDecoder", "default": true}}],
      "outputs":  [{{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 50}}],
      "chains":   {{"default": {{"outputs": ["out"]}}}}
    }}"#
        ),
    );
    assert_eq!(p.listeners().len(), 2, "two sockets announced");
    assert!(p.listeners().iter().all(|l| l.address.port() == port));
    assert!(p
        .plan()
        .threads
        .iter()
        .flat_map(|t| &t.stages)
        .any(|s| s.name == "udp.1"));
    // Many senders (source ports), so the flow hash uses both sockets.
    let mut sent = 0u64;
    for s in 0..16u64 {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..100 {
            let seq = s * 100 + i;
            let mut buf = Vec::new();
            json_datagram(seq, &mut buf);
            sock.send_to(&buf, ("127.0.0.1", port)).unwrap();
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let routed = p.counters().get("out", "routed");
    assert_eq!(
        tests::wait_for(&routed, sent, Duration::from_secs(20)),
        sent
    );
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    let (a, b) = (
        report.value("udp.0", "accepted"),
        report.value("udp.1", "accepted"),
    );
    assert_eq!(a + b, sent, "{report}");
    assert!(
        a > 0 && b > 0,
        "16 flows spread over both sockets: {a} + {b}"
    );
    assert_eq!(seqs_in(&dir.path().join("out.log")).len() as u64, sent);
}

#[test]
fn a_trickle_claims_a_few_slots_per_datagram_not_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    // Two inputs: the multi-producer sequencer publishes unused claimed slots as skips, so
    // what an input claims per wake-up shows in the ring's published cursor.
    let p = start(
        dir.path(),
        r#"{
      "inputs":   [{"name": "a", "type": "UdpInput", "address": "127.0.0.1:0"},
                   {"name": "b", "type": "UdpInput", "address": "127.0.0.1:0"}],
      "decoders": [{"type": "JsonDecoder", "default": true}],
      "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 50}],
      "chains":   {"default": {"outputs": ["out"]}}
    }"#,
    );
    let routed = p.counters().get("out", "routed");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut buf = Vec::new();
    for seq in 0..100 {
        json_datagram(seq, &mut buf);
        sock.send_to(&buf, input_addr(&p, "a")).unwrap();
        // One at a time: each datagram is its own wake-up.
        tests::wait_for(&routed, seq + 1, Duration::from_secs(10));
    }
    let published = p.gauges().snapshot().ring.published;
    p.stop();
    let report = p.wait();
    assert_eq!(report.delivered("out"), 100, "{report}");
    // At most 8 slots per wake-up (plus each input's first, full-batch claim), not 256.
    assert!(
        published < 100 * 8 + 2 * 256,
        "{published} slots for 100 datagrams"
    );
}
