//! The daemon's own log with a real `hekad`: `--log-format json` lines parse, `--log-level
//! warn` hides the banner, and a flood of decode errors is logged a bounded number of times
//! with a `suppressed N` count, and so is a warning that repeats at every commit (a file
//! whose directory was removed). Every wait is bounded.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use tests::Hekad;

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

const CONFIG: &str = r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "file", "type": "FileOutput", "path": "out.log", "flush_interval_ms": 50}],
  "chains":   {"default": {"outputs": ["file"]}}
}"#;

fn start(dir: &Path, config: &str, args: &[&str]) -> Hekad {
    let path = dir.join("hekad.json");
    std::fs::write(&path, config).unwrap();
    let mut all = args.to_vec();
    all.extend(["--config", path.to_str().unwrap()]);
    Hekad::start(BIN, &all)
}

fn send(addr: SocketAddr, datagrams: impl IntoIterator<Item = Vec<u8>>, pause: Duration) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in datagrams {
        sock.send_to(&d, addr).unwrap();
        std::thread::sleep(pause);
    }
}

#[test]
fn json_log_format_writes_one_parseable_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = start(dir.path(), CONFIG, &["--log-format", "json"]);
    let line = h
        .wait_for_stderr("\"running;", Duration::from_secs(20))
        .unwrap_or_else(|| panic!("no running line: {:#?}", h.stderr()));
    let running: serde_json::Value = serde_json::from_str(&line).unwrap();
    let listen = running["fields"]["listen"].as_str().unwrap().to_string();
    let addr: SocketAddr = listen.strip_prefix("udp/udp/").unwrap().parse().unwrap();
    let ok = br#"{"type":"t","payload":"hello"}"#.to_vec();
    send(
        addr,
        [ok.clone(), b"{broken".to_vec(), ok],
        Duration::from_millis(5),
    );
    std::thread::sleep(Duration::from_millis(200));
    let h = h.stop_gracefully();
    let stderr = h.stderr();
    let objects: Vec<serde_json::Value> = stderr
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}\n{stderr:#?}")))
        .collect();
    for o in &objects {
        assert!(o["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{o}");
        assert!(["error", "warn", "info", "debug"].contains(&o["level"].as_str().unwrap()));
        assert!(o["msg"].is_string(), "{o}");
    }
    let by_msg = |m: &str| {
        objects
            .iter()
            .find(|o| o["msg"].as_str().is_some_and(|s| s.starts_with(m)))
            .unwrap_or_else(|| panic!("no {m:?} line in {objects:#?}"))
    };
    let starting = by_msg("starting");
    assert_eq!(starting["fields"]["version"], env!("CARGO_PKG_VERSION"));
    let config = dir.path().join("hekad.json");
    assert_eq!(starting["fields"]["config"], config.to_str().unwrap());
    assert_eq!(
        by_msg("listening udp udp")["msg"],
        format!("listening udp udp {addr}")
    );
    assert!(running["fields"]["plan"]
        .as_str()
        .unwrap()
        .contains("decode"));
    assert!(running["fields"]["threads"].as_u64().unwrap() >= 1);
    let decode_error = by_msg("decode: decode error");
    assert_eq!(decode_error["level"], "warn");
    let report = by_msg("stopped; counts after")["msg"].as_str().unwrap();
    assert!(report.contains("decode_errors=1"), "{report}");
    assert!(report.contains("accepted=3"), "{report}");
}

#[test]
fn log_level_warn_hides_the_banner_but_keeps_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG.replace(
        "\"inputs\"",
        "\"engine\": {\"pool_size\": 1000},\n  \"inputs\"",
    );
    let mut h = start(dir.path(), &config, &["--log-level", "warn"]);
    let warning = h.wait_for_stderr("not a power of two", Duration::from_secs(20));
    assert!(
        warning.is_some_and(|w| w.starts_with("hekad: warning: ")),
        "{:#?}",
        h.stderr()
    );
    // The pipeline is up once the output opened its file.
    let out = dir.path().join("out.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !out.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let h = h.stop_gracefully();
    let stderr = h.stderr();
    assert!(out.exists(), "{stderr:#?}");
    for hidden in [
        "starting",
        "listening",
        "running",
        "stopped",
        "counts after",
    ] {
        assert!(
            !stderr.iter().any(|l| l.contains(hidden)),
            "{hidden}: {stderr:#?}"
        );
    }
}

#[test]
fn a_flood_of_decode_errors_is_logged_a_bounded_number_of_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = start(dir.path(), CONFIG, &[]);
    let addr = h.udp_addr("udp");
    let sent = 300u64;
    // Paced so that the errors span many decode batches (one log attempt per batch).
    send(
        addr,
        (0..sent).map(|i| format!("not json {i}").into_bytes()),
        Duration::from_millis(1),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while h
        .stderr()
        .iter()
        .filter(|l| l.contains("decode error:"))
        .count()
        < 5
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let h = h.stop_gracefully();
    let stderr = h.stderr();
    assert_eq!(
        h.final_count("decode", "decode_errors"),
        Some(sent),
        "{stderr:#?}"
    );
    let logged = stderr
        .iter()
        .filter(|l| l.contains("decode error: ") && !l.contains("suppressed"))
        .count();
    assert_eq!(logged, 5, "the default burst is 5 per 10 s: {stderr:#?}");
    let suppressed: Vec<u64> = stderr
        .iter()
        .filter_map(|l| l.strip_prefix("hekad: warning: decode: decode error: suppressed "))
        .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(suppressed.len(), 1, "{stderr:#?}");
    assert!(
        suppressed[0] >= 1 && suppressed[0] <= sent - 5,
        "{suppressed:?}"
    );
}

#[test]
fn a_warning_that_repeats_at_every_commit_is_logged_a_bounded_number_of_times() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let config = format!(
        r#"{{
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"type": "JsonDecoder", "default": true}}],
  "outputs":  [{{"name": "file", "type": "FileOutput", "path": "{}",
                 "flush_interval_ms": 10}}],
  "chains":   {{"default": {{"outputs": ["file"]}}}}
}}"#,
        sub.join("out.log").display()
    );
    let mut h = start(dir.path(), &config, &[]);
    let addr = h.udp_addr("udp");
    // The file's directory goes away: every commit from now on fails to reopen it.
    std::fs::remove_dir_all(&sub).unwrap();
    let ok = br#"{"type":"t","payload":"hello"}"#.to_vec();
    send(addr, (0..200).map(|_| ok.clone()), Duration::from_millis(5));
    std::thread::sleep(Duration::from_millis(200));
    let h = h.stop_gracefully();
    let failed = h.final_count("file", "write_errors").unwrap();
    assert!(failed >= 20, "the failure repeated ({failed} write errors)");
    let reopen = h
        .stderr()
        .iter()
        .filter(|l| l.contains("reopening failed"))
        .count();
    assert!(
        (1..=5).contains(&reopen),
        "{reopen} reopen warnings for {failed} failed messages:\n{:#?}",
        h.stderr()
    );
    let suppressed = h
        .stderr()
        .iter()
        .any(|l| l.contains("file.rs:") && l.contains("suppressed"));
    assert!(
        suppressed,
        "the held-back count is reported: {:#?}",
        h.stderr()
    );
}
