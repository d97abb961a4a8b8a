//! Built-in filters.

pub mod count;
pub mod heartbeat;

pub use count::{Count, CountFilterConfig};
pub use heartbeat::{Heartbeat, HeartbeatFilterConfig};
