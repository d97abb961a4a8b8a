//! One ring slot: the raw bytes an input received and the message decoded from them.

use std::sync::Arc;

use crate::message::Message;
use crate::msg_buf::{Arena, MsgBuf};

/// Where a pack is in the pipeline. Every stage walks every sequence and acts only on the
/// states it owns (DESIGN.md section 10, "Pack state").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum PackState {
    /// Claimed but not yet filled.
    #[default]
    Empty,
    /// `msg_bytes` holds raw input for the decoder named by `decoder`.
    Raw,
    /// `message` holds a decoded message (by a decoder, or directly by the input).
    Decoded,
    /// The decoder refused the bytes; counted and dropped.
    DecodeFailed,
    /// A filter blocked the message; it goes to no output.
    Blocked,
    /// The message went through the generator more than `max_message_loops` times.
    LoopDropped,
    /// A claimed slot that carries no message (an input claimed more than it filled).
    Skip,
}

/// What a reused pack keeps of an outlier's decoded strings and buffers, per buffer.
pub const RETAINED_BYTES: usize = 16 << 10;

/// Raw messages longer than this give their pages back after decoding.
pub const RELEASE_RAW_ABOVE: usize = 8 << 10;

/// Largest UDP payload: the default and maximum `max_message_size`.
pub const MAX_MESSAGE_SIZE: usize = 65_507;

/// A ring slot (Heka's `PipelinePack`). Aligned to 128 bytes so neighbouring slots, which
/// different stages may be working on, never share a cache line (or an adjacent-line prefetch).
#[derive(Debug)]
#[repr(align(128))]
pub struct PipelinePack {
    /// What stage owns the pack next.
    pub state: PackState,
    /// Index of the decoder for `Raw` packs (reset to the default decoder, 0).
    pub decoder: u8,
    /// How many times the message went through the message generator (injection hops).
    pub chain_count: u8,
    /// Bitmask of the outputs this message goes to (Heka's `OutputNames`); bit i = output i.
    pub outputs: u64,
    /// When the input received it, ns since the Unix epoch.
    pub recv_time: i64,
    /// Raw bytes as received; capacity is `max_message_size`, mapped once.
    pub msg_bytes: MsgBuf,
    /// The decoded message.
    pub message: Message,
}

impl PipelinePack {
    /// A pack whose byte buffer can hold `max_message_size` bytes, in a mapping of its own
    /// (the ring's packs share one arena: see [`PipelinePack::slots`]).
    pub fn new(max_message_size: usize) -> Self {
        Self::with_buf(MsgBuf::with_capacity(max_message_size))
    }

    /// `count` packs of `max_message_size` bytes each, their buffers in one lazily committed
    /// mapping, each starting on a cache line.
    pub(crate) fn slots(count: usize, max_message_size: usize) -> std::io::Result<Vec<Self>> {
        let stride = max_message_size.div_ceil(128) * 128;
        let arena = Arena::new(stride * count)?;
        Ok((0..count)
            .map(|i| {
                // SAFETY: slot `i` covers `i * stride .. i * stride + max_message_size`,
                // inside the `stride * count` arena and disjoint from every other slot.
                Self::with_buf(unsafe {
                    MsgBuf::in_arena(Arc::clone(&arena), i * stride, max_message_size)
                })
            })
            .collect())
    }

    fn with_buf(msg_bytes: MsgBuf) -> Self {
        PipelinePack {
            state: PackState::Empty,
            decoder: 0,
            chain_count: 0,
            outputs: 0,
            recv_time: 0,
            msg_bytes,
            message: Message::default(),
        }
    }

    /// Clears the pack in place for reuse; keeps the allocations of an ordinary message and
    /// gives back what an outlier grew beyond [`RETAINED_BYTES`] per buffer.
    pub fn reset(&mut self) {
        self.state = PackState::Empty;
        self.decoder = 0;
        self.chain_count = 0;
        self.outputs = 0;
        self.recv_time = 0;
        self.msg_bytes.clear();
        self.message.clear();
        self.message.shrink_outliers(RETAINED_BYTES);
    }

    /// After decoding: gives a large datagram's raw pages back to the kernel (one `madvise`,
    /// only for messages over [`RELEASE_RAW_ABOVE`] bytes), so a slot holds its raw bytes or
    /// its decoded message, not both, and memory stays within the documented bound.
    #[inline]
    pub(crate) fn release_raw_if_large(&mut self) {
        if self.msg_bytes.len() > RELEASE_RAW_ABOVE {
            self.msg_bytes.release();
        }
    }

    /// Replaces the raw bytes with `bytes` (truncated to the buffer's capacity) and marks the
    /// pack `Raw`. Returns `false` when `bytes` did not fit, in which case the pack is `Skip`.
    pub fn set_raw(&mut self, bytes: &[u8]) -> bool {
        self.msg_bytes.clear();
        if !self.msg_bytes.extend_from_slice(bytes) {
            self.state = PackState::Skip;
            return false;
        }
        self.state = PackState::Raw;
        true
    }

    /// Whether the pack carries a message routed to output `index`.
    #[inline]
    pub fn routed_to(&self, index: usize) -> bool {
        self.state == PackState::Decoded && self.outputs & (1u64 << index) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_is_cache_line_aligned() {
        assert_eq!(std::mem::align_of::<PipelinePack>(), 128);
        assert_eq!(std::mem::size_of::<PipelinePack>() % 128, 0);
        assert!(
            std::mem::size_of::<PipelinePack>() <= 384,
            "pack grew: keep it small"
        );
    }

    #[test]
    fn reset_gives_back_what_an_outlier_grew_and_keeps_the_rest() {
        let mut p = PipelinePack::new(1024);
        p.message.payload.push_str(&"x".repeat(1 << 20));
        p.message.msg_type.push_str("small");
        for _ in 0..200 {
            p.message
                .add_field()
                .unwrap()
                .name
                .push_str(&"n".repeat(100_000));
        }
        let small = p.message.msg_type.capacity();
        p.reset();
        assert!(p.message.payload.capacity() <= RETAINED_BYTES);
        assert_eq!(
            p.message.msg_type.capacity(),
            small,
            "ordinary buffers are kept"
        );
        // Spare fields are reused (not reallocated) up to KEPT_FIELDS.
        for _ in 0..crate::message::KEPT_FIELDS {
            let f = p.message.add_field().unwrap();
            assert!(f.name.capacity() <= RETAINED_BYTES);
        }
    }

    #[test]
    fn releasing_a_large_datagram_returns_its_pages() {
        const LEN: usize = 1 << 20;
        let mut p = PipelinePack::new(LEN);
        assert!(p.set_raw(&vec![7u8; LEN]));
        let resident = |p: &mut PipelinePack| {
            let mut pages = vec![0u8; LEN / 4096];
            // SAFETY: the buffer's mapping covers LEN bytes from a page-aligned address (its
            // own arena); `pages` has one byte per page.
            let r =
                unsafe { libc::mincore(p.msg_bytes.as_mut_ptr().cast(), LEN, pages.as_mut_ptr()) };
            assert_eq!(r, 0);
            pages.iter().filter(|&&b| b & 1 == 1).count()
        };
        assert_eq!(resident(&mut p), LEN / 4096);
        p.release_raw_if_large();
        assert!(p.msg_bytes.is_empty());
        assert_eq!(resident(&mut p), 1, "only the first page stays");
        // Still usable: it reads back what is written again.
        assert!(p.set_raw(&vec![9u8; LEN]));
        assert!(p.msg_bytes.iter().all(|&b| b == 9));
    }

    #[test]
    fn reset_keeps_the_byte_buffer() {
        let mut p = PipelinePack::new(1024);
        assert!(p.set_raw(b"hello"));
        p.outputs = 3;
        p.reset();
        assert_eq!(p.msg_bytes.capacity(), 1024);
        assert_eq!(p.state, PackState::Empty);
        assert_eq!(p.outputs, 0);
        assert!(!p.set_raw(&[0; 2000]));
        assert_eq!(p.state, PackState::Skip);
    }
}
