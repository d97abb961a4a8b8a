//! Protocol Buffers wire primitives, hand-written so that decoding allocates nothing:
//! a [`Reader`] over borrowed bytes (varints, tags, fixed and length-delimited values) and
//! append-only writers into a reused `Vec<u8>`. Only what Heka's `message.proto` needs.

mod reader;
mod writer;

pub(crate) use reader::{Reader, WireType};
pub(crate) use writer::{
    bytes_field_len, put_bytes_field, put_tag, put_varint, put_varint_field, varint_len,
};
