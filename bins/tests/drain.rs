//! Graceful stop under load (issue 7): a million numbered messages, SIGTERM while the socket
//! queue and the ring still hold some; every accepted message is in the file exactly once,
//! and what was not accepted is counted as kernel drops.

use tests::{json_datagram, send_paced, seqs_in, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

#[test]
fn sigterm_mid_stream_loses_no_accepted_message() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 200}],
  "chains":   {"default": {"outputs": ["out"]}}
}"#;
    let mut h = Hekad::start_with_config(BIN, dir.path(), body);
    let addr = h.udp_addr("udp");
    let sent = send_paced(addr, 1_000_000, 50_000, json_datagram);
    // No pause: the socket queue and the ring still hold messages when the signal lands.
    let h = h.stop_gracefully();
    let stderr = h.stderr().join("\n");
    let accepted = h.final_count("udp", "accepted").unwrap();
    let drops = h.final_count("udp", "kernel_drops").unwrap();
    assert_eq!(accepted + drops, sent, "{stderr}");
    assert_eq!(
        h.final_count("out", "delivered"),
        Some(accepted),
        "{stderr}"
    );
    let seqs = seqs_in(&dir.path().join("out.log"));
    assert_eq!(seqs.len() as u64, accepted, "{stderr}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    assert!(stderr.contains(": ok"), "the balance line: {stderr}");
}

#[test]
fn a_second_signal_forces_exit_and_says_what_was_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    // A FIFO nobody reads: the output blocks once the pipe's buffer is full, so the drain
    // cannot finish.
    let fifo = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        // Opening for reading waits for hekad to open the writing end; then never reads.
        std::thread::spawn(move || std::fs::File::open(fifo).unwrap())
    };
    let body = r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.fifo", "flush_interval_ms": 10}],
  "chains":   {"default": {"outputs": ["out"]}}
}"#;
    let mut h = Hekad::start_with_config(BIN, dir.path(), body);
    let addr = h.udp_addr("udp");
    let _held_open = reader.join().unwrap();
    // 20,000 lines of 15 bytes: several times a pipe's 64 KiB.
    send_paced(addr, 20_000, 40_000, json_datagram);
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.signal("TERM");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        h.wait_exit(std::time::Duration::ZERO).is_none(),
        "still draining into the stuck output"
    );
    h.signal("TERM");
    let status = h
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("the second signal ends hekad");
    let stderr = h.stderr().join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("second signal: forced exit; abandoned:"),
        "{stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("out: ") && l.contains("not committed"))
        .unwrap_or_else(|| panic!("no abandoned count; stderr:\n{stderr}"));
    let n: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n > 0, "{line}");
}
