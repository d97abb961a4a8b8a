//! The raw-bytes buffer of a pack: a fixed-capacity slice of a lazily committed arena.
//!
//! Every pack can hold `max_message_size` bytes (65,507 by default), but most messages are a
//! few hundred bytes. The ring's buffers are one anonymous `mmap`: the kernel backs a page
//! with memory only when something writes to it, so a ring of 8,192 × 64 KiB slots costs
//! one page per slot for small messages, not 512 MiB. (`calloc` would touch every page.)

use std::io;
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::Arc;

/// An anonymous, private, lazily zero-filled mapping.
#[derive(Debug)]
pub(crate) struct Arena {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the arena is plain memory; which thread may touch which part of it is decided by
// the ring's sequences (each `MsgBuf` owns a disjoint range).
unsafe impl Send for Arena {}
// SAFETY: as above; the arena itself is never read or written through `&Arena`.
unsafe impl Sync for Arena {}

impl Arena {
    /// Maps `len` bytes (at least one page).
    pub(crate) fn new(len: usize) -> io::Result<Arc<Arena>> {
        let len = len.max(1);
        // SAFETY: an anonymous private mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Arc::new(Arena { ptr, len }))
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping made in `new`, unmapped once here;
        // every `MsgBuf` into it holds an `Arc<Arena>`, so none outlives it.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A pack's raw bytes: `len` bytes in use of a fixed `capacity`. Reads as a `[u8]`.
pub struct MsgBuf {
    ptr: NonNull<u8>,
    len: usize,
    cap: usize,
    _arena: Arc<Arena>,
}

// SAFETY: a `MsgBuf` owns its byte range exclusively (ranges of one arena are disjoint), so
// moving it to another thread moves that ownership.
unsafe impl Send for MsgBuf {}
// SAFETY: `&MsgBuf` only gives `&[u8]` reads; mutation needs `&mut MsgBuf`.
unsafe impl Sync for MsgBuf {}

impl std::fmt::Debug for MsgBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgBuf")
            .field("len", &self.len)
            .field("cap", &self.cap)
            .finish()
    }
}

impl MsgBuf {
    /// A buffer with its own arena (tests and tools; the ring shares one arena).
    ///
    /// # Panics
    ///
    /// If the kernel refuses the mapping.
    pub fn with_capacity(cap: usize) -> MsgBuf {
        let arena = Arena::new(cap).expect("mmap a message buffer");
        // SAFETY: offset 0 and `cap` are within the arena of `cap` (or more) bytes, and
        // nothing else refers to it.
        unsafe { MsgBuf::in_arena(arena, 0, cap) }
    }

    /// The range `offset .. offset + cap` of `arena`.
    ///
    /// # Safety
    ///
    /// The range must lie within the arena and no other `MsgBuf` may cover any of it.
    pub(crate) unsafe fn in_arena(arena: Arc<Arena>, offset: usize, cap: usize) -> MsgBuf {
        debug_assert!(offset + cap <= arena.len);
        // SAFETY: `offset < arena.len` (caller's contract), so the pointer stays inside the
        // mapping and is non-null.
        let ptr = unsafe { NonNull::new_unchecked(arena.ptr.as_ptr().add(offset)) };
        MsgBuf {
            ptr,
            len: 0,
            cap,
            _arena: arena,
        }
    }

    /// How many bytes it can hold.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Empties it (the bytes stay mapped).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `bytes`; returns `false` (and appends nothing) when they do not fit.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > self.cap - self.len {
            return false;
        }
        // SAFETY: the destination `len .. len + bytes.len()` is within our exclusive range
        // (checked above) and cannot overlap `bytes`, which `&mut self` keeps from aliasing it.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr().add(self.len), bytes.len())
        };
        self.len += bytes.len();
        true
    }

    /// Empties it and gives the whole pages after its first one back to the kernel
    /// (`MADV_DONTNEED`: they read as zeros and cost no memory until written again).
    pub fn release(&mut self) {
        const PAGE: usize = 4096;
        let base = self.ptr.as_ptr() as usize;
        let start = (base + PAGE).next_multiple_of(PAGE);
        let end = (base + self.len) & !(PAGE - 1);
        self.len = 0;
        if end <= start {
            return;
        }
        // SAFETY: `start .. end` is whole pages inside `base .. base + len`, which this
        // buffer owns exclusively (no other `MsgBuf` covers any byte of it, and `&mut self`
        // excludes readers); the pages stay mapped and read as zeros, which keeps every byte
        // of the range initialized.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        debug_assert_eq!(r, 0, "madvise: {}", io::Error::last_os_error());
    }

    /// Pointer to the start of the buffer, for `recvmmsg`.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Sets the length after the kernel wrote into the buffer.
    ///
    /// # Safety
    ///
    /// `len <= capacity()` (every byte of the mapping is initialized: zero-filled or written).
    pub(crate) unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= self.cap);
        self.len = len;
    }
}

impl Deref for MsgBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr .. ptr + len` is within our range, initialized (the mapping is
        // zero-filled and writes only add bytes), and not mutated while `&self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_up_to_capacity_and_never_past_it() {
        let mut b = MsgBuf::with_capacity(8);
        assert!(b.extend_from_slice(b"hello"));
        assert!(!b.extend_from_slice(b"world"), "5 + 5 > 8");
        assert_eq!(&*b, b"hello");
        assert!(b.extend_from_slice(b"!!!"));
        assert_eq!(b.len(), 8);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.capacity(), 8);
    }
}
