//! How far the outputs have committed: what an input that acknowledges its source (a NATS
//! consumer) reads so that it acks a message only after every output committed it
//! (DESIGN.md section 10, "Delivery promises").

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::sequence::{self, Sequence};

/// The ring sequence up to which every output has committed (or counted as a write error)
/// everything it was handed: the minimum of each output's committed cursor. An output
/// advances its cursor past packs not routed to it as it walks them, so a message routed
/// nowhere counts as committed once every output has passed it. Cheap to clone; read with
/// [`Committed::get`].
///
/// An input that may hold only so many messages unacknowledged can also ask the outputs to
/// commit early ([`Committed::request`]) instead of waiting for their commit interval.
#[derive(Clone, Debug)]
pub struct Committed {
    cursors: Arc<Vec<Arc<Sequence>>>,
    /// The highest sequence an input asked to have committed now; every output stage reads
    /// it (once per poll) and commits early while it holds something at or below it.
    demand: Arc<AtomicI64>,
}

impl Committed {
    pub(crate) fn new(cursors: Vec<Arc<Sequence>>) -> Self {
        Committed {
            cursors: Arc::new(cursors),
            demand: Arc::new(AtomicI64::new(-1)),
        }
    }

    /// Asks every output to commit what it holds up to sequence `seq` now, not at its next
    /// commit interval: for an input that stops receiving until what it took is committed
    /// (NatsInput at half its `max_ack_pending`). Never lowers an earlier request.
    /// Ordering: `Release` max, read with `Acquire`; it is a hint, nothing is published
    /// through it.
    pub fn request(&self, seq: i64) {
        self.demand.fetch_max(seq, Ordering::Release);
    }

    /// The shared request cursor (for the output stages).
    pub(crate) fn demand(&self) -> Arc<AtomicI64> {
        self.demand.clone()
    }

    /// A cursor that never moves (contexts outside a pipeline).
    pub(crate) fn none() -> Self {
        Committed::new(vec![Arc::new(Sequence::default())])
    }

    /// The highest sequence committed by every output (`Acquire` loads, pairing with each
    /// output stage's `Release` store after its commit); -1 before anything is.
    pub fn get(&self) -> i64 {
        sequence::minimum(&self.cursors, -1)
    }
}
