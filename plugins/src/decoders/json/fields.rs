//! `Flattener`: turns the JSON `fields` object into message fields.
//!
//! - a string, number or bool becomes a field with one value: a number without fraction or
//!   exponent that fits an `i64` is an Integer, any other number a Double;
//! - `null` is skipped (no field);
//! - an array of scalars of one type becomes a repeated field; `null` elements are skipped,
//!   Integers and Doubles mixed become Doubles, any other mix (or a nested array or object)
//!   drops the whole field, and an empty array adds no field;
//! - a nested object flattens: `{"a": {"b": 1}}` is the field `a.b`.

use engine::{DecodeError, Field, Message, ValueType};

use super::reader::{Num, Reader};
use crate::decoders::field_builder::{add, last};

/// Reused buffers for flattening; grows only until it has seen the largest message.
#[derive(Debug, Default)]
pub(super) struct Flattener {
    /// The dotted name of the value being read.
    path: String,
}

impl Flattener {
    /// Reads the object at `r` (which the caller has peeked as `{`) into `msg`'s fields;
    /// `depth` containers are already open.
    pub(super) fn fields(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        depth: usize,
    ) -> Result<(), DecodeError> {
        self.path.clear();
        self.object(r, msg, depth)
    }

    fn object(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        depth: usize,
    ) -> Result<(), DecodeError> {
        if !r.open(b'{', b'}', depth)? {
            return Ok(());
        }
        loop {
            let outer = self.path.len();
            if outer > 0 {
                self.path.reserve_exact(1);
                self.path.push('.');
            }
            r.string_into(&mut self.path)?;
            r.colon()?;
            self.value(r, msg, depth + 1)?;
            self.path.truncate(outer);
            if !r.more(b'}')? {
                return Ok(());
            }
        }
    }

    fn value(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        depth: usize,
    ) -> Result<(), DecodeError> {
        match r.peek()? {
            b'{' => self.object(r, msg, depth),
            b'[' => self.array(r, msg, depth),
            b'"' => r.string_into(add(msg, &self.path)?.values.push_string()),
            b't' | b'f' | b'n' => match r.literal()? {
                Some(b) => {
                    add(msg, &self.path)?.values.push_bool(b);
                    Ok(())
                }
                None => Ok(()),
            },
            _ => {
                let f = r.number()?;
                let values = &mut add(msg, &self.path)?.values;
                match f {
                    Num::Int(i) => values.push_integer(i),
                    Num::Float(d) => values.push_double(d),
                }
                Ok(())
            }
        }
    }

    fn array(
        &mut self,
        r: &mut Reader<'_>,
        msg: &mut Message,
        depth: usize,
    ) -> Result<(), DecodeError> {
        if !r.open(b'[', b']', depth)? {
            return Ok(());
        }
        let inner = depth + 1;
        // Whether the first non-null element has added the field (always the last one), and
        // whether a mismatch has removed it again.
        let mut added = false;
        let mut dropped = false;
        loop {
            if dropped {
                r.skip_value(inner)?;
            } else {
                let kind = if added {
                    Some(last(msg)?.values.value_type())
                } else {
                    None
                };
                match (r.peek()?, kind) {
                    (b'n', _) => {
                        r.literal()?;
                    }
                    (b'"', None | Some(ValueType::String)) => {
                        let f = self.array_field(msg, added)?;
                        added = true;
                        r.string_into(f.values.push_string())?;
                    }
                    (b't' | b'f', None | Some(ValueType::Bool)) => {
                        let v = r.literal()?.unwrap_or_default();
                        let f = self.array_field(msg, added)?;
                        added = true;
                        f.values.push_bool(v);
                    }
                    (b'-' | b'0'..=b'9', None | Some(ValueType::Integer | ValueType::Double)) => {
                        let n = r.number()?;
                        let f = self.array_field(msg, added)?;
                        added = true;
                        match n {
                            Num::Int(i) => f.values.push_number_int(i),
                            Num::Float(d) => f.values.push_number_float(d),
                        }
                    }
                    _ => {
                        // A nested container or a second type: the field is dropped.
                        if added {
                            msg.fields.pop();
                        }
                        dropped = true;
                        r.skip_value(inner)?;
                    }
                }
            }
            if !r.more(b']')? {
                return Ok(());
            }
        }
    }

    /// The current array's field: the message's last field once `added`, else a new one.
    fn array_field<'m>(
        &self,
        msg: &'m mut Message,
        added: bool,
    ) -> Result<&'m mut Field, DecodeError> {
        if added {
            last(msg)
        } else {
            add(msg, &self.path)
        }
    }
}
