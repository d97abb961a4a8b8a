//! Built-in decoders: raw bytes in a pack become its message.

pub mod json;
pub mod protobuf;

pub use json::{Json, JsonDecoderConfig};
pub use protobuf::{Protobuf, ProtobufDecoderConfig, SignerConfig};
