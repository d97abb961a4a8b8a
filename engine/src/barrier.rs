//! Sequence barriers: how far a consumer may go.

use std::sync::Arc;

use crate::sequence::{minimum, Sequence};
use crate::sequencer::Published;

/// What a consumer waits on: the producers' publication (first stage) or the sequences of
/// the stages it depends on (the minimum of them).
#[derive(Clone, Debug)]
pub(crate) enum Barrier {
    /// Depends on the producers directly.
    Producers(Published),
    /// Depends on other stages.
    Stages(Vec<Arc<Sequence>>),
}

impl Barrier {
    /// The highest sequence this consumer may process, `>= next - 1`. Never waits.
    /// All loads are `Acquire`, pairing with the `Release` publication upstream, so every
    /// write to slots up to the returned sequence is visible to the caller.
    #[inline]
    pub(crate) fn available(&self, next: i64) -> i64 {
        match self {
            Barrier::Producers(p) => p.highest(next),
            Barrier::Stages(deps) => minimum(deps, i64::MAX),
        }
    }
}
