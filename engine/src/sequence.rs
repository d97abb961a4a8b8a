//! A sequence counter on its own cache line: the cursor of a producer or a stage.

use std::sync::atomic::Ordering;

use crossbeam_utils::CachePadded;

use crate::sync::AtomicI64;

/// The value of a sequence before anything was published or processed.
pub(crate) const INITIAL: i64 = -1;

/// The highest sequence a producer published or a stage finished with. Padded so that
/// stages on different cores never write to one cache line.
#[derive(Debug)]
pub(crate) struct Sequence(CachePadded<AtomicI64>);

impl Default for Sequence {
    fn default() -> Self {
        Sequence::new(INITIAL)
    }
}

impl Sequence {
    pub(crate) fn new(v: i64) -> Self {
        Sequence(CachePadded::new(AtomicI64::new(v)))
    }

    /// Reads with `Acquire`: pairs with the `Release` in [`Sequence::set`], so every slot
    /// write made before the owner published `v` is visible after reading `v`.
    #[inline]
    pub(crate) fn get(&self) -> i64 {
        self.0.load(Ordering::Acquire)
    }

    /// Publishes `v` with `Release` (see [`Sequence::get`]).
    #[inline]
    pub(crate) fn set(&self, v: i64) {
        self.0.store(v, Ordering::Release);
    }

    /// `compare_exchange` with `AcqRel` on success and `Acquire` on failure, used by
    /// multi-producer claims: the winner's later slot writes are ordered after the claim.
    /// (Strong, not weak: the same instruction on x86, and no spurious failures for loom
    /// to explore.)
    #[inline]
    pub(crate) fn compare_exchange(&self, current: i64, new: i64) -> Result<i64, i64> {
        self.0
            .compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
    }
}

/// The minimum of `seqs`, or `default` when there are none.
#[inline]
pub(crate) fn minimum(seqs: &[std::sync::Arc<Sequence>], default: i64) -> i64 {
    seqs.iter().map(|s| s.get()).min().unwrap_or(default)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_padded() {
        assert!(std::mem::align_of::<Sequence>() >= 64);
        assert_eq!(Sequence::default().get(), INITIAL);
    }
}
