//! Every example in `config/` parses and validates against the built-in plugins, and the
//! embedded default config is the same as `config/default.json`.

use std::path::Path;

#[test]
fn every_example_config_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config/ exists") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let config = engine::config::Config::load(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        engine::validate(&tests::registry(), &config)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(
        seen >= 5,
        "found only {seen} example configs in {}",
        dir.display()
    );
}

#[test]
fn the_embedded_default_is_config_default_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let file = std::fs::read_to_string(dir.join("default.json")).unwrap();
    let norm = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(norm(&file), norm(engine::config::DEFAULT_CONFIG));
}
