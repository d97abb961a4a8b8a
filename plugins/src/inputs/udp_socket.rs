//! Binding a UDP input's socket: parse, create non-blocking, size the receive buffer,
//! bind, announce. Shared by UdpInput and StatsdUdpInput. With `sockets: N` every
//! instance sets `SO_REUSEPORT` and binds the same address.

use std::net::SocketAddr;

use engine::sys;
use engine::{BuildContext, BuildError};
use socket2::{Domain, Protocol, Socket, Type};

/// A bound, non-blocking UDP socket on `address` with a receive buffer of
/// `recv_buffer_bytes` (forced past `rmem_max` when permitted), announced as
/// `listening <name> udp <addr>`. Returns the socket and the effective buffer size.
///
/// # Errors
///
/// A [`BuildError`] naming the step that failed and the address.
pub(crate) fn bind_udp(
    ctx: &BuildContext,
    address: &str,
    recv_buffer_bytes: usize,
) -> Result<(mio::net::UdpSocket, usize), BuildError> {
    let addr: SocketAddr = address
        .parse()
        .map_err(|e| BuildError::Invalid(format!("address {address:?} is not host:port: {e}")))?;
    let what = |w: &str| format!("{w} {addr}");
    let bind = || -> std::io::Result<std::net::UdpSocket> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_nonblocking(true)?;
        if ctx.instances() > 1 {
            // `sockets: N`: N sockets on one address, the kernel spreads datagrams over
            // them by flow hash, each read by its own input stage.
            socket.set_reuse_port(true)?;
        }
        socket.bind(&addr.into())?;
        Ok(socket.into())
    };
    // The socket a previous pipeline used, if any (a reload keeps it and its queue).
    let (std_socket, _kept) = ctx
        .listen("udp", address, bind)
        .map_err(|e| BuildError::io(what("bind"), e))?;
    let rcvbuf = sys::set_recv_buffer(&socket2::SockRef::from(&std_socket), recv_buffer_bytes)
        .map_err(|e| BuildError::io(what("receive buffer for"), e))?;
    let local = std_socket
        .local_addr()
        .map_err(|e| BuildError::io(what("local address of"), e))?;
    ctx.listening("udp", local);
    Ok((mio::net::UdpSocket::from_std(std_socket), rcvbuf))
}
