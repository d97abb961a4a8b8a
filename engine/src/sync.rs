//! Atomics and threads, swapped for loom's model-checked versions under `--cfg loom`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicI64;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicI64;
