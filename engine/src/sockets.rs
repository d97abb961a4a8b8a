//! Listening sockets that outlive a pipeline (DESIGN.md section 10, "Reload"): the
//! supervisor keeps one descriptor per (protocol, configured address, instance), and each
//! pipeline's inputs get a duplicate of it. A reload builds the new pipeline on the same
//! sockets, so the kernel keeps queueing datagrams (and accepting connections) through the
//! switch: nothing is refused, and a port chosen by the kernel (`:0`) stays the same.

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Which socket: protocol, the address as configured, and the instance (`sockets: N`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SocketKey {
    protocol: &'static str,
    address: String,
    instance: usize,
}

/// A TCP connection handed from a stopping input to its successor, with the bytes it had
/// read but not yet framed.
#[derive(Debug)]
pub struct HandedOver {
    /// The connection.
    pub stream: OwnedFd,
    /// Bytes read from it that did not make a whole frame yet.
    pub pending: Vec<u8>,
}

#[derive(Debug, Default)]
struct Inner {
    listening: HashMap<SocketKey, OwnedFd>,
    /// Connections handed over, by listening address as configured.
    connections: HashMap<String, Vec<HandedOver>>,
}

/// The supervisor's sockets. Inputs reach them through [`crate::BuildContext::listen`]
/// and [`crate::BuildContext::sockets`].
#[derive(Debug, Default)]
pub struct Sockets {
    inner: Mutex<Inner>,
    /// Whether any connection waits to be adopted (read without the lock, per tick).
    handed_over: AtomicBool,
    /// Set while a reload stops the old pipeline: its inputs leave what the sockets hold
    /// to the new pipeline instead of draining it.
    reloading: AtomicBool,
}

impl Sockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A duplicate of the socket kept for `key`, or a new one made by `bind` (and kept).
    /// Returns the socket and whether it was kept from before.
    pub(crate) fn listen<S>(
        &self,
        key: SocketKey,
        bind: impl FnOnce() -> io::Result<S>,
    ) -> io::Result<(S, bool)>
    where
        S: From<OwnedFd> + Into<OwnedFd>,
    {
        let mut inner = self.lock();
        if let Some(fd) = inner.listening.get(&key) {
            return Ok((S::from(fd.try_clone()?), true));
        }
        let fd: OwnedFd = bind()?.into();
        inner.listening.insert(key, fd.try_clone()?);
        Ok((S::from(fd), false))
    }

    /// Closes every kept socket not in `keys` (a section removed by a reload, or what a
    /// failed build bound).
    pub(crate) fn retain(&self, keys: &[SocketKey]) {
        let mut inner = self.lock();
        inner.listening.retain(|k, _| keys.contains(k));
        inner
            .connections
            .retain(|a, _| keys.iter().any(|k| &k.address == a));
    }

    /// Hands a live connection of the listener on `address` (as configured) to the next
    /// pipeline, when a reload stops this one.
    pub fn hand_over(&self, address: &str, conn: HandedOver) {
        let mut inner = self.lock();
        inner
            .connections
            .entry(address.to_string())
            .or_default()
            .push(conn);
        self.handed_over.store(true, Ordering::Release);
    }

    /// Whether a reload is stopping the pipeline: a stopping input then leaves what its
    /// socket holds to its successor (which reads the same socket) instead of draining it.
    pub fn reloading(&self) -> bool {
        self.reloading.load(Ordering::Acquire)
    }

    pub(crate) fn set_reloading(&self, on: bool) {
        self.reloading.store(on, Ordering::Release);
    }

    /// Whether connections wait to be adopted: one atomic load, for an input's tick.
    pub fn has_handed_over(&self) -> bool {
        self.handed_over.load(Ordering::Acquire)
    }

    /// The connections a previous pipeline handed over for `address` (as configured).
    pub fn take_handed_over(&self, address: &str) -> Vec<HandedOver> {
        let mut inner = self.lock();
        let taken = inner.connections.remove(address).unwrap_or_default();
        if inner.connections.is_empty() {
            self.handed_over.store(false, Ordering::Release);
        }
        taken
    }
}

impl SocketKey {
    pub(crate) fn new(protocol: &'static str, address: &str, instance: usize) -> Self {
        SocketKey {
            protocol,
            address: address.to_string(),
            instance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn a_kept_socket_is_shared_and_a_dropped_one_closed() {
        let s = Sockets::default();
        let key = SocketKey::new("udp", "127.0.0.1:0", 0);
        let bind = || UdpSocket::bind("127.0.0.1:0");
        let (a, kept) = s.listen(key.clone(), bind).unwrap();
        assert!(!kept);
        let addr = a.local_addr().unwrap();
        drop(a);
        // The supervisor's copy keeps the port bound: the next pipeline gets the same one.
        let (b, kept): (UdpSocket, bool) = s
            .listen(key.clone(), || panic!("must not bind again"))
            .unwrap();
        assert!(kept);
        assert_eq!(b.local_addr().unwrap(), addr);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"x", addr).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(b.recv(&mut buf).unwrap(), 1);
        drop(b);
        s.retain(&[]);
        // Closed: the port can be bound again.
        UdpSocket::bind(addr).expect("port released");
    }
}
