//! A real `hekad` under a burst of hostile datagrams mixed with valid numbered ones: every
//! valid message arrives once, every hostile one is a counted decode error, every
//! oversized one a counted truncation, the counts balance and hekad stays up.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use tests::{json_datagram, send_paced, seqs_in, Hekad, Surface, Verdict};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// Datagrams larger than this are truncated (and counted) by UdpInput.
const MAX_MESSAGE_SIZE: usize = 16_384;

/// Every corpus file of the decoder surfaces that is a decode error for the decoder
/// UdpInput hands it to (a `0x1E` first byte: ProtobufDecoder, else the default
/// JsonDecoder; both configured as `tests::Surface` configures them) and fits in a
/// datagram.
fn hostile_datagrams() -> Vec<Vec<u8>> {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let mut out = Vec::new();
    for dir in ["json", "msgpack", "protobuf"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus.join(dir))
            .expect("corpus dir")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("corpus file");
            let surface = if bytes.first() == Some(&0x1e) {
                Surface::Protobuf
            } else {
                Surface::Json
            };
            if bytes.len() <= MAX_MESSAGE_SIZE
                && matches!(surface.feed(&bytes), Verdict::Rejected(_))
            {
                out.push(bytes);
            }
        }
    }
    out
}

/// What the `i`-th datagram of the burst is.
enum Kind {
    /// Valid JSON carrying this sequence number.
    Valid(u64),
    /// Index into the hostile datagrams.
    Hostile(usize),
    /// A valid message too large for a pack.
    Oversized,
}

fn kind(i: u64, hostile: usize) -> Kind {
    match i % 4 {
        0 | 2 => Kind::Valid(i / 2),
        1 => Kind::Hostile((i / 4) as usize % hostile),
        _ if (i / 4).is_multiple_of(5) => Kind::Oversized,
        _ => Kind::Hostile((i / 4 + 7) as usize % hostile),
    }
}

#[test]
fn hostile_datagrams_are_counted_and_valid_ones_all_arrive() {
    let hostile = hostile_datagrams();
    assert!(hostile.len() >= 60, "{} hostile datagrams", hostile.len());
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"{{
  "engine":   {{"max_message_size": {MAX_MESSAGE_SIZE}, "pool_size": 1024}},
  "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}],
  "decoders": [{{"type": "JsonDecoder", "default": true}}, {{"type": "ProtobufDecoder",
                 "signers": {{"ops_1": {{"hmac_key": "s3cret"}}}}}}],
  "outputs":  [{{"name": "out", "type": "FileOutput", "path": "out.log",
                 "flush_interval_ms": 100}}],
  "chains":   {{"default": {{"outputs": ["out"]}}}}
}}"#
    );
    let mut hekad = Hekad::start_with_config(BIN, dir.path(), &config);
    let addr = hekad.udp_addr("udp");

    const N: u64 = 8_000;
    let oversized = {
        let mut big = Vec::new();
        json_datagram(0, &mut big);
        let pad = "x".repeat(MAX_MESSAGE_SIZE);
        String::from_utf8(big)
            .unwrap()
            .replacen("seq=", &format!("{pad} seq="), 1)
            .into_bytes()
    };
    let sent = send_paced(addr, N, 10_000, |i, out| match kind(i, hostile.len()) {
        Kind::Valid(seq) => json_datagram(seq, out),
        Kind::Hostile(h) => {
            out.clear();
            out.extend_from_slice(&hostile[h]);
        }
        Kind::Oversized => {
            out.clear();
            out.extend_from_slice(&oversized);
        }
    });
    assert_eq!(sent, N);
    let (mut valid, mut bad, mut big) = (0, 0, 0);
    for i in 0..N {
        match kind(i, hostile.len()) {
            Kind::Valid(_) => valid += 1,
            Kind::Hostile(_) => bad += 1,
            Kind::Oversized => big += 1,
        }
    }

    // Still up and answering after the burst.
    std::thread::sleep(Duration::from_millis(300));
    hekad.signal("USR1");
    let report = hekad.wait_for_stderr("balance:", Duration::from_secs(10));
    assert!(report.is_some(), "no report: {:#?}", hekad.stderr());
    let hekad = hekad.stop_gracefully();
    let stderr = hekad.stderr().join("\n");

    let count = |owner: &str, counter: &str| {
        hekad
            .final_count(owner, counter)
            .unwrap_or_else(|| panic!("{owner} {counter} missing:\n{stderr}"))
    };
    let accepted = count("udp", "accepted");
    let truncated = count("udp", "truncated");
    let drops = hekad.final_count("udp", "kernel_drops").unwrap_or(0);
    assert_eq!(drops, 0, "10k datagrams/s is sustainable\n{stderr}");
    assert_eq!(
        accepted + drops + truncated,
        N,
        "sent = accepted + kernel_drops + truncated"
    );
    assert_eq!(
        truncated, big,
        "every oversized datagram counted as truncated"
    );
    assert_eq!(
        count("decode", "decode_errors"),
        bad,
        "every hostile datagram is a counted decode error\n{stderr}"
    );
    assert_eq!(count("out", "delivered"), valid);
    let final_balance = stderr.lines().rev().find(|l| l.contains("balance:"));
    assert!(
        final_balance.is_some_and(|l| l.ends_with(": ok")),
        "{final_balance:?}"
    );

    let seqs = seqs_in(&dir.path().join("out.log"));
    let unique: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(seqs.len() as u64, valid, "one line per valid message");
    assert_eq!(unique.len(), seqs.len(), "no message written twice");
    assert!(
        (0..valid).all(|s| unique.contains(&s)),
        "every valid message arrived"
    );
}
