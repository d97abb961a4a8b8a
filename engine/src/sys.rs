//! Safe wrappers over the OS calls the hot path needs that std and mio do not offer:
//! `recvmmsg` straight into ring slots, the kernel's drop count (`SO_MEMINFO`), forced
//! receive buffers and CPU affinity masks. Linux only.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use crate::batch::Batch;
use crate::pack::PackState;

/// `max` zeroed `mmsghdr`s and `iovec`s: the scratch of one `recvmmsg`/`sendmmsg` call.
fn mmsg_scratch(max: usize) -> (Vec<libc::mmsghdr>, Vec<libc::iovec>) {
    // SAFETY: mmsghdr is a plain C struct for which all-zero is valid.
    let zero_hdr: libc::mmsghdr = unsafe { mem::zeroed() };
    let zero_iov = libc::iovec {
        iov_base: ptr::null_mut(),
        iov_len: 0,
    };
    (vec![zero_hdr; max], vec![zero_iov; max])
}

/// Reusable `recvmmsg` scratch: headers and iovecs for up to `max` datagrams. Holds raw
/// pointers only while [`RecvMmsg::recv`] runs.
pub struct RecvMmsg {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
}

impl std::fmt::Debug for RecvMmsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvMmsg")
            .field("max", &self.hdrs.len())
            .finish()
    }
}

// SAFETY: the raw pointers in `hdrs`/`iovs` are written and used only inside `recv`, which
// holds `&mut self` and the batch; between calls they dangle but are never dereferenced.
unsafe impl Send for RecvMmsg {}

/// What one [`RecvMmsg::recv`] call received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Datagrams written into packs (including truncated ones, marked `Skip`).
    pub count: usize,
    /// Datagrams larger than a pack's buffer (marked `Skip`).
    pub truncated: usize,
}

impl RecvMmsg {
    /// Scratch for up to `max` datagrams per call.
    pub fn new(max: usize) -> Self {
        let (hdrs, iovs) = mmsg_scratch(max);
        RecvMmsg { hdrs, iovs }
    }

    /// Receives up to `min(max, batch.len() - start)` datagrams without blocking into the
    /// packs `start..` of `batch`: each gets its bytes and state `Raw` (or `Skip` when
    /// truncated). Calls `batch.set_filled(start + count)`.
    ///
    /// # Errors
    ///
    /// The OS error; `WouldBlock` when nothing was queued.
    pub fn recv(
        &mut self,
        fd: BorrowedFd<'_>,
        batch: &mut Batch<'_>,
        start: usize,
    ) -> io::Result<Received> {
        let n = self.hdrs.len().min(batch.len().saturating_sub(start));
        if n == 0 {
            return Ok(Received::default());
        }
        for i in 0..n {
            let pack = batch.pack_ptr(start + i);
            // SAFETY: `pack` points at a distinct pack owned by `batch` (mutably borrowed for
            // this whole call); we only take its buffer's pointer and capacity.
            let (base, cap) = unsafe {
                let buf = &mut (*pack).msg_bytes;
                (buf.as_mut_ptr(), buf.capacity())
            };
            self.iovs[i] = libc::iovec {
                iov_base: base.cast(),
                iov_len: cap,
            };
            let h = &mut self.hdrs[i];
            h.msg_len = 0;
            h.msg_hdr.msg_name = ptr::null_mut();
            h.msg_hdr.msg_namelen = 0;
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = ptr::null_mut();
            h.msg_hdr.msg_controllen = 0;
            h.msg_hdr.msg_flags = 0;
        }
        // SAFETY: `hdrs[..n]` point at `n` valid iovecs into live pack buffers of the given
        // capacities; the kernel writes only within them.
        let r = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                self.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
                ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let count = r as usize;
        let mut out = Received {
            count,
            ..Received::default()
        };
        for i in 0..count {
            let h = &self.hdrs[i];
            let pack = batch.get_mut(start + i);
            let len = h.msg_len as usize;
            if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 || len > pack.msg_bytes.capacity() {
                out.truncated += 1;
                pack.state = PackState::Skip;
                continue;
            }
            // SAFETY: the kernel wrote `len <= capacity` bytes at the buffer's start (and
            // the buffer is a zero-filled mapping, so every byte up to capacity is initialized).
            unsafe { pack.msg_bytes.set_len(len) };
            pack.state = PackState::Raw;
        }
        batch.set_filled(start + count);
        Ok(out)
    }
}

/// Reusable `sendmmsg` scratch for a connected datagram socket: headers and iovecs for up
/// to `max` datagrams per call. Holds raw pointers only while [`SendMmsg::send`] runs.
pub struct SendMmsg {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
}

impl std::fmt::Debug for SendMmsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendMmsg")
            .field("max", &self.hdrs.len())
            .finish()
    }
}

// SAFETY: the raw pointers in `hdrs`/`iovs` are written and used only inside `send`, which
// holds `&mut self` and borrows the data; between calls they dangle but are never read.
unsafe impl Send for SendMmsg {}

impl SendMmsg {
    /// Scratch for up to `max` (at least 1) datagrams per call.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        let (hdrs, iovs) = mmsg_scratch(max);
        SendMmsg { hdrs, iovs }
    }

    /// Sends the datagrams `data[ends[i-1]..ends[i]]` (the first starts at `start`), at most
    /// `max` of them, with one `sendmmsg` on the connected socket `fd` (blocking unless the
    /// socket is non-blocking). Returns how many datagrams the kernel took, from the first.
    ///
    /// # Errors
    ///
    /// The OS error when not even the first datagram was sent.
    ///
    /// # Panics
    ///
    /// If `ends` is not non-decreasing from `start` or goes past `data.len()`.
    pub fn send(
        &mut self,
        fd: BorrowedFd<'_>,
        data: &[u8],
        start: usize,
        ends: &[usize],
    ) -> io::Result<usize> {
        let n = self.hdrs.len().min(ends.len());
        if n == 0 {
            return Ok(0);
        }
        let mut start = start;
        for (i, &end) in ends[..n].iter().enumerate() {
            let chunk = &data[start..end];
            self.iovs[i] = libc::iovec {
                iov_base: chunk.as_ptr() as *mut libc::c_void,
                iov_len: chunk.len(),
            };
            let h = &mut self.hdrs[i];
            h.msg_len = 0;
            h.msg_hdr.msg_name = ptr::null_mut();
            h.msg_hdr.msg_namelen = 0;
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = ptr::null_mut();
            h.msg_hdr.msg_controllen = 0;
            h.msg_hdr.msg_flags = 0;
            start = end;
        }
        // SAFETY: `hdrs[..n]` point at `n` iovecs over slices of `data`, which is borrowed
        // for this whole call; the kernel only reads them (`iov_base` is `*mut` by the C
        // signature alone).
        let r =
            unsafe { libc::sendmmsg(fd.as_raw_fd(), self.hdrs.as_mut_ptr(), n as libc::c_uint, 0) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }
}

/// The socket's cumulative count of datagrams the kernel dropped (receive queue full, or
/// memory pressure): `SO_MEMINFO`'s `SK_MEMINFO_DROPS`. One syscall: sample it per tick,
/// not per datagram.
///
/// # Errors
///
/// The OS error.
pub fn socket_drops(fd: BorrowedFd<'_>) -> io::Result<u32> {
    const SK_MEMINFO_VARS: usize = 9;
    const SK_MEMINFO_DROPS: usize = 8;
    let mut info = [0u32; SK_MEMINFO_VARS];
    let mut len = mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `info`, a live array of that size,
    // and updates `len`.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    if (len as usize) < (SK_MEMINFO_DROPS + 1) * mem::size_of::<u32>() {
        return Err(io::Error::other("SO_MEMINFO too short for the drop count"));
    }
    Ok(info[SK_MEMINFO_DROPS])
}

fn setsockopt_int(fd: BorrowedFd<'_>, level: i32, opt: i32, v: i32) -> io::Result<()> {
    // SAFETY: passes a pointer to a live i32 and its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&v as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the receive buffer to `bytes`: `SO_RCVBUFFORCE` (past `rmem_max`, needs
/// CAP_NET_ADMIN), else `SO_RCVBUF`. Returns the effective size the kernel reports.
///
/// # Errors
///
/// The OS error of `SO_RCVBUF` or of reading the size back.
pub fn set_recv_buffer(socket: &socket2::Socket, bytes: usize) -> io::Result<usize> {
    use std::os::fd::AsFd;
    let v = i32::try_from(bytes / 2).unwrap_or(i32::MAX); // the kernel doubles it
    if setsockopt_int(socket.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v).is_err() {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.recv_buffer_size()
}

/// Starts writing back the file's dirty pages in `offset..offset + len` without waiting for
/// them (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that a later `fdatasync` finds little
/// left to do: a writer that calls this every few MiB never stalls for a second's worth of
/// data at its commit. Durability still comes only from `fdatasync`.
///
/// # Errors
///
/// The OS error (e.g. `ESPIPE` for a pipe): callers can treat it as advice not taken.
pub fn start_writeback(fd: BorrowedFd<'_>, offset: u64, len: u64) -> io::Result<()> {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    // SAFETY: no memory is passed; the kernel checks the descriptor and the range.
    let r =
        unsafe { libc::sync_file_range(fd.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pins the calling thread to the CPUs in `cores` (an affinity mask).
///
/// # Errors
///
/// The OS error, e.g. for a CPU this host does not have.
pub fn pin_current_thread(cores: &[usize]) -> io::Result<()> {
    // SAFETY: cpu_set_t is a plain bitmask; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    for &c in cores {
        if c >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "core id too large",
            ));
        }
        // SAFETY: `c` is below CPU_SETSIZE, checked above.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: passes a pointer to a live cpu_set_t and its size; pid 0 = this thread.
    let r = unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &set) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsFd;

    use super::{start_writeback, SendMmsg};

    #[test]
    fn writeback_starts_on_a_file_and_is_refused_on_a_pipe() {
        use std::io::Write as _;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[7; 8192]).unwrap();
        start_writeback(file.as_fd(), 0, 8192).unwrap();
        let (reader, writer) = std::io::pipe().unwrap();
        let e = start_writeback(writer.as_fd(), 0, 1 << 20).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ESPIPE), "{e}");
        assert_eq!(
            start_writeback(file.as_fd(), u64::MAX, 1)
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::InvalidInput
        );
        drop(reader);
    }

    #[test]
    fn sendmmsg_sends_each_range_as_one_datagram() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        let data = b"onetwothree";
        let mut s = SendMmsg::new(2);
        // Two per call: the third waits for the next call.
        assert_eq!(s.send(tx.as_fd(), data, 0, &[3, 6, 11]).unwrap(), 2);
        assert_eq!(s.send(tx.as_fd(), data, 6, &[11]).unwrap(), 1);
        assert_eq!(s.send(tx.as_fd(), data, 0, &[]).unwrap(), 0);
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 64];
        for want in [&b"one"[..], b"two", b"three"] {
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], want);
        }
    }
}
