//! Read-only gauges over a running pipeline: the ring's published cursor, each consumer
//! stage's sequence (so its lag and the ring's occupancy), the counters and the process's
//! resident memory. Read from a monitoring thread (SIGUSR1, the HTTP status endpoint); the
//! stages never see them: a read is a few `Acquire` loads of padded sequences, plus the
//! counters' build-time `Mutex` (never taken on the hot path).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::counters::Counters;
use crate::plan::Rank;
use crate::report::Report;
use crate::sequence::{Sequence, INITIAL};
use crate::sequencer::Published;
use crate::snapshot::{RingGauge, Snapshot, StageGauge};

/// A consumer stage whose sequence the gauges read.
#[derive(Debug)]
pub(crate) struct Consumer {
    pub(crate) name: String,
    pub(crate) rank: Rank,
    pub(crate) sequence: Arc<Sequence>,
}

/// The read-only view of one pipeline that [`crate::Pipeline::gauges`] hands out. Cheap to
/// share (`Arc`); it keeps the counters and sequences alive, not the pipeline's threads.
#[derive(Debug)]
pub struct Gauges {
    pub(crate) pool_size: usize,
    pub(crate) published: Published,
    /// Input stage names (producers: no sequence of their own).
    pub(crate) inputs: Vec<String>,
    /// Decode, route and output stages, in pipeline order.
    pub(crate) consumers: Vec<Consumer>,
    /// How many of `consumers` (from the end) gate the producers.
    pub(crate) gating: usize,
    pub(crate) outputs: Vec<String>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) stop: Arc<AtomicBool>,
    /// Set by a reload before it stops this pipeline: its stop is a hand-over, not the
    /// process stopping, so the snapshot does not say `stopping` (`/health` stays 200).
    pub(crate) replaced: AtomicBool,
    pub(crate) started: Instant,
}

impl Gauges {
    /// Reads everything now: counters, sequences, ring occupancy, RSS.
    ///
    /// Consumer sequences are read before the published cursor (both `Acquire`), so a lag
    /// is never negative: a stage never passes what was published, and the cursor only grows.
    pub fn snapshot(&self) -> Snapshot {
        let taken = Instant::now();
        let uptime = taken.duration_since(self.started);
        let report = Report::new(&self.counters, uptime, &self.inputs, &self.outputs);
        let seqs: Vec<i64> = self.consumers.iter().map(|c| c.sequence.get()).collect();
        let gate = seqs[seqs.len() - self.gating..]
            .iter()
            .copied()
            .min()
            .unwrap_or(INITIAL);
        let published = self.published.highest(gate + 1).max(gate);
        let mut stages: Vec<StageGauge> = self
            .inputs
            .iter()
            .map(|name| StageGauge {
                name: name.clone(),
                rank: Rank::Input,
                sequence: None,
                lag: None,
            })
            .collect();
        stages.extend(self.consumers.iter().zip(&seqs).map(|(c, &s)| StageGauge {
            name: c.name.clone(),
            rank: c.rank,
            sequence: Some(s),
            lag: Some(published.saturating_sub(s).max(0) as u64),
        }));
        Snapshot {
            report,
            taken,
            uptime,
            // `Acquire` pairs with `Pipeline::stop`: a reload marks `replaced` first.
            stopping: self.stop.load(Ordering::Acquire) && !self.replaced.load(Ordering::Relaxed),
            ring: RingGauge {
                size: self.pool_size as u64,
                published,
                occupancy: published.saturating_sub(gate).max(0) as u64,
            },
            stages,
            rss_bytes: rss_bytes(),
        }
    }

    /// How long the pipeline has been running.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The resident set size of this process in bytes, from `/proc/self/statm` (Linux); `None`
/// where that file is missing or unreadable.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant; `_SC_PAGESIZE` is a valid name.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok().filter(|&p| p > 0)?)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_from_proc() {
        let rss = rss_bytes().expect("/proc/self/statm on Linux");
        // A running test binary has at least a page resident and far less than a TiB.
        assert!((4096..1 << 40).contains(&rss), "rss {rss}");
    }
}
