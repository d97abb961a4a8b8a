//! The counters report printed at stop and on SIGUSR1, with the accounting identities of
//! DESIGN.md section 10.

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
        }
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

    /// Whether `accepted + injected = decode_errors + blocked + loops_dropped + unrouted +
    /// routed` and, per output, `routed = delivered + write_errors + dropped`.
    pub fn balances(&self) -> bool {
        let lhs = self.accepted() + self.value("route", "injected");
        let rhs = self.value("decode", "decode_errors")
            + self.value("route", "blocked")
            + self.value("route", "loops_dropped")
            + self.value("route", "unrouted")
            + self.value("route", "routed");
        lhs == rhs
            && self.outputs.iter().all(|o| {
                self.value(o, "routed")
                    == self.value(o, "delivered")
                        + self.value(o, "write_errors")
                        + self.value(o, "dropped")
            })
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
        let ok = if self.balances() { "ok" } else { "MISMATCH" };
        writeln!(
            f,
            "  balance: accepted={} + injected={} = decode_errors={} + blocked={} + \
             loops_dropped={} + unrouted={} + routed={}: {ok}",
            self.accepted(),
            self.value("route", "injected"),
            self.value("decode", "decode_errors"),
            self.value("route", "blocked"),
            self.value("route", "loops_dropped"),
            self.value("route", "unrouted"),
            self.value("route", "routed"),
        )
    }
}
