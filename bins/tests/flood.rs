//! heka-flood against a real hekad: N numbered messages in every wire format, over UDP and
//! (framed, signed) over TCP; all N arrive in the output file exactly once, in the order
//! each sender sent them.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tests::{seqs_in, Hekad};

/// One hekad at a time (DESIGN.md section 10): parallel floods on a 2-core host would
/// measure the host, not hekad.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const HEKAD: &str = env!("CARGO_BIN_EXE_hekad");
const FLOOD: &str = env!("CARGO_BIN_EXE_heka-flood");

/// Messages per flood: modest, so four floods take seconds on a 2-core CI debug build.
const N: u64 = 20_000;
/// Per second: sustainable for a debug hekad without kernel drops.
const RATE: &str = "25000";

fn start_hekad(dir: &Path, default_decoder: &str) -> Hekad {
    let config = format!(
        r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}},
               {{"name": "tcp", "type": "TcpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"type": "{default_decoder}", "default": true}},
               {{"type": "ProtobufDecoder", "signers": {{"ops_1": {{"hmac_key": "s3cret"}}}}}}],
  "outputs":  [{{"name": "out", "type": "FileOutput", "path": "out.log", "format": "text",
                 "flush_interval_ms": 100}}],
  "chains":   {{"default": {{"outputs": ["out"]}}}}
}}"#
    );
    let path = dir.join("hekad.json");
    std::fs::write(&path, config).unwrap();
    Hekad::start(HEKAD, &["--config", path.to_str().unwrap()])
}

/// Runs heka-flood with `args`; returns what it printed.
fn flood(args: &[&str]) -> String {
    let out = Command::new(FLOOD)
        .args(args)
        .output()
        .expect("run heka-flood");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "heka-flood {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("sent={N} secs=")) && stdout.trim_end().ends_with("/s"),
        "{stdout}"
    );
    stdout
}

/// Stops hekad gracefully and returns the sequence numbers it wrote.
fn stop(mut hekad: Hekad, dir: &Path) -> Vec<u64> {
    std::thread::sleep(Duration::from_millis(300));
    hekad.signal("TERM");
    let status = hekad
        .wait_exit(Duration::from_secs(30))
        .expect("hekad exits after SIGTERM");
    let stderr = hekad.stderr().join("\n");
    assert!(status.success(), "exit status {status}; stderr:\n{stderr}");
    assert_eq!(
        hekad.final_count("udp", "kernel_drops").unwrap_or(0),
        0,
        "{stderr}"
    );
    assert_eq!(
        hekad.final_count("decode", "decode_errors"),
        Some(0),
        "{stderr}"
    );
    seqs_in(&dir.join("out.log"))
}

/// `seqs` holds every number of `ranges` exactly once, each range in increasing order.
fn assert_all_once_in_order(seqs: &[u64], ranges: &[std::ops::Range<u64>]) {
    let unique: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len(), "no message written twice");
    let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    assert_eq!(seqs.len() as u64, total, "one line per message");
    for r in ranges {
        let mine: Vec<u64> = seqs.iter().copied().filter(|s| r.contains(s)).collect();
        assert_eq!(
            mine,
            r.clone().collect::<Vec<_>>(),
            "range {r:?}: all, in order"
        );
    }
}

#[test]
fn json_and_protobuf_over_udp_and_signed_protobuf_over_tcp_all_arrive() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = start_hekad(dir.path(), "JsonDecoder");
    let udp = hekad.listen_addr("udp", "udp").to_string();
    let tcp = hekad.listen_addr("tcp", "tcp").to_string();
    let (n, n2) = (N.to_string(), (2 * N).to_string());
    let common = ["--count", n.as_str(), "--rate", RATE];
    fn with<'a>(common: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [common, extra].concat()
    }
    // JSON and framed protobuf on the same UDP port: the input picks the decoder.
    flood(&with(
        &common,
        &["--address", &udp, "--format", "json", "--size", "200"],
    ));
    flood(&with(
        &common,
        &[
            "--address",
            &udp,
            "--format",
            "protobuf",
            "--first",
            &n,
            "--size",
            "200",
        ],
    ));
    flood(&with(
        &common,
        &[
            "--address",
            &tcp,
            "--format",
            "protobuf",
            "--tcp",
            "--first",
            &n2,
            "--sign",
            "ops:1:s3cret",
            "--hash",
            "sha1",
        ],
    ));
    let seqs = stop(hekad, dir.path());
    assert_all_once_in_order(&seqs, &[0..N, N..2 * N, 2 * N..3 * N]);
}

#[test]
fn msgpack_over_udp_all_arrive() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = start_hekad(dir.path(), "MsgPackDecoder");
    let udp = hekad.listen_addr("udp", "udp").to_string();
    let n = N.to_string();
    flood(&[
        "--address",
        &udp,
        "--format",
        "msgpack",
        "--count",
        &n,
        "--rate",
        RATE,
        "--size",
        "2048",
    ]);
    let seqs = stop(hekad, dir.path());
    assert_all_once_in_order(&seqs, std::slice::from_ref(&(0..N)));
}

#[test]
fn badly_signed_frames_are_counted_and_dropped() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut hekad = start_hekad(dir.path(), "JsonDecoder");
    let tcp = hekad.listen_addr("tcp", "tcp").to_string();
    let out = Command::new(FLOOD)
        .args([
            "--address",
            &tcp,
            "--format",
            "protobuf",
            "--tcp",
            "--count",
            "100",
            "--sign",
            "ops:1:wrong-key",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::thread::sleep(Duration::from_millis(300));
    hekad.signal("TERM");
    hekad.wait_exit(Duration::from_secs(30)).expect("exits");
    assert_eq!(hekad.final_count("decode", "decode_errors"), Some(100));
    assert_eq!(
        hekad.final_count("ProtobufDecoder", "bad_signature"),
        Some(100),
        "{:#?}",
        hekad.stderr()
    );
    assert!(seqs_in(&dir.path().join("out.log")).is_empty());
}
