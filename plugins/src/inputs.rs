//! Built-in inputs.

pub mod statsd;
pub mod tcp;
pub mod udp;
mod udp_socket;

pub use statsd::{StatsdUdp, StatsdUdpInputConfig};
pub use tcp::{Tcp, TcpInputConfig};
pub use udp::{Udp, UdpInputConfig};
