//! `/metrics`: a [`Snapshot`] in the Prometheus text exposition format (version 0.0.4).
//!
//! Every engine counter `<name>` of every stage or plugin `<owner>` becomes a sample of the
//! counter family `hekad_<name>_total{owner="<owner>"}`; the ring, the stages' sequences and
//! lags, uptime and resident memory are gauges.

use std::fmt::Write as _;

use engine::Snapshot;

/// What each engine counter counts (`# HELP` text); unknown names get a generic line.
const HELP: &[(&str, &str)] = &[
    ("accepted", "Messages an input accepted into the ring."),
    ("read_errors", "Socket read errors of an input."),
    (
        "truncated",
        "Datagrams or frames larger than max_message_size, dropped.",
    ),
    (
        "kernel_drops",
        "Datagrams the kernel dropped on a full socket buffer (SO_MEMINFO).",
    ),
    ("decoded", "Messages decoded."),
    ("decode_errors", "Messages a decoder rejected, dropped."),
    (
        "timestamp_defaulted",
        "Messages whose missing or bad timestamp became the receive time.",
    ),
    (
        "routed",
        "Messages routed: by route, to at least one output; by an output, to it.",
    ),
    ("blocked", "Messages a filter blocked."),
    ("unrouted", "Messages no chain sent anywhere."),
    (
        "loops_dropped",
        "Injected messages past max_message_loops, dropped.",
    ),
    ("injected", "Messages filters and runners injected."),
    (
        "inject_refused",
        "Injections refused: every generator holder was in use.",
    ),
    ("delivered", "Messages an output committed."),
    ("write_errors", "Messages an output failed to write."),
    ("dropped", "Messages an on_full: drop output dropped."),
    ("connections", "Connections a TCP input accepted."),
    (
        "refused",
        "Connections or statsd lines refused over a limit.",
    ),
    ("framing_errors", "Stream framing errors of a TCP input."),
    ("idle_closed", "Connections a TCP input closed as idle."),
    ("oversized", "Frames over max_message_size, skipped."),
    ("datagrams", "Datagrams a statsd input read."),
    ("lines", "Lines a statsd input read."),
    ("ok", "Statsd lines parsed."),
    ("malformed", "Statsd lines that did not parse."),
    (
        "untracked",
        "Sources past a heartbeat filter's max_sources.",
    ),
    ("bad_signature", "Signed messages whose HMAC did not match."),
    (
        "unknown_signer",
        "Signed messages from a signer the decoder does not know.",
    ),
    (
        "unsigned",
        "Messages without a signature where one was expected.",
    ),
];

/// A metric name: `[a-zA-Z0-9_]`, anything else becomes `_`.
fn metric_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A label value with `\`, `"` and newlines escaped.
fn label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    writeln!(out, "# HELP {name} {help}").unwrap_or(());
    writeln!(out, "# TYPE {name} {kind}").unwrap_or(());
}

/// Renders `s` in the Prometheus text format.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::with_capacity(4096);
    let mut names: Vec<&str> = Vec::new();
    for (_, n, _) in &s.report.counters {
        if !names.contains(n) {
            names.push(n);
        }
    }
    for n in names {
        let metric = format!("hekad_{}_total", metric_name(n));
        let help = HELP
            .iter()
            .find(|(k, _)| *k == n)
            .map_or("An engine counter of each stage or plugin.", |(_, h)| h);
        family(&mut out, &metric, "counter", help);
        for (o, _, v) in s.report.counters.iter().filter(|(_, x, _)| x == &n) {
            writeln!(out, "{metric}{{owner=\"{}\"}} {v}", label_value(o)).unwrap_or(());
        }
    }
    let gauges: [(&str, &str, f64); 4] = [
        (
            "hekad_ring_slots",
            "Slots in the ring (engine.pool_size).",
            s.ring.size as f64,
        ),
        (
            "hekad_ring_occupancy",
            "Published messages the slowest output has not released yet (slots in use).",
            s.ring.occupancy as f64,
        ),
        (
            "hekad_ring_published",
            "The ring's highest published sequence (-1: none yet).",
            s.ring.published as f64,
        ),
        (
            "hekad_uptime_seconds",
            "Seconds since the pipeline started.",
            s.uptime.as_secs_f64(),
        ),
    ];
    for (name, help, v) in gauges {
        family(&mut out, name, "gauge", help);
        writeln!(out, "{name} {v}").unwrap_or(());
    }
    family(
        &mut out,
        "hekad_stopping",
        "gauge",
        "1 while the pipeline drains after a stop signal, else 0.",
    );
    writeln!(out, "hekad_stopping {}", u8::from(s.stopping)).unwrap_or(());
    let consumers = || {
        s.stages
            .iter()
            .filter_map(|g| Some((g, g.sequence?, g.lag?)))
    };
    family(
        &mut out,
        "hekad_stage_sequence",
        "gauge",
        "The last ring sequence each consumer stage finished.",
    );
    for (g, seq, _) in consumers() {
        writeln!(
            out,
            "hekad_stage_sequence{{stage=\"{}\"}} {seq}",
            label_value(&g.name)
        )
        .unwrap_or(());
    }
    family(
        &mut out,
        "hekad_stage_lag",
        "gauge",
        "Published messages each consumer stage has not finished yet.",
    );
    for (g, _, lag) in consumers() {
        writeln!(
            out,
            "hekad_stage_lag{{stage=\"{}\"}} {lag}",
            label_value(&g.name)
        )
        .unwrap_or(());
    }
    if let Some(rss) = s.rss_bytes {
        family(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the hekad process in bytes.",
        );
        writeln!(out, "process_resident_memory_bytes {rss}").unwrap_or(());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_are_escaped() {
        assert_eq!(metric_name("a.b-c_1"), "a_b_c_1");
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
