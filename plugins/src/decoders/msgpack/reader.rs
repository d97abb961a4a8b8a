//! `Reader`: msgpack values read one at a time with rmp's low-level functions, borrowing
//! strings and byte strings from the input (nothing is allocated or copied here).

use engine::DecodeError;
use rmp::decode::{self, Bytes, NumValueReadError, ValueReadError};
use rmp::Marker;

/// Deepest nesting of maps and arrays accepted, the top-level map included.
pub const MAX_DEPTH: usize = 32;

/// One msgpack value; containers are returned as their length, their items follow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Value<'a> {
    Nil,
    Bool(bool),
    /// Any integer that fits an `i64`.
    Int(i64),
    /// A float, or an unsigned integer too large for `i64`.
    Float(f64),
    /// A string's bytes (not yet checked for UTF-8) and their offset.
    Str(&'a [u8], usize),
    Bin(&'a [u8]),
    Array(u32),
    Map(u32),
    /// An extension value (skipped by the decoder).
    Ext,
}

/// A position in msgpack bytes.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const TRUNCATED: DecodeError = DecodeError::Truncated { needed: 0 };

fn value_err<E: rmp::decode::RmpReadErr>(e: ValueReadError<E>, at: usize) -> DecodeError {
    match e {
        ValueReadError::InvalidMarkerRead(_) | ValueReadError::InvalidDataRead(_) => TRUNCATED,
        ValueReadError::TypeMismatch(_) => DecodeError::Malformed { offset: at },
    }
}

fn num_err<E: rmp::decode::RmpReadErr>(e: NumValueReadError<E>, at: usize) -> DecodeError {
    match e {
        NumValueReadError::InvalidMarkerRead(_) | NumValueReadError::InvalidDataRead(_) => {
            TRUNCATED
        }
        _ => DecodeError::Malformed { offset: at },
    }
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Whether every byte has been read.
    pub(super) fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Offset of the next byte.
    pub(super) fn offset(&self) -> usize {
        self.pos
    }

    /// Takes `len` bytes (a string's or byte string's body).
    fn take(&mut self, len: u32) -> Result<&'a [u8], DecodeError> {
        let len = len as usize;
        let rest = self.buf.len() - self.pos;
        if len > rest {
            return Err(DecodeError::Truncated { needed: len - rest });
        }
        let b = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(b)
    }

    /// Reads the next value (a container's header only).
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] when the input ends inside it, [`DecodeError::Malformed`]
    /// at the reserved marker 0xc1.
    pub(super) fn next(&mut self) -> Result<Value<'a>, DecodeError> {
        let at = self.pos;
        let &first = self.buf.get(at).ok_or(TRUNCATED)?;
        let mut rd = Bytes::new(&self.buf[at..]);
        let v = match Marker::from_u8(first) {
            Marker::Null => {
                decode::read_nil(&mut rd).map_err(|e| value_err(e, at))?;
                Value::Nil
            }
            Marker::True | Marker::False => {
                Value::Bool(decode::read_bool(&mut rd).map_err(|e| value_err(e, at))?)
            }
            Marker::U64 => {
                let u = decode::read_u64(&mut rd).map_err(|e| value_err(e, at))?;
                i64::try_from(u).map_or(Value::Float(u as f64), Value::Int)
            }
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::U8
            | Marker::U16
            | Marker::U32
            | Marker::I8
            | Marker::I16
            | Marker::I32
            | Marker::I64 => Value::Int(decode::read_int(&mut rd).map_err(|e| num_err(e, at))?),
            Marker::F32 => Value::Float(
                decode::read_f32(&mut rd)
                    .map_err(|e| value_err(e, at))?
                    .into(),
            ),
            Marker::F64 => Value::Float(decode::read_f64(&mut rd).map_err(|e| value_err(e, at))?),
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let len = decode::read_str_len(&mut rd).map_err(|e| value_err(e, at))?;
                self.pos = self.buf.len() - rd.remaining_slice().len();
                let body_at = self.pos;
                return Ok(Value::Str(self.take(len)?, body_at));
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let len = decode::read_bin_len(&mut rd).map_err(|e| value_err(e, at))?;
                self.pos = self.buf.len() - rd.remaining_slice().len();
                return Ok(Value::Bin(self.take(len)?));
            }
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                Value::Array(decode::read_array_len(&mut rd).map_err(|e| value_err(e, at))?)
            }
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                Value::Map(decode::read_map_len(&mut rd).map_err(|e| value_err(e, at))?)
            }
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32 => {
                let meta = decode::read_ext_meta(&mut rd).map_err(|e| value_err(e, at))?;
                self.pos = self.buf.len() - rd.remaining_slice().len();
                self.take(meta.size)?;
                return Ok(Value::Ext);
            }
            Marker::Reserved => return Err(DecodeError::Malformed { offset: at }),
        };
        self.pos = self.buf.len() - rd.remaining_slice().len();
        Ok(v)
    }

    /// Skips the items of a container whose header `v` was just read, at `depth`
    /// (containers already open, this one included); skips nothing for a scalar.
    ///
    /// # Errors
    ///
    /// As [`Reader::next`]; [`DecodeError::TooDeep`] past [`MAX_DEPTH`].
    pub(super) fn skip_items(&mut self, v: Value<'a>, depth: usize) -> Result<(), DecodeError> {
        let items = match v {
            Value::Array(n) => u64::from(n),
            Value::Map(n) => 2 * u64::from(n),
            _ => return Ok(()),
        };
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep { limit: MAX_DEPTH });
        }
        for _ in 0..items {
            let item = self.next()?;
            self.skip_items(item, depth + 1)?;
        }
        Ok(())
    }
}

/// The bytes of a string value as UTF-8.
pub(super) fn utf8(b: &[u8], offset: usize) -> Result<&str, DecodeError> {
    std::str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8 { offset })
}
