//! NatsOutput: publishes every message to NATS JetStream, as a Heka protobuf message, with
//! its uuid as `Nats-Msg-Id` so JetStream drops the copies a retry publishes (within the
//! stream's duplicate window, 2 minutes by default). At least once: a message counts as
//! delivered when JetStream has acknowledged it; failed or timed-out publishes are retried
//! with backoff, for ever, while the server is down.
//!
//! The output stage only encodes each message into a slot of a bounded queue (`buffer`
//! messages); the client thread (async-nats on a tokio current-thread runtime) takes up to
//! `max_in_flight` of them at a time, publishes them and waits for their acks. A full queue
//! is back-pressure ([`engine::Output::capacity`] says 0), never a blocked stage or a drop.
//! At stop the stage waits (without blocking its thread) until every message is acked,
//! within the engine's `drain_timeout_ms`.

mod publisher;

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{
    BuildContext, BuildError, Event, Message, Output, PipelinePack, PluginConfig, QueueProducer,
    WriteError,
};
use serde::{Deserialize, Serialize};

use crate::encoders::protobuf::encode_message;
use crate::nats::{self as common, ClientThread};

use self::publisher::Publisher;

fn default_subject() -> String {
    "heka.{type}".to_string()
}

const fn default_buffer() -> NonZeroUsize {
    crate::nonzero(4096)
}

const fn default_max_in_flight() -> NonZeroUsize {
    crate::nonzero(1024)
}

const fn default_ack_timeout_ms() -> u64 {
    5000
}

/// Config of `NatsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsOutputConfig {
    /// The NATS server, `nats://host:port` (several comma-separated for a cluster).
    #[serde(default = "common::default_url")]
    pub url: String,
    /// The subject of each message; `{type}` is replaced by the message type, with `.`,
    /// `*`, `>` and whitespace turned into `_` (an empty type is `_`).
    #[serde(default = "default_subject")]
    pub subject: String,
    /// The JetStream stream the subjects belong to.
    #[serde(default = "common::default_stream")]
    pub stream: String,
    /// The stream's subjects, used when this output creates it.
    #[serde(default = "common::default_stream_subjects")]
    pub stream_subjects: Vec<String>,
    /// Create the stream at start when it does not exist (file storage, the server's
    /// defaults otherwise); with `false` it must exist.
    #[serde(default = "common::yes")]
    pub create_stream: bool,
    /// Messages held between the ring and the client thread (rounded up to a power of
    /// two); when full, the output holds the ring back.
    #[serde(default = "default_buffer")]
    pub buffer: NonZeroUsize,
    /// Publishes awaiting their acks at once.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: NonZeroUsize,
    /// How long to wait for a publish ack before retrying.
    #[serde(default = "default_ack_timeout_ms")]
    pub ack_timeout_ms: u64,
}

impl Default for NatsOutputConfig {
    fn default() -> Self {
        NatsOutputConfig {
            url: common::default_url(),
            subject: default_subject(),
            stream: common::default_stream(),
            stream_subjects: common::default_stream_subjects(),
            create_stream: true,
            buffer: default_buffer(),
            max_in_flight: default_max_in_flight(),
            ack_timeout_ms: default_ack_timeout_ms(),
        }
    }
}

/// A subject with at most one `{type}` in it.
#[derive(Clone, Debug)]
struct SubjectTemplate {
    head: String,
    tail: Option<String>,
}

impl SubjectTemplate {
    fn parse(s: &str) -> Result<Self, BuildError> {
        let (head, tail) = match s.split_once("{type}") {
            Some((h, t)) => (h, Some(t)),
            None => (s, None),
        };
        let literal = match tail {
            Some(t) => format!("{head}x{t}"),
            None => s.to_string(),
        };
        let bad = literal.is_empty()
            || literal.split('.').any(|t| {
                t.is_empty()
                    || t.contains(['*', '>', '{', '}'])
                    || t.chars().any(|c| c.is_whitespace() || c.is_control())
            });
        if bad {
            return Err(BuildError::Invalid(format!(
                "subject {s:?}: dot-separated non-empty tokens without wildcards or spaces, \
                 with at most one {{type}}"
            )));
        }
        Ok(SubjectTemplate {
            head: head.to_string(),
            tail: tail.map(str::to_string),
        })
    }

    fn render(&self, msg: &Message, out: &mut String) {
        out.push_str(&self.head);
        if let Some(tail) = &self.tail {
            common::push_subject_token(&msg.msg_type, out);
            out.push_str(tail);
        }
    }
}

/// One message on its way to the client thread (a reused queue slot).
#[derive(Debug, Default)]
struct Item {
    subject: String,
    uuid: [u8; 16],
    body: Vec<u8>,
}

/// Progress shared with the client thread.
#[derive(Debug, Default)]
struct Shared {
    /// Messages taken out of the queue (`Release` by the client thread after it released
    /// their slots, `Acquire` here).
    taken: AtomicU64,
    /// Messages acknowledged by JetStream (`Release`/`Acquire` likewise).
    acked: AtomicU64,
    /// Wakes the client thread when the queue gets messages.
    notify: tokio::sync::Notify,
}

/// The running NATS output.
pub struct Nats {
    queue: QueueProducer<Item>,
    size: u64,
    sent: u64,
    notified: u64,
    subject: SubjectTemplate,
    shared: Arc<Shared>,
    thread: ClientThread,
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl PluginConfig for NatsOutputConfig {
    type Plugin = Nats;

    fn build(&self, ctx: &BuildContext) -> Result<Nats, BuildError> {
        common::check_stream_name(&self.stream)?;
        common::check_url(&self.url)?;
        let subject = SubjectTemplate::parse(&self.subject)?;
        if self.stream_subjects.is_empty() {
            return Err(BuildError::Invalid("stream_subjects is empty".into()));
        }
        let size = self.buffer.get().next_power_of_two();
        let (mut producers, consumer) = engine::queue(size, 1, Item::default);
        let shared = Arc::new(Shared::default());
        let publisher = Publisher {
            name: ctx.name().to_string(),
            url: self.url.clone(),
            stream: self.stream.clone(),
            stream_subjects: self.stream_subjects.clone(),
            create_stream: self.create_stream,
            max_in_flight: self.max_in_flight.get(),
            ack_timeout: Duration::from_millis(self.ack_timeout_ms.max(1)),
            queue: consumer,
            shared: shared.clone(),
            acked: ctx.counter("acked"),
            duplicates: ctx.counter("duplicates"),
            retries: ctx.counter("retries"),
        };
        let thread = ClientThread::spawn(ctx.name(), move |stop| publisher.run(stop))?;
        Ok(Nats {
            queue: producers.remove(0),
            size: size as u64,
            sent: 0,
            notified: 0,
            subject,
            shared,
            thread,
        })
    }
}

impl Output for Nats {
    fn deliver(&mut self, pack: &PipelinePack) -> Result<(), WriteError> {
        let msg = &pack.message;
        let subject = &self.subject;
        let n = self.queue.try_publish(1, |_, item| {
            item.subject.clear();
            subject.render(msg, &mut item.subject);
            item.uuid = msg.uuid;
            item.body.clear();
            encode_message(msg, &mut item.body);
        });
        if n == 0 {
            // Not reached: the stage delivers at most `capacity()` messages per batch.
            return Err(WriteError::Format("NATS buffer full"));
        }
        self.sent += 1;
        Ok(())
    }

    fn commit(&mut self, _now: Instant, _force: bool) -> Result<bool, WriteError> {
        if self.sent != self.notified {
            self.notified = self.sent;
            self.shared.notify.notify_one();
        }
        Ok(self.shared.acked.load(Ordering::Acquire) == self.sent)
    }

    fn capacity(&mut self) -> usize {
        let queued = self.sent - self.shared.taken.load(Ordering::Acquire);
        (self.size - queued) as usize
    }

    fn event(&mut self, event: Event) {
        if event == Event::Stop {
            self.thread.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_default_round_trips() {
        let c = NatsOutputConfig::default();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(serde_json::from_value::<NatsOutputConfig>(v).unwrap(), c);
    }

    #[test]
    fn subjects_render_the_sanitized_type() {
        let t = SubjectTemplate::parse("heka.{type}.in").unwrap();
        let mut m = Message::default();
        m.msg_type.push_str("nginx.access log");
        let mut s = String::new();
        t.render(&m, &mut s);
        assert_eq!(s, "heka.nginx_access_log.in");
        let fixed = SubjectTemplate::parse("logs.all").unwrap();
        s.clear();
        fixed.render(&m, &mut s);
        assert_eq!(s, "logs.all");
        for bad in [
            "heka.>",
            "heka..x",
            "heka.*",
            "",
            "a b",
            "heka.{type}.{type}",
        ] {
            assert!(SubjectTemplate::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
