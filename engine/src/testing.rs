//! Test support that needs `unsafe`: a counting global allocator, so tests can prove the
//! steady state allocates nothing per message.
//!
//! ```
//! #[global_allocator]
//! static ALLOC: engine::testing::CountingAllocator = engine::testing::CountingAllocator;
//!
//! fn main() {
//!     let before = engine::testing::allocations();
//!     let v = vec![1u8; 16];
//!     assert!(engine::testing::allocations() > before);
//!     drop(v);
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static IGNORED: Cell<bool> = const { Cell::new(false) };
    static MINE: Cell<u64> = const { Cell::new(0) };
    static MINE_BYTES: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations and reallocations made by every thread that
/// did not call [`ignore_this_thread`].
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

fn count(bytes: usize) {
    // `try_with`: a thread being torn down has no thread-locals left; skip it.
    MINE.try_with(|c| c.set(c.get() + 1)).unwrap_or(());
    MINE_BYTES
        .try_with(|c| c.set(c.get().saturating_add(bytes as u64)))
        .unwrap_or(());
    if !IGNORED.try_with(Cell::get).unwrap_or(true) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; counting touches only an atomic and a
// const-initialised thread-local `Cell` (no allocation, no destructor).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged (see the impl's SAFETY).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations counted so far (`Relaxed`: read after the threads of interest have been
/// observed to finish their work through other synchronisation).
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Allocations made by the calling thread so far (whether or not it is ignored): exact for
/// work done on the test's own thread, whatever the harness's threads do meanwhile.
pub fn thread_allocations() -> u64 {
    MINE.try_with(Cell::get).unwrap_or(0)
}

/// Bytes requested by the calling thread so far: the size of every allocation and the new
/// size of every reallocation, summed (frees are not subtracted). A bound on what one call
/// may allocate: `thread_allocated_bytes()` after minus before. Zero when the
/// [`CountingAllocator`] is not the global allocator.
pub fn thread_allocated_bytes() -> u64 {
    MINE_BYTES.try_with(Cell::get).unwrap_or(0)
}

/// Stops counting the calling thread's allocations (e.g. the test thread itself).
pub fn ignore_this_thread() {
    IGNORED.with(|c| c.set(true));
}
