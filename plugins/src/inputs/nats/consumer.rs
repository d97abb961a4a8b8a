//! NatsInput's client thread: pulls from the durable consumer into the queue, wakes the
//! input, and acks what the input has published into the ring.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, AckKind};
use engine::{Counter, QueueProducer};
use futures_util::StreamExt as _;

use super::{NatsInputConfig, Shared};
use crate::nats::{self as common, Backoff};

/// How long a pull request waits for messages.
const PULL_EXPIRES: Duration = Duration::from_millis(500);

/// How often acks are sent while messages keep arriving, and stop flags are looked at.
const ACK_EVERY: Duration = Duration::from_millis(20);

/// Everything the client thread owns.
pub(super) struct Fetcher {
    pub(super) name: String,
    pub(super) config: NatsInputConfig,
    pub(super) size: usize,
    pub(super) queue: QueueProducer<Vec<u8>>,
    pub(super) shared: Arc<Shared>,
    pub(super) wake: mio::unix::pipe::Sender,
    pub(super) fetched: Counter,
    pub(super) acks: Counter,
    pub(super) naks: Counter,
}

/// Messages queued for the ring and not yet acked, oldest first.
struct Held {
    messages: VecDeque<jetstream::Message>,
    /// Messages pushed into the queue so far.
    pushed: u64,
}

impl Fetcher {
    pub(super) async fn run(mut self, exit: Arc<AtomicBool>) {
        let Some((client, consumer)) = self.setup(&exit).await else {
            return;
        };
        let mut held = Held {
            messages: VecDeque::with_capacity(self.size),
            pushed: 0,
        };
        let mut backoff = Backoff::new();
        let mut failing = false;
        let want = self.config.batch.get();
        while !exit.load(Ordering::Acquire) {
            self.ack_published(&mut held).await;
            // Acquire: pairs with the Release in `Nats::fill` (the slots are free).
            let queued = held.pushed - self.shared.consumed.load(Ordering::Acquire);
            let free = self.size - queued as usize;
            if self.shared.stopping.load(Ordering::Acquire) || free == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            let request = consumer
                .batch()
                .max_messages(free.min(want))
                .expires(PULL_EXPIRES)
                .messages();
            let mut batch = match tokio::time::timeout(PULL_EXPIRES * 4, request).await {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => {
                    self.failed(&mut failing, &e.to_string());
                    tokio::time::sleep(backoff.next()).await;
                    continue;
                }
                Err(_) => {
                    self.failed(&mut failing, "pull request timed out");
                    tokio::time::sleep(backoff.next()).await;
                    continue;
                }
            };
            let deadline = tokio::time::Instant::now() + PULL_EXPIRES * 4;
            loop {
                tokio::select! {
                    m = batch.next() => match m {
                        None => break,
                        Some(Ok(m)) => {
                            backoff.reset();
                            if failing {
                                engine::log::info(format_args!("{}: consuming again", self.name));
                                failing = false;
                            }
                            if !self.push(&mut held, m) {
                                break;
                            }
                        }
                        Some(Err(e)) => {
                            self.failed(&mut failing, &e.to_string());
                            break;
                        }
                    },
                    () = tokio::time::sleep(ACK_EVERY) => {}
                }
                self.ack_published(&mut held).await;
                if exit.load(Ordering::Acquire)
                    || self.shared.stopping.load(Ordering::Acquire)
                    || tokio::time::Instant::now() > deadline
                {
                    break;
                }
            }
        }
        // The input was dropped after publishing everything it took: ack that, and hand
        // back what it never took.
        self.ack_published(&mut held).await;
        for m in held.messages.drain(..) {
            let r = tokio::time::timeout(Duration::from_secs(1), m.ack_with(AckKind::Nak(None)));
            if matches!(r.await, Ok(Ok(()))) {
                self.naks.add(1);
            }
        }
        tokio::time::timeout(Duration::from_secs(2), client.flush())
            .await
            .map(|r| r.unwrap_or(()))
            .unwrap_or(());
    }

    /// Connects, gets (or creates) the stream and the durable consumer, retrying with
    /// backoff until they exist or `exit` is set.
    async fn setup(
        &self,
        exit: &AtomicBool,
    ) -> Option<(async_nats::Client, jetstream::consumer::PullConsumer)> {
        let client = match common::connect(&self.config.url, &self.name).await {
            Ok(c) => c,
            Err(e) => {
                engine::log::warn(format_args!("{}: {e}; nothing will be read", self.name));
                return None;
            }
        };
        let js = jetstream::new(client.clone());
        let c = &self.config;
        let consumer_config = pull::Config {
            durable_name: Some(c.durable.clone()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(c.ack_wait_secs),
            filter_subject: c.filter_subject.clone(),
            max_ack_pending: c.max_ack_pending.get() as i64,
            ..Default::default()
        };
        let mut backoff = Backoff::new();
        let mut warned = false;
        while !exit.load(Ordering::Acquire) {
            let r = match common::stream(&js, &c.stream, &c.stream_subjects, c.create_stream).await
            {
                Ok(stream) => stream
                    .get_or_create_consumer(&c.durable, consumer_config.clone())
                    .await
                    .map_err(|e| format!("consumer {}: {e}", c.durable)),
                Err(e) => Err(e),
            };
            match r {
                Ok(consumer) => return Some((client, consumer)),
                Err(e) => {
                    if !warned {
                        engine::log::warn(format_args!("{}: {e}; retrying", self.name));
                        warned = true;
                    }
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
        None
    }

    fn failed(&self, failing: &mut bool, e: &str) {
        if !*failing {
            engine::log::warn(format_args!("{}: pull failed ({e}); retrying", self.name));
            *failing = true;
        }
    }

    /// Copies `m` into the queue (there is room: at most `size` are queued) and wakes the
    /// input if it waits.
    fn push(&mut self, held: &mut Held, m: jetstream::Message) -> bool {
        let payload = &m.message.payload;
        let n = self.queue.try_publish(1, |_, slot| {
            slot.clear();
            slot.extend_from_slice(payload);
        });
        if n == 0 {
            // Not reached (a pull asks for at most the free slots); JetStream redelivers
            // the message after ack_wait.
            return false;
        }
        held.messages.push_back(m);
        held.pushed += 1;
        self.fetched.add(1);
        // SeqCst: see `Shared::waiting`.
        self.shared.pushed.fetch_add(1, Ordering::SeqCst);
        if self.shared.waiting.swap(false, Ordering::SeqCst) {
            // A full pipe already wakes the input.
            self.wake.write_all(&[1]).unwrap_or(());
        }
        true
    }

    /// Acks the held messages the input has published, each on its own
    /// (`AckPolicy::Explicit`: with `All`, one hekad's ack would also ack messages another
    /// instance, or this one before a restart, fetched and never published).
    async fn ack_published(&self, held: &mut Held) {
        // Acquire: pairs with the Release in `Nats::credit`.
        let published = self.shared.published.load(Ordering::Acquire);
        let first = held.pushed - held.messages.len() as u64;
        let mut acked = 0;
        for _ in first..published.min(held.pushed) {
            let Some(m) = held.messages.pop_front() else {
                break;
            };
            // Sent without waiting for the server: a lost ack means a redelivery after
            // ack_wait (at least once), never a loss.
            let r = tokio::time::timeout(Duration::from_secs(1), m.ack()).await;
            acked += u64::from(matches!(r, Ok(Ok(()))));
        }
        self.acks.add(acked);
    }
}
