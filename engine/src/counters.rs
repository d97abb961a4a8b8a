//! Padded atomic counters, created at build and updated once per batch (STYLE.md rule 12).
//!
//! A message is counted by each stage it passes, in pipeline order: `accepted` (an input, or
//! `injected` by route's generator) before any stage can see it, then `routed` (or a
//! `decode_errors`, `blocked`, ... end) by route, then, per output, `routed` when the output
//! takes it and `delivered` (or `write_errors`, `dropped`) when it commits it. Every add is
//! `Release` and a stage hands packs on with a `Release` sequence store that the next stage
//! loads with `Acquire`, so an add of a later stage happens after the adds of the earlier
//! ones for the same messages. [`Counters::snapshot`] reads the later counters first, with
//! `Acquire`: a count it reads is never ahead of the counts of the stages before it, and the
//! report's in-flight terms are never negative.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_utils::CachePadded;

/// One counter on its own cache line. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<CachePadded<AtomicU64>>);

impl Counter {
    /// Adds `n` (`Release`: pairs with the `Acquire` of [`Counter::get`], so a reader that
    /// sees this add also sees every add that happened before it, in this stage and in the
    /// stages that handed it the messages; see the module docs). Once per batch; on x86 the
    /// same `lock xadd` as `Relaxed`.
    #[inline]
    pub fn add(&self, n: u64) {
        if n != 0 {
            self.0.fetch_add(n, Ordering::Release);
        }
    }

    /// Sets the value (`Release`, as [`Counter::add`]), for gauges and for counters the
    /// kernel keeps for us.
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Release);
    }

    /// Reads the value (`Acquire`: pairs with the `Release` of [`Counter::add`]).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// Every counter of a pipeline, by (stage or plugin, counter name), in creation order.
/// The `Mutex` is taken only when a counter is created or the report is read.
#[derive(Debug, Default)]
pub struct Counters {
    entries: Mutex<Vec<(String, &'static str, Counter)>>,
}

impl Counters {
    /// The counter `name` of `owner`, created at zero on first use.
    pub fn get(&self, owner: &str, name: &'static str) -> Counter {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, c)) = entries.iter().find(|(o, n, _)| o == owner && *n == name) {
            return c.clone();
        }
        let c = Counter::default();
        entries.push((owner.to_string(), name, c.clone()));
        c
    }

    /// A snapshot of every counter: (owner, name, value), in creation order.
    ///
    /// The counters are read one after another while the stages run, later stages' first
    /// (see [`read_pass`]): every message a read `routed` (or `delivered`) includes is in the
    /// `accepted` (or the output's `routed`) read after it. So the identities of
    /// [`crate::Report`] hold with non-negative in-flight terms at any moment.
    pub fn snapshot(&self) -> Vec<(String, &'static str, u64)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut values = vec![0; entries.len()];
        for pass in 0..=READ_PASSES {
            for (i, (_, n, c)) in entries.iter().enumerate() {
                if read_pass(n) == pass {
                    values[i] = c.get();
                }
            }
        }
        entries
            .iter()
            .zip(values)
            .map(|((o, n, _), v)| (o.clone(), *n, v))
            .collect()
    }

    /// The value of `owner`'s counter `name`, or 0 when it was never created.
    pub fn value(&self, owner: &str, name: &str) -> u64 {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|(o, n, _)| o == owner && *n == name)
            .map_or(0, |(_, _, c)| c.get())
    }

    /// The sum of counter `name` over every owner.
    pub fn total(&self, name: &str) -> u64 {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .filter(|(_, n, _)| *n == name)
            .map(|(_, _, c)| c.get())
            .sum()
    }
}

/// The last pass of [`read_pass`].
const READ_PASSES: u8 = 3;

/// When [`Counters::snapshot`] reads counter `name`: what a message is counted as last
/// (`delivered`, `decode_errors`, every plugin counter) in pass 0, then `routed` (route's
/// and each output's), then `injected`, and `accepted` last: the reverse of the order a
/// message is counted in.
fn read_pass(name: &str) -> u8 {
    match name {
        "accepted" => READ_PASSES,
        "injected" => 2,
        "routed" => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_shared_by_owner_and_name() {
        let cs = Counters::default();
        let a = cs.get("udp", "accepted");
        let b = cs.get("udp", "accepted");
        a.add(2);
        b.add(3);
        cs.get("udp2", "accepted").add(1);
        assert_eq!(cs.value("udp", "accepted"), 5);
        assert_eq!(cs.total("accepted"), 6);
        assert_eq!(cs.value("nope", "accepted"), 0);
    }

    #[test]
    fn a_snapshot_keeps_creation_order_and_reads_the_flow_backwards() {
        let cs = Counters::default();
        for (o, n) in [
            ("udp", "accepted"),
            ("route", "injected"),
            ("route", "routed"),
            ("out", "routed"),
            ("out", "delivered"),
        ] {
            cs.get(o, n).add(1);
        }
        let names: Vec<_> = cs.snapshot().into_iter().map(|(o, n, _)| (o, n)).collect();
        assert_eq!(names[0], ("udp".to_string(), "accepted"));
        assert_eq!(names[4], ("out".to_string(), "delivered"));
        let order: Vec<u8> = [
            "delivered",
            "decode_errors",
            "routed",
            "injected",
            "accepted",
        ]
        .iter()
        .map(|n| read_pass(n))
        .collect();
        assert_eq!(order, [0, 0, 1, 2, 3]);
    }
}
