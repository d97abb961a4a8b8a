//! Built-in inputs.

pub mod nats;
pub mod statsd;
pub mod tcp;
pub mod udp;
mod udp_socket;

pub use nats::{Nats, NatsInputConfig};
pub use statsd::{StatsdUdp, StatsdUdpInputConfig};
pub use tcp::{Tcp, TcpInputConfig, TcpInputTlsConfig};
pub use udp::{Udp, UdpInputConfig};
