//! The settings and counters of an [`Aggregator`](super::Aggregator).

/// Limits and statsd settings of an [`Aggregator`](super::Aggregator).
#[derive(Clone, Debug, PartialEq)]
pub struct AggregatorConfig {
    /// statsd's `percentThreshold`: the percentiles computed for timers, each in (0, 100],
    /// or in [-100, 0) for statsd's "top" (lowest) percentiles. Default `[90]`.
    pub percent_thresholds: Vec<f64>,
    /// Most distinct buckets (counters, timers, gauges and sets together, statsd's own not
    /// counted); a sample that would create one more is refused. Default 100,000.
    pub max_buckets: usize,
    /// Longest bucket key in bytes (after sanitizing, tags included), and longest set member;
    /// longer ones are refused. Default 256.
    pub max_name_bytes: usize,
    /// Most timer values kept between two flushes, all timers together. Default 10,000,000
    /// (80 MB).
    pub max_timer_values: usize,
    /// Most distinct set members kept between two flushes, all sets together. Default
    /// 1,000,000.
    pub max_set_members: usize,
    /// statsd's `deleteIdleStats`: drop counters, timers, sets and gauges after each flush
    /// instead of sending zeros (and the last gauge value) until restart. Default false.
    pub delete_idle_stats: bool,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig {
            percent_thresholds: vec![90.0],
            max_buckets: 100_000,
            max_name_bytes: 256,
            max_timer_values: 10_000_000,
            max_set_members: 1_000_000,
            delete_idle_stats: false,
        }
    }
}

/// What an [`Aggregator`](super::Aggregator) has seen since it was built. Every sample is one of `ok`,
/// `malformed` or `refused`: `lines = ok + malformed + refused`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsdCounters {
    /// Datagrams.
    pub packets: u64,
    /// Samples: one per value of each non-empty line (`a:1|c:2|c` is two), and one for a line
    /// without a value.
    pub lines: u64,
    /// Samples added to a bucket.
    pub ok: u64,
    /// Samples statsd would count as bad lines (`statsd.bad_lines_seen`).
    pub malformed: u64,
    /// Well-formed samples refused by a limit of [`AggregatorConfig`].
    pub refused: u64,
}
