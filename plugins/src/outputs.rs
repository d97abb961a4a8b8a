//! Built-in outputs.

pub mod counter;
pub mod file;

pub use counter::{Counter, CounterOutputConfig};
pub use file::{FileOutputConfig, FileWriter, Format, Perm};
