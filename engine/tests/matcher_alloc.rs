//! A compiled matcher evaluates without allocating once warm (the regex engine builds its
//! scratch cache on a thread's first match), counted by a global allocator on the test thread.

use engine::matcher::Matcher;
use engine::testing::{thread_allocations, CountingAllocator};
use engine::Message;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

#[test]
fn matching_allocates_nothing_once_warm() {
    let sanity = thread_allocations();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert!(
        thread_allocations() > sanity,
        "the counting allocator is installed"
    );

    let matchers = [
        r#"Type == "x" && Severity <= 4 && Fields[host] =~ /^web/"#,
        "Payload =~ 'GET /\\w+' || Fields[status][0][0] >= 500 || Uuid =~ /^0b/",
        "(Fields[missing] == NIL && Fields[flag] != FALSE) && Timestamp > '2026-01-01T00:00:00Z'",
    ]
    .map(|m| Matcher::compile(m).unwrap());
    let mut msg = Message {
        severity: 3,
        timestamp: 1_795_579_080_105_194_000,
        ..Message::default()
    };
    msg.msg_type.push('x');
    msg.payload.push_str("GET /index 200");
    for (name, value) in [("path", "/index"), ("host", "web-01")] {
        let f = msg.add_field().unwrap();
        f.name.push_str(name);
        f.values.push_string().push_str(value);
    }
    let f = msg.add_field().unwrap();
    f.name.push_str("status");
    f.values.push_integer(200);
    let f = msg.add_field().unwrap();
    f.name.push_str("flag");
    f.values.push_bool(true);

    let run = || matchers.iter().filter(|m| m.matches(&msg)).count();
    assert_eq!(run(), 3); // warm: regex caches for this thread
    let before = thread_allocations();
    for _ in 0..10_000 {
        assert_eq!(std::hint::black_box(run()), 3);
    }
    assert_eq!(
        thread_allocations() - before,
        0,
        "allocations while matching"
    );
}
