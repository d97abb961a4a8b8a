//! A worker thread: polls its stages (downstream first), and idles by its wait strategy
//! only when none of them progressed. Threads with inputs idle in their own `mio::Poll`.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::config::WaitKind;
use crate::stage::Stage;

/// Token of a thread's own waker. Stage `i` of a thread registers its sources under
/// `Token(i)`, or `Token(i | k << STAGE_BITS)` for its `k`th source (see [`crate::Input`]).
const WAKER: mio::Token = mio::Token(usize::MAX);

/// Low bits of a token that name the stage; the rest are the stage's own.
pub(crate) const STAGE_BITS: u32 = 16;

/// How long a parked thread sleeps at most (a missed wake-up costs at most this).
const PARK_TIMEOUT: Duration = Duration::from_millis(1);

/// Idle iterations spent spinning, then yielding, before a `park` thread sleeps.
const SPIN_ROUNDS: u32 = 64;
const YIELD_ROUNDS: u32 = 80;

/// How another thread wakes this one.
#[derive(Debug)]
enum WakeBy {
    Unpark(Thread),
    Mio(mio::Waker),
}

/// A thread's sleeping flag and the means to wake it.
#[derive(Debug, Default)]
pub(crate) struct Wake {
    sleeping: CachePadded<AtomicBool>,
    by: OnceLock<WakeBy>,
}

impl Wake {
    pub(crate) fn wake(&self) {
        match self.by.get() {
            Some(WakeBy::Unpark(t)) => t.unpark(),
            Some(WakeBy::Mio(w)) => {
                // A failed wake leaves the sleeper to its bounded timeout.
                w.wake().unwrap_or(());
            }
            None => {}
        }
    }
}

/// Wakes every sleeping thread of `wakes`. One `SeqCst` fence, then a relaxed load per
/// thread: pairs with the fence in [`Worker::sleep`], so either the sleeper sees our
/// publication in its re-check, or we see its flag (Dekker).
pub(crate) fn notify(wakes: &[Arc<Wake>], me: usize) {
    fence(Ordering::SeqCst);
    for (i, w) in wakes.iter().enumerate() {
        if i != me && w.sleeping.load(Ordering::Relaxed) {
            w.wake();
        }
    }
}

/// One worker thread's stages and settings.
pub(crate) struct Worker {
    pub(crate) index: usize,
    pub(crate) cores: Vec<usize>,
    pub(crate) stages: Vec<Box<dyn Stage>>,
    pub(crate) wait: WaitKind,
    pub(crate) budget: usize,
    pub(crate) read_timeout: Duration,
    pub(crate) wakes: Arc<Vec<Arc<Wake>>>,
    pub(crate) has_inputs: bool,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.stages.iter().map(|s| s.name()).collect();
        f.debug_struct("Worker")
            .field("index", &self.index)
            .field("stages", &names)
            .finish()
    }
}

impl Worker {
    /// Runs until every stage has finished.
    pub(crate) fn run(mut self) {
        pin(&self.cores);
        let mut poll = None;
        if self.has_inputs {
            match self.setup_poll() {
                Ok(p) => poll = Some(p),
                Err(e) => crate::log::warn(format_args!("thread {}: poll setup: {e}", self.index)),
            }
        } else {
            self.wakes[self.index]
                .by
                .set(WakeBy::Unpark(thread::current()))
                .ok();
        }
        let mut events = mio::Events::with_capacity(64);
        let mut idle = 0u32;
        loop {
            if self.poll_stages() > 0 {
                notify(&self.wakes, self.index);
                idle = 0;
                continue;
            }
            if self.finish_all() {
                break;
            }
            idle = idle.saturating_add(1);
            self.idle(idle, poll.as_mut(), &mut events);
        }
        notify(&self.wakes, self.index);
    }

    /// Gives every stage its chance to finish (all of them, no short-circuit); whether all
    /// are done.
    fn finish_all(&mut self) -> bool {
        let mut all = true;
        for s in &mut self.stages {
            all &= s.finish();
        }
        all
    }

    fn setup_poll(&mut self) -> std::io::Result<mio::Poll> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        self.wakes[self.index].by.set(WakeBy::Mio(waker)).ok();
        for (i, s) in self.stages.iter_mut().enumerate() {
            s.register(poll.registry(), mio::Token(i))?;
        }
        Ok(poll)
    }

    fn poll_stages(&mut self) -> usize {
        let budget = self.budget;
        self.stages.iter_mut().map(|s| s.poll(budget)).sum()
    }

    fn idle(&mut self, round: u32, poll: Option<&mut mio::Poll>, events: &mut mio::Events) {
        match (self.wait, poll) {
            (WaitKind::Spin, None) => std::hint::spin_loop(),
            (WaitKind::Yield, None) => thread::yield_now(),
            (WaitKind::Park, None) if round < SPIN_ROUNDS => std::hint::spin_loop(),
            (WaitKind::Park, None) if round < YIELD_ROUNDS => thread::yield_now(),
            (WaitKind::Spin | WaitKind::Yield, Some(p)) => {
                self.wait_events(p, events, Some(Duration::ZERO));
                if self.wait == WaitKind::Yield {
                    thread::yield_now();
                }
            }
            (WaitKind::Park, poll) => self.sleep(poll, events),
        }
    }

    /// Sleeps until woken, a readiness event, or a timeout: 1 ms when a stage is
    /// backlogged or the thread has no inputs, the read timeout otherwise.
    fn sleep(&mut self, poll: Option<&mut mio::Poll>, events: &mut mio::Events) {
        let wake = self.wakes[self.index].clone();
        wake.sleeping.store(true, Ordering::Relaxed);
        // SeqCst fence: pairs with the one in `notify` (see there).
        fence(Ordering::SeqCst);
        if self.poll_stages() > 0 {
            wake.sleeping.store(false, Ordering::Relaxed);
            notify(&self.wakes, self.index);
            return;
        }
        match poll {
            Some(p) => {
                let timeout = if self.stages.iter().any(|s| s.backlogged()) {
                    PARK_TIMEOUT
                } else {
                    self.read_timeout
                };
                self.wait_events(p, events, Some(timeout));
            }
            None => thread::park_timeout(PARK_TIMEOUT),
        }
        wake.sleeping.store(false, Ordering::Relaxed);
    }

    fn wait_events(&mut self, p: &mut mio::Poll, events: &mut mio::Events, t: Option<Duration>) {
        if let Err(e) = p.poll(events, t) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                crate::log::warn(format_args!("thread {}: poll: {e}", self.index));
            }
            return;
        }
        for ev in events.iter() {
            let stage = ev.token().0 & ((1 << STAGE_BITS) - 1);
            if ev.token() != WAKER {
                if let Some(s) = self.stages.get_mut(stage) {
                    s.set_ready(ev.token());
                }
            }
        }
    }
}

/// Pins the current thread to the affinity mask `cores`; unpinned when empty.
fn pin(cores: &[usize]) {
    if cores.is_empty() {
        return;
    }
    if let Err(e) = crate::sys::pin_current_thread(cores) {
        crate::log::warn(format_args!("could not pin thread to cores {cores:?}: {e}"));
    }
}
