//! A running pipeline: its worker threads, counters and the handle to stop it.

mod build;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use build::{run_with, validate, Validated};

use crate::context::{Globals, Listener};
use crate::counters::Counters;
use crate::gauges::Gauges;
use crate::plan::Plan;
use crate::plugin::Event;
use crate::report::Report;
use crate::worker::Wake;

/// A running pipeline (returned by [`run_with`]). Dropping it does not stop it: call
/// [`Pipeline::stop`], then [`Pipeline::wait`].
#[derive(Debug)]
pub struct Pipeline {
    stop: Arc<AtomicBool>,
    wakes: Arc<Vec<Arc<Wake>>>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
    globals: Arc<Globals>,
    plan: Plan,
    started: Instant,
    inputs: Vec<String>,
    outputs: Vec<String>,
    listeners: Vec<Listener>,
    gauges: Arc<Gauges>,
}

impl Pipeline {
    /// Asks the pipeline to stop: inputs stop reading, every stage drains what was
    /// published, outputs commit. Returns at once; [`Pipeline::wait`] for the end.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.wakes.iter() {
            w.wake();
        }
    }

    /// Whether every worker thread has finished.
    pub fn is_finished(&self) -> bool {
        self.threads.iter().all(JoinHandle::is_finished)
    }

    /// Waits at most `timeout` for every thread to finish; returns whether they did.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Joins every thread, delivers `Stop` to the plugin globals, and returns the final
    /// report.
    pub fn wait(self) -> Report {
        let mut panicked = Vec::new();
        for (i, t) in self.threads.into_iter().enumerate() {
            if t.join().is_err() {
                panicked.push(i);
            }
        }
        for g in self.globals.all() {
            g.event(Event::Stop);
        }
        for i in panicked {
            crate::log::warn(format_args!("worker thread {i} panicked"));
        }
        Report::new(
            &self.counters,
            self.started.elapsed(),
            &self.inputs,
            &self.outputs,
        )
    }

    /// A report of the counters so far.
    pub fn report(&self) -> Report {
        Report::new(
            &self.counters,
            self.started.elapsed(),
            &self.inputs,
            &self.outputs,
        )
    }

    /// The pipeline's counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The addresses its inputs listen on.
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// The thread plan it runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// A read-only view of the ring, the stages' sequences and the counters, for monitors
    /// (SIGUSR1, the HTTP status endpoint) that must not own the pipeline.
    pub fn gauges(&self) -> Arc<Gauges> {
        self.gauges.clone()
    }
}
