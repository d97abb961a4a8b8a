//! The perf harness without load: `perf/compare.sh` flags exactly the regressions in two
//! fixture result files (`tests/fixtures/perf/`), every `perf/scenarios/*/hekad.json`
//! validates once its placeholders are filled in, also with the latency probe's chain and
//! output that `perf/ours.sh` adds, and `perf/ours.sh` (run with stand-ins for hekad and
//! nats-server) puts the probe's output on the hekad that ends the scenario's path: the
//! aggregator in the forwarding scenarios, so their latency crosses the link.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compare(old: &str, new: &str) -> Output {
    let fixtures = root().join("tests/fixtures/perf");
    Command::new("bash")
        .arg(root().join("perf/compare.sh"))
        .arg(fixtures.join(old))
        .arg(fixtures.join(new))
        .output()
        .expect("bash runs perf/compare.sh")
}

/// The cells of the first row that starts with `prefix` and has `n` cells: the diff table
/// has 10 (`scenario | size | offered | ...`), the edge table 6 (`scenario | size | ...`).
fn row_of(stdout: &str, prefix: &str, n: usize) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with(&format!("| {prefix} |")))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.len() == n)
        .unwrap_or_else(|| panic!("no {n}-cell row {prefix:?} in:\n{stdout}"))
}

fn row(stdout: &str, prefix: &str) -> Vec<String> {
    row_of(stdout, prefix, 10)
}

#[test]
fn compare_passes_changes_within_ten_percent() {
    let out = compare("old.md", "within.md");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("6 row group(s) compared (0 only in old, 1 only in new); 0 flagged"));
    // Two reps of a cell: the median of 2.00 and 2.10.
    let two = row(&stdout, "two-inputs | 200 | 400000");
    assert_eq!(two[6], "2.05");
    assert_eq!(two[7], "2.20");
    // A max row compares the rates reached: 1200k × 6/8 vs 1300k × 5.8/8.
    let max = row(&stdout, "udp-json-file | 100 | max");
    assert_eq!((max[3].as_str(), max[4].as_str()), ("900000", "942500"));
}

#[test]
fn compare_flags_each_kind_of_regression() {
    let out = compare("old.md", "regressed.md");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("3 flagged"), "{stdout}");
    assert_eq!(row(&stdout, "udp-json-file | 100 | 400000")[9], "U");
    assert_eq!(row(&stdout, "udp-json-file | 100 | 800000")[9], "W");
    assert_eq!(row(&stdout, "udp-json-file | 200 | 800000")[9], "");
    let edge = row_of(&stdout, "udp-json-file | 100", 6);
    assert_eq!(edge[2..], ["800000", "400000", "-50.0", "E"]);
    // The same file against itself: nothing flagged.
    let same = compare("regressed.md", "regressed.md");
    assert_eq!(same.status.code(), Some(0));
}

#[test]
fn compare_refuses_bad_arguments() {
    let out = compare("old.md", "missing.md");
    assert_eq!(out.status.code(), Some(2));
    let readme = Command::new("bash")
        .arg(root().join("perf/compare.sh"))
        .arg(root().join("tests/fixtures/perf/old.md"))
        .arg(root().join("Cargo.toml"))
        .output()
        .unwrap();
    assert_eq!(readme.status.code(), Some(2), "no common rows");
}

#[test]
fn every_perf_scenario_config_validates() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = root().join("perf/scenarios");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&scenarios).unwrap() {
        let path = entry.unwrap().path().join("hekad.json");
        let name = path.parent().unwrap().file_name().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let d = dir.path().display().to_string();
        let text = text
            .replace("@PORT@", "0")
            .replace("@PORT2@", "0")
            .replace("@OUT@", &format!("{d}/out.log"))
            .replace("@DIR@", &d)
            .replace("@NATS_URL@", "nats://127.0.0.1:4222")
            .replace("@AGG_ADDR@", "127.0.0.1:1");
        // As perf/ours.sh does with jq for PROBE_OUT.
        let mut with_probe: serde_json::Value = serde_json::from_str(&text).unwrap();
        with_probe["outputs"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "latency", "type": "FileOutput",
                "path": format!("{d}/latency.log"), "format": "text", "prefix_ts": true}));
        with_probe["chains"]["latency-probe"] =
            serde_json::json!({"message_type": "latency-probe", "outputs": ["latency"]});
        for (i, t) in [text, with_probe.to_string()].iter().enumerate() {
            let file = dir
                .path()
                .join(format!("{}-{i}.json", name.to_string_lossy()));
            std::fs::write(&file, t).unwrap();
            let config = engine::config::Config::load(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            engine::validate(&tests::registry(), &config)
                .unwrap_or_else(|e| panic!("{} (probe: {}): {e}", path.display(), i == 1));
        }
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "statsd",
            "tcp-protobuf-file",
            "two-inputs",
            "udp-json-file",
            "udp-json-route",
            "udp-nats-file",
            "udp-tcp-forward"
        ]
    );
}

/// Runs `perf/ours.sh scenario` in `work` with PROBE_OUT set and stand-ins for hekad and
/// nats-server (they print what the scripts wait for and exit), so only the configs are
/// made. Returns the edge's config, and the aggregator's when the scenario has one.
fn ours_configs(
    scenario: &str,
    stubs: &Path,
    work: &Path,
) -> (serde_json::Value, Option<serde_json::Value>) {
    std::fs::create_dir(work).unwrap();
    let path = format!(
        "{}:{}",
        stubs.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(root().join("perf/ours.sh"))
        .arg(scenario)
        .env("PATH", path)
        .env("HEKAD", stubs.join("hekad"))
        .env("WORKDIR", work)
        .env("PORT", "1")
        .env("OUT", work.join("out.log"))
        .env("PROBE_OUT", work.join("latency.log"))
        .output()
        .expect("bash runs perf/ours.sh");
    assert!(out.status.success(), "{scenario}: {out:?}");
    let read = |name: &str| {
        let text = std::fs::read_to_string(work.join(name)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{scenario}/{name}: {e}\n{text}"));
        let config = engine::config::Config::load(work.join(name))
            .unwrap_or_else(|e| panic!("{scenario}/{name}: {e}"));
        engine::validate(&tests::registry(), &config)
            .unwrap_or_else(|e| panic!("{scenario}/{name}: {e}"));
        Some(v)
    };
    (
        read("hekad.json").expect("the edge's config"),
        read("aggregator.json"),
    )
}

/// Whether `config` writes the latency probe to `file` with prefix_ts.
fn writes_probe(config: &serde_json::Value, file: &Path) -> bool {
    let output = config["outputs"].as_array().unwrap().iter().any(|o| {
        o["name"] == "latency" && o["prefix_ts"] == true && o["path"] == file.to_str().unwrap()
    });
    let chain = &config["chains"]["latency-probe"];
    let routed = chain["message_type"] == "latency-probe" && chain["outputs"][0] == "latency";
    assert_eq!(output, routed, "half a probe: {config}");
    output
}

#[test]
fn the_latency_probe_is_written_where_the_scenario_path_ends() {
    assert!(
        Command::new("jq").arg("--version").output().is_ok(),
        "perf/ours.sh needs jq (apt-get install jq)"
    );
    let dir = tempfile::tempdir().unwrap();
    let stubs = dir.path().join("bin");
    std::fs::create_dir(&stubs).unwrap();
    for (name, says) in [
        ("hekad", "echo 'stand-in: listening' >&2"),
        ("nats-server", "echo 'stand-in: Server is ready'"),
    ] {
        let f = stubs.join(name);
        std::fs::write(&f, format!("#!/bin/sh\n{says}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for entry in std::fs::read_dir(root().join("perf/scenarios")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let work = dir.path().join(&name);
        let (edge, aggregator) = ours_configs(&name, &stubs, &work);
        let probe = work.join("latency.log");
        match aggregator {
            // The edge forwards the probes with the flood; the aggregator writes them.
            Some(agg) => {
                assert!(writes_probe(&agg, &probe), "{name}: aggregator {agg}");
                assert!(!writes_probe(&edge, &probe), "{name}: edge {edge}");
            }
            None => assert!(writes_probe(&edge, &probe), "{name}: {edge}"),
        }
    }
}
