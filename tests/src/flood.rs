//! A paced sender on a thread of its own: numbered JSON datagrams at a steady rate while the
//! test signals hekad (SIGTERM, SIGHUP, SIGUSR1) mid-stream. How far it got can be read at
//! any moment, and it can be stopped early.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::json_datagram;

/// Datagrams sent per pacing step.
const BURST: u64 = 64;

/// A background [`crate::send_paced`] of [`json_datagram`]s numbered from 0.
#[derive(Debug)]
pub struct Flood {
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<u64>,
}

impl Flood {
    /// Starts sending `count` datagrams to `addr` at `rate` per second.
    pub fn start(addr: SocketAddr, count: u64, rate: u64) -> Flood {
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (sent.clone(), stop.clone());
        let thread = thread::spawn(move || pace(addr, count, rate, json_datagram, &s, &st));
        Flood { sent, stop, thread }
    }

    /// Datagrams sent so far (`Acquire`: every one counted has left `send_to`).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Waits (at most `timeout`) until at least `n` are sent; panics if not.
    pub fn wait_sent(&self, n: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.sent() < n {
            assert!(
                Instant::now() < deadline && !self.thread.is_finished(),
                "the flood sent {} of {n} in {timeout:?}",
                self.sent()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until every datagram is sent; returns how many.
    pub fn join(self) -> u64 {
        self.thread.join().expect("flood thread")
    }

    /// Stops sending (after the current burst); returns how many were sent.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }
}

/// Sends `count` datagrams made by `make` to `addr` at most `rate` per second, in bursts of
/// [`BURST`], publishing the running total in `sent` after each burst; ends early when
/// `stop` is set. Returns how many were sent.
pub(crate) fn pace(
    addr: SocketAddr,
    count: u64,
    rate: u64,
    mut make: impl FnMut(u64, &mut Vec<u8>),
    sent: &AtomicU64,
    stop: &AtomicBool,
) -> u64 {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let mut buf = Vec::with_capacity(1024);
    let start = Instant::now();
    let mut n = 0;
    while n < count && !stop.load(Ordering::Relaxed) {
        let due = Duration::from_secs_f64(n as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            thread::sleep(wait);
        }
        for _ in 0..BURST.min(count - n) {
            make(n, &mut buf);
            // An unconnected socket: a port that refuses (hekad stopping) is not an error
            // here; the kernel counts the datagram under Udp NoPorts.
            sock.send_to(&buf, addr).expect("send");
            n += 1;
        }
        sent.store(n, Ordering::Release);
    }
    n
}
