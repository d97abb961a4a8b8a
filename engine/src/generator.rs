//! The message generator (Heka's `MessageGenerator`): filters retrieve a preallocated
//! holder, fill in a message and inject it; the route stage publishes injected messages
//! into the ring as a producer of its own, without ever waiting.
//!
//! `retrieve` never blocks: when every holder is in use it returns `None` and counts a
//! refusal, so a filter that injects while the ring is full cannot deadlock the pipeline
//! (it is the pipeline's only consumer of its own injections).

use std::collections::VecDeque;

use crate::message::Message;

/// A message being built for injection. Owns its buffers, which go back to the pool and
/// are reused: moving a holder moves them, it allocates nothing.
#[derive(Debug)]
pub struct Holder {
    /// The message to inject.
    pub message: Message,
    hops: u8,
}

/// Hands out holders and queues injected messages for the route stage to publish.
#[derive(Debug)]
pub struct Generator {
    free: Vec<Message>,
    pending: VecDeque<Holder>,
    /// Hops of the pack the current filter call is working on (0 from a tick).
    current_hops: u8,
    pub(crate) refused: u64,
    pub(crate) injected: u64,
}

impl Generator {
    /// A generator with `holders` preallocated messages.
    pub fn new(holders: usize) -> Self {
        Generator {
            free: (0..holders).map(|_| Message::default()).collect(),
            pending: VecDeque::with_capacity(holders),
            current_hops: 0,
            refused: 0,
            injected: 0,
        }
    }

    /// A cleared message holder, or `None` (counted) when all are in use. Never waits.
    pub fn retrieve(&mut self) -> Option<Holder> {
        match self.free.pop() {
            Some(mut message) => {
                message.clear();
                Some(Holder {
                    message,
                    hops: self.current_hops,
                })
            }
            None => {
                self.refused += 1;
                None
            }
        }
    }

    /// Queues `holder`'s message for publication into the ring.
    pub fn inject(&mut self, holder: Holder) {
        self.injected += 1;
        self.pending.push_back(holder);
    }

    /// Gives a holder back without injecting it.
    pub fn release(&mut self, holder: Holder) {
        self.free.push(holder.message);
    }

    /// The injected messages not yet published into the ring, oldest first (for tests of
    /// filters, which have no ring to look at).
    pub fn pending_messages(&self) -> impl Iterator<Item = &Message> {
        self.pending.iter().map(|h| &h.message)
    }

    /// Publishes nothing and frees every pending injection (for tests of filters).
    pub fn discard_pending(&mut self) {
        while self.pending() > 0 {
            self.pop_front();
        }
    }

    pub(crate) fn set_hops(&mut self, hops: u8) {
        self.current_hops = hops;
    }

    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The oldest pending injection, with the hop count its pack must carry.
    pub(crate) fn front(&self) -> Option<(&Message, u8)> {
        self.pending
            .front()
            .map(|h| (&h.message, h.hops.saturating_add(1)))
    }

    /// Drops the oldest pending injection after it was published.
    pub(crate) fn pop_front(&mut self) {
        if let Some(h) = self.pending.pop_front() {
            self.free.push(h.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrieve_never_blocks_and_counts_refusals() {
        let mut g = Generator::new(2);
        let a = g.retrieve().unwrap();
        let b = g.retrieve().unwrap();
        assert!(g.retrieve().is_none());
        assert_eq!(g.refused, 1);
        g.inject(a);
        g.release(b);
        assert_eq!(g.pending(), 1);
        assert!(g.retrieve().is_some(), "a released holder is reusable");
        g.pop_front();
        assert_eq!(g.pending(), 0);
        assert!(g.retrieve().is_some(), "a published holder is reusable");
    }
}
