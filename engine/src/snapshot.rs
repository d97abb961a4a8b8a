//! A point-in-time reading of a running pipeline ([`crate::Gauges::snapshot`]) and the
//! live report SIGUSR1 prints: the counters report, then rates since the previous report and
//! overall, each consumer's sequence and lag, ring occupancy, drops, errors and RSS.

use std::fmt;
use std::time::{Duration, Instant};

use crate::plan::Rank;
use crate::report::Report;

/// The ring's gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingGauge {
    /// Slots in the ring (`pool_size`).
    pub size: u64,
    /// The highest sequence every slot up to which is published (-1: none yet).
    pub published: i64,
    /// Published slots the slowest gating consumer (outputs; route without outputs) has
    /// not released yet: `0..=size`.
    pub occupancy: u64,
}

/// One stage's gauges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageGauge {
    /// The stage's plan name (`udp`, `decode`, `route`, an output's name).
    pub name: String,
    /// Its place in the pipeline.
    pub rank: Rank,
    /// The last sequence it finished (consumers only; inputs are producers).
    pub sequence: Option<i64>,
    /// Published messages it has not finished yet (consumers only).
    pub lag: Option<u64>,
}

/// Everything the monitoring side shows, read at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The counters, with the accounting identities.
    pub report: Report,
    /// When it was taken.
    pub taken: Instant,
    /// Time since the pipeline started.
    pub uptime: Duration,
    /// Whether the pipeline was asked to stop (draining).
    pub stopping: bool,
    /// The ring.
    pub ring: RingGauge,
    /// Every stage: inputs, then decode, route and outputs.
    pub stages: Vec<StageGauge>,
    /// Resident memory of the process, when readable.
    pub rss_bytes: Option<u64>,
}

/// The counter whose rate is a stage's throughput: what an input accepted, what decode
/// decoded, what route routed, what an output delivered.
pub fn throughput_counter(rank: Rank) -> &'static str {
    match rank {
        Rank::Input => "accepted",
        Rank::Decode => "decoded",
        Rank::Route | Rank::Generator => "routed",
        Rank::Output => "delivered",
    }
}

/// Whether counter `name` counts messages lost or refused (`kernel_drops`, `truncated`,
/// `dropped`, `loops_dropped`, `inject_refused`, `refused`, `oversized`).
pub fn is_drop(name: &str) -> bool {
    name.contains("drop") || name.contains("refused") || name == "truncated" || name == "oversized"
}

/// Whether counter `name` counts errors (`decode_errors`, `write_errors`, `read_errors`,
/// `framing_errors`, `malformed`, `bad_signature`, `unknown_signer`).
pub fn is_error(name: &str) -> bool {
    name.contains("error")
        || name == "malformed"
        || name.starts_with("bad_")
        || name.starts_with("unknown_")
}

impl Snapshot {
    /// Counter `name` of `owner` per second over the time since `earlier` (`None`: since
    /// the pipeline started).
    pub fn rate(&self, owner: &str, name: &str, earlier: Option<&Snapshot>) -> f64 {
        let (before, since) = match earlier {
            Some(e) => (e.report.value(owner, name), e.uptime),
            None => (0, Duration::ZERO),
        };
        let secs = self.uptime.saturating_sub(since).as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        self.report.value(owner, name).saturating_sub(before) as f64 / secs
    }

    /// The live report: the counters report, then rates since `previous` (the snapshot of
    /// the previous report; `None`: since start) and overall, sequences, lags, ring
    /// occupancy, drops, errors and RSS. Its first lines are exactly [`Report`]'s.
    pub fn report_since<'a>(&'a self, previous: Option<&'a Snapshot>) -> LiveReport<'a> {
        LiveReport {
            now: self,
            previous,
        }
    }
}

impl Snapshot {
    /// What a forced exit (a second signal, or `engine.drain_timeout_ms` passed) abandons:
    /// the messages in flight before route, and per output what it took but did not commit
    /// and the ring slots route finished that it has not taken yet (all of them messages
    /// for it when it is the only output, an upper bound otherwise).
    pub fn abandoned(&self) -> Abandoned<'_> {
        Abandoned { now: self }
    }
}

/// The list [`Snapshot::abandoned`] prints, one line per term.
#[derive(Debug)]
pub struct Abandoned<'a> {
    now: &'a Snapshot,
}

impl fmt::Display for Abandoned<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (report, stages) = (&self.now.report, &self.now.stages);
        writeln!(
            f,
            "  {} message(s) accepted but not yet through route",
            report.in_flight()
        )?;
        let sequence = |name: &str| stages.iter().find(|s| s.name == name)?.sequence;
        let route = stages
            .iter()
            .find(|s| s.rank == Rank::Route)
            .and_then(|s| s.sequence);
        for o in report.outputs() {
            write!(
                f,
                "  {o}: {} message(s) not committed",
                report.uncommitted(o)
            )?;
            // An `on_full: drop` output reads a ring of its own: no sequence on this one.
            if let (Some(route), Some(out)) = (route, sequence(o)) {
                write!(f, ", {} not yet taken from the ring", (route - out).max(0))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The SIGUSR1 report ([`Snapshot::report_since`]).
#[derive(Debug)]
pub struct LiveReport<'a> {
    now: &'a Snapshot,
    previous: Option<&'a Snapshot>,
}

fn owners(report: &Report) -> Vec<&str> {
    let mut owners: Vec<&str> = Vec::new();
    for (o, _, _) in &report.counters {
        if !owners.contains(&o.as_str()) {
            owners.push(o);
        }
    }
    owners
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl fmt::Display for LiveReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (now, prev) = (self.now, self.previous);
        write!(f, "{}", now.report)?;
        let interval = now.uptime - prev.map_or(Duration::ZERO, |p| p.uptime.min(now.uptime));
        writeln!(
            f,
            "  rates in msg/s, last {:.1} s | overall {:.1} s:",
            interval.as_secs_f64(),
            now.uptime.as_secs_f64()
        )?;
        // Stages first (their throughput counter always), then plugins with counters of
        // their own (filters, decoders); every other counter that moved.
        let stage_names: Vec<&str> = now.stages.iter().map(|s| s.name.as_str()).collect();
        let others = owners(&now.report)
            .into_iter()
            .filter(|o| !stage_names.contains(o));
        let rows = now
            .stages
            .iter()
            .map(|s| (s.name.as_str(), Some(s)))
            .chain(others.map(|o| (o, None)));
        for (owner, stage) in rows {
            write!(f, "    {owner}:")?;
            let main = stage.map(|s| throughput_counter(s.rank));
            let mut sep = "";
            if let Some(n) = main {
                let (r, all) = (now.rate(owner, n, prev), now.rate(owner, n, None));
                write!(f, " {n} {r:.1} | {all:.1}")?;
                sep = ",";
            }
            let moved = now
                .report
                .counters
                .iter()
                .filter(|(o, n, v)| o == owner && *v > 0 && Some(*n) != main);
            for (_, n, _) in moved {
                let (r, all) = (now.rate(owner, n, prev), now.rate(owner, n, None));
                write!(f, "{sep} {n} {r:.1} | {all:.1}")?;
                sep = ",";
            }
            if sep.is_empty() {
                write!(f, " idle")?;
            }
            if let Some((Some(seq), Some(lag))) = stage.map(|s| (s.sequence, s.lag)) {
                write!(f, "; seq {seq} lag {lag}")?;
            }
            writeln!(f)?;
        }
        let ring = now.ring;
        writeln!(
            f,
            "  ring: {} slots, published {}, occupancy {} ({:.1}%)",
            ring.size,
            ring.published,
            ring.occupancy,
            100.0 * ring.occupancy as f64 / ring.size.max(1) as f64
        )?;
        for (label, pick) in [("drops", is_drop as fn(&str) -> bool), ("errors", is_error)] {
            let picked: Vec<_> = now
                .report
                .counters
                .iter()
                .filter(|(_, n, _)| pick(n))
                .collect();
            let total: u64 = picked.iter().map(|(_, _, v)| v).sum();
            write!(f, "  {label}: {total}")?;
            for (o, n, v) in picked {
                write!(f, " {o}.{n}={v}")?;
            }
            writeln!(f)?;
        }
        match now.rss_bytes {
            Some(b) => writeln!(f, "  rss: {:.1} MiB", mib(b)),
            None => writeln!(f, "  rss: unknown"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::counters::Counters;

    fn snapshot(uptime_secs: u64, accepted: u64, drops: u64) -> Snapshot {
        let c = Counters::default();
        c.get("udp", "accepted").add(accepted);
        c.get("udp", "kernel_drops").add(drops);
        c.get("decode", "decode_errors").add(2);
        c.get("counts", "untracked");
        let uptime = Duration::from_secs(uptime_secs);
        Snapshot {
            report: Report::new(&c, uptime, &["udp".into()], &[]),
            taken: Instant::now(),
            uptime,
            stopping: false,
            ring: RingGauge {
                size: 8,
                published: 9,
                occupancy: 2,
            },
            stages: vec![
                StageGauge {
                    name: "udp".into(),
                    rank: Rank::Input,
                    sequence: None,
                    lag: None,
                },
                StageGauge {
                    name: "decode".into(),
                    rank: Rank::Decode,
                    sequence: Some(7),
                    lag: Some(2),
                },
            ],
            rss_bytes: Some(3 << 20),
        }
    }

    #[test]
    fn rates_are_per_second_since_the_earlier_snapshot_or_start() {
        let (a, b) = (snapshot(10, 1000, 0), snapshot(15, 2000, 0));
        assert_eq!(b.rate("udp", "accepted", None), 2000.0 / 15.0);
        assert_eq!(b.rate("udp", "accepted", Some(&a)), 200.0);
        assert_eq!(a.rate("udp", "accepted", Some(&a)), 0.0, "no time: no rate");
        assert_eq!(b.rate("nobody", "accepted", Some(&a)), 0.0);
    }

    #[test]
    fn drops_and_errors_are_told_apart() {
        for d in [
            "kernel_drops",
            "truncated",
            "dropped",
            "loops_dropped",
            "inject_refused",
        ] {
            assert!(is_drop(d) && !is_error(d), "{d}");
        }
        for e in [
            "decode_errors",
            "write_errors",
            "malformed",
            "bad_signature",
        ] {
            assert!(is_error(e) && !is_drop(e), "{e}");
        }
        for neither in ["accepted", "routed", "delivered", "untracked"] {
            assert!(!is_drop(neither) && !is_error(neither), "{neither}");
        }
    }

    #[test]
    fn abandoned_lists_what_is_before_route_and_per_output_not_committed_or_not_taken() {
        let c = Counters::default();
        c.get("udp", "accepted").add(100);
        c.get("route", "routed").add(90);
        c.get("out", "routed").add(70);
        c.get("out", "delivered").add(50);
        c.get("spill", "routed").add(5);
        let stage = |name: &str, rank, sequence| StageGauge {
            name: name.into(),
            rank,
            sequence: Some(sequence),
            lag: Some(0),
        };
        let mut s = snapshot(1, 0, 0);
        s.report = Report::new(
            &c,
            s.uptime,
            &["udp".into()],
            &["out".into(), "spill".into()],
        );
        // `spill` (on_full: drop) reads a ring of its own: no stage gauge.
        s.stages = vec![
            stage("decode", Rank::Decode, 99),
            stage("route", Rank::Route, 89),
            stage("out", Rank::Output, 69),
        ];
        assert_eq!(
            s.abandoned().to_string(),
            "  10 message(s) accepted but not yet through route\n  \
             out: 20 message(s) not committed, 20 not yet taken from the ring\n  \
             spill: 5 message(s) not committed\n"
        );
    }

    #[test]
    fn the_live_report_extends_the_counts_report() {
        let (a, b) = (snapshot(10, 1000, 0), snapshot(15, 2000, 3));
        let text = b.report_since(Some(&a)).to_string();
        assert!(text.starts_with(&b.report.to_string()), "{text}");
        let live: Vec<&str> = text
            .lines()
            .skip(b.report.to_string().lines().count())
            .collect();
        assert_eq!(
            live,
            [
                "  rates in msg/s, last 5.0 s | overall 15.0 s:",
                "    udp: accepted 200.0 | 133.3, kernel_drops 0.6 | 0.2",
                "    decode: decoded 0.0 | 0.0, decode_errors 0.0 | 0.1; seq 7 lag 2",
                "    counts: idle",
                "  ring: 8 slots, published 9, occupancy 2 (25.0%)",
                "  drops: 3 udp.kernel_drops=3",
                "  errors: 2 decode.decode_errors=2",
                "  rss: 3.0 MiB",
            ]
        );
    }
}
