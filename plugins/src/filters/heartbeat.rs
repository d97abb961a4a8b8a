//! HeartbeatFilter: watches sources (`logger` + `hostname`) and injects an `heka.alert`
//! message when a source that was sending goes quiet for `timeout_secs`, and another when
//! it sends again (the seed's anomaly-detection example).
//!
//! Alerts: type `heka.alert`, logger the filter's name, hostname the source's, severity 4
//! (warning) for `quiet` and 6 (info) for `back`; payload
//! `source <logger>@<hostname> quiet since <RFC 3339> (timeout <n>s)` or
//! `source <logger>@<hostname> back (quiet since <RFC 3339>)`; fields `state` (`quiet` or
//! `back`), `source_logger`, `source_hostname` and `last_seen_ns`.
//!
//! Messages whose type starts with `heka.` (alerts, counts) are not sources. At most
//! `max_sources` sources are tracked; messages from further sources are counted in the
//! filter's `untracked` counter and otherwise ignored. Looking up a known source allocates
//! nothing. A source quiet for `forget_after_secs` (a day) is forgotten. Silence is checked on the filter's ticks (the common key `ticker_interval_secs`,
//! 1 s when absent), so an alert comes at most one tick after the timeout.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use engine::{
    BuildContext, BuildError, Counter, Filter, Generator, Message, PipelinePack, PluginConfig,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::encoders::rfc3339;

/// The type of the injected messages.
pub const ALERT_TYPE: &str = "heka.alert";

const fn default_timeout_secs() -> u64 {
    60
}

const fn default_max_sources() -> usize {
    10_000
}

const fn default_forget_after_secs() -> u64 {
    86_400
}

/// Config of `HeartbeatFilter` (plus the common keys `message_matcher`,
/// `ticker_interval_secs`, default 1 s): injects a `heka.alert` message when a
/// `logger@hostname` source that was sending goes quiet for `timeout_secs`, and again when
/// it returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatFilterConfig {
    /// Seconds without a message after which a source counts as quiet. At least 1.
    /// Default 60.
    #[serde(default = "default_timeout_secs", alias = "timeout")]
    pub timeout_secs: u64,
    /// Most sources tracked; at least 1. Default 10,000.
    #[serde(default = "default_max_sources")]
    pub max_sources: usize,
    /// Seconds after which a quiet source is forgotten (no alert when it returns; its
    /// slot is free for another source), so sources that come and go cannot fill the map
    /// for good. 0: never. Default 86,400 (a day).
    #[serde(default = "default_forget_after_secs")]
    pub forget_after_secs: u64,
}

impl Default for HeartbeatFilterConfig {
    fn default() -> Self {
        HeartbeatFilterConfig {
            timeout_secs: default_timeout_secs(),
            max_sources: default_max_sources(),
            forget_after_secs: default_forget_after_secs(),
        }
    }
}

#[derive(Debug)]
struct Source {
    /// `recv_time` of its last message, ns since the Unix epoch.
    last_seen_ns: i64,
    /// A `quiet` alert was injected and the source has not sent since.
    quiet: bool,
    /// Where `logger` ends in the map key (`logger` then `hostname`).
    split: usize,
}

/// The running HeartbeatFilter.
#[derive(Debug)]
pub struct Heartbeat {
    name: String,
    timeout_ns: i64,
    timeout_secs: u64,
    max_sources: usize,
    /// Quiet sources silent for this long are dropped; `None`: never.
    forget_after_ns: Option<i64>,
    /// Keyed by `logger` followed by `hostname` (split at `Source::split`).
    sources: HashMap<Box<str>, Source>,
    key: String,
    untracked: Counter,
}

impl PluginConfig for HeartbeatFilterConfig {
    type Plugin = Heartbeat;

    fn build(&self, ctx: &BuildContext) -> Result<Heartbeat, BuildError> {
        if self.timeout_secs == 0 || self.max_sources == 0 {
            return Err(BuildError::Invalid(
                "timeout_secs and max_sources must be at least 1".into(),
            ));
        }
        Ok(Heartbeat {
            name: ctx.name().to_string(),
            timeout_ns: i64::try_from(self.timeout_secs)
                .unwrap_or(i64::MAX / 1_000_000_000)
                .saturating_mul(1_000_000_000),
            timeout_secs: self.timeout_secs,
            max_sources: self.max_sources,
            forget_after_ns: (self.forget_after_secs > 0).then(|| {
                i64::try_from(self.forget_after_secs)
                    .unwrap_or(i64::MAX / 1_000_000_000)
                    .saturating_mul(1_000_000_000)
            }),
            sources: HashMap::new(),
            key: String::new(),
            untracked: ctx.counter("untracked"),
        })
    }
}

/// Which alert to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Quiet,
    Back,
}

impl Heartbeat {
    /// Fills `m` with the alert for source `key` (split at `split`).
    fn alert(&self, m: &mut Message, key: &str, src: &Source, state: State, now_ns: i64) {
        let (logger, hostname) = key.split_at(src.split);
        m.msg_type.push_str(ALERT_TYPE);
        m.logger.push_str(&self.name);
        m.hostname.push_str(hostname);
        m.timestamp = now_ns;
        let mut since = Vec::with_capacity(32);
        rfc3339::format(src.last_seen_ns, &mut since);
        let since = String::from_utf8_lossy(&since);
        let (word, severity) = match state {
            State::Quiet => ("quiet", 4),
            State::Back => ("back", 6),
        };
        m.severity = severity;
        // Writing to a String cannot fail.
        match state {
            State::Quiet => write!(
                m.payload,
                "source {logger}@{hostname} quiet since {since} (timeout {}s)",
                self.timeout_secs
            ),
            State::Back => write!(
                m.payload,
                "source {logger}@{hostname} back (quiet since {since})"
            ),
        }
        .unwrap_or(());
        let mut string_field = |name: &str, value: &str| {
            if let Some(f) = m.add_field() {
                f.name.push_str(name);
                f.values.push_string().push_str(value);
            }
        };
        string_field("state", word);
        string_field("source_logger", logger);
        string_field("source_hostname", hostname);
        if let Some(f) = m.add_field() {
            f.name.push_str("last_seen_ns");
            f.values.push_integer(src.last_seen_ns);
        }
    }
}

impl Filter for Heartbeat {
    fn filter(&mut self, pack: &mut PipelinePack, generator: &mut Generator) {
        let m = &pack.message;
        if m.msg_type.starts_with("heka.") {
            return;
        }
        self.key.clear();
        self.key.push_str(&m.logger);
        self.key.push_str(&m.hostname);
        let seen = pack.recv_time;
        if let Some(src) = self.sources.get_mut(self.key.as_str()) {
            // Keys are unique per (logger, hostname) only with the split: "ab"+"c" and
            // "a"+"bc" share a key string, so the split is checked too.
            if src.split == m.logger.len() {
                let was_quiet = std::mem::take(&mut src.quiet);
                let before = src.last_seen_ns;
                src.last_seen_ns = seen.max(src.last_seen_ns);
                if was_quiet {
                    if let Some(mut h) = generator.retrieve() {
                        let src = Source {
                            last_seen_ns: before,
                            quiet: false,
                            split: m.logger.len(),
                        };
                        self.alert(&mut h.message, &self.key, &src, State::Back, seen);
                        generator.inject(h);
                    }
                }
                return;
            }
        }
        if self.sources.len() >= self.max_sources || self.sources.contains_key(self.key.as_str()) {
            self.untracked.add(1);
            return;
        }
        let src = Source {
            last_seen_ns: seen,
            quiet: false,
            split: m.logger.len(),
        };
        self.sources.insert(self.key.as_str().into(), src);
    }

    fn tick(&mut self, now_ns: i64, generator: &mut Generator) {
        let mut keys = std::mem::take(&mut self.key);
        keys.clear();
        for (k, src) in &self.sources {
            if src.quiet || now_ns.saturating_sub(src.last_seen_ns) < self.timeout_ns {
                continue;
            }
            let Some(mut h) = generator.retrieve() else {
                break; // no holder free (counted): alert on the next tick
            };
            self.alert(&mut h.message, k, src, State::Quiet, now_ns);
            generator.inject(h);
            // Remember which went quiet; marked below (the map is borrowed here).
            keys.push_str(k);
            keys.push('\0');
        }
        for k in keys.split('\0').filter(|k| !k.is_empty()) {
            if let Some(src) = self.sources.get_mut(k) {
                src.quiet = true;
            }
        }
        keys.clear();
        self.key = keys;
        if let Some(forget) = self.forget_after_ns {
            self.sources
                .retain(|_, s| !s.quiet || now_ns.saturating_sub(s.last_seen_ns) < forget);
        }
    }

    fn default_ticker(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use engine::Values;

    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn heartbeat(timeout_secs: u64, max_sources: usize) -> Heartbeat {
        HeartbeatFilterConfig {
            timeout_secs,
            max_sources,
            forget_after_secs: 100,
        }
        .build(&BuildContext::standalone("hb"))
        .unwrap()
    }

    fn send(f: &mut Heartbeat, g: &mut Generator, logger: &str, host: &str, at: i64) {
        let mut pack = PipelinePack::new(16);
        pack.message.logger.push_str(logger);
        pack.message.hostname.push_str(host);
        pack.recv_time = at;
        f.filter(&mut pack, g);
    }

    fn payloads(g: &mut Generator) -> Vec<String> {
        let p = g.pending_messages().map(|m| m.payload.clone()).collect();
        g.discard_pending();
        p
    }

    #[test]
    fn a_quiet_source_alerts_once_and_again_when_it_returns() {
        let mut f = heartbeat(10, 100);
        let mut g = Generator::new(8);
        let t0 = 1_764_043_080 * SEC;
        send(&mut f, &mut g, "app", "web1", t0);
        send(&mut f, &mut g, "app", "web2", t0 + 5 * SEC);
        f.tick(t0 + 9 * SEC, &mut g);
        assert!(payloads(&mut g).is_empty(), "not quiet yet");
        f.tick(t0 + 10 * SEC, &mut g);
        assert_eq!(
            payloads(&mut g),
            ["source app@web1 quiet since 2025-11-25T03:58:00.000000000Z (timeout 10s)"]
        );
        f.tick(t0 + 12 * SEC, &mut g);
        assert!(payloads(&mut g).is_empty(), "one alert per silence");
        send(&mut f, &mut g, "app", "web1", t0 + 13 * SEC);
        let m = g.pending_messages().next().unwrap();
        assert_eq!(m.msg_type, ALERT_TYPE);
        assert_eq!(m.hostname, "web1");
        assert_eq!(m.severity, 6);
        assert_eq!(
            m.field("state").unwrap().values.get(),
            Values::String(&["back".to_string()][..])
        );
        assert_eq!(
            payloads(&mut g),
            ["source app@web1 back (quiet since 2025-11-25T03:58:00.000000000Z)"]
        );
        f.tick(t0 + 16 * SEC, &mut g);
        assert_eq!(
            payloads(&mut g),
            ["source app@web2 quiet since 2025-11-25T03:58:05.000000000Z (timeout 10s)"]
        );
    }

    #[test]
    fn sources_are_bounded_and_internal_messages_ignored() {
        let mut f = heartbeat(1, 2);
        let mut g = Generator::new(8);
        send(&mut f, &mut g, "a", "h", 0);
        send(&mut f, &mut g, "b", "h", 0);
        send(&mut f, &mut g, "c", "h", 0);
        assert_eq!(f.sources.len(), 2);
        assert_eq!(f.untracked.get(), 1);
        let mut pack = PipelinePack::new(16);
        pack.message.msg_type.push_str("heka.alert");
        pack.message.logger.push('z');
        f.filter(&mut pack, &mut g);
        assert_eq!(f.sources.len(), 2);
    }

    #[test]
    fn long_quiet_sources_are_forgotten_and_free_their_slot() {
        let mut f = heartbeat(1, 1);
        let mut g = Generator::new(8);
        send(&mut f, &mut g, "a", "h", 0);
        f.tick(2 * SEC, &mut g);
        assert_eq!(payloads(&mut g).len(), 1, "quiet");
        send(&mut f, &mut g, "b", "h", 3 * SEC);
        assert_eq!(f.untracked.get(), 1, "the map is full");
        f.tick(100 * SEC, &mut g);
        assert!(
            f.sources.is_empty(),
            "a after 100 s quiet, b after 97 s (quiet at 100 s)"
        );
        g.discard_pending();
        send(&mut f, &mut g, "b", "h", 101 * SEC);
        assert_eq!(f.sources.len(), 1);
    }

    #[test]
    fn logger_and_hostname_do_not_run_together() {
        let mut f = heartbeat(1, 10);
        let mut g = Generator::new(8);
        send(&mut f, &mut g, "ab", "c", 0);
        send(&mut f, &mut g, "a", "bc", 0);
        assert_eq!(f.sources.len(), 1, "the second is refused, not merged");
        assert_eq!(f.untracked.get(), 1);
    }

    #[test]
    fn config_defaults_round_trip() {
        let c = HeartbeatFilterConfig::default();
        let back: HeartbeatFilterConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let t: HeartbeatFilterConfig = serde_json::from_str(r#"{"timeout": 3}"#).unwrap();
        assert_eq!(t.timeout_secs, 3);
        assert!(HeartbeatFilterConfig {
            timeout_secs: 0,
            ..HeartbeatFilterConfig::default()
        }
        .build(&BuildContext::standalone("h"))
        .is_err());
    }
}
