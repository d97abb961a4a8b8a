//! `/status.json`: a [`Snapshot`] as JSON, what the dashboard polls.
//!
//! ```json
//! {"version": "0.1.0", "uptime_secs": 12.5, "stopping": false, "rss_bytes": 31457280,
//!  "balance": true, "in_flight": 0, "uncommitted": {"file": 0},
//!  "ring": {"size": 1024, "published": 99999, "occupancy": 3},
//!  "stages": [{"name": "udp", "rank": "input", "throughput": "accepted", "count": 100000,
//!              "sequence": null, "lag": null},
//!             {"name": "decode", "rank": "decode", "throughput": "decoded", "count": 100000,
//!              "sequence": 99999, "lag": 0}, ...],
//!  "counters": {"udp": {"accepted": 100000, "kernel_drops": 0, ...}, ...},
//!  "drops": 0, "errors": 0}
//! ```
//!
//! Counters are read one after another while stages run, so `balance` (the accounting
//! identities hold exactly) is true only at rest; while running, `in_flight` (accepted but
//! not yet through route) and `uncommitted` (per output) are what they leave over, never
//! negative (see `engine::Report`). Rates are count differences over `uptime_secs`.

use engine::{is_drop, is_error, throughput_counter, Rank, Snapshot};
use serde_json::{json, Map, Value};

/// The lower-case name of a stage rank.
pub fn rank_name(rank: Rank) -> &'static str {
    match rank {
        Rank::Input => "input",
        Rank::Decode => "decode",
        Rank::Generator => "generator",
        Rank::Route => "route",
        Rank::Output => "output",
    }
}

/// Renders `s` as the status JSON document.
pub fn render(s: &Snapshot) -> Value {
    let stages: Vec<Value> = s
        .stages
        .iter()
        .map(|g| {
            let throughput = throughput_counter(g.rank);
            json!({
                "name": g.name,
                "rank": rank_name(g.rank),
                "throughput": throughput,
                "count": s.report.value(&g.name, throughput),
                "sequence": g.sequence,
                "lag": g.lag,
            })
        })
        .collect();
    let mut counters = Map::new();
    for (o, n, v) in &s.report.counters {
        let owner = counters
            .entry(o.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = owner {
            m.insert((*n).to_string(), json!(v));
        }
    }
    let sum = |pick: fn(&str) -> bool| -> u64 {
        s.report
            .counters
            .iter()
            .filter(|(_, n, _)| pick(n))
            .map(|(_, _, v)| v)
            .sum()
    };
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": s.uptime.as_secs_f64(),
        "stopping": s.stopping,
        "rss_bytes": s.rss_bytes,
        "balance": s.report.balances(),
        "in_flight": s.report.in_flight(),
        "uncommitted": s.report.outputs().iter()
            .map(|o| (o.clone(), json!(s.report.uncommitted(o))))
            .collect::<Map<String, Value>>(),
        "ring": {
            "size": s.ring.size,
            "published": s.ring.published,
            "occupancy": s.ring.occupancy,
        },
        "stages": stages,
        "counters": counters,
        "drops": sum(is_drop),
        "errors": sum(is_error),
    })
}
