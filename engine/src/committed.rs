//! How far the outputs have committed: what an input that acknowledges its source (a NATS
//! consumer) reads so that it acks a message only after every output committed it
//! (DESIGN.md section 10, "Delivery promises").

use std::sync::Arc;

use crate::sequence::{self, Sequence};

/// The ring sequence up to which every output has committed (or counted as a write error)
/// everything it was handed: the minimum of each output's committed cursor. An output
/// advances its cursor past packs not routed to it as it walks them, so a message routed
/// nowhere counts as committed once every output has passed it. Cheap to clone; read with
/// [`Committed::get`].
#[derive(Clone, Debug)]
pub struct Committed {
    cursors: Arc<Vec<Arc<Sequence>>>,
}

impl Committed {
    pub(crate) fn new(cursors: Vec<Arc<Sequence>>) -> Self {
        Committed {
            cursors: Arc::new(cursors),
        }
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
