//! Atomics and threads, swapped for loom's model-checked versions under `--cfg loom`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicI64};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicI64};
