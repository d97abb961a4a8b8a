//! What TcpInput does when it stops: on a reload, hands its plain connections (with the
//! bytes read but not framed) to the next pipeline's input on the same address, which
//! adopts them; on a shutdown, refuses new connections. Then it half-closes what it still
//! holds and reads it until the senders close (see the module doc of `tcp`).

use std::os::fd::OwnedFd;
use std::time::Instant;

use engine::HandedOver;

use super::buffer::FrameBuffer;
use super::{Tcp, FINAL_DRAIN};

impl Tcp {
    /// Adopts the connections a stopped input on the same address handed over (one atomic
    /// load when there are none). Whether any was adopted.
    pub(super) fn adopt(&mut self) -> bool {
        if self.stopped || !self.sockets.has_handed_over() {
            return false;
        }
        let mut adopted = false;
        for h in self.sockets.take_handed_over(&self.address) {
            let stream = mio::net::TcpStream::from_std(std::net::TcpStream::from(h.stream));
            match FrameBuffer::with_pending(self.max_message_size, &h.pending) {
                Some(frames) => adopted |= self.add(stream, frames, None),
                None => self.counts.framing_errors.add(1),
            }
        }
        adopted
    }

    /// Hands every live plain connection, with what it read but did not frame, to the next
    /// pipeline (a reload). TLS ones stay: a session cannot be handed over.
    pub(super) fn hand_over_plain(&mut self) {
        for slot in 0..self.conns.len() {
            if !matches!(&self.conns[slot], Some(c) if c.tls.is_none()) {
                continue;
            }
            let Some(mut c) = self.conns[slot].take() else {
                continue;
            };
            if let Some(r) = &self.registry {
                r.deregister(&mut c.stream).unwrap_or(());
            }
            self.live -= 1;
            let pending = c.frames.pending().to_vec();
            let stream = OwnedFd::from(c.stream);
            self.sockets
                .hand_over(&self.address, HandedOver { stream, pending });
        }
        let conns = &self.conns;
        self.ready.retain(|&slot| conns[slot].is_some());
    }

    /// Takes what already connected, then refuses the rest: a connection left in the
    /// listen backlog would take a sender's frames and be reset at exit.
    pub(super) fn refuse_new(&mut self) {
        if self.accept().is_err() {
            self.counts.read_errors.add(1);
        }
        if let Some(mut l) = self.listener.take() {
            if let Some(r) = &self.registry {
                r.deregister(&mut l).unwrap_or(());
            }
            // The supervisor keeps a copy of the socket: stop listening for every copy.
            socket2::SockRef::from(&l)
                .shutdown(std::net::Shutdown::Read)
                .unwrap_or(());
        }
    }

    /// Half-closes every connection still held and starts the final drain (at most
    /// [`FINAL_DRAIN`]).
    pub(super) fn half_close_all(&mut self) {
        let mut open = false;
        for c in self.conns.iter_mut().flatten() {
            c.half_close();
            open = true;
        }
        if open {
            self.draining_until = Some(Instant::now() + FINAL_DRAIN);
        } else {
            self.ready.clear();
        }
    }
}
