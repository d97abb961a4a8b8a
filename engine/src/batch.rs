//! A claimed range of ring slots handed to an input to fill.

use crate::pack::PipelinePack;
use crate::ring::RingBuffer;

/// Slots an input claimed and may fill (Heka's `Read` target, many packs at once).
/// Every pack arrives reset, with `recv_time` set to the time of the claim.
#[derive(Debug)]
pub struct Batch<'a> {
    ring: &'a RingBuffer<PipelinePack>,
    lo: i64,
    len: usize,
    filled: usize,
}

impl<'a> Batch<'a> {
    /// # Safety
    ///
    /// The caller must own `lo .. lo + len` exclusively (claimed, not yet published) for `'a`.
    pub(crate) unsafe fn new(ring: &'a RingBuffer<PipelinePack>, lo: i64, len: usize) -> Self {
        Batch {
            ring,
            lo,
            len,
            filled: 0,
        }
    }

    /// The ring sequence of pack `i` (compare with [`crate::Committed::get`]).
    pub fn sequence(&self, i: usize) -> i64 {
        self.lo + i as i64
    }

    /// Number of claimed slots.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no slot was claimed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`th claimed pack.
    ///
    /// # Panics
    ///
    /// If `i >= len()`.
    pub fn get_mut(&mut self, i: usize) -> &mut PipelinePack {
        assert!(i < self.len, "batch index {i} out of {}", self.len);
        // SAFETY: `lo + i` is in the claimed range this batch owns exclusively (see `new`),
        // and `&mut self` guarantees no other reference from this batch is live.
        unsafe { self.ring.get_mut(self.lo + i as i64) }
    }

    /// Raw pointers to the claimed packs, for `sys::recvmmsg` (which writes through them
    /// only while this batch is mutably borrowed).
    pub(crate) fn pack_ptr(&mut self, i: usize) -> *mut PipelinePack {
        assert!(i < self.len, "batch index {i} out of {}", self.len);
        // SAFETY: as in `get_mut`; the pointer is only used while `self` is borrowed.
        unsafe { self.ring.get_mut(self.lo + i as i64) as *mut PipelinePack }
    }

    /// Records that packs `0..n` were filled; the engine publishes those and drops the rest.
    pub fn set_filled(&mut self, n: usize) {
        self.filled = n.min(self.len);
    }

    /// How many packs the input said it filled.
    pub fn filled(&self) -> usize {
        self.filled
    }
}
