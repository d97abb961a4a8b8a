//! The accounting identity in SIGUSR1 reports under load (README Promises, Accounting): a
//! running pipeline has messages in flight (accepted, not yet through route) and outputs
//! have messages not yet committed, so the live balance line names both terms; it is never
//! a mismatch, and it is exact (`: ok`, both terms 0) once the traffic stops and the
//! outputs commit.

use std::thread;
use std::time::Duration;

use tests::{report_count, report_line, udp_json_to_files, Flood, Hekad};

const BIN: &str = env!("CARGO_BIN_EXE_hekad");

/// The balance line's terms: (in_flight, uncommitted of `out`, status word).
fn balance_terms(report: &[String]) -> (i64, i64, String) {
    let l = report_line(report, "  balance: ");
    let term = |key: &str| -> i64 {
        let at = l.find(key).unwrap_or_else(|| panic!("no {key:?} in {l:?}")) + key.len();
        let digits: String = l[at..]
            .chars()
            .take_while(|c| *c == '-' || c.is_ascii_digit())
            .collect();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("{key:?} in {l:?}"))
    };
    let status = l.rsplit(": ").next().unwrap().to_string();
    (term(" in_flight="), term(" out="), status)
}

/// What the identities say the terms must be, from the report's own counter lines.
fn expected_terms(r: &[String]) -> (i64, i64) {
    // A counter not in the report was never created: 0.
    let c = |owner: &str, name: &str| report_count(r, owner, name).unwrap_or(0) as i64;
    let in_flight = c("udp", "accepted") + c("route", "injected")
        - c("decode", "decode_errors")
        - c("route", "blocked")
        - c("route", "loops_dropped")
        - c("route", "unrouted")
        - c("route", "routed");
    let uncommitted =
        c("out", "routed") - c("out", "delivered") - c("out", "write_errors") - c("out", "dropped");
    (in_flight, uncommitted)
}

#[test]
fn sigusr1_under_load_balances_with_the_messages_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    // Commits every 500 ms: between commits the output holds delivered-but-uncommitted
    // messages, so a report under load has something in flight.
    let body = udp_json_to_files(&[("out", "out.log", 500)]);
    let mut h = Hekad::start_with_config(BIN, dir.path(), &body);
    let flood = Flood::start(h.udp_addr("udp"), 200_000, 40_000);
    flood.wait_sent(20_000, Duration::from_secs(30));
    let mut live = Vec::new();
    while flood.sent() < 180_000 && live.len() < 12 {
        live.push(h.usr1_report());
        thread::sleep(Duration::from_millis(150));
    }
    let sent = flood.join();
    assert!(live.len() >= 3, "only {} reports under load", live.len());
    let mut busiest = (0, 0);
    for r in &live {
        let (in_flight, uncommitted, status) = balance_terms(r);
        assert_eq!(
            (in_flight, uncommitted),
            expected_terms(r),
            "the terms close the identities: {r:#?}"
        );
        assert!(in_flight >= 0 && uncommitted >= 0, "{r:#?}");
        let want = if in_flight + uncommitted == 0 {
            "ok"
        } else {
            "in flight"
        };
        assert_eq!(status, want, "{r:#?}");
        busiest = busiest.max((uncommitted, in_flight));
    }
    assert!(
        busiest.0 > 0,
        "a report under load shows uncommitted messages"
    );
    eprintln!(
        "busiest live report: uncommitted {} in flight {}",
        busiest.0, busiest.1
    );

    // Quiescent: every datagram read, routed and committed. Then the identity is exact.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let rest = loop {
        let r = h.usr1_report();
        let count = |owner: &str, name: &str| report_count(&r, owner, name).unwrap();
        let accepted = count("udp", "accepted");
        if accepted + count("udp", "kernel_drops") == sent && count("out", "delivered") == accepted
        {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never settled: {r:#?}"
        );
        thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(balance_terms(&rest), (0, 0, "ok".to_string()), "{rest:#?}");
    let h = h.stop_gracefully();
    assert!(h
        .stderr()
        .iter()
        .any(|l| l.starts_with("  balance: ") && l.ends_with(": ok")));
}
