//! Built-in inputs.

pub mod tcp;
pub mod udp;

pub use tcp::{Tcp, TcpInputConfig};
pub use udp::{Udp, UdpInputConfig};
