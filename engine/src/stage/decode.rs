//! The decode stage: turns `Raw` packs into `Decoded` (or `DecodeFailed`) ones.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{Cursor, Stage};
use crate::counters::Counter;
use crate::error::Decoded;
use crate::log::RateLimited;
use crate::pack::{PackState, PipelinePack};
use crate::plugin::Decoder;
use crate::ring::RingBuffer;
use crate::uuid_source::UuidSource;

/// Per-batch tallies of a decode pass.
#[derive(Debug, Default)]
pub(crate) struct DecodeTally {
    pub(crate) decoded: u64,
    pub(crate) errors: u64,
    /// Decodes that panicked (also counted in `errors`).
    pub(crate) panics: u64,
    pub(crate) timestamp_defaulted: u64,
    pub(crate) last_error: Option<crate::error::DecodeError>,
}

/// One decoder over a range of the ring: one dynamic call per batch, a monomorphized
/// loop inside.
pub(crate) trait DecodeRange: Send {
    /// Decodes the `Raw` packs of `lo..=hi` that belong to `shard` of `shards` and name
    /// this decoder.
    ///
    /// # Safety
    ///
    /// The caller must own `lo..=hi` as its decode stage (see [`RingBuffer::get_mut`]).
    unsafe fn decode_range(
        &mut self,
        ring: &RingBuffer<PipelinePack>,
        lo: i64,
        hi: i64,
        shard: (i64, i64),
        tally: &mut DecodeTally,
    );
}

/// Wraps a concrete [`Decoder`] as a [`DecodeRange`].
#[derive(Debug)]
pub(crate) struct DecodeLoop<D> {
    pub(crate) decoder: D,
    pub(crate) index: u8,
}

impl<D: Decoder> DecodeRange for DecodeLoop<D> {
    unsafe fn decode_range(
        &mut self,
        ring: &RingBuffer<PipelinePack>,
        lo: i64,
        hi: i64,
        (shard, shards): (i64, i64),
        tally: &mut DecodeTally,
    ) {
        for s in lo..=hi {
            if s % shards != shard {
                continue;
            }
            // SAFETY: the caller owns `lo..=hi` as the decode stage, and shard `shard` is the
            // only one touching sequences `s % shards == shard`.
            let pack = unsafe { ring.get_mut(s) };
            if pack.state != PackState::Raw || pack.decoder != self.index {
                continue;
            }
            // A panicking decoder is contained: the pack is a counted decode error.
            let decoded = catch_unwind(AssertUnwindSafe(|| self.decoder.decode(pack)));
            pack.release_raw_if_large();
            let Ok(decoded) = decoded else {
                pack.state = PackState::DecodeFailed;
                tally.errors += 1;
                tally.panics += 1;
                continue;
            };
            match decoded {
                Ok(d) => {
                    pack.state = PackState::Decoded;
                    tally.decoded += 1;
                    tally.timestamp_defaulted += u64::from(d == Decoded::TimestampDefaulted);
                }
                Err(e) => {
                    pack.state = PackState::DecodeFailed;
                    tally.errors += 1;
                    tally.last_error = Some(e);
                }
            }
        }
    }
}

/// A decode stage (or one shard of it).
pub(crate) struct DecodeStage {
    name: String,
    cursor: Cursor,
    decoders: Vec<Box<dyn DecodeRange>>,
    shard: (i64, i64),
    decoded: Counter,
    errors: Counter,
    panics: Counter,
    timestamp_defaulted: Counter,
    error_log: RateLimited,
    /// uuids for decoded messages that arrived without one.
    uuids: UuidSource,
}

impl std::fmt::Debug for DecodeStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeStage")
            .field("name", &self.name)
            .finish()
    }
}

impl DecodeStage {
    pub(crate) fn new(
        name: String,
        cursor: Cursor,
        decoders: Vec<Box<dyn DecodeRange>>,
        shard: (usize, usize),
        counters: &crate::counters::Counters,
    ) -> Self {
        DecodeStage {
            decoded: counters.get("decode", "decoded"),
            errors: counters.get("decode", "decode_errors"),
            panics: counters.get("decode", "panics"),
            timestamp_defaulted: counters.get("decode", "timestamp_defaulted"),
            error_log: RateLimited::named(format!("{name}: decode error")),
            uuids: UuidSource::new(),
            name,
            cursor,
            decoders,
            shard: (shard.0 as i64, shard.1 as i64),
        }
    }
}

impl Stage for DecodeStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, budget: usize) -> usize {
        let Some((lo, hi)) = self.cursor.next_batch(budget) else {
            return 0;
        };
        let mut tally = DecodeTally::default();
        for d in &mut self.decoders {
            // SAFETY: `lo..=hi` is published upstream and not yet released by this stage;
            // route (the only later mutator) waits on our sequence.
            unsafe { d.decode_range(&self.cursor.ring, lo, hi, self.shard, &mut tally) };
        }
        // Raw packs naming no configured decoder fail too. Every decoded message (from a
        // decoder, an input or the generator) without a uuid gets one here: uuid at intake.
        for s in lo..=hi {
            if s % self.shard.1 != self.shard.0 {
                continue;
            }
            // SAFETY: as above.
            let pack = unsafe { self.cursor.ring.get_mut(s) };
            match pack.state {
                PackState::Raw => {
                    pack.state = PackState::DecodeFailed;
                    tally.errors += 1;
                }
                PackState::Decoded if pack.message.uuid == [0; 16] => {
                    pack.message.uuid = self.uuids.next_v4();
                }
                _ => {}
            }
        }
        self.cursor.release(hi);
        self.decoded.add(tally.decoded);
        self.errors.add(tally.errors);
        if tally.panics > 0 {
            self.panics.add(tally.panics);
            if self.error_log.allow() {
                crate::log::warn(format_args!(
                    "{}: a decoder panicked on {} message(s); counted as decode errors",
                    self.name, tally.panics
                ));
            }
        }
        self.timestamp_defaulted.add(tally.timestamp_defaulted);
        if let Some(e) = tally.last_error {
            let name = &self.name;
            self.error_log
                .warn(format_args!("{name}: decode error: {e}"));
        }
        (hi - lo + 1) as usize
    }

    fn finish(&mut self) -> bool {
        if !self.cursor.done.get() && self.cursor.drained() {
            self.cursor.done.set();
        }
        self.cursor.done.get()
    }
}
