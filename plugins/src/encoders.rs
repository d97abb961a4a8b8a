//! Wire formats written by outputs, heka-flood, the tests and the benches (one encoder per
//! format, here only), and the text forms they share with the decoders.

mod base64;
pub mod json;
pub mod msgpack;
pub mod protobuf;
pub mod rfc3339;
pub mod uuid;

pub use json::encode_json;
pub use msgpack::encode_msgpack;
pub use protobuf::{encode_frame, encode_message};
