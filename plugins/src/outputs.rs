//! Built-in outputs.

pub mod counter;
pub mod file;
pub mod log;
pub mod nats;
pub mod tcp;
pub mod udp;

pub use counter::{Counter, CounterOutputConfig};
pub use file::{FileOutputConfig, FileWriter, Format, Perm};
pub use log::{Log, LogFormat, LogOutputConfig};
pub use nats::{Nats, NatsOutputConfig};
pub use tcp::{Tcp, TcpOutputConfig, TcpOutputTlsConfig, TcpSignerConfig};
pub use udp::{UdpFormat, UdpOutputConfig, UdpOutputGlobal, UdpWriter};
