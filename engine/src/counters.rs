//! Padded atomic counters, created at build and updated once per batch (STYLE.md rule 12).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_utils::CachePadded;

/// One counter on its own cache line. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<CachePadded<AtomicU64>>);

impl Counter {
    /// Adds `n` (`Relaxed`: counters order nothing; readers only need eventual values,
    /// and the final report is read after every stage thread has been joined).
    #[inline]
    pub fn add(&self, n: u64) {
        if n != 0 {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Sets the value (`Relaxed`), for gauges and for counters the kernel keeps for us.
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Reads the value (`Relaxed`).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
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

    /// A snapshot of every counter: (owner, name, value).
    pub fn snapshot(&self) -> Vec<(String, &'static str, u64)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .map(|(o, n, c)| (o.clone(), *n, c.get()))
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
}
