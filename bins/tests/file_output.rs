//! FileOutput under the failures a production host sees: the file removed or rotated while
//! hekad writes it, a full disk, and a path it cannot open at start.

use std::thread;
use std::time::{Duration, Instant};

use tests::{json_datagram, send_paced, seqs_in, udp_json_to_files, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// udp → one FileOutput per (name, path), each committing every 50 ms.
fn config(outputs: &[(&str, &str)]) -> String {
    let outputs: Vec<_> = outputs.iter().map(|&(n, p)| (n, p, 50)).collect();
    udp_json_to_files(&outputs)
}

fn wait_seqs(path: &std::path::Path, n: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seqs = seqs_in(path);
        if seqs.len() >= n || Instant::now() > deadline {
            return seqs;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_removed_or_rotated_file_is_reopened_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Hekad::start_with_config(BIN, dir.path(), &config(&[("out", "out.log")]));
    let addr = h.udp_addr("udp");
    let out = dir.path().join("out.log");
    let numbered = |base: u64| move |i: u64, b: &mut Vec<u8>| json_datagram(base + i, b);
    // Rotated: renamed away; what was committed stays in the renamed file.
    send_paced(addr, 5_000, 20_000, numbered(0));
    assert_eq!(wait_seqs(&out, 5_000).len(), 5_000);
    std::fs::rename(&out, dir.path().join("out.log.1")).unwrap();
    send_paced(addr, 5_000, 20_000, numbered(5_000));
    assert_eq!(wait_seqs(&out, 5_000).len(), 5_000);
    // Removed.
    std::fs::remove_file(&out).unwrap();
    send_paced(addr, 5_000, 20_000, numbered(10_000));
    assert_eq!(wait_seqs(&out, 5_000).len(), 5_000);
    let h = h.stop_gracefully();
    let stderr = h.stderr().join("\n");
    assert_eq!(h.final_count("udp", "accepted"), Some(15_000), "{stderr}");
    assert_eq!(h.final_count("out", "delivered"), Some(15_000), "{stderr}");
    assert_eq!(
        seqs_in(&dir.path().join("out.log.1")),
        (0..5_000).collect::<Vec<_>>()
    );
    assert_eq!(seqs_in(&out), (10_000..15_000).collect::<Vec<_>>());
    assert!(
        stderr.contains("was moved or removed: reopened"),
        "{stderr}"
    );
}

#[test]
fn a_full_disk_is_counted_and_the_other_outputs_run_on() {
    let dir = tempfile::tempdir().unwrap();
    // /dev/full: every write fails with ENOSPC.
    let body = config(&[("full", "/dev/full"), ("out", "out.log")]);
    let mut h = Hekad::start_with_config(BIN, dir.path(), &body);
    let addr = h.udp_addr("udp");
    send_paced(addr, 3_000, 20_000, json_datagram);
    assert_eq!(wait_seqs(&dir.path().join("out.log"), 3_000).len(), 3_000);
    let h = h.stop_gracefully();
    let stderr = h.stderr().join("\n");
    assert_eq!(h.final_count("out", "delivered"), Some(3_000), "{stderr}");
    assert_eq!(h.final_count("full", "routed"), Some(3_000), "{stderr}");
    assert_eq!(h.final_count("full", "delivered"), Some(0), "{stderr}");
    assert_eq!(
        h.final_count("full", "write_errors"),
        Some(3_000),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // Rate-limited: far fewer warnings than failed commits.
    let warnings = stderr.matches("output full: commit failed").count();
    assert!((1..=10).contains(&warnings), "{warnings} warnings");
}

#[test]
fn a_file_that_cannot_be_opened_at_start_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
    let body = config(&[("out", "not-a-dir/out.log")]);
    let mut h = Hekad::start_with_config(BIN, dir.path(), &body);
    let status = h
        .wait_exit(Duration::from_secs(20))
        .expect("hekad exits at once");
    let stderr = h.stderr().join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("out") && stderr.contains("not-a-dir/out.log"),
        "{stderr}"
    );
    assert!(stderr.contains("Not a directory"), "{stderr}");
}
