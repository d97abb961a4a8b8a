//! Built-in decoders: raw bytes in a pack become its message.

mod field_builder;
pub mod json;
pub mod msgpack;
pub mod protobuf;
mod wire_key;

pub use json::{Json, JsonDecoderConfig};
pub use msgpack::{MsgPack, MsgPackDecoderConfig};
pub use protobuf::{Protobuf, ProtobufDecoderConfig, SignerConfig};
