//! NatsOutput's client thread: takes messages from the queue, publishes them to JetStream
//! with `Nats-Msg-Id` = uuid, waits for the acks, and retries what failed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, context::Publish};
use async_nats::Subject;
use bytes::Bytes;
use engine::{Counter, QueueConsumer};

use super::{Item, Shared};
use crate::nats::{self as common, Backoff};

/// How often an idle client thread looks at its stop flag.
const IDLE_CHECK: Duration = Duration::from_millis(50);

/// Everything the client thread owns.
pub(super) struct Publisher {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) stream: String,
    pub(super) stream_subjects: Vec<String>,
    pub(super) create_stream: bool,
    pub(super) max_in_flight: usize,
    pub(super) ack_timeout: Duration,
    pub(super) queue: QueueConsumer<Item>,
    pub(super) shared: Arc<Shared>,
    pub(super) acked: Counter,
    pub(super) duplicates: Counter,
    pub(super) retries: Counter,
}

/// A message taken from the queue, waiting for its ack.
struct Pending {
    subject: Subject,
    id: String,
    payload: Bytes,
}

/// `f`, or `None` once `stop` is set (checked every [`IDLE_CHECK`]).
async fn or_stop<F: std::future::Future>(stop: &AtomicBool, f: F) -> Option<F::Output> {
    let watch = async {
        while !stop.load(Ordering::Acquire) {
            tokio::time::sleep(IDLE_CHECK).await;
        }
    };
    tokio::select! {
        r = f => Some(r),
        () = watch => None,
    }
}

impl Publisher {
    pub(super) async fn run(mut self, stop: Arc<AtomicBool>) {
        let client = match common::connect(&self.url, &self.name).await {
            Ok(c) => c,
            Err(e) => {
                engine::log::warn(format_args!(
                    "{}: {e}; nothing will be published",
                    self.name
                ));
                return;
            }
        };
        let mut js = jetstream::new(client.clone());
        js.set_timeout(self.ack_timeout);
        let mut backoff = Backoff::new();
        let mut warned = false;
        loop {
            let r = common::stream(&js, &self.stream, &self.stream_subjects, self.create_stream);
            match or_stop(&stop, r).await {
                None => return,
                Some(Ok(_)) => break,
                Some(Err(e)) => {
                    if !warned {
                        engine::log::warn(format_args!("{}: {e}; retrying", self.name));
                        warned = true;
                    }
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
        backoff.reset();
        let mut window: Vec<Pending> = Vec::with_capacity(self.max_in_flight);
        let mut failing = false;
        loop {
            self.take(&mut window);
            if window.is_empty() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                // A missed notification costs at most IDLE_CHECK.
                tokio::time::timeout(IDLE_CHECK, self.shared.notify.notified())
                    .await
                    .unwrap_or(());
                continue;
            }
            let Some(error) = or_stop(&stop, self.publish(&js, &mut window)).await else {
                break;
            };
            match error {
                None => {
                    backoff.reset();
                    if failing {
                        engine::log::info(format_args!("{}: publishing again", self.name));
                        failing = false;
                    }
                }
                Some(e) => {
                    self.retries.add(window.len() as u64);
                    if !failing {
                        engine::log::warn(format_args!(
                            "{}: publish failed ({e}); retrying {} messages with backoff",
                            self.name,
                            window.len()
                        ));
                        failing = true;
                    }
                    if or_stop(&stop, tokio::time::sleep(backoff.next()))
                        .await
                        .is_none()
                    {
                        break;
                    }
                }
            }
        }
        if !window.is_empty() {
            engine::log::warn(format_args!(
                "{}: stopped with {} messages unacknowledged",
                self.name,
                window.len()
            ));
        }
        tokio::time::timeout(Duration::from_secs(2), client.flush())
            .await
            .map(|r| r.unwrap_or(()))
            .unwrap_or(());
    }

    /// Moves messages from the queue into `window`, up to `max_in_flight`.
    fn take(&mut self, window: &mut Vec<Pending>) {
        let room = self.max_in_flight - window.len();
        if room == 0 {
            return;
        }
        let mut id = Vec::with_capacity(36);
        let n = self.queue.poll(room, |item| {
            id.clear();
            crate::encoders::uuid::format(&item.uuid, &mut id);
            window.push(Pending {
                subject: Subject::from(item.subject.as_str()),
                id: String::from_utf8_lossy(&id).into_owned(),
                payload: Bytes::copy_from_slice(&item.body),
            });
        });
        // Release: the slots were released by `poll` before the ring side sees them free.
        self.shared.taken.fetch_add(n as u64, Ordering::Release);
    }

    /// Publishes `window`, waits for every ack, and keeps in `window` only what failed;
    /// returns the last error, if any.
    async fn publish(
        &self,
        js: &jetstream::Context,
        window: &mut Vec<Pending>,
    ) -> Option<async_nats::jetstream::context::PublishError> {
        let mut acks = Vec::with_capacity(window.len());
        for p in window.iter() {
            let publish = Publish::build()
                .payload(p.payload.clone())
                .message_id(&p.id);
            acks.push(js.send_publish(p.subject.clone(), publish).await);
        }
        let results = futures_util::future::join_all(acks.into_iter().map(|a| async move {
            match a {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            }
        }))
        .await;
        let (mut ok, mut dup, mut error) = (0u64, 0u64, None);
        let mut i = 0;
        window.retain(|_| {
            let r = &results[i];
            i += 1;
            match r {
                Ok(ack) => {
                    ok += 1;
                    dup += u64::from(ack.duplicate);
                    false
                }
                Err(_) => true,
            }
        });
        for r in results {
            if let Err(e) = r {
                error = Some(e);
            }
        }
        self.acked.add(ok);
        self.duplicates.add(dup);
        // Release: pairs with the Acquire in `Nats::commit`.
        self.shared.acked.fetch_add(ok, Ordering::Release);
        error
    }
}
