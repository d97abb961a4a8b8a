//! The message matcher per message: the route stage's 3-clause matcher
//! (`Type == "x" && Severity <= 4 && Fields[host] =~ /^web/`) on a message it matches and on
//! one it rejects at each clause, against a `TRUE` matcher as the base overhead.
//!
//! `cargo bench --bench matcher`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::matcher::Matcher;
use engine::Message;

const THREE_CLAUSES: &str = r#"Type == "x" && Severity <= 4 && Fields[host] =~ /^web/"#;

/// A message like a decoder produces: a few headers and five fields, `host` the fourth.
fn message(msg_type: &str, severity: i32, host: &str) -> Message {
    let mut m = Message {
        severity,
        pid: 4242,
        timestamp: 1_795_579_080_105_194_000,
        ..Message::default()
    };
    m.msg_type.push_str(msg_type);
    m.logger.push_str("app");
    m.payload.push_str("GET /index.html 200 0.003");
    m.hostname.push_str("edge-7");
    for (name, value) in [("path", "/index.html"), ("method", "GET"), ("user", "u17")] {
        let f = m.add_field().expect("few fields");
        f.name.push_str(name);
        f.values.push_string().push_str(value);
    }
    let f = m.add_field().expect("few fields");
    f.name.push_str("host");
    f.values.push_string().push_str(host);
    let f = m.add_field().expect("few fields");
    f.name.push_str("status");
    f.values.push_integer(200);
    m
}

fn matcher(c: &mut Criterion) {
    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("match", message("x", 3, "web-01")),
        ("miss_type", message("y", 3, "web-01")),
        ("miss_severity", message("x", 6, "web-01")),
        ("miss_host", message("x", 3, "db-01")),
    ];
    let base = Matcher::compile("TRUE").expect("valid");
    group.bench_function("base", |b| b.iter(|| base.matches(black_box(&cases[0].1))));
    let three = Matcher::compile(THREE_CLAUSES).expect("valid");
    for (name, msg) in &cases {
        group.bench_with_input(BenchmarkId::new("three_clauses", name), msg, |b, msg| {
            b.iter(|| three.matches(black_box(msg)))
        });
    }
    group.finish();
}

criterion_group!(benches, matcher);
criterion_main!(benches);
