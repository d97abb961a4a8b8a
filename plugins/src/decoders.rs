//! Built-in decoders: raw bytes in a pack become its message.

pub mod json;

pub use json::{Json, JsonDecoderConfig};
