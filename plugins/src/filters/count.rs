//! CountFilter: counts the messages it sees per message type and, each tick, injects one
//! `heka.counts` message with the counts since the previous tick.
//!
//! The message's payload is one `<type> <count>` line per type seen in the interval, sorted
//! by type; it carries one Integer field per type (name = the type), up to
//! [`engine::MAX_FIELDS`] fields (the payload always lists every type). Its logger is the
//! filter's name and its timestamp the tick's time.
//!
//! At most `max_types` distinct types are tracked; messages of further types are counted
//! under [`OVERFLOW_TYPE`]. A type with no message in an interval is forgotten (its slot is
//! free for another). Counting a known type is one hash lookup: no allocation.
//!
//! The ticker is the common key `ticker_interval_secs`, [`DEFAULT_TICKER_SECS`] when absent.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use engine::{BuildContext, BuildError, Filter, Generator, PipelinePack, PluginConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The type of the injected messages.
pub const COUNTS_TYPE: &str = "heka.counts";
/// The key under which types past `max_types` are counted.
pub const OVERFLOW_TYPE: &str = "_overflow";
/// Seconds between ticks when the config sets no `ticker_interval_secs`.
pub const DEFAULT_TICKER_SECS: u64 = 5;

const fn default_max_types() -> usize {
    10_000
}

/// Config of `CountFilter` (plus the common keys `message_matcher`, `ticker_interval_secs`,
/// default 5 s): each tick injects a `heka.counts` message, `<type> <count>` lines sorted
/// and one Integer field per type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountFilterConfig {
    /// Most distinct message types counted per interval; the rest are counted under
    /// `_overflow`. At least 1. Default 10,000.
    #[serde(default = "default_max_types")]
    pub max_types: usize,
}

impl Default for CountFilterConfig {
    fn default() -> Self {
        CountFilterConfig {
            max_types: default_max_types(),
        }
    }
}

/// The running CountFilter.
#[derive(Debug)]
pub struct Count {
    name: String,
    max_types: usize,
    counts: HashMap<Box<str>, u64>,
    overflow: u64,
    /// Reused at each tick: the (type, count) pairs to report, sorted.
    report: Vec<(Box<str>, u64)>,
}

impl PluginConfig for CountFilterConfig {
    type Plugin = Count;

    fn build(&self, ctx: &BuildContext) -> Result<Count, BuildError> {
        if self.max_types == 0 {
            return Err(BuildError::Invalid("max_types must be at least 1".into()));
        }
        Ok(Count {
            name: ctx.name().to_string(),
            max_types: self.max_types,
            counts: HashMap::default(),
            overflow: 0,
            report: Vec::new(),
        })
    }
}

impl Filter for Count {
    fn filter(&mut self, pack: &mut PipelinePack, _generator: &mut Generator) {
        let t = pack.message.msg_type.as_str();
        if let Some(c) = self.counts.get_mut(t) {
            *c += 1;
        } else if self.counts.len() < self.max_types {
            self.counts.insert(t.into(), 1);
        } else {
            self.overflow += 1;
        }
    }

    fn tick(&mut self, now_ns: i64, generator: &mut Generator) {
        if self.overflow == 0 && self.counts.values().all(|&c| c == 0) {
            self.counts.clear();
            return;
        }
        let Some(mut holder) = generator.retrieve() else {
            return; // no holder free (counted by the engine): report next tick instead
        };
        // Types idle for a whole interval are dropped; the rest are reported and zeroed.
        self.report.clear();
        self.counts.retain(|_, c| *c > 0);
        for (t, c) in &mut self.counts {
            self.report.push((t.clone(), std::mem::take(c)));
        }
        if self.overflow > 0 {
            self.report
                .push((OVERFLOW_TYPE.into(), std::mem::take(&mut self.overflow)));
        }
        self.report.sort_unstable();
        let m = &mut holder.message;
        m.msg_type.push_str(COUNTS_TYPE);
        m.logger.push_str(&self.name);
        m.timestamp = now_ns;
        m.severity = 6;
        for (t, c) in &self.report {
            writeln!(m.payload, "{t} {c}").unwrap_or(());
            if let Some(f) = m.add_field() {
                f.name.push_str(t);
                f.values.push_integer(i64::try_from(*c).unwrap_or(i64::MAX));
            }
        }
        generator.inject(holder);
    }

    fn default_ticker(&self) -> Option<Duration> {
        Some(Duration::from_secs(DEFAULT_TICKER_SECS))
    }
}

#[cfg(test)]
mod tests {
    use engine::Values;

    use super::*;

    fn count(max_types: usize) -> Count {
        CountFilterConfig { max_types }
            .build(&BuildContext::standalone("counts"))
            .unwrap()
    }

    fn feed(f: &mut Count, g: &mut Generator, types: &[&str]) {
        let mut pack = PipelinePack::new(16);
        for t in types {
            pack.message.msg_type.clear();
            pack.message.msg_type.push_str(t);
            f.filter(&mut pack, g);
        }
    }

    #[test]
    fn each_tick_injects_sorted_counts_with_one_field_per_type() {
        let mut f = count(100);
        let mut g = Generator::new(4);
        feed(&mut f, &mut g, &["b", "a", "b", "c", "b"]);
        f.tick(42, &mut g);
        let msgs: Vec<_> = g.pending_messages().collect();
        assert_eq!(msgs.len(), 1);
        let m = msgs[0];
        assert_eq!(m.msg_type, COUNTS_TYPE);
        assert_eq!(m.logger, "counts");
        assert_eq!(m.timestamp, 42);
        assert_eq!(m.payload, "a 1\nb 3\nc 1\n");
        assert_eq!(
            m.field("b").unwrap().values.get(),
            Values::Integer(&[3][..])
        );
        assert_eq!(m.fields.len(), 3);
        g.discard_pending();

        feed(&mut f, &mut g, &["c"]);
        f.tick(43, &mut g);
        assert_eq!(
            g.pending_messages().next().unwrap().payload,
            "c 1\n",
            "counts are per interval; idle types are not reported"
        );
        g.discard_pending();
        f.tick(44, &mut g);
        assert_eq!(
            g.pending_messages().count(),
            0,
            "nothing counted: no message"
        );
    }

    #[test]
    fn types_past_the_bound_count_as_overflow() {
        let mut f = count(2);
        let mut g = Generator::new(1);
        feed(&mut f, &mut g, &["a", "b", "c", "d", "a"]);
        assert_eq!(f.counts.len(), 2);
        f.tick(1, &mut g);
        let m = g.pending_messages().next().unwrap();
        assert_eq!(m.payload, "_overflow 2\na 2\nb 1\n");
    }

    #[test]
    fn a_refused_holder_keeps_the_counts_for_the_next_tick() {
        let mut f = count(10);
        let mut g = Generator::new(1);
        let held = g.retrieve().unwrap();
        feed(&mut f, &mut g, &["a"]);
        f.tick(1, &mut g);
        assert_eq!(g.pending_messages().count(), 0);
        g.release(held);
        f.tick(2, &mut g);
        assert_eq!(g.pending_messages().next().unwrap().payload, "a 1\n");
    }

    #[test]
    fn config_defaults_round_trip_and_zero_is_refused() {
        let c = CountFilterConfig::default();
        let back: CountFilterConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(c.max_types, 10_000);
        assert!(CountFilterConfig { max_types: 0 }
            .build(&BuildContext::standalone("c"))
            .is_err());
        assert_eq!(count(1).default_ticker(), Some(Duration::from_secs(5)));
    }
}
