//! The real `hekad` binary, driven the way a user drives it: a config file, UDP datagrams,
//! signals, and the file it writes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tests::{json_datagram, send_paced, seqs_in, udp_json_to_files, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("hekad.json");
    std::fs::write(&path, body).unwrap();
    path
}

fn file_config(out: &str) -> String {
    udp_json_to_files(&[("out", out, 100)])
}

#[test]
fn udp_json_to_file_delivers_every_message_once_and_counts_balance() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &file_config("out.log"));
    let mut hekad = Hekad::start(BIN, &["--config", config.to_str().unwrap()]);
    let addr = hekad.udp_addr("udp");
    const N: u64 = 100_000;
    let sent = send_paced(addr, N, 25_000, json_datagram);
    assert_eq!(sent, N);
    // Let the ring drain what the socket holds, then stop: SIGTERM drains the rest.
    std::thread::sleep(Duration::from_millis(300));
    hekad.signal("TERM");
    let status = hekad
        .wait_exit(Duration::from_secs(30))
        .expect("hekad exits after SIGTERM");
    let stderr = hekad.stderr().join("\n");
    assert!(status.success(), "exit status {status}; stderr:\n{stderr}");

    let accepted = hekad
        .final_count("udp", "accepted")
        .expect("accepted count");
    let drops = hekad.final_count("udp", "kernel_drops").unwrap_or(0);
    let decode_errors = hekad
        .final_count("decode", "decode_errors")
        .expect("decode_errors");
    let delivered = hekad.final_count("out", "delivered").expect("delivered");
    assert!(
        stderr.contains("balance:") && stderr.contains(": ok"),
        "{stderr}"
    );
    assert_eq!(
        accepted + drops,
        N,
        "every datagram is accepted or a counted kernel drop"
    );
    assert_eq!(
        drops, 0,
        "25k msg/s is sustainable: no kernel drops expected\n{stderr}"
    );
    assert_eq!(decode_errors, 0);
    assert_eq!(
        delivered,
        accepted - decode_errors,
        "received = written + decode errors"
    );

    let seqs = seqs_in(&dir.path().join("out.log"));
    assert_eq!(
        seqs.len() as u64,
        delivered,
        "one line per delivered message"
    );
    let unique: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len(), "no message written twice");
    assert!((0..N).all(|s| unique.contains(&s)), "every number arrived");
}

#[test]
fn sigusr1_prints_counts_and_sigint_stops() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &file_config("out.log"));
    let mut hekad = Hekad::start(BIN, &["-config", config.to_str().unwrap()]);
    let addr = hekad.udp_addr("udp");
    send_paced(addr, 10, 1000, json_datagram);
    std::thread::sleep(Duration::from_millis(300));
    hekad.signal("USR1");
    let line = hekad.wait_for_stderr("accepted=10", Duration::from_secs(10));
    assert!(
        line.is_some(),
        "SIGUSR1 report missing: {:#?}",
        hekad.stderr()
    );
    hekad.signal("INT");
    let status = hekad
        .wait_exit(Duration::from_secs(30))
        .expect("exits after SIGINT");
    assert!(status.success());
    assert_eq!(
        seqs_in(&dir.path().join("out.log")),
        (0..10).collect::<Vec<_>>()
    );
}

#[test]
fn validate_reports_file_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(dir.path(), &file_config("out.log"));
    let out = Command::new(BIN)
        .args(["validate", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"inputs\": [{\"type\": \"UdpInput\", \"adress\": \"127.0.0.1:0\"}],\n  \"chains\": {}\n}\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["validate", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json:2:"), "names file and line: {err}");
    assert!(err.contains("inputs[0]"), "names the key path: {err}");
    assert!(err.contains("adress"), "names the unknown key: {err}");

    let unknown = dir.path().join("unknown.json");
    std::fs::write(&unknown, r#"{"outputs": [{"type": "NoSuchOutput"}]}"#).unwrap();
    let out = Command::new(BIN)
        .args(["validate", unknown.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NoSuchOutput") && err.contains("FileOutput"),
        "{err}"
    );
}

#[test]
fn plan_prints_stage_thread_and_core() {
    let dir = tempfile::tempdir().unwrap();
    let body = file_config("out.log").replace(
        "\"inputs\"",
        "\"engine\": {\"threads\": [{\"cores\": [0], \"stages\": [\"udp\", \"decode\", \"route\", \"out\"]}]},\n  \"inputs\"",
    );
    let config = write_config(dir.path(), &body);
    let out = Command::new(BIN)
        .args(["plan", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for stage in ["udp", "decode", "route", "out"] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(stage));
        let cols: Vec<&str> = line
            .unwrap_or_else(|| panic!("{stage} missing:\n{text}"))
            .split_whitespace()
            .collect();
        assert_eq!(
            cols[1..],
            ["0", "0"],
            "{stage} on thread 0, core 0:\n{text}"
        );
    }
    // The embedded default config plans too.
    let out = Command::new(BIN).arg("plan").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("udp"));
}

#[test]
fn version_flag_prints_the_version() {
    for flag in ["--version", "-version"] {
        let out = Command::new(BIN).arg(flag).output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    }
}
