//! Built-in inputs.

pub mod udp;

pub use udp::{Udp, UdpInputConfig};
