//! The supervisor: runs a pipeline and replaces it on reload (DESIGN.md section 10,
//! "Reload"). It owns what outlives a pipeline: the listening sockets, the counters (which
//! carry over) and the globals of the sections a reload keeps.
//!
//! A reload builds the new pipeline first, on the same sockets; a config or build error
//! leaves the running pipeline untouched. The new pipeline's inputs start as soon as the old
//! ones have stopped reading (the kernel keeps queueing meanwhile: nothing is refused, and
//! one sender's messages stay in order), its outputs only after the old pipeline has
//! drained as on shutdown and closed its files, so no two writers share a path.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, Section};
use crate::context::Listener;
use crate::counters::Counters;
use crate::error::StartError;
use crate::pipeline::{start, Pipeline, Shared};
use crate::plan::Plan;
use crate::plugin::Event;
use crate::registry::Registry;
use crate::report::Report;
use crate::sockets::Sockets;

/// A running pipeline that can be reloaded. Signal handling stays in the binary: it calls
/// [`Supervisor::reload`] on SIGHUP and [`Supervisor::stop`] on SIGTERM.
#[derive(Debug)]
pub struct Supervisor {
    current: Pipeline,
    config: Config,
    counters: Arc<Counters>,
    sockets: Arc<Sockets>,
    started: Instant,
    /// Input stages and outputs of every generation, for the cumulative report.
    inputs: Vec<String>,
    outputs: Vec<String>,
    reloads: u64,
}

/// What a successful reload did.
#[derive(Clone, Debug)]
pub struct Reloaded {
    /// Sections whose config did not change (their globals got `Reload`).
    pub kept: Vec<String>,
    /// Whether the old pipeline drained within `engine.drain_timeout_ms` (if not, what it
    /// still held was abandoned).
    pub drained: bool,
    /// How long the old pipeline took to drain.
    pub drain_time: Duration,
}

/// The sections of `new` that `old` has with the same kind, name, type and settings.
fn unchanged(old: &Config, new: &Config) -> Vec<String> {
    let value = |s: &Section| serde_json::from_str::<serde_json::Value>(s.raw()).ok();
    let sections = |c: &Config| {
        let lists = [&c.inputs, &c.decoders, &c.filters, &c.outputs];
        lists.into_iter().flatten().cloned().collect::<Vec<_>>()
    };
    let before = sections(old);
    sections(new)
        .into_iter()
        .filter(|n| {
            before.iter().any(|o| {
                o.kind == n.kind
                    && o.name == n.name
                    && o.type_name == n.type_name
                    && value(o).is_some()
                    && value(o) == value(n)
            })
        })
        .map(|s| s.name)
        .collect()
}

fn add_names(to: &mut Vec<String>, names: &[String]) {
    for n in names {
        if !to.contains(n) {
            to.push(n.clone());
        }
    }
}

impl Supervisor {
    /// Builds and starts the pipeline `config` describes.
    ///
    /// # Errors
    ///
    /// As [`crate::run_with`].
    pub fn start(registry: &Registry, config: Config) -> Result<Supervisor, StartError> {
        let shared = Shared::default();
        let current = start(registry, &config, &shared, true)?;
        let (inputs, outputs) = current.names();
        Ok(Supervisor {
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            current,
            config,
            counters: shared.counters,
            sockets: shared.sockets,
            started: Instant::now(),
            reloads: 0,
        })
    }

    /// Replaces the running pipeline with one built from `config`. On error the running
    /// pipeline is untouched (and any socket the failed build bound is closed).
    ///
    /// # Errors
    ///
    /// A [`StartError`] from validating or building the new pipeline.
    pub fn reload(&mut self, registry: &Registry, config: Config) -> Result<Reloaded, StartError> {
        let kept = unchanged(&self.config, &config);
        if config.http != self.config.http {
            // The status server belongs to the process, not to a pipeline.
            crate::log::warn(format_args!(
                "reload: the http section changed; the status endpoint stays as it started \
                 until hekad restarts"
            ));
        }
        let shared = Shared {
            counters: self.counters.clone(),
            sockets: self.sockets.clone(),
            globals: Arc::new(self.current.globals().keep(&kept)),
        };
        let new = match start(registry, &config, &shared, false) {
            Ok(p) => p,
            Err(e) => {
                self.sockets.retain(&self.current.socket_keys);
                return Err(e);
            }
        };
        let old = std::mem::replace(&mut self.current, new);
        let t0 = Instant::now();
        let timeout = Duration::from_millis(self.config.engine.drain_timeout_ms);
        // The old inputs stop reading (leaving the sockets' queues to the new ones); then
        // the new inputs start, so messages of one sender stay in order.
        self.sockets.set_reloading(true);
        old.gauges().replaced.store(true, Ordering::Relaxed);
        old.stop();
        while !old.inputs_done() && t0.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.sockets.set_reloading(false);
        self.current.open_inputs();
        let drained = old.wait_timeout(timeout.saturating_sub(t0.elapsed()));
        if drained {
            let globals = old.join();
            for g in globals.all() {
                let kept = shared.globals.contains(&g);
                g.event(if kept { Event::Reload } else { Event::Stop });
            }
        } else {
            crate::log::warn(format_args!(
                "reload: the old pipeline did not drain within {} ms; abandoning what it holds",
                self.config.engine.drain_timeout_ms
            ));
            drop(old);
        }
        let drain_time = t0.elapsed();
        self.current.open_outputs();
        self.sockets.retain(&self.current.socket_keys);
        let (inputs, outputs) = self.current.names();
        add_names(&mut self.inputs, inputs);
        add_names(&mut self.outputs, outputs);
        self.config = config;
        self.reloads += 1;
        Ok(Reloaded {
            kept,
            drained,
            drain_time,
        })
    }

    /// Asks the running pipeline to stop (see [`Pipeline::stop`]).
    pub fn stop(&self) {
        self.current.stop();
    }

    /// Whether the running pipeline has stopped.
    pub fn is_finished(&self) -> bool {
        self.current.is_finished()
    }

    /// Waits for the running pipeline to stop, delivers `Stop` to the globals, closes the
    /// sockets, and returns the report over every generation.
    pub fn wait(self) -> Report {
        let Supervisor {
            current,
            counters,
            sockets,
            started,
            inputs,
            outputs,
            ..
        } = self;
        current.wait();
        sockets.retain(&[]);
        crate::log::flush_suppressed();
        Report::new(&counters, started.elapsed(), &inputs, &outputs).settled()
    }

    /// The counters so far, over every generation.
    pub fn report(&self) -> Report {
        Report::new(
            &self.counters,
            self.started.elapsed(),
            &self.inputs,
            &self.outputs,
        )
    }

    /// The counters (shared by every generation).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The running pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.current
    }

    /// The addresses the running pipeline's inputs listen on.
    pub fn listeners(&self) -> &[Listener] {
        self.current.listeners()
    }

    /// The running pipeline's thread plan.
    pub fn plan(&self) -> &Plan {
        self.current.plan()
    }

    /// The running config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many reloads succeeded.
    pub fn reloads(&self) -> u64 {
        self.reloads
    }
}
