use std::net::UdpSocket;

use engine::{BuildContext, PluginConfig, Values};

use super::*;

fn config(json: &str) -> StatsdUdpInputConfig {
    serde_json::from_str(json).unwrap()
}

#[test]
fn config_defaults_round_trip_and_heka_aliases_parse() {
    let c = StatsdUdpInputConfig::default();
    let back: StatsdUdpInputConfig =
        serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    assert_eq!(c.flush_interval_secs, 10);
    assert_eq!(c.max_buckets, 100_000);
    assert_eq!(config(r#"{"flushInterval": 3}"#).flush_interval_secs, 3);
    assert_eq!(config(r#"{"flush_interval": 4}"#).flush_interval_secs, 4);
    assert_eq!(
        config(r#"{"percentThreshold": 95}"#).percent_threshold,
        PercentThreshold::One(95.0)
    );
    assert_eq!(
        config(r#"{"percent_threshold": [90, 99]}"#)
            .percent_threshold
            .to_vec(),
        [90.0, 99.0]
    );
    assert!(serde_json::from_str::<StatsdUdpInputConfig>(r#"{"flush": 1}"#).is_err());
}

#[test]
fn bad_configs_are_refused_at_build() {
    let ctx = BuildContext::standalone("statsd");
    let zero = config(r#"{"address": "127.0.0.1:0", "flush_interval_secs": 0}"#);
    assert!(zero.build(&ctx).is_err());
    let pct = config(r#"{"address": "127.0.0.1:0", "percent_threshold": 0}"#);
    assert!(pct.build(&ctx).is_err());
    let addr = config(r#"{"address": "nowhere"}"#);
    assert!(addr.build(&ctx).is_err());
}

#[test]
fn the_writer_renders_one_statmetric_per_commit_and_keeps_an_unpublished_one() {
    let agg = Aggregator::new(AggregatorConfig::default(), 1_700_000_000).unwrap();
    let mut w = StatsdWriter::new(agg, Duration::from_secs(10), "statsd");
    let r = w.recycler();
    let mut out = r.make_out_data();
    let mut pack = PipelinePack::new(1024);
    pack.set_raw(b"gorets:1|c\nglork:320|ms");
    r.prep_out_data(&pack, &mut out).unwrap();
    w.batch(&mut out).unwrap();
    assert!(w.pending().is_none());
    w.commit().unwrap();
    let m = w.pending().unwrap();
    assert_eq!(m.msg_type, STATMETRIC_TYPE);
    assert_eq!(m.logger, "statsd");
    let ts = m.timestamp / 1_000_000_000;
    assert!(m.payload.contains(&format!("stats.gorets 0.1 {ts}\n")));
    assert!(m.payload.contains(&format!("stats_counts.gorets 1 {ts}\n")));
    assert!(m
        .payload
        .contains(&format!("stats.timers.glork.upper_90 320 {ts}\n")));
    assert_eq!(
        m.field("stats_counts.gorets").unwrap().values.get(),
        Values::Double(&[1.0][..])
    );
    let before = m.payload.clone();
    w.batch(&mut out).unwrap();
    w.commit().unwrap();
    assert_eq!(
        w.pending().unwrap().payload,
        before,
        "not overwritten before it is published"
    );
    w.taken();
    w.commit().unwrap();
    assert!(w
        .pending()
        .unwrap()
        .payload
        .contains("stats_counts.gorets 1 "));
}

#[test]
fn stop_reads_what_is_queued_and_flushes_with_the_real_interval() {
    let ctx = BuildContext::standalone("statsd");
    let c = config(r#"{"address": "127.0.0.1:0", "flush_interval_secs": 3600}"#);
    let mut input = c.build(&ctx).unwrap();
    let addr = input.local_addr().unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in ["a:2|c\nb:5|ms", "a:3|c|@0.5\nbad line", "g:7|g"] {
        sender.send_to(d.as_bytes(), addr).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    assert!(!input.tick(Instant::now()), "nothing due within the hour");
    input.stop();
    assert!(
        input.tick(Instant::now()),
        "the final flush waits to be published"
    );
    let m = input.writer.pending().unwrap();
    let ts = m.timestamp / 1_000_000_000;
    assert!(
        m.payload.contains(&format!("stats_counts.a 8 {ts}\n")),
        "{}",
        m.payload
    );
    assert!(m.payload.contains(&format!("stats.gauges.g 7 {ts}\n")));
    // 8 counts over ~50 ms: the rate uses the real interval, not the hour.
    let rate = m
        .payload
        .lines()
        .find(|l| l.starts_with("stats.a "))
        .unwrap();
    let rate: f64 = rate.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(rate > 8.0, "{rate}");
    assert_eq!(ctx.counter("lines").get(), 5);
    assert_eq!(ctx.counter("ok").get(), 4);
    assert_eq!(ctx.counter("malformed").get(), 1);
    assert_eq!(ctx.counter("refused").get(), 0);
    assert_eq!(ctx.counter("datagrams").get(), 3);
}
