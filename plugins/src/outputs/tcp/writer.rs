//! TcpOutput's writer thread: connects (failover over the addresses, with backoff),
//! writes whole frames many per call, notices a peer that closed its side, and counts what
//! it wrote. It shares only [`Shared`] with the output's stage.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use engine::Counter;

use super::connection::{ConnectError, Connection};
use super::tls::ClientTls;

/// How often an idle writer checks whether the peer closed the connection.
const IDLE_CHECK: Duration = Duration::from_millis(200);

/// The longest the writer sleeps at once while backing off (it checks for abort between).
const BACKOFF_SLICE: Duration = Duration::from_millis(50);

/// Bytes per `write` call.
const WRITE_CHUNK: usize = 256 * 1024;
/// The batch handed from the stage to the writer thread.
#[derive(Debug, Default)]
pub(super) struct Queue {
    /// Frames back to back.
    pub(super) bytes: Vec<u8>,
    /// Each frame's length, in order.
    pub(super) lens: Vec<u32>,
    /// The stage is done: write what is queued, then exit.
    pub(super) draining: bool,
}

/// What the stage and the writer thread share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) queue: Mutex<Queue>,
    pub(super) wake: Condvar,
    /// Messages whose frames were fully written (cumulative).
    pub(super) written: AtomicU64,
    /// Messages abandoned at stop (cumulative).
    pub(super) failed: AtomicU64,
    /// Frame bytes handed over and not yet written.
    pub(super) queued_bytes: AtomicUsize,
    /// Give up now: count what is left as failed and exit.
    pub(super) abort: AtomicBool,
    /// A clone of the current connection, so an abort can break a blocked write.
    pub(super) current: Mutex<Option<TcpStream>>,
}

impl Shared {
    /// Nothing queued, written or failed yet.
    pub(super) fn new() -> Self {
        Shared {
            queue: Mutex::new(Queue {
                bytes: Vec::with_capacity(64 * 1024),
                lens: Vec::with_capacity(1024),
                draining: false,
            }),
            wake: Condvar::new(),
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            queued_bytes: AtomicUsize::new(0),
            abort: AtomicBool::new(false),
            current: Mutex::new(None),
        }
    }

    pub(super) fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn current(&self) -> MutexGuard<'_, Option<TcpStream>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writer thread's settings and counters.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) name: String,
    pub(super) addresses: Vec<String>,
    pub(super) delay: Duration,
    pub(super) max_delay: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) write_timeout: Duration,
    pub(super) connects: Counter,
    pub(super) disconnects: Counter,
    /// TLS to every address; `None`: plain TCP.
    pub(super) tls: Option<ClientTls>,
}

/// The writer thread's state.
pub(super) struct Writer {
    shared: Arc<Shared>,
    link: Link,
    stream: Option<Connection>,
    /// The batch being written (swapped with the shared queue's, keeping capacities).
    bytes: Vec<u8>,
    lens: VecDeque<u32>,
    spare_lens: Vec<u32>,
    backoff: Duration,
    warned: bool,
}

impl Writer {
    /// A writer over `shared`, not yet connected.
    pub(super) fn new(shared: Arc<Shared>, link: Link) -> Self {
        Writer {
            shared,
            backoff: link.delay,
            link,
            stream: None,
            bytes: Vec::with_capacity(64 * 1024),
            lens: VecDeque::with_capacity(1024),
            spare_lens: Vec::with_capacity(1024),
            warned: false,
        }
    }

    /// Writes batches until the stage is done and everything is written, or an abort.
    pub(super) fn run(mut self) {
        loop {
            if !self.take_work() {
                break;
            }
            self.write_batch();
            if self.shared.abort.load(Ordering::Acquire) {
                break;
            }
        }
        self.abandon_queued();
        self.disconnect(false, true);
    }

    /// Counts the batches handed over and never taken (an abort while the destination was
    /// away) as failed, so the stage's accounting closes.
    fn abandon_queued(&mut self) {
        let mut q = self.shared.queue();
        if q.lens.is_empty() {
            return;
        }
        let left = q.lens.len() as u64;
        let bytes = q.bytes.len();
        q.lens.clear();
        q.bytes.clear();
        drop(q);
        self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.shared.failed.fetch_add(left, Ordering::AcqRel);
    }

    /// Waits for a batch and takes it; `false` when the thread should exit.
    fn take_work(&mut self) -> bool {
        let mut q = self.shared.queue();
        loop {
            if self.shared.abort.load(Ordering::Acquire) {
                return false;
            }
            if !q.lens.is_empty() {
                std::mem::swap(&mut self.bytes, &mut q.bytes);
                std::mem::swap(&mut self.spare_lens, &mut q.lens);
                drop(q);
                self.lens.extend(self.spare_lens.drain(..));
                return true;
            }
            if q.draining {
                return false;
            }
            let (guard, timeout) = self
                .shared
                .wake
                .wait_timeout(q, IDLE_CHECK)
                .unwrap_or_else(|e| e.into_inner());
            q = guard;
            if timeout.timed_out() {
                drop(q);
                self.check_peer();
                q = self.shared.queue();
            }
        }
    }

    /// Closes the connection if the peer has closed its side (or sent garbage).
    fn check_peer(&mut self) {
        if self.stream.as_mut().is_some_and(Connection::peer_closed) {
            self.disconnect(true, true);
        }
    }

    /// Closes the connection; `graceful` says goodbye first (TLS's close_notify), which a
    /// broken connection cannot.
    fn disconnect(&mut self, log: bool, graceful: bool) {
        if let Some(s) = self.stream.take() {
            self.shared.current().take();
            s.close(graceful);
            self.link.disconnects.add(1);
            if log {
                engine::log::warn(format_args!(
                    "{}: connection closed, reconnecting",
                    self.link.name
                ));
            }
        }
    }

    /// Connects to the first address that answers, backing off between rounds; `false`
    /// when aborted meanwhile.
    fn connect(&mut self) -> bool {
        loop {
            if self.shared.abort.load(Ordering::Acquire) {
                return false;
            }
            let mut errors = Vec::new();
            for (i, a) in self.link.addresses.iter().enumerate() {
                let tls = self.link.tls.as_ref().map(|t| (t, &t.names[i]));
                match Connection::open(a, tls, self.link.connect_timeout, self.link.write_timeout) {
                    Ok(s) => {
                        if let Ok(c) = s.socket().try_clone() {
                            *self.shared.current() = Some(c);
                        }
                        engine::log::info(format_args!(
                            "{} connected to {} {}",
                            self.link.name,
                            if tls.is_some() { "tls" } else { "tcp" },
                            s.socket()
                                .peer_addr()
                                .map_or_else(|_| a.clone(), |p| p.to_string())
                        ));
                        self.stream = Some(s);
                        self.link.connects.add(1);
                        self.backoff = self.link.delay;
                        self.warned = false;
                        return true;
                    }
                    Err(e) => {
                        if let (ConnectError::Tls(_), Some(t)) = (&e, &self.link.tls) {
                            t.errors.add(1);
                        }
                        if !self.warned {
                            errors.push(format!("{a}: {e}"));
                        }
                    }
                }
            }
            if !self.warned {
                engine::log::warn(format_args!(
                    "{}: cannot connect ({}); retrying with backoff up to {:?}",
                    self.link.name,
                    errors.join("; "),
                    self.link.max_delay
                ));
                self.warned = true;
            }
            let until = Instant::now() + self.backoff;
            while Instant::now() < until {
                if self.shared.abort.load(Ordering::Acquire) {
                    return false;
                }
                thread::sleep(BACKOFF_SLICE.min(until.saturating_duration_since(Instant::now())));
            }
            self.backoff = (self.backoff * 2).min(self.link.max_delay);
        }
    }

    /// Writes every frame taken, many per `write` call; on a broken connection, reconnects
    /// and sends the cut frame again from its start. On abort, counts what is left as failed.
    fn write_batch(&mut self) {
        // A stopped aggregator closed its side: do not write into a dead connection.
        self.check_peer();
        // Byte offset of the front frame, and how much of it (and beyond) is out on the
        // current connection.
        let (mut front, mut sent) = (0usize, 0usize);
        while !self.lens.is_empty() {
            if self.shared.abort.load(Ordering::Acquire) {
                break;
            }
            if self.stream.is_none() {
                sent = 0;
                if !self.connect() {
                    break;
                }
            }
            let Some(stream) = self.stream.as_mut() else {
                break;
            };
            let from = front + sent;
            let to = (from + WRITE_CHUNK).min(self.bytes.len());
            // A short write is tracked (`sent`), and a frame cut by a broken connection is
            // sent again whole, so no byte is lost or duplicated.
            let result = stream.write(&self.bytes[from..to]);
            match result {
                Ok(0) => {
                    self.disconnect(true, false);
                    sent = 0;
                }
                Ok(n) => {
                    sent += n;
                    let (mut done, mut done_bytes) = (0u64, 0usize);
                    while let Some(&l) = self.lens.front() {
                        let l = l as usize;
                        if sent < l {
                            break;
                        }
                        sent -= l;
                        front += l;
                        done += 1;
                        done_bytes += l;
                        self.lens.pop_front();
                    }
                    if done > 0 {
                        self.shared
                            .queued_bytes
                            .fetch_sub(done_bytes, Ordering::AcqRel);
                        self.shared.written.fetch_add(done, Ordering::AcqRel);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.broken(&e);
                    sent = 0;
                }
            }
        }
        if !self.lens.is_empty() {
            // Aborted: what is left is abandoned.
            let left = self.lens.len() as u64;
            let bytes: usize = self.lens.iter().map(|&l| l as usize).sum();
            self.lens.clear();
            self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.shared.failed.fetch_add(left, Ordering::AcqRel);
        }
        self.bytes.clear();
    }

    fn broken(&mut self, e: &io::Error) {
        if !self.shared.abort.load(Ordering::Acquire) {
            engine::log::warn(format_args!(
                "{}: write failed ({e}); reconnecting and sending again from the cut frame",
                self.link.name
            ));
        }
        self.disconnect(false, false);
    }
}
