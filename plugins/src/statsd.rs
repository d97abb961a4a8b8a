//! statsd: the line protocol and the aggregation of etsy statsd 0.9 with its graphite backend
//! (legacy namespace, default settings), reproduced key for key and digit for digit.
//!
//! - [`parse_line`] and [`lines`] read the protocol (pure functions, rule 13 of STYLE.md).
//! - [`Aggregator`] keeps the buckets between flushes and writes each flush as the Graphite
//!   plaintext statsd would send ([`Aggregator::flush`]), or hands the same (key, value)
//!   pairs to a closure ([`Aggregator::flush_each`]) for message fields.
//!
//! ```
//! use std::time::Duration;
//! use plugins::statsd::{Aggregator, AggregatorConfig};
//!
//! let mut agg = Aggregator::new(AggregatorConfig::default(), 1_700_000_000)?;
//! agg.ingest(b"gorets:1|c|@0.1");
//! let mut fields = Vec::new();
//! agg.flush_each(1_700_000_010, Duration::from_secs(10), |key, value| {
//!     fields.push((key.to_string(), value));
//! });
//! assert!(fields.contains(&("stats.gorets".to_string(), 1.0)));
//! assert!(fields.contains(&("stats_counts.gorets".to_string(), 10.0)));
//! # Ok::<(), engine::BuildError>(())
//! ```
//!
//! # Where this differs from etsy statsd 0.9
//!
//! Only where statsd has no defined or safe behaviour:
//! - A sample rate that passes statsd's check but not its regex (`@ 0.5`, `@+0.5`,
//!   `@Infinity`) throws a TypeError that stops statsd; here the sample is a bad line.
//! - Limits ([`AggregatorConfig`]): buckets, key length, timer values and set members per
//!   flush interval are bounded; what exceeds them is refused and counted, not stored.
//! - `graphiteStats.flush_time` is always 0 (no socket is written here) and
//!   `calculationtime`/`processing_time` measure this code, in whole milliseconds.
//! - Histograms, `calculatedTimerMetrics`, `keyFlush`, per-type delete flags and
//!   `gaugesMaxTTL` other than 1 are not offered; `delete_idle_stats` covers the four types.
//! - A set member called `__proto__` counts here; in node it is lost to the object prototype.

mod aggregate;
mod config;
mod graphite;
mod key;
mod number;
mod parser;
mod table;
#[cfg(test)]
mod tests;
mod timer;

pub use aggregate::Aggregator;
pub use config::{AggregatorConfig, StatsdCounters};
pub use graphite::graphite_line;
pub use parser::{lines, parse_line, Kind, Metric, ParseError, Sample, Samples};
