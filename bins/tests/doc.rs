//! `hekad doc`: the committed docs/plugins.md is what the binary generates now, and the
//! reference covers every registered plugin type and every one of its keys.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

fn committed() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/plugins.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn generated() -> String {
    let out = Command::new(BIN).arg("doc").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn committed_docs_plugins_md_is_fresh() {
    let (now, committed) = (generated(), committed());
    if now != committed {
        let line = now
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(now.lines().count().min(committed.lines().count()));
        panic!(
            "docs/plugins.md is stale (first difference at line {}:\n  generated: {:?}\n  \
             committed: {:?}).\nRegenerate it with:\n  {}\n",
            line + 1,
            now.lines().nth(line),
            committed.lines().nth(line),
            engine::reference::REGENERATE
        );
    }
}

#[test]
fn doc_output_writes_the_same_text_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugins.md");
    let status = Command::new(BIN)
        .args(["doc", "--output"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), generated());
}

#[test]
fn every_registered_type_and_each_of_its_keys_is_documented() {
    let registry = tests::registry();
    let md = generated();
    let mut types = 0;
    for (kind, name) in registry.types() {
        let heading = format!("### `{name}`\n");
        let start = md
            .find(&heading)
            .unwrap_or_else(|| panic!("no section for {kind} {name}"));
        let body = &md[start + heading.len()..];
        let section = &body[..body.find("\n### ").unwrap_or(body.len())];
        let defaults = registry.defaults(kind, name).unwrap();
        for key in defaults.as_object().unwrap().keys() {
            let row = format!("| `{key}` | ");
            let line = section
                .lines()
                .find(|l| l.starts_with(&row))
                .unwrap_or_else(|| panic!("{name}: no row for {key}:\n{section}"));
            let cells: Vec<&str> = line.split(" | ").collect();
            assert!(cells.len() >= 4, "{line}");
            assert!(!cells[1].trim().is_empty(), "{name}.{key}: type: {line}");
            assert!(
                !cells[3].trim_end_matches(" |").is_empty(),
                "{name}.{key}: doc: {line}"
            );
        }
        types += 1;
    }
    assert!(types >= 11, "{types} types");
    for common in [
        "name",
        "type",
        "message_matcher",
        "on_full",
        "retries",
        "sockets",
    ] {
        assert!(
            md.contains(&format!("| `{common}` | ")),
            "common key {common}"
        );
    }
}
