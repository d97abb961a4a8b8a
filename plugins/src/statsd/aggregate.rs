//! The aggregator: statsd's buckets between flushes, and the flush that turns them into
//! what etsy statsd 0.9's graphite backend sends (legacy namespace, default settings).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use engine::BuildError;

use super::config::{AggregatorConfig, StatsdCounters};
use super::graphite::graphite_key;
use super::number::write_js_number;
use super::parser::{lines, parse_line, Kind, Sample};
use super::table::Table;
use super::timer::{self, Scratch, Threshold};

/// statsd's own counters, created at start (`prefixStats` is `statsd`), in its order.
const BAD_LINES_SEEN: usize = 0;
const PACKETS_RECEIVED: usize = 1;
const METRICS_RECEIVED: usize = 2;
const INTERNAL_COUNTERS: [&str; 3] = [
    "statsd.bad_lines_seen",
    "statsd.packets_received",
    "statsd.metrics_received",
];
const TIMESTAMP_LAG: &str = "statsd.timestamp_lag";

#[derive(Debug, Default)]
struct Timer {
    values: Vec<f64>,
    count: f64,
}

#[derive(Debug, Default)]
struct Gauge {
    value: f64,
    /// Set by a sample: with `delete_idle_stats`, only such gauges are deleted.
    touched: bool,
}

/// statsd's aggregation: counters, timers, gauges and sets filled from datagrams
/// ([`ingest`](Self::ingest)) and turned into Graphite plaintext at each flush
/// ([`flush`](Self::flush)), with etsy statsd 0.9's keys, math and number formatting.
///
/// ```
/// use std::time::Duration;
/// use plugins::statsd::{Aggregator, AggregatorConfig};
///
/// let mut agg = Aggregator::new(AggregatorConfig::default(), 1_700_000_000)?;
/// agg.ingest(b"gorets:1|c\nglork:320|ms\ngaugor:333|g\nuniques:765|s");
/// let mut out = String::new();
/// agg.flush(1_700_000_010, Duration::from_secs(10), &mut out);
/// assert!(out.contains("stats.gorets 0.1 1700000010\n"));
/// assert!(out.contains("stats_counts.gorets 1 1700000010\n"));
/// assert!(out.contains("stats.timers.glork.upper_90 320 1700000010\n"));
/// assert!(out.contains("stats.gauges.gaugor 333 1700000010\n"));
/// assert!(out.contains("stats.sets.uniques.count 1 1700000010\n"));
/// # Ok::<(), engine::BuildError>(())
/// ```
#[derive(Debug)]
pub struct Aggregator {
    config: AggregatorConfig,
    thresholds: Vec<Threshold>,
    counters: Table<f64>,
    timers: Table<Timer>,
    gauges: Table<Gauge>,
    sets: Table<HashSet<Box<str>>>,
    /// Buckets counted against `max_buckets`.
    buckets: usize,
    timer_values: usize,
    set_members: usize,
    stats: StatsdCounters,
    /// The previous flush's time (statsd's `old_timestamp`), 0 before the first.
    old_timestamp: i64,
    /// graphite's `last_flush` and `flush_length`: when the previous payload was sent and its
    /// length.
    last_flush: i64,
    flush_length: usize,
    key_buf: String,
    out_key: String,
    num_buf: String,
    order: Vec<usize>,
    scratch: Scratch,
}

impl Aggregator {
    /// An empty aggregator; `start_unix_secs` stands for statsd's start-up time (the first
    /// flush reports it as `graphiteStats.last_flush`).
    ///
    /// # Errors
    ///
    /// [`BuildError::Invalid`] when a percent threshold is 0, not finite or beyond ±100, or
    /// appears twice, or a limit is 0.
    pub fn new(config: AggregatorConfig, start_unix_secs: i64) -> Result<Aggregator, BuildError> {
        let mut thresholds: Vec<Threshold> = Vec::new();
        for &pct in &config.percent_thresholds {
            if !pct.is_finite() || pct == 0.0 || pct.abs() > 100.0 {
                return Err(BuildError::Invalid(format!(
                    "percent_threshold {pct}: must be in (0, 100], or in [-100, 0) for the lowest"
                )));
            }
            let t = Threshold::new(pct);
            if thresholds.iter().any(|o| o.suffix() == t.suffix()) {
                return Err(BuildError::Invalid(format!(
                    "percent_threshold {pct} appears twice"
                )));
            }
            thresholds.push(t);
        }
        if config.max_buckets == 0 || config.max_name_bytes == 0 {
            return Err(BuildError::Invalid(
                "max_buckets and max_name_bytes must be at least 1".into(),
            ));
        }
        let mut counters = Table::default();
        for name in INTERNAL_COUNTERS {
            counters.insert(name, 0.0, true);
        }
        Ok(Aggregator {
            config,
            thresholds,
            counters,
            timers: Table::default(),
            gauges: Table::default(),
            sets: Table::default(),
            buckets: 0,
            timer_values: 0,
            set_members: 0,
            stats: StatsdCounters::default(),
            old_timestamp: 0,
            last_flush: start_unix_secs,
            flush_length: 0,
            key_buf: String::new(),
            out_key: String::new(),
            num_buf: String::new(),
            order: Vec::new(),
            scratch: Scratch::default(),
        })
    }

    /// What this aggregator has seen since it was built.
    pub fn counters(&self) -> StatsdCounters {
        self.stats
    }

    /// Adds one datagram: its non-empty lines, each with one or more samples. Allocates only
    /// to create a bucket, to grow a timer, or for a set member it has not seen.
    pub fn ingest(&mut self, datagram: &[u8]) {
        self.stats.packets += 1;
        self.counters.entries_mut()[PACKETS_RECEIVED].value += 1.0;
        for line in lines(datagram) {
            self.ingest_line(line);
        }
    }

    fn ingest_line(&mut self, line: &[u8]) {
        self.counters.entries_mut()[METRICS_RECEIVED].value += 1.0;
        let Ok(metric) = parse_line(line) else {
            self.stats.lines += 1;
            self.bad_line();
            return;
        };
        let mut buf = std::mem::take(&mut self.key_buf);
        let key = metric.key(&mut buf);
        for sample in metric.samples() {
            self.stats.lines += 1;
            match sample {
                Err(_) => self.bad_line(),
                Ok(s) if self.add(key, &s) => self.stats.ok += 1,
                Ok(_) => self.stats.refused += 1,
            }
        }
        self.key_buf = buf;
    }

    fn bad_line(&mut self) {
        self.stats.malformed += 1;
        self.counters.entries_mut()[BAD_LINES_SEEN].value += 1.0;
    }

    /// Adds a sample to its bucket, as statsd's `handlePacket` does; false when a limit
    /// refuses it.
    fn add(&mut self, key: &str, s: &Sample<'_>) -> bool {
        let max = self.config.max_buckets;
        if key.len() > self.config.max_name_bytes {
            return false;
        }
        match s.kind {
            Kind::Counter => {
                let Some(i) = slot(&mut self.counters, &mut self.buckets, max, key) else {
                    return false;
                };
                let c = &mut self.counters.entries_mut()[i].value;
                // `if (! counters[key]) counters[key] = 0;`: a NaN count starts again.
                if c.is_nan() {
                    *c = 0.0;
                }
                *c += s.value * (1.0 / s.sample_rate);
            }
            Kind::Timer => {
                if self.timer_values >= self.config.max_timer_values {
                    return false;
                }
                let Some(i) = slot(&mut self.timers, &mut self.buckets, max, key) else {
                    return false;
                };
                let t = &mut self.timers.entries_mut()[i].value;
                t.values.push(s.value);
                t.count += 1.0 / s.sample_rate;
                self.timer_values += 1;
            }
            Kind::Gauge => {
                let Some(i) = slot(&mut self.gauges, &mut self.buckets, max, key) else {
                    return false;
                };
                let g = &mut self.gauges.entries_mut()[i].value;
                // `if (gauges[key] && fields[0].match(/^[-+]/))`: 0 and NaN are falsy.
                if g.value != 0.0 && !g.value.is_nan() && s.is_delta() {
                    g.value += s.value;
                } else {
                    g.value = s.value;
                }
                g.touched = true;
            }
            Kind::Set => {
                let member = String::from_utf8_lossy(s.text);
                if let Some(i) = self.sets.position(key) {
                    if self.sets.entries()[i].value.contains(&*member) {
                        return true;
                    }
                }
                if self.set_members >= self.config.max_set_members
                    || member.len() > self.config.max_name_bytes
                {
                    return false;
                }
                let Some(i) = slot(&mut self.sets, &mut self.buckets, max, key) else {
                    return false;
                };
                self.sets.entries_mut()[i].value.insert(member.into());
                self.set_members += 1;
            }
        }
        true
    }

    /// Flushes as statsd's flush timer would at `now_unix_secs`, with `interval` as its
    /// `flushInterval`, appending the Graphite plaintext payload (`<key> <value> <ts>\n` per
    /// metric) to `out`. See [`flush_each`](Self::flush_each) for what it contains and resets.
    pub fn flush(&mut self, now_unix_secs: i64, interval: Duration, out: &mut String) {
        let mut ts = std::mem::take(&mut self.num_buf);
        ts.clear();
        // Writing to a String cannot fail.
        writeln!(ts, " {now_unix_secs}").unwrap_or(());
        self.flush_lines(now_unix_secs, interval, |key, value| {
            let before = out.len();
            out.push_str(key);
            out.push(' ');
            write_js_number(value, out);
            out.push_str(&ts);
            out.len() - before
        });
        self.num_buf = ts;
    }

    /// Flushes, handing each metric to `emit` as (Graphite key, value) in the order statsd's
    /// graphite backend sends them, then resets as statsd does.
    ///
    /// In order: statsd's `timestamp_lag` gauge is set (from the second flush on); each counter
    /// gives `stats.<b>` (count per second of `interval`) and `stats_counts.<b>`; each timer
    /// `stats.timers.<b>.<stat>` (see below); each gauge `stats.gauges.<b>`; each set
    /// `stats.sets.<b>.count`; then `statsd.numStats` (buckets sent),
    /// `stats.statsd.graphiteStats.calculationtime` and `stats.statsd.processing_time`
    /// (milliseconds spent), and the graphite backend's `stats.statsd.graphiteStats.`
    /// `last_exception` (0), `last_flush` (the previous flush, or the start time),
    /// `flush_time` (0: no socket is written here) and `flush_length` (the previous payload's
    /// bytes). Tags stay at the end of a key (`stats.timers.b.mean;env=prod`).
    ///
    /// A timer with values sends, for each percent threshold `p`, `count_p`, `mean_p`,
    /// `upper_p` (`lower_topP` for a negative one), `sum_p`, `sum_squares_p`, then `std`,
    /// `upper`, `lower`, `count`, `count_ps`, `sum`, `sum_squares`, `mean`, `median`; a timer
    /// without values sends `count_ps` and `count`, both 0.
    ///
    /// Afterwards counters are 0, timers and sets empty, gauges keep their value (all but
    /// statsd's own are dropped instead with `delete_idle_stats`).
    pub fn flush_each(
        &mut self,
        now_unix_secs: i64,
        interval: Duration,
        mut emit: impl FnMut(&str, f64),
    ) {
        let mut num = std::mem::take(&mut self.num_buf);
        num.clear();
        writeln!(num, " {now_unix_secs}").unwrap_or(());
        let ts_len = num.len();
        self.flush_lines(now_unix_secs, interval, |key, value| {
            num.clear();
            write_js_number(value, &mut num);
            emit(key, value);
            key.len() + 1 + num.len() + ts_len
        });
        self.num_buf = num;
    }

    /// The flush: hands each metric to `line`, which returns the length of its Graphite line
    /// (for the next flush's `flush_length`).
    fn flush_lines(
        &mut self,
        now_unix_secs: i64,
        interval: Duration,
        mut line: impl FnMut(&str, f64) -> usize,
    ) {
        let interval_secs = interval.as_nanos() as f64 / 1e6 / 1000.0;
        if self.old_timestamp > 0 {
            let lag = (now_unix_secs - self.old_timestamp) as f64 - interval_secs;
            match self.gauges.position(TIMESTAMP_LAG) {
                Some(i) => self.gauges.entries_mut()[i].value.value = lag,
                None => {
                    let g = Gauge {
                        value: lag,
                        touched: false,
                    };
                    self.gauges.insert(TIMESTAMP_LAG, g, true);
                }
            }
        }
        self.old_timestamp = now_unix_secs;

        // process_metrics: the timers' sort is its work.
        let started = Instant::now();
        for e in self.timers.entries_mut() {
            e.value.values.sort_unstable_by(|a, b| a.total_cmp(b));
        }
        let processing_ms = started.elapsed().as_millis() as f64;

        // The graphite backend.
        let started = Instant::now();
        let mut length = 0;
        let mut send = |key: &str, value: f64| length += line(key, value);
        let Aggregator {
            counters,
            timers,
            gauges,
            sets,
            thresholds,
            out_key,
            order,
            scratch,
            ..
        } = self;
        let mut num_stats = 0usize;
        counters.js_order(order);
        for &i in order.iter() {
            let e = &counters.entries()[i];
            graphite_key(out_key, "stats", &e.name, None);
            send(out_key, e.value / interval_secs);
            graphite_key(out_key, "stats_counts", &e.name, None);
            send(out_key, e.value);
            num_stats += 1;
        }
        timers.js_order(order);
        for &i in order.iter() {
            let e = &timers.entries()[i];
            let t = &e.value;
            let name = &e.name;
            let thresholds = &thresholds[..];
            timer::emit_stats(
                &t.values,
                t.count,
                interval_secs,
                thresholds,
                scratch,
                |s, v| {
                    graphite_key(out_key, "stats.timers", name, Some(s));
                    send(out_key, v);
                },
            );
            num_stats += 1;
        }
        gauges.js_order(order);
        for &i in order.iter() {
            let e = &gauges.entries()[i];
            graphite_key(out_key, "stats.gauges", &e.name, None);
            send(out_key, e.value.value);
            num_stats += 1;
        }
        sets.js_order(order);
        for &i in order.iter() {
            let e = &sets.entries()[i];
            graphite_key(out_key, "stats.sets", &e.name, Some("count"));
            send(out_key, e.value.len() as f64);
            num_stats += 1;
        }
        send("statsd.numStats", num_stats as f64);
        let calculation_ms = started.elapsed().as_millis() as f64;
        send("stats.statsd.graphiteStats.calculationtime", calculation_ms);
        send("stats.statsd.processing_time", processing_ms);
        send("stats.statsd.graphiteStats.last_exception", 0.0);
        send(
            "stats.statsd.graphiteStats.last_flush",
            self.last_flush as f64,
        );
        send("stats.statsd.graphiteStats.flush_time", 0.0);
        send(
            "stats.statsd.graphiteStats.flush_length",
            self.flush_length as f64,
        );
        self.last_flush = now_unix_secs;
        self.flush_length = length;
        self.reset();
    }

    /// statsd's `clear_metrics`, after every backend has flushed.
    fn reset(&mut self) {
        self.timer_values = 0;
        self.set_members = 0;
        if self.config.delete_idle_stats {
            // deleteCounters keeps (and zeroes) any counter whose name has one of these.
            self.counters.retain(|e| {
                ["packets_received", "metrics_received", "bad_lines_seen"]
                    .iter()
                    .any(|s| e.name.contains(s))
            });
            self.timers.retain(|_| false);
            self.sets.retain(|_| false);
            // gaugesTTL (gaugesMaxTTL 1) holds the gauges a sample set: they go.
            self.gauges.retain(|e| !e.value.touched);
            self.buckets = [
                count_user(self.counters.entries()),
                count_user(self.gauges.entries()),
            ]
            .iter()
            .sum();
        }
        for e in self.counters.entries_mut() {
            e.value = 0.0;
        }
        for e in self.timers.entries_mut() {
            let t = &mut e.value;
            let used = t.values.len();
            t.values.clear();
            if t.values.capacity() > 4 * used + 1024 {
                t.values.shrink_to(used);
            }
            t.count = 0.0;
        }
        for e in self.sets.entries_mut() {
            let used = e.value.len();
            e.value.clear();
            if e.value.capacity() > 4 * used + 1024 {
                e.value.shrink_to(used);
            }
        }
    }

    /// How many buckets there are, statsd's own included (what `statsd.numStats` reports).
    pub fn buckets(&self) -> usize {
        self.counters.len() + self.timers.len() + self.gauges.len() + self.sets.len()
    }
}

fn count_user<V>(entries: &[super::table::Entry<V>]) -> usize {
    entries.iter().filter(|e| !e.internal).count()
}

/// The position of `key` in `table`, creating the bucket when the limit allows.
fn slot<V: Default>(
    table: &mut Table<V>,
    buckets: &mut usize,
    max_buckets: usize,
    key: &str,
) -> Option<usize> {
    if let Some(i) = table.position(key) {
        return Some(i);
    }
    if *buckets >= max_buckets {
        return None;
    }
    *buckets += 1;
    Some(table.insert(key, V::default(), false))
}
