//! The `engine` section: ring size, message size, wait strategy, thread plan and limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest `max_message_size` accepted: 16 MiB (UDP needs at most 65,507 bytes; the
/// rest is room for stream inputs).
pub const MAX_MESSAGE_SIZE_LIMIT: usize = 16 << 20;

/// The largest `pool_size` accepted (after rounding up to a power of two): 2^30 slots.
pub const MAX_POOL_SIZE: usize = 1 << 30;

/// 1024 slots: the ring's working set (one page per slot for small messages) then fits
/// the TLB. Measured with perf/run.sh on a 2-vCPU host, hekad on one core at overload:
/// 1,024 slots cost ~20 % less CPU per message than 8,192 (1.02 vs 1.27 µs at 100 B,
/// 1.42 vs 1.79 µs at 200 B); bursts beyond the ring wait in the socket's receive buffer.
const fn default_pool_size() -> usize {
    1024
}

const fn default_max_message_size() -> usize {
    65_507
}

const fn default_budget() -> usize {
    256
}

const fn default_read_timeout_ms() -> u64 {
    100
}

const fn default_drain_timeout_ms() -> u64 {
    30_000
}

const fn default_batch() -> usize {
    256
}

const fn default_max_message_loops() -> u8 {
    4
}

/// The `engine` section of a config. Every key is optional; without the section, all
/// defaults apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Ring slots (packs), allocated once at start. Default 1024. Not a power of two:
    /// rounded up with a warning (see [`EngineConfig::effective_pool_size`]). Heka's
    /// `poolsize` is accepted too.
    #[serde(default = "default_pool_size", alias = "poolsize")]
    pub pool_size: usize,
    /// The largest message accepted, in bytes: each pack's raw buffer. Default 65,507 (the
    /// largest UDP payload); at most [`MAX_MESSAGE_SIZE_LIMIT`].
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
    /// How an idle thread waits for work. Default [`WaitKind::Park`].
    #[serde(default)]
    pub wait: WaitKind,
    /// Which stages run on which threads and cores. Default: a plan derived from the cores
    /// this process may use.
    #[serde(default)]
    pub threads: Option<Vec<ThreadPlan>>,
    /// Packs a stage handles per poll before its thread moves on. Default 256.
    #[serde(default = "default_budget")]
    pub budget: usize,
    /// How long an input waits for readiness before checking for a stop, in ms.
    /// Default 100.
    #[serde(default = "default_read_timeout_ms")]
    pub read_timeout_ms: u64,
    /// How long a stop may take to drain the ring before hekad gives up, in ms.
    /// Default 30,000.
    #[serde(default = "default_drain_timeout_ms")]
    pub drain_timeout_ms: u64,
    /// Slots an input claims at once when data is ready. Default 256.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// How many times a message may go through the message generator (a filter injecting
    /// a message that makes another filter inject...); past it the message is dropped and
    /// counted (`route.loops_dropped`). Default 4, as Heka.
    #[serde(default = "default_max_message_loops")]
    pub max_message_loops: u8,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            pool_size: default_pool_size(),
            max_message_size: default_max_message_size(),
            wait: WaitKind::default(),
            threads: None,
            budget: default_budget(),
            read_timeout_ms: default_read_timeout_ms(),
            drain_timeout_ms: default_drain_timeout_ms(),
            batch: default_batch(),
            max_message_loops: default_max_message_loops(),
        }
    }
}

impl EngineConfig {
    /// The ring size actually used: `pool_size` rounded up to a power of two (and at
    /// least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use engine::config::EngineConfig;
    ///
    /// let e = EngineConfig { pool_size: 1000, ..EngineConfig::default() };
    /// assert_eq!(e.effective_pool_size(), 1024);
    /// ```
    pub fn effective_pool_size(&self) -> usize {
        self.pool_size.clamp(1, MAX_POOL_SIZE).next_power_of_two()
    }

    /// Checks the values serde cannot: the first bad key (its path) and why, or the
    /// notes worth a warning.
    pub(crate) fn check(&self) -> Result<Vec<String>, (&'static str, String)> {
        if self.pool_size == 0 {
            return Err(("engine.pool_size", "must be at least 1".into()));
        }
        if self.pool_size > MAX_POOL_SIZE {
            return Err((
                "engine.pool_size",
                format!("must be at most {MAX_POOL_SIZE}"),
            ));
        }
        if !(1..=MAX_MESSAGE_SIZE_LIMIT).contains(&self.max_message_size) {
            let message = format!("must be between 1 and {MAX_MESSAGE_SIZE_LIMIT} bytes");
            return Err(("engine.max_message_size", message));
        }
        if self.budget == 0 {
            return Err(("engine.budget", "must be at least 1".into()));
        }
        if self.batch == 0 {
            return Err(("engine.batch", "must be at least 1".into()));
        }
        let mut warnings = Vec::new();
        if !self.pool_size.is_power_of_two() {
            warnings.push(format!(
                "engine.pool_size {} is not a power of two: using {}",
                self.pool_size,
                self.effective_pool_size()
            ));
        }
        Ok(warnings)
    }
}

/// How a thread whose stages found no work waits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// Busy-spin: the lowest latency, one full CPU per thread.
    Spin,
    /// Spin with `yield_now`: gives the CPU to other runnable threads.
    Yield,
    /// Spin briefly, yield, then park for at most 1 ms (threads with inputs sleep in their
    /// poll and are woken). The default.
    #[default]
    Park,
}

/// One thread of an explicit plan (`engine.threads`): the stages it runs and the cores it
/// may run on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadPlan {
    /// The cores the thread is pinned to (an affinity mask); empty or absent: unpinned.
    #[serde(default)]
    pub cores: Vec<usize>,
    /// Stage names: an input name (`<input>.<i>` with `sockets: N`), `decode`, `route`,
    /// `generator` or an output name.
    pub stages: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::{EngineConfig, ThreadPlan, WaitKind};

    #[test]
    fn defaults_round_trip_through_json() {
        let default = EngineConfig::default();
        let value = serde_json::to_value(&default).unwrap();
        let back: EngineConfig = serde_json::from_value(value).unwrap();
        assert_eq!(back, default);
        let empty: EngineConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, default);
        assert_eq!(default.pool_size, 1024);
        assert_eq!(default.max_message_size, 65_507);
        assert_eq!(default.wait, WaitKind::Park);
        assert_eq!((default.budget, default.batch), (256, 256));
        assert_eq!(
            (default.read_timeout_ms, default.drain_timeout_ms),
            (100, 30_000)
        );
    }

    #[test]
    fn a_full_plan_round_trips_too() {
        let e = EngineConfig {
            wait: WaitKind::Spin,
            threads: Some(vec![ThreadPlan {
                cores: vec![0, 1],
                stages: vec!["udp".into()],
            }]),
            ..EngineConfig::default()
        };
        let back: EngineConfig = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn heka_poolsize_is_an_alias() {
        let e: EngineConfig = serde_json::from_str(r#"{"poolsize": 100}"#).unwrap();
        assert_eq!(e.pool_size, 100);
    }

    #[test]
    fn pool_sizes_round_up_to_powers_of_two() {
        let size = |n| EngineConfig {
            pool_size: n,
            ..EngineConfig::default()
        };
        assert_eq!(size(1).effective_pool_size(), 1);
        assert_eq!(size(8192).effective_pool_size(), 8192);
        assert_eq!(size(8193).effective_pool_size(), 16_384);
        assert_eq!(size(0).effective_pool_size(), 1);
        assert_eq!(size(1000).check().unwrap().len(), 1);
        assert!(size(1024).check().unwrap().is_empty());
        assert_eq!(size(0).check().unwrap_err().0, "engine.pool_size");
    }
}
