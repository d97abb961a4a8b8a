//! The Runner halves of StatsdUdpInput (Heka's StatsdInput fed a StatAccumInput): the
//! [`StatsdRecycler`] prepares each received datagram (`prep_out_data`, on the input side)
//! and the [`StatsdWriter`], a [`BatchWriter`], aggregates it (`batch`) and, at each flush
//! (`commit`), turns the aggregates into one `statmetric` message waiting to be published.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine::{BatchWriter, DataRecycler, Message, PipelinePack, WriteError, MAX_FIELDS};

use crate::statsd::{graphite_line, Aggregator, StatsdCounters};

/// The type of the message injected at each flush.
pub const STATMETRIC_TYPE: &str = "statmetric";

/// Copies a received datagram out of its pack into a reused buffer.
#[derive(Clone, Copy, Debug, Default)]
pub struct StatsdRecycler;

impl DataRecycler for StatsdRecycler {
    type OutData = Vec<u8>;

    fn make_out_data(&self) -> Vec<u8> {
        Vec::with_capacity(64 << 10)
    }

    fn zero_out_data(&self, out: &mut Vec<u8>) {
        out.clear();
    }

    /// The datagram's bytes; the aggregator splits them into lines and parses each (its
    /// API takes whole datagrams so statsd's own packet counters stay exact).
    fn prep_out_data(&self, pack: &PipelinePack, out: &mut Vec<u8>) -> Result<(), WriteError> {
        out.extend_from_slice(&pack.msg_bytes);
        Ok(())
    }
}

/// Aggregates datagrams between flushes; each `commit` renders one `statmetric` message.
#[derive(Debug)]
pub struct StatsdWriter {
    aggregator: Aggregator,
    interval: Duration,
    last_flush: Instant,
    /// At the next commit, use the real time since the last flush as the interval (the
    /// final flush at stop) instead of `interval`.
    use_elapsed: bool,
    /// The rendered `statmetric` message, valid while `pending`.
    message: Message,
    pending: bool,
    logger: String,
}

impl StatsdWriter {
    /// A writer flushing every `interval`, naming `logger` in its messages.
    pub(crate) fn new(aggregator: Aggregator, interval: Duration, logger: &str) -> Self {
        StatsdWriter {
            aggregator,
            interval,
            last_flush: Instant::now(),
            use_elapsed: false,
            message: Message::default(),
            pending: false,
            logger: logger.to_string(),
        }
    }

    /// Makes the next commit use the real elapsed interval (for the final flush).
    pub(crate) fn flush_elapsed(&mut self) {
        self.use_elapsed = true;
    }

    /// The rendered message, if a commit produced one that was not taken yet.
    pub(crate) fn pending(&self) -> Option<&Message> {
        self.pending.then_some(&self.message)
    }

    /// Marks the pending message as published.
    pub(crate) fn taken(&mut self) {
        self.pending = false;
    }

    /// The aggregator's counters.
    pub(crate) fn counters(&self) -> StatsdCounters {
        self.aggregator.counters()
    }
}

impl BatchWriter for StatsdWriter {
    type Recycler = StatsdRecycler;

    fn recycler(&self) -> StatsdRecycler {
        StatsdRecycler
    }

    fn batch(&mut self, out: &mut Vec<u8>) -> Result<(), WriteError> {
        self.aggregator.ingest(out);
        Ok(())
    }

    /// Flushes the aggregator into the `statmetric` message: the Graphite plaintext payload,
    /// and each metric as a Double field (the first [`MAX_FIELDS`]; the payload has all).
    /// A message still waiting to be published is not overwritten: the aggregates keep
    /// accumulating until it is.
    fn commit(&mut self) -> Result<(), WriteError> {
        if self.pending {
            return Ok(());
        }
        let now = Instant::now();
        let interval = if std::mem::take(&mut self.use_elapsed) {
            now.duration_since(self.last_flush)
                .max(Duration::from_millis(1))
        } else {
            self.interval
        };
        self.last_flush = now;
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = wall.as_secs() as i64;
        let m = &mut self.message;
        m.clear();
        m.msg_type.push_str(STATMETRIC_TYPE);
        m.logger.push_str(&self.logger);
        m.severity = 6;
        m.timestamp = i64::try_from(wall.as_nanos()).unwrap_or(i64::MAX);
        let Message {
            payload, fields, ..
        } = m;
        self.aggregator.flush_each(secs, interval, |key, value| {
            graphite_line(payload, key, value, secs);
            if fields.len() < MAX_FIELDS {
                let f = fields.push_slot();
                f.name.push_str(key);
                f.values.push_double(value);
            }
        });
        self.pending = true;
        Ok(())
    }

    fn commit_interval(&self) -> Duration {
        self.interval
    }
}
