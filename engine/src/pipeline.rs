//! A running pipeline: its worker threads, counters and the handle to stop it.

mod build;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use build::{run_with, validate, Validated};
pub(crate) use build::{start, Shared};

use crate::context::{Globals, Listener};
use crate::counters::Counters;
use crate::gauges::Gauges;
use crate::plan::Plan;
use crate::plugin::Event;
use crate::report::Report;
use crate::sockets::SocketKey;
use crate::stage::DoneFlag;
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
    /// Set when the inputs may read (at once, or when a reload's old inputs stopped).
    inputs_gate: DoneFlag,
    /// Set when the outputs may run (at once, or after a reload drained the old pipeline).
    outputs_gate: DoneFlag,
    /// The input stages' done flags.
    input_done: Vec<DoneFlag>,
    /// The supervisor's sockets this pipeline uses.
    pub(crate) socket_keys: Vec<SocketKey>,
    gauges: Arc<Gauges>,
}

impl Pipeline {
    /// Asks the pipeline to stop: inputs stop reading, every stage drains what was
    /// published, outputs commit. Returns at once; [`Pipeline::wait`] for the end.
    /// Ordering: `Release`, so a gauge reader that sees the stop (`Acquire`) also sees a
    /// reload's `replaced` mark stored before it.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake_all();
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
        let (counters, started) = (self.counters.clone(), self.started);
        let (inputs, outputs) = (self.inputs.clone(), self.outputs.clone());
        let globals = self.join();
        for g in globals.all() {
            g.event(Event::Stop);
        }
        Report::new(&counters, started.elapsed(), &inputs, &outputs).settled()
    }

    /// Joins every thread (no events); returns the globals.
    pub(crate) fn join(self) -> Arc<Globals> {
        let mut panicked = Vec::new();
        for (i, t) in self.threads.into_iter().enumerate() {
            if t.join().is_err() {
                panicked.push(i);
            }
        }
        for i in panicked {
            crate::log::warn(format_args!("worker thread {i} panicked"));
        }
        self.globals
    }

    /// The plugin globals of this pipeline.
    pub(crate) fn globals(&self) -> &Arc<Globals> {
        &self.globals
    }

    /// Lets the inputs read (after the previous pipeline's inputs stopped).
    pub(crate) fn open_inputs(&self) {
        self.inputs_gate.set();
        self.wake_all();
    }

    /// Lets the outputs run (after the previous pipeline drained).
    pub(crate) fn open_outputs(&self) {
        self.outputs_gate.set();
        self.wake_all();
    }

    fn wake_all(&self) {
        for w in self.wakes.iter() {
            w.wake();
        }
    }

    /// Whether every input has stopped (after [`Pipeline::stop`]).
    pub(crate) fn inputs_done(&self) -> bool {
        self.input_done.iter().all(DoneFlag::get)
    }

    /// Names of the inputs' stages and of the outputs.
    pub(crate) fn names(&self) -> (&[String], &[String]) {
        (&self.inputs, &self.outputs)
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
