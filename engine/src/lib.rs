//! The engine of hekad: a disruptor-style ring of [`PipelinePack`]s, the stages that move
//! packs through it (inputs, decode, route, outputs), the plugin API, the plugin
//! [`Registry`] and the config model.
//!
//! A binary builds a [`Registry`] (with `plugins::register_all` and its own plugin types),
//! loads a [`config::Config`], and calls [`run_with`], which returns a running
//! [`Pipeline`].
//!
//! This is the only crate of the workspace that contains `unsafe`: ring slot access
//! (ownership proven by sequences) and the OS boundary in [`sys`].
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod barrier;
mod batch;
mod clock;
mod committed;
pub mod config;
mod context;
mod counters;
mod error;
mod gauges;
mod generator;
pub mod log;
pub mod matcher;
mod message;
mod msg_buf;
mod pack;
mod pipeline;
mod plan;
mod plugin;
mod queue;
pub mod reference;
mod registry;
mod report;
mod ring;
mod runner;
pub mod scan;
mod sequence;
mod sequencer;
mod snapshot;
mod sockets;
mod stage;
mod supervisor;
mod sync;
pub mod sys;
pub mod testing;
mod uuid_source;
mod worker;

pub use batch::Batch;
pub use committed::Committed;
pub use context::{BuildContext, Listener};
pub use counters::{Counter, Counters};
pub use error::{BuildError, DecodeError, Decoded, RunError, StartError, WriteError};
pub use gauges::{rss_bytes, Gauges};
pub use generator::{Generator, Holder};
pub use message::{
    Clear, Field, FieldValues, Message, Reuse, ValueType, Values, DEFAULT_SEVERITY, KEPT_FIELDS,
    MAX_FIELDS,
};
pub use msg_buf::MsgBuf;
pub use pack::{PackState, PipelinePack, MAX_MESSAGE_SIZE, RELEASE_RAW_ABOVE, RETAINED_BYTES};
pub use pipeline::{run_with, validate, Pipeline, Validated};
pub use plan::{available_cores, Plan, PlannedThread, Rank, StageInfo};
pub use plugin::{Decoder, Event, Fill, Filter, Global, Input, Output, PluginConfig, Settled};
pub use queue::{queue, QueueConsumer, QueueProducer};
pub use registry::Registry;
pub use report::Report;
pub use runner::{
    filter_runner, runner, BatchRole, BatchRunner, BatchWriter, DataRecycler, FilterRunner,
    IntoRunner, OutData, Writer, WriterRole, WriterRunner, FILTER_RUNNER_TICKER,
};
pub use snapshot::{
    is_drop, is_error, throughput_counter, Abandoned, LiveReport, RingGauge, Snapshot, StageGauge,
};
pub use sockets::{HandedOver, Sockets};
pub use supervisor::{Reloaded, Supervisor};
