//! TcpInput with `tls` in a real pipeline over loopback: TLS clients' frames arrive; a
//! plain-text Heka client, garbage and (with `client_ca_file`) a client without a valid
//! certificate are each closed and counted as `tls_errors`, and never stall a good client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use engine::Message;
use plugins::encoders::encode_frame;
use tests::{input_addr, seqs_in, start, wait_for, Pki};

fn config(tls: &str) -> String {
    format!(
        r#"{{
      "engine":   {{"pool_size": 1024}},
      "inputs":   [{{"name": "tcp", "type": "TcpInput", "address": "127.0.0.1:0",
                     "tls": {tls}}}],
      "decoders": [{{"type": "ProtobufDecoder"}}],
      "outputs":  [{{"name": "out", "type": "FileOutput", "path": "out.log",
                     "flush_interval_ms": 50}}],
      "chains":   {{"default": {{"outputs": ["out"]}}}}
    }}"#
    )
}

fn frames(seqs: std::ops::Range<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in seqs {
        let mut m = Message::default();
        m.msg_type.push_str("tls");
        m.payload = format!("seq={seq:010}");
        encode_frame(&m, None, &mut out);
    }
    out
}

fn plain(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

#[test]
fn garbage_and_plain_text_clients_are_tls_errors_and_a_good_client_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let p = start(dir.path(), &config(&pki.input_tls(None)));
    let addr = input_addr(&p, "tcp");
    let routed = p.counters().get("out", "routed");

    let mut good = pki.client(addr, false);
    good.write_all(&frames(0..1000)).unwrap();
    good.flush().unwrap();
    assert_eq!(wait_for(&routed, 1000, Duration::from_secs(10)), 1000);

    // A Heka client that does not speak TLS.
    let mut heka = plain(addr);
    heka.write_all(&frames(5000..5010)).unwrap();
    assert!(tests::closed_by_server(&mut heka, Duration::from_secs(10)));
    // Garbage.
    let mut junk = plain(addr);
    junk.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(tests::closed_by_server(&mut junk, Duration::from_secs(10)));
    // A client that connects and says nothing does not block the others.
    let _silent = plain(addr);

    good.write_all(&frames(1000..2000)).unwrap();
    good.flush().unwrap();
    assert_eq!(wait_for(&routed, 2000, Duration::from_secs(10)), 2000);
    assert_eq!(p.counters().value("tcp", "tls_errors"), 2);
    // A clean close (close_notify) ends the stream without a truncation.
    good.conn.send_close_notify();
    good.flush().unwrap();
    drop(good);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("tcp", "tls_errors"), 2, "{report}");
    assert_eq!(report.value("tcp", "framing_errors"), 0, "{report}");
    assert_eq!(report.value("tcp", "truncated"), 0, "{report}");
    let mut seqs = seqs_in(&dir.path().join("out.log"));
    seqs.sort_unstable();
    assert_eq!(seqs, (0..2000).collect::<Vec<_>>());
}

#[test]
fn with_client_ca_file_only_clients_with_a_certificate_it_signed_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let p = start(dir.path(), &config(&pki.input_tls(Some(&pki.ca))));
    let addr = input_addr(&p, "tcp");
    let routed = p.counters().get("out", "routed");

    // Without a certificate: TLS 1.3 lets the client finish its side first; the server
    // refuses it with an alert and reads none of its frames.
    let mut anonymous = pki.client(addr, false);
    anonymous.write_all(&frames(5000..5010)).unwrap_or(());
    anonymous.flush().unwrap_or(());
    assert!(tests::closed_by_server(
        &mut anonymous,
        Duration::from_secs(10)
    ));

    let mut good = pki.client(addr, true);
    good.write_all(&frames(0..500)).unwrap();
    good.flush().unwrap();
    assert_eq!(wait_for(&routed, 500, Duration::from_secs(10)), 500);
    drop(good);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.value("tcp", "tls_errors"), 1, "{report}");
    let mut seqs = seqs_in(&dir.path().join("out.log"));
    seqs.sort_unstable();
    assert_eq!(seqs, (0..500).collect::<Vec<_>>());
}

#[test]
fn a_handshake_flight_larger_than_the_socket_buffers_goes_out_as_the_client_reads() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    // The server's certificate and 20,000 copies of the CA's: a Certificate message of about
    // 8 MB, twice what the server's send buffer (at most 4 MiB by default) and the
    // client's receive buffer hold on loopback.
    let ca = std::fs::read_to_string(&pki.ca).unwrap();
    let mut chain = std::fs::read_to_string(&pki.server_cert).unwrap();
    for _ in 0..20000 {
        chain.push_str(&ca);
    }
    let big = dir.path().join("big-chain.pem");
    std::fs::write(&big, chain).unwrap();
    let tls = format!(
        r#"{{"cert_file": "{}", "key_file": "{}"}}"#,
        big.display(),
        pki.server_key.display()
    );
    let p = start(dir.path(), &config(&tls));
    let addr = input_addr(&p, "tcp");
    // Send the ClientHello, then read nothing for a while: the server's flight stops at
    // WouldBlock, and only WRITABLE can tell the input when to go on.
    let mut hello = pki.client_connection(false);
    let mut sock = TcpStream::connect(addr).unwrap();
    while hello.wants_write() {
        hello.write_tls(&mut sock).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    sock.set_read_timeout(Some(Duration::from_millis(1000)))
        .unwrap();
    let mut got = 0;
    let mut b = vec![0u8; 64 * 1024];
    while let Ok(n) = sock.read(&mut b) {
        if n == 0 {
            break;
        }
        got += n;
    }
    let ca_der = ca.len() * 3 / 4;
    assert!(
        got > 20000 * ca_der * 9 / 10,
        "only {got} bytes of the flight"
    );
    drop(sock);
    p.stop();
    let report = p.wait();
    assert!(report.balances(), "{report}");
}

#[test]
fn bad_tls_files_are_refused_at_build_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let registry = tests::registry();
    let build = |tls: String| {
        let c = engine::config::Config::parse(&config(&tls), dir.path().join("test.json"))
            .expect("config");
        match engine::run_with(&registry, &c) {
            Ok(p) => {
                p.stop();
                p.wait();
                panic!("started with {tls}");
            }
            Err(e) => anyhow_like(&e),
        }
    };
    let missing = build(format!(
        r#"{{"cert_file": "{}", "key_file": "nope.key"}}"#,
        pki.server_cert.display()
    ));
    assert!(
        missing.contains("tls.key_file") && missing.contains("nope.key"),
        "{missing}"
    );
    assert!(missing.contains("No such file"), "{missing}");
    let mismatched = build(format!(
        r#"{{"cert_file": "{}", "key_file": "{}"}}"#,
        pki.server_cert.display(),
        pki.client_key.display()
    ));
    assert!(
        mismatched.contains("is not the private key of"),
        "{mismatched}"
    );
    let not_a_cert = build(format!(
        r#"{{"cert_file": "{}", "key_file": "{}"}}"#,
        pki.server_key.display(),
        pki.server_key.display()
    ));
    assert!(not_a_cert.contains("no certificate in it"), "{not_a_cert}");
}

/// An error with its sources, as hekad prints it (`{:#}` of anyhow).
fn anyhow_like(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    s
}
