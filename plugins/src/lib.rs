//! hekad's built-in plugins: inputs, decoders, filters, outputs, and the encoders outputs
//! use to write messages. [`register_all`] registers every one of them under its Heka name.
//!
//! The JSON wire format (metlog-py / Heka JSON) in both directions:
//!
//! ```
//! use engine::{BuildContext, Decoded, Decoder, PipelinePack, PluginConfig};
//! use plugins::decoders::JsonDecoderConfig;
//! use plugins::encoders::encode_json;
//!
//! let mut decoder = JsonDecoderConfig::default().build(&BuildContext::standalone("json"))?;
//! let mut pack = PipelinePack::new(1024);
//! pack.set_raw(br#"{"timestamp": "2026-11-25T03:58:00Z", "payload": "hello heka"}"#);
//! assert_eq!(decoder.decode(&mut pack), Ok(Decoded::Clean));
//! assert_eq!(pack.message.payload, "hello heka");
//!
//! let mut out = Vec::new();
//! encode_json(&pack.message, &mut out);
//! assert!(out.starts_with(br#"{"timestamp":"2026-11-25T03:58:00.000000000Z","type":"""#));
//! # Ok::<(), engine::BuildError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod decoders;
pub mod encoders;
pub mod filters;
pub mod framing;
pub mod inputs;
mod nats;
pub mod outputs;
mod protobuf;
mod register;
pub mod statsd;
#[cfg(test)]
mod testing;
mod tls;

pub use register::register_all;

/// `n` as a `NonZeroUsize`, for config defaults (a zero is a compile error).
pub(crate) const fn nonzero(n: usize) -> std::num::NonZeroUsize {
    match std::num::NonZeroUsize::new(n) {
        Some(n) => n,
        None => panic!("a default must not be zero"),
    }
}
