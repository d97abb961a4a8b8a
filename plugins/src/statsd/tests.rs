//! statsd tests: every example of etsy statsd's README and metric-type docs, flushes checked
//! against payloads recorded from etsy statsd 0.9.0 (node 20) and against hand-computed
//! aggregates, limits, and hostile input.

use std::time::Duration;

use proptest::prelude::*;

use super::*;

const START: i64 = 1_795_651_730;
const TEN_SECS: Duration = Duration::from_secs(10);

fn agg() -> Aggregator {
    Aggregator::new(AggregatorConfig::default(), START).unwrap()
}

fn flush(agg: &mut Aggregator, now: i64, interval: Duration) -> String {
    let mut out = String::new();
    agg.flush(now, interval, &mut out);
    out
}

/// The payload with the values that measure time (milliseconds spent, socket write time)
/// replaced by `T`, so payloads from different runs compare.
fn timeless(payload: &str) -> String {
    payload
        .lines()
        .map(|l| {
            let timed = [
                "stats.statsd.graphiteStats.calculationtime ",
                "stats.statsd.processing_time ",
                "stats.statsd.graphiteStats.flush_time ",
            ];
            match timed.iter().find(|p| l.starts_with(*p)) {
                Some(p) => format!("{p}T {}\n", l.rsplit(' ').next().unwrap_or("")),
                None => format!("{l}\n"),
            }
        })
        .collect()
}

/// The value sent for `key`.
fn value(payload: &str, key: &str) -> Option<f64> {
    payload.lines().find_map(|l| {
        let mut parts = l.split(' ');
        (parts.next() == Some(key)).then(|| parts.next().unwrap().parse().unwrap())
    })
}

fn sample(line: &[u8]) -> Result<Sample<'_>, ParseError> {
    let metric = parse_line(line)?;
    let mut samples = metric.samples();
    let first = samples.next().expect("a sample");
    assert!(samples.next().is_none(), "one sample");
    first
}

#[test]
fn readme_examples_parse() {
    use Kind::*;
    // (line, name, kind, value, sample rate, member/text, delta)
    type Case = (
        &'static [u8],
        &'static [u8],
        Kind,
        f64,
        f64,
        &'static [u8],
        bool,
    );
    let cases: &[Case] = &[
        // README: echo "foo:1|c" | nc -u -w0 127.0.0.1 8125
        (b"foo:1|c", b"foo", Counter, 1.0, 1.0, b"1", false),
        // docs/metric_types.md: Counting, Sampling, Timing, Gauges, Sets
        (b"gorets:1|c", b"gorets", Counter, 1.0, 1.0, b"1", false),
        (
            b"gorets:1|c|@0.1",
            b"gorets",
            Counter,
            1.0,
            0.1,
            b"1",
            false,
        ),
        (
            b"glork:320|ms|@0.1",
            b"glork",
            Timer,
            320.0,
            0.1,
            b"320",
            false,
        ),
        (b"gaugor:333|g", b"gaugor", Gauge, 333.0, 1.0, b"333", false),
        (b"gaugor:-10|g", b"gaugor", Gauge, -10.0, 1.0, b"-10", true),
        (b"gaugor:+4|g", b"gaugor", Gauge, 4.0, 1.0, b"+4", true),
        (b"uniques:765|s", b"uniques", Set, 0.0, 1.0, b"765", false),
    ];
    for &(line, name, kind, value, rate, text, delta) in cases {
        let metric = parse_line(line).unwrap();
        assert_eq!(metric.name, name);
        assert_eq!(metric.tags, None);
        let s = sample(line).unwrap();
        assert_eq!(
            (s.kind, s.value, s.sample_rate, s.text, s.is_delta()),
            (kind, value, rate, text, delta),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    // Multi-Metric Packets
    let packet = b"gorets:1|c\nglork:320|ms\ngaugor:333|g\nuniques:765|s";
    let kinds: Vec<_> = lines(packet)
        .map(|l| (parse_line(l).unwrap().name, sample(l).unwrap().kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (&b"gorets"[..], Counter),
            (b"glork", Timer),
            (b"gaugor", Gauge),
            (b"uniques", Set)
        ]
    );
}

#[test]
fn protocol_details_parse_like_statsd() {
    use Kind::*;
    let cases: &[(&[u8], Kind, f64, f64)] = &[
        (b"a:1|c|@0.5|ignored", Counter, 1.0, 0.5),
        (b"a:2.5|c", Counter, 2.5, 1.0),
        (b"a:-3|c", Counter, -3.0, 1.0),
        (b"a:0x10|c", Counter, 16.0, 1.0),
        (b"a:1e3|ms", Timer, 1000.0, 1.0),
        (b"a: 7 |g", Gauge, 7.0, 1.0),
        (b"a:1|x", Counter, 1.0, 1.0),
        (b"a:1|", Counter, 1.0, 1.0),
        (b"a:1|c\r", Counter, 1.0, 1.0),
        (b"a:-5|ms ", Timer, -5.0, 1.0),
        (b"a:5| g", Gauge, 5.0, 1.0),
        (b"a:1|c|@1.5e3", Counter, 1.0, 1.5),
        (b"a:1|c|@.25", Counter, 1.0, 0.25),
        (b"a:1|c|@0x10", Counter, 1.0, 0.0),
        (b"a:1|c|@0", Counter, 1.0, 0.0),
        (b"a:1|ms|@0.1", Timer, 1.0, 0.1),
    ];
    for &(line, kind, value, rate) in cases {
        let s = sample(line).unwrap();
        assert_eq!(
            (s.kind, s.value, s.sample_rate),
            (kind, value, rate),
            "{line:?}"
        );
    }
    // Sets keep the member as sent, "0" when empty; any member is fine with an exact `s`.
    assert_eq!(sample(b"u:|s").unwrap().text, b"0");
    assert_eq!(sample(b"u:not a number|s").unwrap().text, b"not a number");
    // Several samples for one name.
    let m = parse_line(b"gorets:1|c:2|c:320|ms").unwrap();
    let got: Vec<_> = m.samples().map(|s| s.map(|s| (s.kind, s.value))).collect();
    assert_eq!(
        got,
        [Ok((Counter, 1.0)), Ok((Counter, 2.0)), Ok((Timer, 320.0))]
    );
    // Tags: after `|#`, up to a second `|#`.
    let m = parse_line(b"req:1|c|#env:prod,region:eu|#ignored").unwrap();
    assert_eq!(m.tags, Some(&b"env:prod,region:eu"[..]));
    assert_eq!(m.key(&mut String::new()), "req;env=prod;region=eu");
    assert_eq!(parse_line(b"req:1|c|#").unwrap().tags, None);
    // Lines: split on \n only; empty ones skipped.
    let got: Vec<_> = lines(b"\na:1|c\n\nb:2|c\r\n").collect();
    assert_eq!(got, [&b"a:1|c"[..], b"b:2|c\r"]);
}

#[test]
fn bad_lines_are_refused_like_statsd() {
    use ParseError::*;
    let cases: &[(&[u8], ParseError)] = &[
        (b"gorets", NoValue),
        (b"", NoValue),
        (b"gorets:", NoType),
        (b"gorets:1", NoType),
        (b"gorets:|c", BadValue),
        (b"gorets:abc|c", BadValue),
        (b"gorets:1,5|c", BadValue),
        (b"gorets:NaN|c", BadValue),
        (b"gorets:1|c|0.1", BadSampleRate),
        (b"gorets:1|c|@", BadSampleRate),
        (b"gorets:1|c|@-1", BadSampleRate),
        (b"gorets:1|c|@abc", BadSampleRate),
        (b"gorets:1|c|", BadSampleRate),
        // statsd 0.9 throws on these (its regex does not match): bad lines here.
        (b"gorets:1|c|@ 0.5", BadSampleRate),
        (b"gorets:1|c|@+0.5", BadSampleRate),
        (b"gorets:1|c|@Infinity", BadSampleRate),
        (b"glork:-1|ms", NegativeTimer),
        (b"glork:x|ms", BadValue),
        (b"glork:|ms", BadValue),
        (b"gaugor:|g", BadValue),
        (b"gaugor:x|g", BadValue),
        (b"uniques:x| s", BadValue),
        (b"gorets:1\xff|c", BadValue),
    ];
    for &(line, err) in cases {
        let got = parse_line(line).and_then(|m| m.samples().next().expect("a sample"));
        assert_eq!(got, Err(err), "{}", String::from_utf8_lossy(line));
    }
}

/// README's multi-metric packet and a sampled counter, then the gauge deltas, as etsy statsd
/// 0.9.0 flushed them (recorded under node 20 with `flushInterval: 1000`).
#[test]
fn flushes_match_etsy_statsd() {
    const FIRST: &str = "\
stats.statsd.bad_lines_seen 0 1795651731
stats_counts.statsd.bad_lines_seen 0 1795651731
stats.statsd.packets_received 2 1795651731
stats_counts.statsd.packets_received 2 1795651731
stats.statsd.metrics_received 5 1795651731
stats_counts.statsd.metrics_received 5 1795651731
stats.gorets 11 1795651731
stats_counts.gorets 11 1795651731
stats.timers.glork.count_90 1 1795651731
stats.timers.glork.mean_90 320 1795651731
stats.timers.glork.upper_90 320 1795651731
stats.timers.glork.sum_90 320 1795651731
stats.timers.glork.sum_squares_90 102400 1795651731
stats.timers.glork.std 0 1795651731
stats.timers.glork.upper 320 1795651731
stats.timers.glork.lower 320 1795651731
stats.timers.glork.count 1 1795651731
stats.timers.glork.count_ps 1 1795651731
stats.timers.glork.sum 320 1795651731
stats.timers.glork.sum_squares 102400 1795651731
stats.timers.glork.mean 320 1795651731
stats.timers.glork.median 320 1795651731
stats.gauges.gaugor 333 1795651731
stats.sets.uniques.count 1 1795651731
statsd.numStats 7 1795651731
stats.statsd.graphiteStats.calculationtime 0 1795651731
stats.statsd.processing_time 0 1795651731
stats.statsd.graphiteStats.last_exception 0 1795651731
stats.statsd.graphiteStats.last_flush 1795651730 1795651731
stats.statsd.graphiteStats.flush_time 0 1795651731
stats.statsd.graphiteStats.flush_length 0 1795651731
";
    const SECOND: &str = "\
stats.statsd.bad_lines_seen 0 1795651732
stats_counts.statsd.bad_lines_seen 0 1795651732
stats.statsd.packets_received 1 1795651732
stats_counts.statsd.packets_received 1 1795651732
stats.statsd.metrics_received 2 1795651732
stats_counts.statsd.metrics_received 2 1795651732
stats.gorets 0 1795651732
stats_counts.gorets 0 1795651732
stats.timers.glork.count_ps 0 1795651732
stats.timers.glork.count 0 1795651732
stats.gauges.gaugor 327 1795651732
stats.gauges.statsd.timestamp_lag 0 1795651732
stats.sets.uniques.count 0 1795651732
statsd.numStats 8 1795651732
stats.statsd.graphiteStats.calculationtime 1 1795651732
stats.statsd.processing_time 0 1795651732
stats.statsd.graphiteStats.last_exception 0 1795651732
stats.statsd.graphiteStats.last_flush 1795651731 1795651732
stats.statsd.graphiteStats.flush_time 1 1795651732
stats.statsd.graphiteStats.flush_length 1336 1795651732
";
    let mut agg = agg();
    agg.ingest(b"gorets:1|c\nglork:320|ms\ngaugor:333|g\nuniques:765|s");
    agg.ingest(b"gorets:1|c|@0.1");
    let first = flush(&mut agg, 1_795_651_731, Duration::from_secs(1));
    assert_eq!(timeless(&first), timeless(FIRST));
    agg.ingest(b"gaugor:-10|g\ngaugor:+4|g");
    let second = flush(&mut agg, 1_795_651_732, Duration::from_secs(1));
    // flush_length is the previous payload's length, which holds measured times.
    let second = second.replace(
        &format!("flush_length {} ", first.len()),
        "flush_length 1336 ",
    );
    assert_eq!(timeless(&second), timeless(SECOND));
}

#[test]
fn aggregates_match_hand_computed_values() {
    let mut agg = agg();
    // Counters: 3 plain, one sampled at 1/10 (worth 10), and 2.5: 15.5 in 10 s.
    agg.ingest(b"gorets:1|c\ngorets:1|c\ngorets:1|c");
    agg.ingest(b"gorets:1|c|@0.1\ngorets:2.5|c");
    // Timers: 100..=1000 in steps of 100, shuffled; one at 1/2 sampling (counts 2).
    agg.ingest(b"glork:700|ms\nglork:100|ms\nglork:1000|ms\nglork:300|ms\nglork:500|ms");
    agg.ingest(b"glork:200|ms\nglork:900|ms\nglork:400|ms\nglork:800|ms:600|ms|@0.5");
    // Gauges: set, then adjusted.
    agg.ingest(b"gaugor:333|g\ngaugor:-10|g\ngaugor:+4|g");
    // Sets: two distinct members.
    agg.ingest(b"uniques:765|s\nuniques:765|s\nuniques:766|s");
    let now = START + 10;
    let out = flush(&mut agg, now, TEN_SECS);
    let v = |k: &str| value(&out, k).unwrap_or_else(|| panic!("{k} missing in\n{out}"));

    assert_eq!(v("stats.gorets"), 1.55);
    assert_eq!(v("stats_counts.gorets"), 15.5);

    assert_eq!(v("stats.timers.glork.count"), 11.0);
    assert_eq!(v("stats.timers.glork.count_ps"), 1.1);
    assert_eq!(v("stats.timers.glork.lower"), 100.0);
    assert_eq!(v("stats.timers.glork.upper"), 1000.0);
    assert_eq!(v("stats.timers.glork.sum"), 5500.0);
    assert_eq!(v("stats.timers.glork.mean"), 550.0);
    assert_eq!(v("stats.timers.glork.median"), 550.0);
    assert_eq!(v("stats.timers.glork.sum_squares"), 3_850_000.0);
    assert_eq!(v("stats.timers.glork.std"), 82_500f64.sqrt());
    // 90% of 10 values: the lowest 9.
    assert_eq!(v("stats.timers.glork.count_90"), 9.0);
    assert_eq!(v("stats.timers.glork.upper_90"), 900.0);
    assert_eq!(v("stats.timers.glork.sum_90"), 4500.0);
    assert_eq!(v("stats.timers.glork.mean_90"), 500.0);
    assert_eq!(v("stats.timers.glork.sum_squares_90"), 2_850_000.0);
    assert!(out.contains("stats.timers.glork.std 287.22813232690146 1795651740\n"));

    assert_eq!(v("stats.gauges.gaugor"), 327.0);
    assert_eq!(v("stats.sets.uniques.count"), 2.0);
    // 3 of statsd's counters + gorets, glork, gaugor, uniques.
    assert_eq!(v("statsd.numStats"), 7.0);
    assert_eq!(v("stats_counts.statsd.packets_received"), 6.0);
    assert_eq!(v("stats_counts.statsd.metrics_received"), 20.0);
    assert_eq!(v("stats.statsd.graphiteStats.last_flush"), START as f64);
    assert_eq!(
        agg.counters(),
        StatsdCounters {
            packets: 6,
            lines: 21,
            ok: 21,
            malformed: 0,
            refused: 0
        }
    );

    // Next flush: counters and timers reset, sets emptied, the gauge kept.
    let out = flush(&mut agg, now + 10, TEN_SECS);
    let v = |k: &str| value(&out, k).unwrap_or_else(|| panic!("{k} missing in\n{out}"));
    assert_eq!(v("stats.gorets"), 0.0);
    assert_eq!(v("stats_counts.gorets"), 0.0);
    assert_eq!(v("stats.timers.glork.count"), 0.0);
    assert_eq!(v("stats.timers.glork.count_ps"), 0.0);
    assert_eq!(value(&out, "stats.timers.glork.upper_90"), None);
    assert_eq!(v("stats.gauges.gaugor"), 327.0);
    assert_eq!(v("stats.gauges.statsd.timestamp_lag"), 0.0);
    assert_eq!(v("stats.sets.uniques.count"), 0.0);
    assert_eq!(v("stats.statsd.graphiteStats.last_flush"), now as f64);

    // A late flush reports its lag; a gauge delta applies to the kept value.
    agg.ingest(b"gaugor:+3|g");
    let out = flush(&mut agg, now + 23, TEN_SECS);
    assert_eq!(value(&out, "stats.gauges.statsd.timestamp_lag"), Some(3.0));
    assert_eq!(value(&out, "stats.gauges.gaugor"), Some(330.0));
}

#[test]
fn percent_threshold_lists() {
    let config = AggregatorConfig {
        percent_thresholds: vec![90.0, 99.9, 50.0, -10.0],
        ..AggregatorConfig::default()
    };
    let mut agg = Aggregator::new(config, START).unwrap();
    for v in 1..=20 {
        agg.ingest(format!("t:{v}|ms").as_bytes());
    }
    let out = flush(&mut agg, START + 10, TEN_SECS);
    let v = |k: &str| value(&out, &format!("stats.timers.t.{k}"));
    // 90% of 20 is 18 values, 99.9% rounds to all 20, 50% to 10; the top (lowest) 10% is 2.
    assert_eq!(v("upper_90"), Some(18.0));
    assert_eq!(v("sum_90"), Some(171.0));
    assert_eq!(v("mean_90"), Some(9.5));
    assert_eq!(v("upper_99_9"), Some(20.0));
    assert_eq!(v("count_99_9"), Some(20.0));
    assert_eq!(v("upper_50"), Some(10.0));
    assert_eq!(v("lower_top10"), Some(19.0));
    assert_eq!(v("sum_top10"), Some(39.0));
    assert_eq!(v("mean_top10"), Some(19.5));
    assert_eq!(v("count_top10"), Some(2.0));
}

#[test]
fn bad_percent_thresholds_are_refused() {
    for pcts in [
        vec![0.0],
        vec![101.0],
        vec![-100.5],
        vec![f64::NAN],
        vec![90.0, 90.0],
    ] {
        let config = AggregatorConfig {
            percent_thresholds: pcts.clone(),
            ..AggregatorConfig::default()
        };
        assert!(Aggregator::new(config, START).is_err(), "{pcts:?}");
    }
}

#[test]
fn keys_sanitized_tagged_and_ordered_like_statsd() {
    let mut agg = agg();
    agg.ingest(b"b:1|c\n10:1|c\na/b c:1|c\n2:1|c\nreq:5|ms|#env:prod");
    let out = flush(&mut agg, START + 10, TEN_SECS);
    let keys: Vec<_> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
    // JavaScript objects list integer keys first.
    assert_eq!(
        keys[..14],
        [
            "stats.2",
            "stats_counts.2",
            "stats.10",
            "stats_counts.10",
            "stats.statsd.bad_lines_seen",
            "stats_counts.statsd.bad_lines_seen",
            "stats.statsd.packets_received",
            "stats_counts.statsd.packets_received",
            "stats.statsd.metrics_received",
            "stats_counts.statsd.metrics_received",
            "stats.b",
            "stats_counts.b",
            "stats.a-b_c",
            "stats_counts.a-b_c",
        ]
    );
    assert!(keys.contains(&"stats.timers.req.mean_90;env=prod"));
    assert!(keys.contains(&"stats.timers.req.count;env=prod"));
}

#[test]
fn delete_idle_stats_drops_buckets_after_a_flush() {
    let config = AggregatorConfig {
        delete_idle_stats: true,
        max_buckets: 4,
        ..AggregatorConfig::default()
    };
    let mut agg = Aggregator::new(config, START).unwrap();
    agg.ingest(b"c:1|c\nt:1|ms\ng:5|g\ns:1|s");
    let out = flush(&mut agg, START + 10, TEN_SECS);
    assert_eq!(value(&out, "stats.gauges.g"), Some(5.0));
    let out = flush(&mut agg, START + 20, TEN_SECS);
    for gone in [
        "stats.c",
        "stats.timers.t.count",
        "stats.gauges.g",
        "stats.sets.s.count",
    ] {
        assert_eq!(value(&out, gone), None, "{gone}");
    }
    assert_eq!(value(&out, "stats.statsd.packets_received"), Some(0.0));
    assert_eq!(value(&out, "stats.gauges.statsd.timestamp_lag"), Some(0.0));
    // The buckets were freed: four new ones fit again; a gauge delta starts from nothing.
    agg.ingest(b"c2:1|c\nt2:1|ms\ng:-5|g\ns2:1|s");
    assert_eq!(agg.counters().refused, 0);
    let out = flush(&mut agg, START + 30, TEN_SECS);
    assert_eq!(value(&out, "stats.gauges.g"), Some(-5.0));
}

#[test]
fn limits_refuse_and_count() {
    let config = AggregatorConfig {
        max_buckets: 3,
        max_name_bytes: 8,
        max_timer_values: 2,
        max_set_members: 2,
        ..AggregatorConfig::default()
    };
    let mut agg = Aggregator::new(config, START).unwrap();
    // Name too long (9 bytes after sanitizing), then three buckets fit and a fourth does not.
    agg.ingest(b"123456789:1|c\nabc def/g:1|c\nc:1|c\nt:1|ms\nt:2|ms\nt:3|ms\ns:a|s\ns:b|s");
    assert_eq!(
        agg.counters(),
        StatsdCounters {
            packets: 1,
            lines: 8,
            ok: 5,
            malformed: 0,
            refused: 3
        }
    );
    // Existing buckets keep working; a known set member is not a new one; new names refused.
    agg.ingest(b"c:1|c\ns:a|s\ns:c|s\ng:1|g\nbad\nc:x|c");
    let c = agg.counters();
    assert_eq!((c.lines, c.ok, c.malformed, c.refused), (14, 7, 2, 5));
    assert_eq!(c.lines, c.ok + c.malformed + c.refused);
    let out = flush(&mut agg, START + 10, TEN_SECS);
    assert_eq!(value(&out, "stats_counts.c"), Some(2.0));
    assert_eq!(value(&out, "stats.timers.t.count"), Some(2.0));
    assert_eq!(value(&out, "stats.sets.s.count"), Some(2.0));
    assert_eq!(value(&out, "stats_counts.statsd.bad_lines_seen"), Some(2.0));
    assert_eq!(value(&out, "stats.gauges.g"), None);
    // Timer values and set members are per flush interval.
    agg.ingest(b"t:4|ms\nt:5|ms\ns:c|s\ns:d|s");
    assert_eq!(agg.counters().refused, 5);
}

#[test]
fn counts_balance_and_flush_length_is_the_previous_payload() {
    let mut agg = agg();
    agg.ingest(b"a:1|c:x|c:2|ms\nnocolon\n\nb:1|c|@-1");
    let c = agg.counters();
    assert_eq!((c.lines, c.ok, c.malformed), (5, 2, 3));
    let first = flush(&mut agg, START + 10, TEN_SECS);
    assert_eq!(
        value(&first, "stats_counts.statsd.bad_lines_seen"),
        Some(3.0)
    );
    assert_eq!(
        value(&first, "stats_counts.statsd.metrics_received"),
        Some(3.0)
    );
    let second = flush(&mut agg, START + 20, TEN_SECS);
    let len = value(&second, "stats.statsd.graphiteStats.flush_length");
    assert_eq!(len, Some(first.len() as f64));
}

#[test]
fn flush_each_gives_the_payload_pairs() {
    let mut a = agg();
    let mut b = agg();
    for agg in [&mut a, &mut b] {
        agg.ingest(b"gorets:1|c\nglork:320|ms\ngaugor:333|g\nuniques:765|s");
    }
    let mut text = String::new();
    a.flush_each(START + 10, TEN_SECS, |k, v| {
        graphite_line(&mut text, k, v, START + 10)
    });
    let payload = flush(&mut b, START + 10, TEN_SECS);
    assert_eq!(timeless(&text), timeless(&payload));
}

#[test]
fn numbers_print_like_javascript() {
    let mut agg = agg();
    agg.ingest(b"third:1|c\nbig:1e21|g\ntiny:1e-7|g\nneg:-0.5|g\ninf:Infinity|g");
    let out = flush(&mut agg, START + 3, Duration::from_secs(3));
    for line in [
        "stats.third 0.3333333333333333 ",
        "stats.gauges.big 1e+21 ",
        "stats.gauges.tiny 1e-7 ",
        "stats.gauges.neg -0.5 ",
        "stats.gauges.inf Infinity ",
    ] {
        assert!(out.contains(line), "{line} in\n{out}");
    }
}

proptest! {
    /// Any bytes: no panic, the counts balance, and a flush succeeds.
    #[test]
    fn arbitrary_datagrams(datagrams in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let mut agg = agg();
        for d in &datagrams {
            agg.ingest(d);
        }
        let c = agg.counters();
        prop_assert_eq!(c.lines, c.ok + c.malformed + c.refused);
        prop_assert_eq!(c.packets, datagrams.len() as u64);
        let mut out = String::new();
        agg.flush(START + 10, TEN_SECS, &mut out);
        prop_assert!(out.ends_with('\n'));
    }

    /// Lines built from the protocol's own pieces, so most of them are well-formed.
    #[test]
    fn protocol_soup(lines in proptest::collection::vec(
        "[a-z0-9 ./]{0,6}(:[-+]?[0-9.e]{0,4}(\\|(c|ms|g|s|x)?)?(\\|@[0-9.]{0,3})?){0,3}(\\|#[a-z:,;]{0,6})?",
        0..20)) {
        let mut agg = agg();
        agg.ingest(lines.join("\n").as_bytes());
        let c = agg.counters();
        prop_assert_eq!(c.lines, c.ok + c.malformed + c.refused);
        let mut out = String::new();
        agg.flush(START + 10, TEN_SECS, &mut out);
        for line in out.lines() {
            prop_assert_eq!(line.split(' ').count(), 3, "{}", line);
        }
    }
}

#[test]
fn aggregator_moves_to_the_input_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Aggregator>();
}
