//! `Flattener`: turns the msgpack `fields` map into message fields, as the JSON decoder
//! does with its `fields` object:
//!
//! - a string, byte string, integer, float or bool becomes a field with one value (an
//!   unsigned integer over `i64::MAX` becomes a Double);
//! - nil and extension values are skipped (no field);
//! - an array of scalars of one type becomes a repeated field; nil elements are skipped,
//!   Integers and Doubles mixed become Doubles, any other mix (or a nested array or map)
//!   drops the whole field, and an empty array adds no field;
//! - a nested map flattens: `{"a": {"b": 1}}` is the field `a.b`;
//! - a key that is not a string is skipped with its value.

use engine::{DecodeError, Field, Message, ValueType};

use super::reader::{utf8, Reader, Value};
use crate::decoders::field_builder::{add, last};

/// Reused buffers for flattening; grows only until it has seen the largest message.
#[derive(Debug, Default)]
pub(super) struct Flattener {
    /// The dotted name of the value being read.
    path: String,
}

impl Flattener {
    /// Reads the `n` entries of a map whose header was just read into `msg`'s fields, at
    /// `depth` (containers open, this map included).
    pub(super) fn fields(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        n: u32,
        depth: usize,
    ) -> Result<(), DecodeError> {
        self.path.clear();
        self.map(r, msg, n, depth)
    }

    fn map(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        n: u32,
        depth: usize,
    ) -> Result<(), DecodeError> {
        if depth > super::MAX_DEPTH {
            return Err(DecodeError::TooDeep {
                limit: super::MAX_DEPTH,
            });
        }
        for _ in 0..n {
            let key = r.next()?;
            let Value::Str(name, offset) = key else {
                r.skip_items(key, depth + 1)?;
                let v = r.next()?;
                r.skip_items(v, depth + 1)?;
                continue;
            };
            let name = utf8(name, offset)?;
            let outer = self.path.len();
            let dot = usize::from(outer > 0);
            self.path.reserve_exact(dot + name.len());
            if outer > 0 {
                self.path.push('.');
            }
            self.path.push_str(name);
            self.value(r, msg, depth + 1)?;
            self.path.truncate(outer);
        }
        Ok(())
    }

    fn value(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        depth: usize,
    ) -> Result<(), DecodeError> {
        match r.next()? {
            Value::Map(n) => self.map(r, msg, n, depth),
            Value::Array(n) => self.array(r, msg, n, depth),
            Value::Nil | Value::Ext => Ok(()),
            scalar => {
                let f = add(msg, &self.path)?;
                push_scalar(f, scalar)
            }
        }
    }

    fn array(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        n: u32,
        depth: usize,
    ) -> Result<(), DecodeError> {
        if depth > super::MAX_DEPTH {
            return Err(DecodeError::TooDeep {
                limit: super::MAX_DEPTH,
            });
        }
        // Whether the first non-nil element has added the field (always the message's last),
        // and whether a mismatch has removed it again.
        let mut added = false;
        let mut dropped = false;
        for _ in 0..n {
            let v = r.next()?;
            if dropped {
                r.skip_items(v, depth + 1)?;
                continue;
            }
            let kind = if added {
                Some(last(msg)?.values.value_type())
            } else {
                None
            };
            let fits = match (v, kind) {
                (Value::Nil | Value::Ext, _) => continue,
                (_, None) => true,
                (Value::Str(..), Some(k)) => k == ValueType::String,
                (Value::Bin(_), Some(k)) => k == ValueType::Bytes,
                (Value::Bool(_), Some(k)) => k == ValueType::Bool,
                (Value::Int(_) | Value::Float(_), Some(k)) => {
                    matches!(k, ValueType::Integer | ValueType::Double)
                }
                (Value::Array(_) | Value::Map(_), _) => false,
            };
            if !fits || matches!(v, Value::Array(_) | Value::Map(_)) {
                if added {
                    msg.fields.pop();
                }
                dropped = true;
                r.skip_items(v, depth + 1)?;
                continue;
            }
            let f = if added {
                last(msg)?
            } else {
                add(msg, &self.path)?
            };
            added = true;
            match v {
                Value::Int(i) => f.values.push_number_int(i),
                Value::Float(d) => f.values.push_number_float(d),
                _ => push_scalar(f, v)?,
            }
        }
        Ok(())
    }
}

/// Appends one scalar value to `f` (its type becomes the value's).
fn push_scalar(f: &mut Field, v: Value<'_>) -> Result<(), DecodeError> {
    let values = &mut f.values;
    match v {
        Value::Str(b, offset) => {
            let s = utf8(b, offset)?;
            let dst = values.push_string();
            dst.reserve_exact(s.len());
            dst.push_str(s);
        }
        Value::Bin(b) => {
            let dst = values.push_bytes();
            dst.reserve_exact(b.len());
            dst.extend_from_slice(b);
        }
        Value::Int(i) => values.push_integer(i),
        Value::Float(d) => values.push_double(d),
        Value::Bool(b) => values.push_bool(b),
        Value::Nil | Value::Ext | Value::Array(_) | Value::Map(_) => {}
    }
    Ok(())
}
