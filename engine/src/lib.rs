//! The engine of hekad: a disruptor-style ring of [`PipelinePack`]s, the stages that move
//! packs through it (inputs, decode, route, outputs), the plugin API, the plugin
//! [`Registry`] and the config model.
//!
//! This is the only crate of the workspace that contains `unsafe`: ring slot access
//! (ownership proven by sequences), and the OS boundary in `sys`.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod barrier;
mod batch;
mod context;
mod counters;
mod error;
mod message;
mod pack;
mod plugin;
mod ring;
mod sequence;
mod sequencer;
mod sync;

pub use batch::Batch;
pub use context::BuildContext;
pub use counters::{Counter, Counters};
pub use error::{BuildError, DecodeError, Decoded, RunError, WriteError};
pub use message::{Clear, Field, FieldValues, Message, Reuse, ValueType, Values, DEFAULT_SEVERITY, MAX_FIELDS};
pub use pack::{PackState, PipelinePack, MAX_MESSAGE_SIZE};
pub use plugin::{Decoder, Event, Fill, Filter, Global, Input, Output, PluginConfig};
