//! The counters report printed at stop and on SIGUSR1, with the accounting identities of
//! DESIGN.md section 8.
//!
//! While the pipeline runs, some messages are in flight: accepted (or injected) but not yet
//! through route, and, per output, taken but not yet committed. The balance line names both
//! terms; they are what the identities leave over, never negative (the counters are read
//! later stages first, see [`crate::counters`]). They are not an exact count of the ring at
//! one instant: each counter is read at its own moment while the stages run. At rest they
//! are 0 and the identities are exact: the final report requires it.

use std::fmt;
use std::time::Duration;

use crate::counters::Counters;

/// A snapshot of a pipeline's counters.
#[derive(Clone, Debug)]
pub struct Report {
    /// Time since the pipeline started.
    pub elapsed: Duration,
    /// (owner, counter, value) in creation order.
    pub counters: Vec<(String, &'static str, u64)>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Read after every stage finished (the final report): nothing may be in flight.
    settled: bool,
}

impl Report {
    pub(crate) fn new(
        c: &Counters,
        elapsed: Duration,
        inputs: &[String],
        outputs: &[String],
    ) -> Self {
        Report {
            elapsed,
            counters: c.snapshot(),
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            settled: false,
        }
    }

    /// The same report, read after every stage thread was joined: its identities must be
    /// exact.
    pub(crate) fn settled(mut self) -> Self {
        self.settled = true;
        self
    }

    /// The value of `owner`'s counter `name` (0 when absent).
    pub fn value(&self, owner: &str, name: &str) -> u64 {
        self.counters
            .iter()
            .find(|(o, n, _)| o == owner && *n == name)
            .map_or(0, |(_, _, v)| *v)
    }

    fn sum(&self, owners: &[String], name: &str) -> u64 {
        owners.iter().map(|o| self.value(o, name)).sum()
    }

    /// Messages the inputs accepted.
    pub fn accepted(&self) -> u64 {
        self.sum(&self.inputs, "accepted")
    }

    /// Messages delivered (committed) by output `name`.
    pub fn delivered(&self, name: &str) -> u64 {
        self.value(name, "delivered")
    }

    /// Messages accepted or injected but not yet through route: `accepted + injected -
    /// (decode_errors + blocked + loops_dropped + unrouted + routed)`. Never negative while
    /// running (a negative value is a counting bug), 0 at rest.
    pub fn in_flight(&self) -> i64 {
        let lhs = self.accepted() + self.value("route", "injected");
        let rhs = self.value("decode", "decode_errors")
            + self.value("route", "blocked")
            + self.value("route", "loops_dropped")
            + self.value("route", "unrouted")
            + self.value("route", "routed");
        lhs as i64 - rhs as i64
    }

    /// Messages output `name` took but has not committed yet: `routed - (delivered +
    /// write_errors + dropped)`. Never negative while running, 0 at rest.
    pub fn uncommitted(&self, name: &str) -> i64 {
        let done = self.value(name, "delivered")
            + self.value(name, "write_errors")
            + self.value(name, "dropped");
        self.value(name, "routed") as i64 - done as i64
    }

    /// The outputs' names.
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Whether the identities are exact: `accepted + injected = decode_errors + blocked +
    /// loops_dropped + unrouted + routed` and, per output, `routed = delivered +
    /// write_errors + dropped`, i.e. nothing is in flight or uncommitted.
    pub fn balances(&self) -> bool {
        self.in_flight() == 0 && self.outputs.iter().all(|o| self.uncommitted(o) == 0)
    }

    /// What the balance line ends with: `ok` when the identities are exact, `in flight`
    /// when a running pipeline has messages in flight or uncommitted, and `MISMATCH` when a
    /// term is negative or a settled report has anything in flight.
    pub fn balance_status(&self) -> &'static str {
        let terms = std::iter::once(self.in_flight())
            .chain(self.outputs.iter().map(|o| self.uncommitted(o)));
        let (mut negative, mut pending) = (false, false);
        for t in terms {
            negative |= t < 0;
            pending |= t > 0;
        }
        match (negative, pending) {
            (false, false) => "ok",
            (false, true) if !self.settled => "in flight",
            _ => "MISMATCH",
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "counts after {:.1} s:", self.elapsed.as_secs_f64())?;
        let mut owners: Vec<&str> = Vec::new();
        for (o, _, _) in &self.counters {
            if !owners.contains(&o.as_str()) {
                owners.push(o);
            }
        }
        for o in owners {
            write!(f, "  {o}:")?;
            for (_, n, v) in self.counters.iter().filter(|(x, _, _)| x == o) {
                write!(f, " {n}={v}")?;
            }
            writeln!(f)?;
        }
        write!(
            f,
            "  balance: accepted={} + injected={} = decode_errors={} + blocked={} + \
             loops_dropped={} + unrouted={} + routed={} + in_flight={}",
            self.accepted(),
            self.value("route", "injected"),
            self.value("decode", "decode_errors"),
            self.value("route", "blocked"),
            self.value("route", "loops_dropped"),
            self.value("route", "unrouted"),
            self.value("route", "routed"),
            self.in_flight(),
        )?;
        for (i, o) in self.outputs.iter().enumerate() {
            let sep = if i == 0 { "; uncommitted:" } else { "" };
            write!(f, "{sep} {o}={}", self.uncommitted(o))?;
        }
        writeln!(f, ": {}", self.balance_status())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A report of 10 accepted messages, `routed` of them through route and `delivered` of
    /// those committed by output `out`, which took `taken`.
    fn report(routed: u64, taken: u64, delivered: u64) -> Report {
        let c = Counters::default();
        c.get("udp", "accepted").add(10);
        c.get("route", "routed").add(routed);
        c.get("out", "routed").add(taken);
        c.get("out", "delivered").add(delivered);
        Report::new(&c, Duration::ZERO, &["udp".into()], &["out".into()])
    }

    fn balance_line(r: &Report) -> String {
        let text = r.to_string();
        text.lines()
            .find(|l| l.starts_with("  balance: "))
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_balance_line_names_what_is_in_flight_and_uncommitted() {
        let running = report(7, 6, 4);
        assert_eq!((running.in_flight(), running.uncommitted("out")), (3, 2));
        assert!(!running.balances());
        assert_eq!(
            balance_line(&running),
            "  balance: accepted=10 + injected=0 = decode_errors=0 + blocked=0 + \
             loops_dropped=0 + unrouted=0 + routed=7 + in_flight=3; uncommitted: out=2: \
             in flight"
        );
        let rest = report(10, 10, 10);
        assert!(rest.balances());
        assert!(balance_line(&rest).ends_with(" + in_flight=0; uncommitted: out=0: ok"));
        assert_eq!(rest.settled().balance_status(), "ok");
    }

    #[test]
    fn a_negative_term_or_a_settled_report_with_work_left_is_a_mismatch() {
        assert_eq!(report(11, 10, 10).balance_status(), "MISMATCH");
        assert_eq!(report(10, 10, 11).balance_status(), "MISMATCH");
        assert_eq!(report(7, 6, 4).settled().balance_status(), "MISMATCH");
        assert_eq!(report(10, 10, 9).settled().balance_status(), "MISMATCH");
    }
}
