//! Wire formats written by outputs, and the text forms they share with the decoders.

mod base64;
pub mod json;
pub mod rfc3339;
pub mod uuid;

pub use json::encode_json;
