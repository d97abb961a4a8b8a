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
        let v = engine::validate(&tests::registry(), &config)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_pinned_plan(&path, &v);
        if path
            .file_stem()
            .is_some_and(|s| s.to_string_lossy().starts_with("pinned-"))
        {
            // Dedicated hosts: the status endpoint on, on loopback.
            let http = config.http.as_ref().expect("pinned examples turn http on");
            assert_eq!(http.address, "127.0.0.1:4352", "{}", path.display());
        }
        seen += 1;
    }
    assert!(
        seen >= 7,
        "found only {seen} example configs in {}",
        dir.display()
    );
}

/// A `pinned-<N>core.json` example pins its threads to cores 0..N: on a host with fewer
/// cores, validation passes with a warning naming the cores this host lacks (start would
/// refuse them); on a big enough host, without one.
fn check_pinned_plan(path: &Path, v: &engine::Validated) {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let Some(n) = stem
        .strip_prefix("pinned-")
        .and_then(|s| s.strip_suffix("core"))
    else {
        return;
    };
    let n: usize = n.parse().expect("pinned-<N>core.json");
    let pinned: Vec<usize> = v
        .plan
        .threads
        .iter()
        .flat_map(|t| t.cores.clone())
        .collect();
    assert!(!pinned.is_empty(), "{stem}: every thread is pinned");
    assert!(
        pinned.iter().all(|&c| c < n),
        "{stem}: cores {pinned:?} fit in {n}"
    );
    assert!(
        pinned.len() >= n * 3 / 4,
        "{stem}: uses most of its {n} cores: {pinned:?}"
    );
    let have = engine::available_cores();
    let lacking = pinned.iter().any(|c| !have.contains(c));
    let warned = v
        .warnings
        .iter()
        .any(|w| w.contains("cores this host lacks"));
    assert_eq!(
        warned, lacking,
        "{stem} on cores {have:?}: {:?}",
        v.warnings
    );
}

#[test]
fn the_embedded_default_is_config_default_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let file = std::fs::read_to_string(dir.join("default.json")).unwrap();
    let norm = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(norm(&file), norm(engine::config::DEFAULT_CONFIG));
}
