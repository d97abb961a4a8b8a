//! Tests of the whole loader: the design's example, every validation, and the exact line,
//! column and key path of errors.

use std::path::Path;

use serde::Deserialize;

use super::{Config, ConfigError, Kind, OnFull, Position, Retries, WaitKind, DEFAULT_CONFIG};

/// DESIGN.md section 5's example, verbatim.
const DESIGN_EXAMPLE: &str = r#"{
  "engine":   {"pool_size": 8192, "max_message_size": 65507, "wait": "spin",
               "threads": [{"cores": [0], "stages": ["udp"]},
                           {"cores": [1], "stages": ["decode", "route", "textlog", "CounterOutput"]}]},
  "inputs":   [{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:5565"},
               {"name": "statsd", "type": "StatsdUdpInput", "address": "127.0.0.1:8125",
                "flush_interval_secs": 10, "percent_threshold": 90}],
  "decoders": [{"name": "json", "type": "JsonDecoder", "default": true}, {"type": "MsgPackDecoder"}],
  "filters":  [{"name": "counts", "type": "CountFilter", "ticker_interval_secs": 5}],
  "outputs":  [{"name": "textlog", "type": "FileOutput", "path": "heka.log", "format": "text", "prefix_ts": true},
               {"name": "jsonlog", "type": "FileOutput", "path": "heka.json", "format": "json", "perm": "0640"},
               {"type": "CounterOutput"}, {"type": "LogOutput"}],
  "chains":   {"default": {"filters": ["counts"], "outputs": ["textlog", "CounterOutput"]},
               "metrics": {"message_type": ["counter", "timer"], "outputs": ["jsonlog"]},
               "stats":   {"message_type": ["statmetric"], "outputs": ["LogOutput"]}}
}"#;

/// A stand-in for FileOutput's config, strict like every plugin config.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    path: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    prefix_ts: bool,
    #[serde(default)]
    perm: Option<String>,
    #[serde(default)]
    flush_interval_ms: u64,
}

fn parse(text: &str) -> Config {
    Config::parse(text, "test.json").unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> ConfigError {
    Config::parse(text, "test.json").expect_err("the config should be refused")
}

/// (line, column, path) of an error.
fn place(e: &ConfigError) -> (usize, usize, &str) {
    (e.line().unwrap(), e.column().unwrap(), e.path())
}

#[test]
fn the_design_example_parses() {
    let c = parse(DESIGN_EXAMPLE);
    assert_eq!(c.engine.wait, WaitKind::Spin);
    let threads = c.engine.threads.as_ref().unwrap();
    assert_eq!(threads[1].cores, [1]);
    assert_eq!(
        threads[1].stages,
        ["decode", "route", "textlog", "CounterOutput"]
    );
    let names = |list: &[super::Section]| -> Vec<(String, String)> {
        list.iter()
            .map(|s| (s.name.clone(), s.type_name.clone()))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        names(&c.inputs),
        pairs(&[("udp", "UdpInput"), ("statsd", "StatsdUdpInput")])
    );
    assert_eq!(
        names(&c.decoders),
        pairs(&[
            ("json", "JsonDecoder"),
            ("MsgPackDecoder", "MsgPackDecoder")
        ])
    );
    assert_eq!(names(&c.filters), pairs(&[("counts", "CountFilter")]));
    assert_eq!(
        names(&c.outputs),
        pairs(&[
            ("textlog", "FileOutput"),
            ("jsonlog", "FileOutput"),
            ("CounterOutput", "CounterOutput"),
            ("LogOutput", "LogOutput"),
        ])
    );
    assert!(c.decoders[0].common.default && !c.decoders[1].common.default);
    assert_eq!(c.filters[0].common.ticker_interval_secs, Some(5));
    let chains: Vec<&str> = c.chains.iter().map(|ch| ch.name.as_str()).collect();
    assert_eq!(chains, ["default", "metrics", "stats"]);
    assert_eq!(c.chains[0].filters, ["counts"]);
    assert_eq!(c.chains[0].outputs, ["textlog", "CounterOutput"]);
    assert!(c.chains[0].message_types.is_empty());
    assert_eq!(c.chains[1].message_types, ["counter", "timer"]);
    assert_eq!(c.chains[2].outputs, ["LogOutput"]);
    assert!(c.warnings.is_empty());
    assert_eq!(c.http, None);

    // Where things are, and their raw text.
    assert_eq!(
        c.inputs[1].position,
        Position {
            line: 6,
            column: 16
        }
    );
    assert_eq!((c.inputs[1].index, c.inputs[1].kind), (1, Kind::Input));
    assert_eq!(c.outputs[3].raw(), r#"{"type": "LogOutput"}"#);
    assert_eq!(
        c.chains[1].position,
        Position {
            line: 14,
            column: 27
        }
    );
    assert_eq!(c.outputs[1].path(), "outputs[1]");

    // The plugin sections parse into their own structs without the common keys.
    let file: FileConfig = c.outputs[1].parse().unwrap();
    assert_eq!(file.perm.as_deref(), Some("0640"));
    assert_eq!(file.format, "json");
}

#[test]
fn the_default_config_parses() {
    let c = Config::parse(DEFAULT_CONFIG, Path::new("(embedded default)")).unwrap();
    assert_eq!(
        (c.inputs[0].name.as_str(), c.inputs[0].type_name.as_str()),
        ("udp", "UdpInput")
    );
    assert_eq!(c.decoders[0].name, "JsonDecoder");
    assert!(c.decoders[0].common.default);
    assert_eq!(c.outputs[0].name, "file");
    assert_eq!(c.outputs[1].name, "CounterOutput");
    assert_eq!(c.chains[0].name, "default");
    assert_eq!(c.chains[0].outputs, ["file", "CounterOutput"]);
    let file: FileConfig = c.outputs[0].parse().unwrap();
    assert_eq!(
        (file.path.as_str(), file.format.as_str()),
        ("hekad.log", "text")
    );
    assert_eq!(c.dir(), Path::new("."));
    assert_eq!(c.engine, super::EngineConfig::default());
}

#[test]
fn an_empty_config_is_all_defaults() {
    let c = parse("{}");
    assert!(c.inputs.is_empty() && c.chains.is_empty());
    assert_eq!(c.engine.pool_size, 1024);
}

#[test]
fn unknown_top_level_key() {
    let e = error("{\n  \"engine\": {},\n  \"input\": []\n}");
    assert_eq!(place(&e), (3, 3, "input"));
    assert_eq!(
        e.to_string(),
        "test.json:3:3: input: unknown key (expected one of engine, inputs, decoders, \
         filters, outputs, chains, http)"
    );
}

#[test]
fn repeated_top_level_key() {
    let e = error("{\"inputs\": [],\n \"inputs\": []}");
    assert_eq!(place(&e), (2, 2, "inputs"));
    assert_eq!(e.message(), "repeated key");
}

#[test]
fn wrong_type_in_the_engine_section() {
    let text = "{\n  \"engine\": {\n    \"wait\": \"park\",\n    \"pool_size\": \"big\"\n  }\n}";
    let e = error(text);
    // serde_json points at the last character of the bad value.
    assert_eq!(place(&e), (4, 22, "engine.pool_size"));
    assert_eq!(
        e.to_string(),
        "test.json:4:22: engine.pool_size: invalid type: string \"big\", expected usize"
    );
}

#[test]
fn unknown_key_and_bad_enum_in_the_engine_section() {
    let e = error("{\"engine\": {\"pool_sise\": 8}}");
    assert_eq!(place(&e), (1, 23, "engine.pool_sise"));
    assert!(
        e.message()
            .starts_with("unknown field `pool_sise`, expected one of"),
        "{e}"
    );
    let e = error("{\"engine\": {\"wait\": \"nap\"}}");
    assert_eq!(place(&e), (1, 25, "engine.wait"));
    assert!(e.message().starts_with("unknown variant `nap`"), "{e}");
    let e = error("{\"engine\": {\"threads\": [{\"stages\": [\"a\", 7]}]}}");
    assert_eq!(place(&e), (1, 42, "engine.threads[0].stages[1]"));
}

#[test]
fn bad_engine_values_and_the_pool_size_note() {
    let e = error("{\n \"engine\": {\"budget\": 1,\n  \"pool_size\": 0}}");
    assert_eq!(place(&e), (3, 16, "engine.pool_size"));
    assert_eq!(e.message(), "must be at least 1");
    let e = error("{\"engine\": {\"max_message_size\": 0}}");
    assert_eq!(e.path(), "engine.max_message_size");
    let e = error("{\"engine\": {\"batch\": 0}}");
    assert_eq!(e.path(), "engine.batch");

    let c = parse("{\"engine\": {\"poolsize\": 1000}}");
    assert_eq!(c.engine.pool_size, 1000);
    assert_eq!(c.engine.effective_pool_size(), 1024);
    assert_eq!(
        c.warnings,
        ["engine.pool_size 1000 is not a power of two: using 1024"]
    );
}

const OUTPUTS: &str = r#"{
  "outputs": [
    {"name": "textlog", "type": "FileOutput", "path": "a.log"},
    {
      "name": "jsonlog",
      "type": "FileOutput",
      "path": "a.json",
      "prem": "0640"
    },
    {"name": "slow", "type": "FileOutput", "path": "b.log",
     "on_full": "drop", "flush_interval_ms": "1s"},
    {"name": "short", "type": "FileOutput"}
  ]
}"#;

#[test]
fn unknown_plugin_key() {
    let c = parse(OUTPUTS);
    let e = c.outputs[1].parse::<FileConfig>().unwrap_err();
    // At the key's closing quote, as serde_json reports it for a whole file.
    assert_eq!(place(&e), (8, 12, "outputs[1].prem"));
    assert!(
        e.to_string()
            .starts_with("test.json:8:12: outputs[1].prem: unknown field `prem`"),
        "{e}"
    );
}

#[test]
fn wrong_type_for_a_plugin_key() {
    let c = parse(OUTPUTS);
    assert_eq!(c.outputs[2].common.on_full, OnFull::Drop);
    let e = c.outputs[2].parse::<FileConfig>().unwrap_err();
    assert_eq!(place(&e), (11, 49, "outputs[2].flush_interval_ms"));
    assert_eq!(e.message(), "invalid type: string \"1s\", expected u64");
}

/// OUTPUTS as one typed document, read by serde_json alone.
#[derive(Debug, Deserialize)]
struct WholeOutputs {
    #[allow(dead_code)]
    outputs: Vec<WholeFile>,
}

/// FileConfig plus the common keys OUTPUTS uses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct WholeFile {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    on_full: OnFull,
    path: String,
    #[serde(default)]
    flush_interval_ms: u64,
}

#[test]
fn section_positions_agree_with_serde_json_on_the_whole_file() {
    let c = parse(OUTPUTS);
    let whole = serde_json::from_str::<WholeOutputs>(OUTPUTS).unwrap_err();
    let e = c.outputs[1].parse::<FileConfig>().unwrap_err();
    assert_eq!(
        (e.line(), e.column()),
        (Some(whole.line()), Some(whole.column()))
    );
    let text = OUTPUTS.replace("\"prem\": \"0640\"", "\"flush_interval_ms\": -1");
    let whole = serde_json::from_str::<WholeOutputs>(&text).unwrap_err();
    let e = parse(&text).outputs[1].parse::<FileConfig>().unwrap_err();
    assert_eq!(
        (e.line(), e.column()),
        (Some(whole.line()), Some(whole.column()))
    );
    assert_eq!(e.path(), "outputs[1].flush_interval_ms");
}

#[test]
fn missing_plugin_key() {
    let c = parse(OUTPUTS);
    let e = c.outputs[3].parse::<FileConfig>().unwrap_err();
    assert_eq!(place(&e), (12, 43, "outputs[3]"));
    assert_eq!(e.message(), "missing field `path`");
}

#[test]
fn common_keys_are_skipped_and_kept() {
    let text = r#"{"filters": [{"name": "f", "type": "CountFilter", "message_matcher": "TRUE",
        "on_full": "block", "retries": {"max_retries": 3}, "ticker_interval": 5,
        "path": "x"}],
      "inputs": [{"type": "UdpInput", "sockets": 4, "path": "y"}],
      "decoders": [{"type": "JsonDecoder", "default": true, "path": "z"}]}"#;
    let c = parse(text);
    let f = &c.filters[0];
    assert_eq!(f.common.message_matcher.as_deref(), Some("TRUE"));
    assert_eq!(f.common.ticker_interval_secs, Some(5));
    assert_eq!(
        f.common.retries,
        Some(Retries {
            max_retries: Some(3),
            ..Retries::default()
        })
    );
    assert_eq!(f.parse::<FileConfig>().unwrap().path, "x");
    assert_eq!(c.inputs[0].common.sockets, Some(4));
    assert_eq!(c.inputs[0].parse::<FileConfig>().unwrap().path, "y");
    assert_eq!(c.decoders[0].parse::<FileConfig>().unwrap().path, "z");
}

#[test]
fn bad_common_keys() {
    let e = error("{\"outputs\": [{\"type\": \"X\",\n \"on_full\": \"wait\"}]}");
    assert_eq!(place(&e), (2, 18, "outputs[0].on_full"));
    let e = error("{\"outputs\": [{\"type\": \"X\", \"default\": true}]}");
    assert_eq!(place(&e), (1, 39, "outputs[0].default"));
    assert_eq!(e.message(), "only a decoder can be the default");
    let e = error("{\"inputs\": [{\"type\": \"X\", \"sockets\": 0}]}");
    assert_eq!(place(&e), (1, 38, "inputs[0].sockets"));
    // Found while writing the loader's fuzz target: a huge count made validation build a
    // stage name per socket (billions of them) before anything refused it.
    let e = error("{\"inputs\": [{\"type\": \"X\", \"sockets\": 1000000000000}]}");
    assert_eq!(place(&e), (1, 38, "inputs[0].sockets"));
    assert_eq!(e.message(), "must be at most 1024");
    let e = error("{\"inputs\": [{\"type\": \"X\", \"message_matcher\": \"TRUE\"}]}");
    assert_eq!(e.path(), "inputs[0].message_matcher");
    let e = error("{\"inputs\": [{\"name\": \"x\"}]}");
    assert_eq!(place(&e), (1, 25, "inputs[0]"));
    assert_eq!(e.message(), "missing field `type`");
    let e = error("{\"inputs\": [{\"type\": \"X\"}, 3]}");
    assert_eq!(e.path(), "inputs[1]");
    assert_eq!(
        e.message(),
        "invalid type: integer `3`, expected a plugin section (an object with a \"type\")"
    );
    let e = error("{\"inputs\": {}}");
    assert_eq!(place(&e), (1, 12, "inputs"));
}

#[test]
fn name_defaults_to_type() {
    let c = parse(
        r#"{"outputs": [{"type": "CounterOutput"}, {"name": "c2", "type": "CounterOutput"}]}"#,
    );
    assert_eq!(c.outputs[0].name, "CounterOutput");
    assert!(!c.outputs[0].has_key("name") && c.outputs[1].has_key("name"));
    assert_eq!(c.outputs[1].name, "c2");
    assert_eq!(c.section("c2").map(|s| s.index), Some(1));
}

#[test]
fn duplicate_names() {
    let text = "{\"inputs\": [{\"name\": \"a\", \"type\": \"UdpInput\"}],\n \
                \"outputs\": [{\"name\": \"a\", \"type\": \"LogOutput\"}]}";
    let e = error(text);
    assert_eq!(place(&e), (2, 23, "outputs[0].name"));
    assert_eq!(
        e.message(),
        "plugin name \"a\" is already used by inputs[0] (line 1)"
    );

    let e = error("{\"outputs\": [{\"type\": \"LogOutput\"},\n {\"type\": \"LogOutput\"}]}");
    assert_eq!(place(&e), (2, 11, "outputs[1].type"));
    assert!(e.message().ends_with("give one of them a \"name\""), "{e}");

    let e = error("{\"outputs\": [{\"name\": \"route\", \"type\": \"LogOutput\"}]}");
    assert_eq!(e.path(), "outputs[0].name");
}

#[test]
fn two_default_decoders() {
    let text = "{\"decoders\": [{\"name\": \"a\", \"type\": \"JsonDecoder\", \"default\": true},\n\
                {\"name\": \"b\", \"type\": \"JsonDecoder\", \"default\": true}]}";
    let e = error(text);
    assert_eq!(place(&e), (2, 49, "decoders[1].default"));
    assert_eq!(
        e.message(),
        "a second default decoder (decoders[0] \"a\" is the default already)"
    );
}

#[test]
fn too_many_outputs() {
    let outputs: Vec<String> = (0..65)
        .map(|i| format!("{{\"name\": \"o{i}\", \"type\": \"LogOutput\"}}"))
        .collect();
    let e = error(&format!("{{\"outputs\": [\n{}]}}", outputs.join(",\n")));
    assert_eq!(place(&e), (66, 1, "outputs[64]"));
    let c = parse(&format!("{{\"outputs\": [{}]}}", outputs[..64].join(",")));
    assert_eq!(c.outputs.len(), 64);
}

const CHAINS: &str = r#"{
  "filters": [{"name": "counts", "type": "CountFilter"}],
  "outputs": [{"name": "file", "type": "FileOutput"}, {"type": "LogOutput"}],
  "chains": {
    "default": {"filters": ["counts"],
                "outputs": ["file", "x"]}
  }
}"#;

#[test]
fn undefined_chain_output_and_filter() {
    let e = error(CHAINS);
    assert_eq!(place(&e), (6, 37, "chains.default.outputs[1]"));
    assert_eq!(
        e.to_string(),
        "test.json:6:37: chains.default.outputs[1]: no output named \"x\""
    );

    let e = error(&CHAINS.replace("[\"file\", \"x\"]", "[\"counts\"]"));
    assert_eq!(place(&e), (6, 29, "chains.default.outputs[0]"));
    assert_eq!(
        e.message(),
        "no output named \"counts\" (filters[0] is a filter)"
    );

    let e = error(&CHAINS.replace("[\"counts\"]", "[\"LogOutput\"]"));
    assert_eq!(place(&e), (5, 29, "chains.default.filters[0]"));
    assert_eq!(
        e.message(),
        "no filter named \"LogOutput\" (outputs[1] is an output)"
    );
}

#[test]
fn message_type_as_a_string_or_a_list() {
    let c = parse(
        r#"{"outputs": [{"type": "LogOutput"}],
            "chains": {"a": {"message_type": "t1", "outputs": ["LogOutput"]},
                       "b": {"message_type": ["t2", "t3"]},
                       "c": {"message_type": []}}}"#,
    );
    assert_eq!(c.chains[0].message_types, ["t1"]);
    assert_eq!(c.chains[1].message_types, ["t2", "t3"]);
    assert!(c.chains[2].message_types.is_empty());
    let e = error(r#"{"chains": {"a": {"message_type": 3}}}"#);
    assert_eq!(place(&e), (1, 35, "chains.a.message_type"));
    assert_eq!(
        e.message(),
        "invalid type: integer `3`, expected a message type or a list of them"
    );
    let e = error(r#"{"chains": {"a": {"message_types": []}}}"#);
    assert_eq!(e.path(), "chains.a.message_types");
}

#[test]
fn a_message_type_in_two_chains() {
    let text = "{\"chains\": {\"a\": {\"message_type\": [\"x\", \"y\"]},\n\
                \"b\": {\"message_type\": [\"z\", \"y\"]}}}";
    let e = error(text);
    assert_eq!(place(&e), (2, 29, "chains.b.message_type[1]"));
    assert_eq!(
        e.message(),
        "message type \"y\" is taken by chain \"a\" already"
    );

    let e = error(
        "{\"chains\": {\"a\": {\"message_type\": \"x\"},\n \"b\": {\"message_type\": \"x\"}}}",
    );
    assert_eq!(place(&e), (2, 24, "chains.b.message_type"));

    let e = error(r#"{"chains": {"a": {"message_type": ["x", "x"]}}}"#);
    assert_eq!(e.message(), "message type \"x\" is listed twice");
}

#[test]
fn a_chain_defined_twice() {
    let e = error("{\"chains\": {\"a\": {},\n  \"a\": {}}}");
    assert_eq!(place(&e), (2, 3, "chains.a"));
}

#[test]
fn json_syntax_errors_have_absolute_positions() {
    let e = error("{\n  \"inputs\": [\n    {\"type\": \"X\",}\n  ]\n}");
    assert_eq!(place(&e), (3, 18, "inputs"));
    // serde_json's wording when it skims a value rather than deserializing it.
    assert_eq!(
        e.to_string(),
        "test.json:3:18: inputs: key must be a string"
    );
    let e = error("{} x");
    assert_eq!(place(&e), (1, 4, ""));
    assert_eq!(e.message(), "trailing characters");
    let e = error("[]");
    assert_eq!(
        e.message(),
        "invalid type: sequence, expected a JSON object"
    );
}

#[test]
fn other_modules_report_in_the_same_format() {
    let c = parse(DESIGN_EXAMPLE);
    let e = c.inputs[1].error("type", "unknown input type \"StatsdUdpInput\"");
    assert_eq!(place(&e), (6, 43, "inputs[1].type"));
    let e = c.error_at_path("engine.threads", "stage \"udp\" twice");
    assert_eq!(place(&e), (3, 27, "engine.threads"));
    assert_eq!(
        e.to_string(),
        "test.json:3:27: engine.threads: stage \"udp\" twice"
    );
    let e = c.error_at_path("engine.nothing", "m");
    assert_eq!(place(&e), (2, 15, "engine.nothing"));
    let e = c.error_at(c.decoders[0].position, "decoders", "several decoders");
    assert_eq!(place(&e), (8, 16, "decoders"));
    let e = ConfigError::at(&c.source, Position::START, "", "m");
    assert_eq!(e.to_string(), "test.json:1:1: m");
}

#[test]
fn http_section() {
    let c = parse(r#"{"http": {"address": "127.0.0.1:4352"}}"#);
    assert_eq!(c.http.unwrap().address, "127.0.0.1:4352");
    let e = error(r#"{"http": {"adress": "x"}}"#);
    assert_eq!(e.path(), "http.adress");
    assert_eq!(
        parse(r#"{"http": {}}"#).http.unwrap().address,
        "127.0.0.1:4352"
    );
    let e = error("{\"http\": {\"address\": \":4352\"}}");
    assert_eq!(e.path(), "http.address");
    assert!(
        e.to_string().contains("\":4352\" is not a host:port"),
        "{e}"
    );
}

#[test]
fn load_names_the_file_and_resolves_against_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hekad.json");
    std::fs::write(&path, DEFAULT_CONFIG).unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.dir(), dir.path());
    assert_eq!(c.source.path, path);

    let missing = dir.path().join("nope.json");
    let e = Config::load(&missing).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("{}: ", missing.display())),
        "{e}"
    );
    assert_eq!(e.line(), None);

    std::fs::write(&path, "{\"inputs\": 1}").unwrap();
    let e = Config::load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:1:12: inputs: ", path.display())),
        "{e}"
    );
}

#[test]
fn kinds_name_their_lists() {
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.list_name()).collect();
    assert_eq!(names, ["inputs", "decoders", "filters", "outputs"]);
    assert_eq!(Kind::Decoder.to_string(), "decoder");
}
