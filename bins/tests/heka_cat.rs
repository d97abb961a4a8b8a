//! heka-cat on files written by a real hekad (FileOutput json and protobuf) and by hand
//! with the encoders: matchers, output formats, --count, --max-count, --tail, and
//! undecodable records. Every wait is bounded; every process is stopped.

use std::io::Write as _;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use plugins::encoders::{encode_frame, encode_json};
use tests::Hekad;

const HEKAD: &str = env!("CARGO_BIN_EXE_hekad");
const CAT: &str = env!("CARGO_BIN_EXE_heka-cat");

fn cat(args: &[&str], file: &Path) -> Output {
    Command::new(CAT).args(args).arg(file).output().unwrap()
}

fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn message(msg_type: &str, payload: &str, seq: i64) -> engine::Message {
    let mut m = engine::Message::default();
    m.msg_type.push_str(msg_type);
    m.payload.push_str(payload);
    m.severity = 6;
    m.timestamp = 1_795_579_080_000_000_000 + seq;
    let f = m.add_field().unwrap();
    f.name.push_str("seq");
    f.values.push_integer(seq);
    m
}

fn frame(m: &engine::Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(m, None, &mut out);
    out
}

fn payloads(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v["payload"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn reads_what_a_real_hekad_wrote_in_json_and_protobuf() {
    let dir = tempfile::tempdir().unwrap();
    let h = {
        let mut h = Hekad::start_with_config(
            HEKAD,
            dir.path(),
            r#"{
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}],
  "decoders": [{"type": "JsonDecoder", "default": true}],
  "outputs":  [{"name": "j", "type": "FileOutput", "path": "out.json", "format": "json",
                "flush_interval_ms": 50},
               {"name": "p", "type": "FileOutput", "path": "out.pb", "format": "protobuf",
                "flush_interval_ms": 50}],
  "chains":   {"default": {"outputs": ["j", "p"]}}
}"#,
        );
        let addr = h.udp_addr("udp");
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..20 {
            let t = if i % 2 == 0 { "a" } else { "b" };
            let d = format!(
                r#"{{"type":"{t}","payload":"{t}{i}","severity":{},"fields":{{"seq":{i}}}}}"#,
                i % 8
            );
            sock.send_to(d.as_bytes(), addr).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(300));
        h.stop_gracefully()
    };
    assert_eq!(
        h.final_count("p", "delivered"),
        Some(20),
        "{:#?}",
        h.stderr()
    );
    let want: Vec<String> = (0..20).step_by(2).map(|i| format!("a{i}")).collect();
    let mut outputs = Vec::new();
    for name in ["out.json", "out.pb"] {
        let file = dir.path().join(name);
        let o = cat(&["--format", "json", "--match", "Type == \"a\""], &file);
        assert!(o.status.success(), "{name}: {o:?}");
        let lines = stdout_lines(&o);
        assert_eq!(payloads(&lines), want, "{name}");
        outputs.push(lines);

        let o = cat(&["--count"], &file);
        assert_eq!(stdout_lines(&o), ["20"], "{name}: {o:?}");
        let o = cat(
            &["--count", "--match", "Severity <= 3 && Fields[seq] >= 10"],
            &file,
        );
        assert_eq!(stdout_lines(&o), ["6"], "{name}: 10, 11, 16-19: {o:?}");
        let o = cat(&["--max-count", "3", "--format", "json"], &file);
        assert_eq!(payloads(&stdout_lines(&o)), ["a0", "b1", "a2"], "{name}");

        let o = cat(&[], &file);
        let text = String::from_utf8(o.stdout).unwrap();
        assert_eq!(text.matches(":Type: ").count(), 20, "{name}: {text}");
        assert!(text.contains(":Type: b\n"), "{text}");
        assert!(text.contains(":Payload: b19\n"), "{text}");
        assert!(text.contains(":Fields: {\"seq\":19}\n"), "{text}");
    }
    // Both formats carry the whole message: the same JSON comes out of either.
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn skips_undecodable_records_reports_them_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("mixed.pb");
    let mut bytes = frame(&message("t", "one", 1));
    let bad_at = bytes.len();
    bytes.extend_from_slice(&[0x1E, 1, 0x00, 7, 7, 7]);
    bytes.extend(frame(&message("t", "two", 2)));
    let mut json = Vec::new();
    encode_json(&message("t", "three", 3), &mut json);
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(b"\n{not json\n");
    std::fs::write(&pb, &bytes).unwrap();

    let o = cat(&["--format", "json"], &pb);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(payloads(&stdout_lines(&o)), ["one", "two", "three"]);
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(stderr.contains(&format!("byte {bad_at}:")), "{stderr}");
    assert!(
        stderr.contains("2 records could not be decoded"),
        "{stderr}"
    );
}

#[test]
fn a_bad_matcher_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    std::fs::write(&file, b"").unwrap();
    let o = cat(&["--match", "Type =="], &file);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(stderr.starts_with("heka-cat: error: --match"), "{stderr}");
}

fn wait_stdout(p: &Hekad, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.stdout().len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    p.stdout()
}

#[test]
fn tail_follows_the_file_as_it_grows_and_when_it_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.pb");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&frame(&message("t", "p0", 0))).unwrap();
    file.write_all(&frame(&message("skip", "s", 1))).unwrap();
    let p = Hekad::start(
        CAT,
        &[
            "--tail",
            "--format",
            "json",
            "--match",
            "Type == 't'",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(payloads(&wait_stdout(&p, 1)), ["p0"]);
    // A frame written in two halves is printed once it is whole.
    let f = frame(&message("t", "p1", 2));
    file.write_all(&f[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(p.stdout().len(), 1);
    file.write_all(&f[5..]).unwrap();
    file.write_all(&frame(&message("t", "p2", 3))).unwrap();
    assert_eq!(payloads(&wait_stdout(&p, 3)), ["p0", "p1", "p2"]);
    // Rotation: a new file takes the name; heka-cat reads it from its start.
    let new = dir.path().join("new.pb");
    std::fs::write(&new, frame(&message("t", "q0", 4))).unwrap();
    std::fs::rename(&new, &path).unwrap();
    assert_eq!(payloads(&wait_stdout(&p, 4)), ["p0", "p1", "p2", "q0"]);
    assert!(p.stderr().is_empty(), "{:?}", p.stderr());
}
