//! The ring: `pool_size` preallocated slots, indexed by `sequence & mask`.

use std::cell::UnsafeCell;

/// A fixed ring of slots. It owns no cursor: which thread may touch which slot is decided
/// by the sequencer and the barriers, and every access states that claim in its `SAFETY`.
pub(crate) struct RingBuffer<T> {
    slots: Box<[UnsafeCell<T>]>,
    mask: i64,
}

impl<T> std::fmt::Debug for RingBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuffer")
            .field("size", &self.slots.len())
            .finish()
    }
}

// SAFETY: slots are only reached through `get`/`get_mut`, whose callers hold the sequence
// range that makes their access exclusive (writers) or shared-read-only (readers); moving
// `T`s between threads needs `T: Send`, and sharing `&T` between readers needs `T: Sync`.
unsafe impl<T: Send + Sync> Sync for RingBuffer<T> {}
// SAFETY: the ring owns its `T`s; sending it sends them.
unsafe impl<T: Send> Send for RingBuffer<T> {}

impl<T> RingBuffer<T> {
    /// A ring of `size` slots made by `make`.
    ///
    /// # Panics
    ///
    /// If `size` is not a power of two (the engine rounds config values up before this).
    pub(crate) fn new(size: usize, mut make: impl FnMut() -> T) -> Self {
        assert!(
            size.is_power_of_two(),
            "ring size must be a power of two, got {size}"
        );
        let slots = (0..size).map(|_| UnsafeCell::new(make())).collect();
        RingBuffer {
            slots,
            mask: size as i64 - 1,
        }
    }

    #[inline]
    fn index(&self, seq: i64) -> usize {
        let i = (seq & self.mask) as usize;
        debug_assert!(i < self.slots.len());
        i
    }

    /// The slot for `seq`, shared.
    ///
    /// # Safety
    ///
    /// The caller must be a consumer that saw `seq` published through its barrier and has
    /// not yet moved its own sequence past `seq`, and no thread may hold the slot mutably.
    #[inline]
    pub(crate) unsafe fn get(&self, seq: i64) -> &T {
        let i = self.index(seq);
        // SAFETY: `i < len` by the mask (debug-asserted in `index`); the caller's contract
        // rules out a concurrent `&mut` to this slot.
        unsafe { &*self.slots.get_unchecked(i).get() }
    }

    /// The slot for `seq`, exclusively.
    ///
    /// # Safety
    ///
    /// The caller must own `seq` exclusively: a producer between claim and publish, or the
    /// only stage allowed to mutate packs at `seq` (decode shard, route) between seeing it
    /// through its barrier and publishing past it, while every downstream reader waits.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get_mut(&self, seq: i64) -> &mut T {
        let i = self.index(seq);
        // SAFETY: `i < len` by the mask; the caller's contract makes this the only
        // reference to the slot until it publishes.
        unsafe { &mut *self.slots.get_unchecked(i).get() }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "ring size must be a power of two, got 6")]
    fn size_must_be_a_power_of_two() {
        let _ = RingBuffer::new(6, || 0u8);
    }

    #[test]
    fn sequences_wrap_onto_slots() {
        let r = RingBuffer::new(4, || 0u32);
        // SAFETY: single-threaded test, no other reference exists.
        unsafe { *r.get_mut(5) = 7 };
        // SAFETY: as above.
        assert_eq!(unsafe { *r.get(1) }, 7);
    }
}
