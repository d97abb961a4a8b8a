//! CounterOutput: counts messages and prints the rate each second on stdout (Heka's
//! CounterOutput), with a 10-second aggregate line.

use std::io::Write as _;
use std::time::{Duration, Instant};

use engine::{BuildContext, BuildError, Output, PipelinePack, PluginConfig, WriteError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Config of `CounterOutput` (no keys): prints `Got N messages. R msg/sec` on stdout each
/// second with traffic, and a 10 s `AGG Sum. Min/Max/Mean` line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterOutputConfig {}

/// The running counter.
#[derive(Debug)]
pub struct Counter {
    count: u64,
    last_count: u64,
    last_tick: Instant,
    rates: Vec<f64>,
}

impl PluginConfig for CounterOutputConfig {
    type Plugin = Counter;

    fn build(&self, _ctx: &BuildContext) -> Result<Counter, BuildError> {
        Ok(Counter {
            count: 0,
            last_count: 0,
            last_tick: Instant::now(),
            rates: Vec::with_capacity(10),
        })
    }
}

impl Counter {
    fn tick(&mut self, now: Instant) {
        let secs = now.duration_since(self.last_tick).as_secs_f64();
        let n = self.count - self.last_count;
        self.last_tick = now;
        self.last_count = self.count;
        if n == 0 {
            return;
        }
        let rate = n as f64 / secs;
        let mut out = std::io::stdout().lock();
        writeln!(out, "Got {n} messages. {rate:.2} msg/sec").unwrap_or(());
        self.rates.push(rate);
        if self.rates.len() == 10 {
            let sum: f64 = self.rates.iter().sum();
            let min = self.rates.iter().copied().fold(f64::INFINITY, f64::min);
            let max = self.rates.iter().copied().fold(0.0, f64::max);
            writeln!(
                out,
                "AGG Sum. Min: {min:.2} Max: {max:.2} Mean: {:.2}",
                sum / self.rates.len() as f64
            )
            .unwrap_or(());
            self.rates.clear();
        }
    }
}

impl Output for Counter {
    fn deliver(&mut self, _pack: &PipelinePack) -> Result<(), WriteError> {
        self.count += 1;
        Ok(())
    }

    fn commit(&mut self, now: Instant, force: bool) -> Result<bool, WriteError> {
        if force || now.duration_since(self.last_tick) >= Duration::from_secs(1) {
            self.tick(now);
        }
        Ok(true)
    }
}
