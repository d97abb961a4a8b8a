//! TcpInput in a real pipeline over loopback: Heka frames from many connections, split
//! across writes; bad framing, connection limits and idle timeouts close connections and
//! are counted.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use engine::Message;
use plugins::encoders::encode_frame;
use tests::{input_addr, seqs_in, start, wait_for};

fn config(extra: &str) -> String {
    format!(
        r#"{{
      "engine":   {{"pool_size": 1024}},
      "inputs":   [{{"name": "tcp", "type": "TcpInput", "address": "127.0.0.1:0"{extra}}}],
      "decoders": [{{"type": "ProtobufDecoder"}}],
      "outputs":  [{{"name": "out", "type": "FileOutput", "path": "out.log",
                     "flush_interval_ms": 50}}],
      "chains":   {{"default": {{"outputs": ["out"]}}}}
    }}"#
    )
}

fn frame(seq: u64, out: &mut Vec<u8>) {
    let mut m = Message {
        timestamp: 1_795_579_080_105_194_000,
        severity: 6,
        ..Message::default()
    };
    m.msg_type.push_str("flood");
    m.payload = format!("seq={seq:010} {}", "p".repeat((seq % 97) as usize));
    let f = m.add_field().unwrap();
    f.name.push_str("seq");
    f.values.push_integer(seq as i64);
    encode_frame(&m, None, out);
}

/// Waits at most `timeout` for the server to close `s` ([`tests::closed_by_server`], with
/// the short read timeout it needs).
fn closed_by_server(s: &mut TcpStream, timeout: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    tests::closed_by_server(s, timeout)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

#[test]
fn many_connections_many_split_frames_all_arrive_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(dir.path(), &config(""));
    let addr = input_addr(&p, "tcp");
    const CONNS: u64 = 8;
    const PER: u64 = 1500;
    let senders: Vec<_> = (0..CONNS)
        .map(|c| {
            thread::spawn(move || {
                let mut s = connect(addr);
                let mut stream = Vec::new();
                for i in 0..PER {
                    frame(c * PER + i, &mut stream);
                }
                // Writes of odd sizes, with pauses, so frames split across reads anywhere.
                let mut at = 0;
                let mut k = c as usize;
                while at < stream.len() {
                    k = (k * 7 + 13) % 1000;
                    let n = (1 + k).min(stream.len() - at);
                    s.write_all(&stream[at..at + n]).unwrap();
                    at += n;
                    if k.is_multiple_of(10) {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
                s.flush().unwrap();
                s
            })
        })
        .collect();
    let streams: Vec<TcpStream> = senders.into_iter().map(|h| h.join().unwrap()).collect();
    let routed = p.counters().get("out", "routed");
    assert_eq!(
        wait_for(&routed, CONNS * PER, Duration::from_secs(30)),
        CONNS * PER
    );
    drop(streams);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("tcp", "connections"), CONNS);
    assert_eq!(report.value("tcp", "framing_errors"), 0);
    assert_eq!(report.value("decode", "decode_errors"), 0);
    let seqs = seqs_in(&dir.path().join("out.log"));
    assert_eq!(seqs.len() as u64, CONNS * PER, "each frame written once");
    // Per connection, in the order sent.
    let mut last: HashMap<u64, u64> = HashMap::new();
    for s in &seqs {
        if let Some(prev) = last.insert(s / PER, *s) {
            assert!(
                prev < *s,
                "connection {} reordered: {prev} then {s}",
                s / PER
            );
        }
    }
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..CONNS * PER).collect::<Vec<_>>());
}

fn send_frames(s: &mut TcpStream, seqs: std::ops::Range<u64>) {
    let mut out = Vec::new();
    for seq in seqs {
        frame(seq, &mut out);
    }
    s.write_all(&out).unwrap();
}

#[test]
fn bad_framing_closes_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(dir.path(), &config(""));
    let addr = input_addr(&p, "tcp");
    let mut good = connect(addr);
    let mut bad = connect(addr);
    send_frames(&mut good, 0..10);
    send_frames(&mut bad, 10..12);
    bad.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(closed_by_server(&mut bad, Duration::from_secs(10)));
    // A frame announcing a message larger than max_message_size closes too.
    let mut huge = connect(addr);
    huge.write_all(&[0x1e, 4, 0x08, 0xff, 0xff, 0x7f, 0x1f])
        .unwrap();
    assert!(closed_by_server(&mut huge, Duration::from_secs(10)));
    send_frames(&mut good, 20..30);
    let routed = p.counters().get("out", "routed");
    assert_eq!(wait_for(&routed, 22, Duration::from_secs(10)), 22);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("tcp", "framing_errors"), 2, "{report}");
    let mut seqs = seqs_in(&dir.path().join("out.log"));
    seqs.sort_unstable();
    let want: Vec<u64> = (0..12).chain(20..30).collect();
    assert_eq!(seqs, want);
}

#[test]
fn max_connections_refuses_extra_and_idle_ones_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(
        dir.path(),
        &config(r#", "max_connections": 2, "idle_timeout_secs": 1"#),
    );
    let addr = input_addr(&p, "tcp");
    let routed = p.counters().get("out", "routed");
    let mut a = connect(addr);
    let mut b = connect(addr);
    send_frames(&mut a, 0..1);
    send_frames(&mut b, 1..2);
    assert_eq!(wait_for(&routed, 2, Duration::from_secs(10)), 2);
    let mut c = connect(addr);
    assert!(
        closed_by_server(&mut c, Duration::from_secs(10)),
        "third connection refused"
    );
    assert_eq!(p.counters().value("tcp", "refused"), 1);

    // Keep `b` busy while `a` stays silent past the idle timeout.
    let until = Instant::now() + Duration::from_millis(1500);
    let mut seq = 2;
    while Instant::now() < until {
        send_frames(&mut b, seq..seq + 1);
        seq += 1;
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        closed_by_server(&mut a, Duration::from_secs(10)),
        "idle connection closed"
    );
    // Its slot is free again.
    let mut d = connect(addr);
    send_frames(&mut d, 1000..1001);
    assert_eq!(wait_for(&routed, seq + 1, Duration::from_secs(10)), seq + 1);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("tcp", "idle_closed"), 1, "{report}");
    assert!(seqs_in(&dir.path().join("out.log")).contains(&1000));
}

#[test]
fn an_idle_connection_is_closed_even_when_nothing_else_happens() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(dir.path(), &config(r#", "idle_timeout_secs": 1"#));
    let addr = input_addr(&p, "tcp");
    let routed = p.counters().get("out", "routed");
    let mut a = connect(addr);
    send_frames(&mut a, 0..1);
    assert_eq!(wait_for(&routed, 1, Duration::from_secs(10)), 1);
    // No other connection, no data: only the input's tick can notice.
    assert!(
        closed_by_server(&mut a, Duration::from_secs(10)),
        "idle connection closed"
    );
    p.stop();
    let report = p.wait();
    assert_eq!(report.value("tcp", "idle_closed"), 1, "{report}");
}

#[test]
fn a_stop_half_closes_connections_and_reads_until_each_sender_closes() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(dir.path(), &config(""));
    let addr = input_addr(&p, "tcp");
    let routed = p.counters().get("out", "routed");
    let mut a = connect(addr);
    send_frames(&mut a, 0..10);
    assert_eq!(wait_for(&routed, 10, Duration::from_secs(10)), 10);
    p.stop();
    assert!(
        closed_by_server(&mut a, Duration::from_secs(5)),
        "the sender reads end-of-stream"
    );
    // Written after the sender saw the close, before it closed its side: still read.
    send_frames(&mut a, 10..20);
    drop(a);
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "a stopping input refuses new connections"
    );
    let report = p.wait();
    assert!(report.balances(), "{report}");
    let mut seqs = seqs_in(&dir.path().join("out.log"));
    seqs.sort_unstable();
    assert_eq!(seqs, (0..20).collect::<Vec<_>>(), "{report}");
}
