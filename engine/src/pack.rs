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

    /// Clears the pack in place for reuse; keeps every allocation.
    pub fn reset(&mut self) {
        self.state = PackState::Empty;
        self.decoder = 0;
        self.chain_count = 0;
        self.outputs = 0;
        self.recv_time = 0;
        self.msg_bytes.clear();
        self.message.clear();
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
