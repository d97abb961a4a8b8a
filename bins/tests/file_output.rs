//! FileOutput under the failures a production host sees: the file removed or rotated while
//! hekad writes it, a full disk, and a path it cannot open at start.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use tests::{json_datagram, send_paced, seqs_in, seqs_of, udp_json_to_files, write_config, Hekad};

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

/// Messages sent while the file is rotated: at 30,000 a second, a JSON line of about 300
/// bytes and a commit every 300 ms, more than FileOutput's 1 MiB write threshold is
/// written between two commits, so every rotation lands with part of a batch already in
/// the old file.
const UNDER_LOAD: u64 = 200_000;
const RATE: u64 = 30_000;
const ROTATIONS: usize = 6;

/// Sends [`UNDER_LOAD`] numbered messages to a FileOutput writing JSON to `out.log` in
/// `dir`, calling `rotate(k)` for k in 1..=[`ROTATIONS`] while they flow (each once the
/// path exists again). Returns the stopped hekad and how many were sent.
fn rotate_under_load(dir: &Path, mut rotate: impl FnMut(usize)) -> (Hekad, u64) {
    let body = r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "out", "type": "FileOutput", "path": "out.log", "format": "json",
                "flush_interval_ms": 300}],
  "chains":   {"default": {"outputs": ["out"]}}
}"#;
    let mut h = Hekad::start_with_config(BIN, dir, body);
    let addr = h.udp_addr("udp");
    let sender = thread::spawn(move || send_paced(addr, UNDER_LOAD, RATE, json_datagram));
    let every = Duration::from_secs_f64(UNDER_LOAD as f64 / RATE as f64 / (ROTATIONS + 1) as f64);
    let out = dir.join("out.log");
    for k in 1..=ROTATIONS {
        thread::sleep(every);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !out.exists() {
            assert!(
                Instant::now() < deadline,
                "out.log reopened after rotation {k}"
            );
            thread::sleep(Duration::from_millis(5));
        }
        rotate(k);
    }
    let sent = sender.join().unwrap();
    (h.stop_gracefully(), sent)
}

/// The text of a file, asserting it holds whole lines only.
fn whole_lines(mut f: &File) -> String {
    let mut text = String::new();
    f.read_to_string(&mut text).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "a partial line");
    text
}

/// Files are renamed away under load (logrotate without copytruncate): each rotation's
/// batch is finished in the renamed file, then the path is reopened; across all the files,
/// every accepted message is there exactly once, in order, and counted delivered.
#[test]
fn renamed_under_load_every_accepted_message_is_in_one_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let rotated = |k: usize| dir.path().join(format!("out.log.{k}"));
    let (h, sent) = rotate_under_load(dir.path(), |k| std::fs::rename(&out, rotated(k)).unwrap());
    let stderr = h.stderr().join("\n");
    let accepted = h.final_count("udp", "accepted").unwrap();
    let drops = h.final_count("udp", "kernel_drops").unwrap();
    assert_eq!(accepted + drops, sent, "{stderr}");
    assert_eq!(
        h.final_count("out", "delivered"),
        Some(accepted),
        "{stderr}"
    );
    assert_eq!(h.final_count("out", "write_errors"), Some(0), "{stderr}");
    // Oldest first: out.log.1, ..., out.log.6, out.log.
    let files: Vec<_> = (1..=ROTATIONS).map(rotated).chain([out]).collect();
    let mut seqs = Vec::new();
    let mut holding_lines = 0;
    for f in &files {
        let got = seqs_of(&whole_lines(&File::open(f).unwrap()));
        holding_lines += usize::from(!got.is_empty());
        seqs.extend(got);
    }
    // Each rotation waits about a second after the last: most files got messages.
    assert!(
        holding_lines > ROTATIONS / 2,
        "{holding_lines} files hold lines"
    );
    assert_eq!(seqs.len() as u64, accepted, "{stderr}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    assert!(seqs.last() < Some(&sent));
    assert!(stderr.contains(": ok"), "the balance line: {stderr}");
}

/// The file is removed under load (Heka lost what went into it): a message counts as
/// delivered only if it was fdatasynced into a file that still had a name at that commit.
/// What was written into the removed file after its last commit is truncated away and
/// counted as write errors. The test holds each removed file open, so it can read what
/// was delivered into it before the removal.
#[test]
fn removed_under_load_what_the_removed_file_took_is_counted_as_write_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let mut removed = Vec::new();
    let (h, sent) = rotate_under_load(dir.path(), |_| {
        let held = File::open(&out).unwrap();
        std::fs::remove_file(&out).unwrap();
        let len_at_removal = held.metadata().unwrap().len();
        removed.push((held, len_at_removal));
    });
    let stderr = h.stderr().join("\n");
    let accepted = h.final_count("udp", "accepted").unwrap();
    let drops = h.final_count("udp", "kernel_drops").unwrap();
    let delivered = h.final_count("out", "delivered").unwrap();
    let errors = h.final_count("out", "write_errors").unwrap();
    assert_eq!(accepted + drops, sent, "{stderr}");
    assert_eq!(delivered + errors, accepted, "{stderr}");
    assert!(errors > 0, "each removal cost a batch: {stderr}");
    let mut seqs = Vec::new();
    for (k, (held, len_at_removal)) in removed.iter().enumerate() {
        let len = held.metadata().unwrap().len();
        assert!(
            len <= *len_at_removal,
            "removal {}: nothing written after it is kept ({len} > {len_at_removal})",
            k + 1
        );
        seqs.extend(seqs_of(&whole_lines(held)));
    }
    seqs.extend(seqs_of(&whole_lines(&File::open(&out).unwrap())));
    assert_eq!(seqs.len() as u64, delivered, "{stderr}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    assert!(stderr.contains("was removed while open"), "{stderr}");
    assert!(stderr.contains(": ok"), "the balance line: {stderr}");
}

/// A full disk on a regular file: hekad runs under a 32 KiB file size limit (RLIMIT_FSIZE,
/// SIGXFSZ ignored), so a write past it fails with EFBIG after a short write. The partial
/// batch is truncated away: the file holds whole lines only, exactly the delivered ones.
#[test]
fn a_full_regular_file_holds_only_whole_delivered_lines() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config(&[("out", "out.log")]));
    // `ulimit -f` counts 512-byte blocks in sh; an ignored signal stays ignored across exec.
    let limit_blocks = 64;
    let script = format!("ulimit -f {limit_blocks} && trap '' XFSZ && exec \"$0\" \"$@\"");
    let mut h = Hekad::spawn(Command::new("sh").args([
        "-c",
        &script,
        BIN,
        "--config",
        config.to_str().unwrap(),
    ]));
    let addr = h.udp_addr("udp");
    // 10,000 lines of 15 bytes, about 1,000 a commit: some commits fit, then none do.
    send_paced(addr, 10_000, 20_000, json_datagram);
    h.wait_for_stderr("output out: commit failed", Duration::from_secs(20))
        .expect("a failed commit is logged");
    thread::sleep(Duration::from_millis(200));
    assert!(h.wait_exit(Duration::ZERO).is_none(), "hekad runs on");
    let h = h.stop_gracefully();
    let stderr = h.stderr().join("\n");
    let accepted = h.final_count("udp", "accepted").unwrap();
    let delivered = h.final_count("out", "delivered").unwrap();
    let errors = h.final_count("out", "write_errors").unwrap();
    assert!(delivered > 0 && errors > 0, "{stderr}");
    assert_eq!(delivered + errors, accepted, "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    let out = dir.path().join("out.log");
    assert!(std::fs::metadata(&out).unwrap().len() <= limit_blocks * 512);
    let text = whole_lines(&File::open(&out).unwrap());
    let seqs = seqs_of(&text);
    assert_eq!(seqs.len(), text.lines().count(), "every line parses");
    assert_eq!(seqs.len() as u64, delivered, "{stderr}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    assert!(stderr.contains(": ok"), "the balance line: {stderr}");
}

/// An output path in a directory hekad may not write: exit 1 at start, naming the path
/// and the OS's reason. As root (CI), hekad runs as nobody (65534) next to a root-owned
/// 0700 directory; otherwise the directory is made 000, which refuses its owner too.
#[test]
fn a_directory_hekad_may_not_write_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    let as_root = std::fs::metadata(&private).unwrap().uid() == 0;
    let mode = if as_root { 0o700 } else { 0o000 };
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(mode)).unwrap();
    // nobody must reach and read the config.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = write_config(dir.path(), &config(&[("out", "private/out.log")]));
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--config", config.to_str().unwrap()]);
    if as_root {
        cmd.uid(65534).gid(65534);
    }
    let mut h = Hekad::spawn(&mut cmd);
    let status = h
        .wait_exit(Duration::from_secs(20))
        .expect("hekad exits at once");
    let stderr = h.stderr().join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("private/out.log"), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    // Let the tempdir clean up.
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
}
