//! TcpOutput failback over two loopback listeners: with the primary down, traffic goes to
//! the secondary; once the primary is back and the secondary closes the connection, the
//! writer starts again from the first address, so traffic returns to the primary (and the
//! secondary, still listening, gets no new connection). Every wait is bounded.

use std::io::{ErrorKind, Read as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use engine::config::OnFull;
use engine::{BuildContext, Message, Output, PipelinePack, PluginConfig};
use plugins::framing::{frame_len, parse_frame};
use plugins::outputs::TcpOutputConfig;

fn pack(seq: u64) -> PipelinePack {
    let mut p = PipelinePack::new(1024);
    p.message.payload = format!("seq={seq:010}");
    p
}

/// Accepts one connection on `l`, waiting at most 10 s.
fn accept(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("no connection on {}: {e}", l.local_addr().unwrap()),
        }
    }
}

/// Reads `n` frames from `s` (at most 10 s) and returns their payloads.
fn payloads(s: &mut TcpStream, n: usize) -> Vec<String> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut buf, mut out, mut chunk) = (Vec::new(), Vec::new(), [0u8; 4096]);
    while out.len() < n {
        let k = s.read(&mut chunk).expect("frames within 10 s");
        assert!(k > 0, "closed after {} frames", out.len());
        buf.extend_from_slice(&chunk[..k]);
        while let Some(len) = frame_len(&buf, 1 << 20).unwrap() {
            let frame: Vec<u8> = buf.drain(..len).collect();
            let f = parse_frame(&frame, 1 << 20).unwrap();
            let mut m = Message::default();
            plugins::decoders::protobuf::decode_message(f.message, 0, &mut m, 0).unwrap();
            out.push(m.payload);
        }
    }
    out
}

fn want(seqs: std::ops::Range<u64>) -> Vec<String> {
    seqs.map(|i| format!("seq={i:010}")).collect()
}

/// Delivers `seqs` and hands them to the writer thread.
fn send(t: &mut impl Output, seqs: std::ops::Range<u64>) {
    let n = seqs.end - seqs.start;
    for i in seqs {
        t.deliver(&pack(i)).unwrap();
    }
    let s = t.settle(Instant::now(), false, n);
    assert_eq!((s.write_errors, s.dropped), (0, 0));
}

#[test]
fn after_a_disconnect_traffic_returns_to_the_first_address() {
    // The primary's port, free for now: nobody listens there.
    let primary: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let secondary = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpOutputConfig {
        addresses: vec![
            primary.to_string(),
            secondary.local_addr().unwrap().to_string(),
        ],
        reconnect_delay_ms: 10,
        reconnect_max_delay_ms: 50,
        ..TcpOutputConfig::default()
    };
    let ctx = BuildContext::standalone("fwd").with_on_full(OnFull::Block);
    let mut t = c.build(&ctx).unwrap();

    // Primary down: the secondary gets the traffic.
    send(&mut t, 0..10);
    let mut on_secondary = accept(&secondary);
    assert_eq!(payloads(&mut on_secondary, 10), want(0..10));

    // The primary comes back, and the secondary closes the connection (a graceful stop).
    let primary = TcpListener::bind(primary).expect("the primary's port is free again");
    drop(on_secondary);
    send(&mut t, 10..20);
    let mut on_primary = accept(&primary);
    assert_eq!(payloads(&mut on_primary, 10), want(10..20));
    secondary.set_nonblocking(true).unwrap();
    assert_eq!(
        secondary.accept().map(drop).unwrap_err().kind(),
        ErrorKind::WouldBlock,
        "the writer went back to the secondary, not the first address"
    );
    assert_eq!(ctx.counter("connects").get(), 2);
    assert_eq!(ctx.counter("disconnects").get(), 1);
}
