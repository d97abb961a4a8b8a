//! Hostile input on every surface (`tests::Surface`): the checked-in corpus of malformed
//! inputs replayed file by file, and a stable fuzz harness (proptest) that mutates the
//! corpus, so the cargo-fuzz targets' contract is checked on every `cargo test`.
//!
//! Corpus files named `ok-*` must be accepted and `bad-*` rejected (a counted error); any
//! other name (a minimized fuzzer find) may be either. None may panic or allocate past the
//! surface's bound.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use engine::testing::{thread_allocated_bytes, CountingAllocator};
use proptest::prelude::*;
use tests::{Surface, Verdict};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn corpus_dir(surface: Surface) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(surface.name())
}

/// Every file of a surface's corpus, in name order, with its name.
fn corpus(surface: Surface) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(surface);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read corpus file"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_surface_has_a_corpus_of_good_and_bad_inputs() {
    for surface in Surface::ALL {
        let names: Vec<String> = corpus(surface).into_iter().map(|(n, _)| n).collect();
        let ok = names.iter().filter(|n| n.starts_with("ok-")).count();
        let bad = names.iter().filter(|n| n.starts_with("bad-")).count();
        assert!(
            ok >= 1 && bad >= 5,
            "{}: {ok} ok, {bad} bad",
            surface.name()
        );
    }
}

#[test]
fn corpus_replays_as_counted_errors_or_valid_results() {
    let before = thread_allocated_bytes();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for surface in Surface::ALL {
        for (name, bytes) in corpus(surface) {
            replayed += 1;
            let what = format!("{}/{name}", surface.name());
            let verdict = match catch_unwind(AssertUnwindSafe(|| surface.feed(&bytes))) {
                Ok(v) => v,
                Err(e) => {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("{what}: panicked: {msg}"));
                    continue;
                }
            };
            match (&verdict, name.split('-').next()) {
                (Verdict::Rejected(e), Some("ok")) => {
                    failures.push(format!("{what}: should be accepted, got {e}"))
                }
                (Verdict::Accepted, Some("bad")) => {
                    failures.push(format!("{what}: should be a counted error, was accepted"))
                }
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(replayed > 100, "{replayed} corpus files");
    // The allocation bound was really checked: the counting allocator is installed.
    assert!(thread_allocated_bytes() > before);
}

/// The limits the corpus relies on, with the error each one is counted as.
#[test]
fn limits_give_the_documented_errors() {
    let reject = |surface: Surface, name: &str| {
        let bytes = std::fs::read(corpus_dir(surface).join(name)).expect(name);
        match surface.feed(&bytes) {
            Verdict::Rejected(e) => e,
            Verdict::Accepted => panic!("{name} accepted"),
        }
    };
    let cases = [
        (
            Surface::Json,
            "bad-depth-over-limit.json",
            "nesting deeper than 32",
        ),
        (
            Surface::Json,
            "bad-deep-arrays-in-unknown-key.json",
            "nesting deeper than 32",
        ),
        (
            Surface::Json,
            "bad-too-many-fields.json",
            "more than 1024 fields",
        ),
        (
            Surface::Json,
            "bad-invalid-utf8-payload.bin",
            "invalid UTF-8 at byte 15",
        ),
        (
            Surface::MsgPack,
            "bad-deep-arrays.msgpack",
            "nesting deeper than 32",
        ),
        (
            Surface::MsgPack,
            "bad-too-many-fields.msgpack",
            "more than 1024 fields",
        ),
        (
            Surface::MsgPack,
            "bad-str32-length-4gib-no-body.msgpack",
            "truncated input",
        ),
        (
            Surface::MsgPack,
            "bad-map32-4g-entries.msgpack",
            "truncated input",
        ),
        (
            Surface::MsgPack,
            "bad-invalid-utf8-payload.msgpack",
            "invalid UTF-8",
        ),
        (
            Surface::Protobuf,
            "bad-payload-length-2-to-63.pb",
            "truncated input",
        ),
        (
            Surface::Protobuf,
            "bad-packed-integers-length-huge.pb",
            "truncated input",
        ),
        (
            Surface::Protobuf,
            "bad-too-many-fields.pb",
            "more than 1024 fields",
        ),
        (
            Surface::Protobuf,
            "bad-invalid-utf8-payload.pb",
            "invalid UTF-8",
        ),
        (
            Surface::Protobuf,
            "bad-frame-message-length-over-max.bin",
            "exceeds the limit",
        ),
        (
            Surface::Protobuf,
            "bad-frame-truncated-message.bin",
            "truncated input",
        ),
        (
            Surface::Framing,
            "bad-message-length-4gib.bin",
            "exceeds the limit",
        ),
        (
            Surface::Framing,
            "bad-frames-then-truncated.bin",
            "incomplete frame",
        ),
        (
            Surface::Config,
            "bad-sockets-huge.json",
            "sockets: must be at most 1024",
        ),
        (
            Surface::Config,
            "bad-deep-nesting.json",
            "fuzz.json:1:12: engine",
        ),
    ];
    for (surface, name, want) in cases {
        let e = reject(surface, name);
        assert!(e.contains(want), "{name}: {e:?} does not say {want:?}");
    }
}

/// A length prefix of gigabytes (msgpack `str32`/`bin32`/`map32`/`array32`, protobuf
/// varint lengths, a frame's `message_length`) allocates nothing like its size: the decode,
/// decoder and pack set-up included, each input costs less than 64 KiB (after one warm-up
/// input on the thread).
#[test]
fn huge_length_prefixes_allocate_nothing_like_their_size() {
    let cases = [
        (Surface::MsgPack, "bad-str32-length-4gib-no-body.msgpack"),
        (Surface::MsgPack, "bad-bin32-length-4gib.msgpack"),
        (Surface::MsgPack, "bad-ext32-length-4gib.msgpack"),
        (Surface::MsgPack, "bad-map32-4g-entries.msgpack"),
        (
            Surface::MsgPack,
            "bad-array32-4g-elements-in-fields.msgpack",
        ),
        (Surface::MsgPack, "bad-map32-4g-entries-in-fields.msgpack"),
        (Surface::Protobuf, "bad-payload-length-2-to-63.pb"),
        (Surface::Protobuf, "bad-payload-length-4gib.pb"),
        (Surface::Protobuf, "bad-packed-integers-length-huge.pb"),
        (Surface::Protobuf, "bad-frame-message-length-4gib.bin"),
        (Surface::Framing, "bad-message-length-4gib.bin"),
    ];
    for (surface, name) in cases {
        let bytes = std::fs::read(corpus_dir(surface).join(name)).expect(name);
        // Warm up: what a surface allocates once per thread (the framing surface's
        // TcpInput buffer, sized for the largest frame) is not the input's cost.
        surface.feed(&[]);
        let before = thread_allocated_bytes();
        let verdict = surface.feed(&bytes);
        let used = thread_allocated_bytes() - before;
        assert!(
            matches!(verdict, Verdict::Rejected(_)),
            "{name}: {verdict:?}"
        );
        assert!(
            used > 0 && used < 64 << 10,
            "{name}: {used} bytes allocated"
        );
    }
}

/// An edit of a corpus file: overwrite, insert or delete a run of bytes, truncate, or splice
/// in the tail of another file of the same corpus.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, Vec<u8>),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Splice(usize, usize, usize),
}

fn byte() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![
        3 => any::<u8>(),
        // Bytes the formats give a meaning: separators, markers, quotes, length prefixes.
        2 => prop::sample::select(&b"\x00\x01\x1e\x1f\x7f\x80\xff\xc1\xdb\xdd\xdf{}[]\":,\\|@\n"[..]),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let run = prop::collection::vec(byte(), 1..8);
    prop_oneof![
        (any::<usize>(), run.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), run).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1..16usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(i, f, j)| Edit::Splice(i, f, j)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit, files: &[(String, Vec<u8>)]) {
    let at = |i: usize, len: usize| i % (len + 1);
    match edit {
        Edit::Set(i, run) => {
            let i = at(*i, bytes.len());
            for (k, &b) in run.iter().enumerate() {
                match bytes.get_mut(i + k) {
                    Some(slot) => *slot = b,
                    None => bytes.push(b),
                }
            }
        }
        Edit::Insert(i, run) => {
            let i = at(*i, bytes.len());
            bytes.splice(i..i, run.iter().copied());
        }
        Edit::Delete(i, n) => {
            let i = at(*i, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Edit::Truncate(i) => bytes.truncate(at(*i, bytes.len())),
        Edit::Splice(i, f, j) => {
            let other = &files[f % files.len()].1;
            let i = at(*i, bytes.len());
            let j = at(*j, other.len());
            bytes.truncate(i);
            bytes.extend_from_slice(&other[j..]);
        }
    }
}

/// Seeds are the corpus files of each surface, edited 1 to 6 times; small files are
/// preferred so a case stays cheap (the deep-nesting seeds are 100 KiB).
fn mutate_corpus(surface: Surface, seed: usize, edits: &[Edit]) {
    let files = corpus(surface);
    let small: Vec<&(String, Vec<u8>)> = files.iter().filter(|(_, b)| b.len() <= 8192).collect();
    let mut bytes = small[seed % small.len()].1.clone();
    for e in edits {
        apply(&mut bytes, e, &files);
    }
    surface.feed(&bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_json(seed in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        mutate_corpus(Surface::Json, seed, &edits);
    }

    #[test]
    fn mutated_msgpack(seed in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        mutate_corpus(Surface::MsgPack, seed, &edits);
    }

    #[test]
    fn mutated_protobuf(seed in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        mutate_corpus(Surface::Protobuf, seed, &edits);
    }

    #[test]
    fn mutated_framing(seed in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        mutate_corpus(Surface::Framing, seed, &edits);
    }

    #[test]
    fn mutated_statsd(seed in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        mutate_corpus(Surface::Statsd, seed, &edits);
    }

    #[test]
    fn mutated_config(seed in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        mutate_corpus(Surface::Config, seed, &edits);
    }

    /// The framing splitter on arbitrary bytes after a record separator (the decoders'
    /// own proptests already feed them arbitrary bytes).
    #[test]
    fn arbitrary_streams(bytes in prop::collection::vec(byte(), 0..512)) {
        let mut stream = vec![0x1e];
        stream.extend(&bytes);
        Surface::Framing.feed(&stream);
    }

    /// The config loader on arbitrary text.
    #[test]
    fn arbitrary_configs(text in "[\\[\\]{}\":,0-9a-z_ \n.\\\\-]{0,200}") {
        Surface::Config.feed(text.as_bytes());
    }
}
