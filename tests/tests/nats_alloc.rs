//! NatsOutput's ring side allocates nothing per message in steady state: `deliver`
//! encodes into reused queue slots, `capacity` and `commit` read atomics. The client
//! thread (which does allocate: async-nats builds a request per publish) is not counted:
//! only this thread, which plays the output stage here, is.

use std::time::{Duration, Instant};

use engine::testing::{thread_allocations, CountingAllocator};
use engine::{BuildContext, Output, PipelinePack, PluginConfig};
use plugins::outputs::NatsOutputConfig;
use tests::NatsServer;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// Hands `n` messages to the output as the stage would: at most `capacity()` at a time,
/// committing after each batch, never blocking.
fn run(out: &mut impl Output, pack: &mut PipelinePack, from: u64, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seq = from;
    while seq < from + n {
        let room = out.capacity().min((from + n - seq) as usize);
        for _ in 0..room {
            pack.message.uuid[..8].copy_from_slice(&seq.to_le_bytes());
            pack.message.uuid[8] = 1;
            out.deliver(pack).expect("deliver");
            seq += 1;
        }
        out.commit(Instant::now(), false).expect("commit");
        if room == 0 {
            assert!(Instant::now() < deadline, "stuck at {seq}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    while !out.commit(Instant::now(), false).expect("commit") {
        assert!(Instant::now() < deadline, "acks missing");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn delivering_to_nats_allocates_nothing_per_message() {
    let tmp = tempfile::tempdir().unwrap();
    let server = NatsServer::start(&tmp.path().join("js"));
    let config: NatsOutputConfig = serde_json::from_value(serde_json::json!({
        "url": server.url(), "buffer": 64, "max_in_flight": 32
    }))
    .unwrap();
    let mut out = config.build(&BuildContext::standalone("nats")).unwrap();
    let mut pack = PipelinePack::new(2048);
    pack.message.msg_type.push_str("alloc.test");
    pack.message
        .payload
        .push_str("a payload of a few dozen bytes, like a log line");
    pack.message.hostname.push_str("edge1");
    pack.message.timestamp = 1_795_579_080_105_194_000;
    // Warm up: every queue slot has held a message.
    run(&mut out, &mut pack, 0, 1_000);
    let before = thread_allocations();
    run(&mut out, &mut pack, 1_000, 5_000);
    let during = thread_allocations() - before;
    assert_eq!(during, 0, "{during} allocations for 5,000 messages");
    assert_eq!(server.stored_messages(), Some(6_000));
}
