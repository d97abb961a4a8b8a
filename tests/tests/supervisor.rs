//! The supervisor's reload, in process: plugin globals of unchanged sections get `Reload`
//! (and live on), removed ones `Stop`; a config that fails to build leaves the running
//! pipeline and its sockets as they were; counters carry over.

use std::sync::Mutex;

use engine::config::Config;
use engine::{
    BuildContext, BuildError, Event, Global, Output, PipelinePack, PluginConfig, Supervisor,
    WriteError,
};
use serde::{Deserialize, Serialize};
use tests::{json_datagram, send_paced, wait_for};

/// (section, event) in the order the globals got them.
static EVENTS: Mutex<Vec<(String, Event)>> = Mutex::new(Vec::new());

struct Recorder(String);

impl Global for Recorder {
    fn event(&self, event: Event) {
        EVENTS.lock().unwrap().push((self.0.clone(), event));
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct EventConfig {}

struct Counting;

impl PluginConfig for EventConfig {
    type Plugin = Counting;
    fn build(&self, ctx: &BuildContext) -> Result<Counting, BuildError> {
        let name = ctx.name().to_string();
        ctx.global(|| Ok(Recorder(name)))?;
        Ok(Counting)
    }
}

impl Output for Counting {
    fn deliver(&mut self, _pack: &PipelinePack) -> Result<(), WriteError> {
        Ok(())
    }
}

fn config(outputs: &[&str], extra_input: bool) -> Config {
    let outs: Vec<String> = outputs
        .iter()
        .map(|o| format!(r#"{{"name": "{o}", "type": "EventOutput"}}"#))
        .collect();
    let names: Vec<String> = outputs.iter().map(|o| format!("\"{o}\"")).collect();
    let extra = if extra_input {
        // Port 1 on a non-local address: the build fails (after the udp input bound).
        r#", {"name": "bad", "type": "UdpInput", "address": "192.0.2.1:1"}"#
    } else {
        ""
    };
    let text = format!(
        r#"{{
      "inputs":   [{{"name": "udp", "type": "UdpInput", "address": "127.0.0.1:0"}}{extra}],
      "decoders": [{{"type": "JsonDecoder", "default": true}}],
      "outputs":  [{}],
      "chains":   {{"default": {{"outputs": [{}]}}}}
    }}"#,
        outs.join(", "),
        names.join(", ")
    );
    Config::parse(&text, "test.json").expect("config")
}

fn events_of(name: &str) -> Vec<Event> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, e)| *e)
        .collect()
}

#[test]
fn reload_keeps_unchanged_globals_stops_removed_ones_and_survives_a_bad_config() {
    let mut r = tests::registry();
    r.output::<EventConfig>("EventOutput");
    let mut s = Supervisor::start(&r, config(&["keep", "gone"], false)).expect("start");
    let addr = s.listeners()[0].address;
    let accepted = s.counters().get("udp", "accepted");
    send_paced(addr, 1_000, 20_000, json_datagram);
    assert_eq!(
        wait_for(&accepted, 1_000, std::time::Duration::from_secs(20)),
        1_000
    );

    // A build failure: nothing changes, the port stays ours.
    let err = s.reload(&r, config(&["keep"], true)).unwrap_err();
    assert!(format!("{err:#}").contains("bad"), "{err:#}");
    assert_eq!(s.listeners()[0].address, addr);
    assert!(events_of("keep").is_empty() && events_of("gone").is_empty());

    let done = s
        .reload(&r, config(&["keep", "new"], false))
        .expect("reload");
    assert!(done.drained);
    assert!(done.kept.contains(&"keep".to_string()), "{:?}", done.kept);
    assert_eq!(s.listeners()[0].address, addr, "the same socket");
    assert_eq!(events_of("keep"), [Event::Reload]);
    assert_eq!(events_of("gone"), [Event::Stop]);
    send_paced(addr, 1_000, 20_000, |i, b| json_datagram(1_000 + i, b));
    assert_eq!(
        wait_for(&accepted, 2_000, std::time::Duration::from_secs(20)),
        2_000
    );
    s.stop();
    let report = s.wait();
    assert!(report.balances(), "{report}");
    assert_eq!(report.accepted(), 2_000, "counters carry over: {report}");
    assert_eq!(report.delivered("keep"), 2_000, "{report}");
    assert_eq!(report.delivered("gone"), 1_000, "{report}");
    assert_eq!(report.delivered("new"), 1_000, "{report}");
    assert_eq!(events_of("keep"), [Event::Reload, Event::Stop]);
    assert_eq!(events_of("new"), [Event::Stop]);
}
