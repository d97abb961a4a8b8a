//! The decoded message: Heka's protobuf `Message` model with buffers that are reused.
//!
//! Every string and list keeps its capacity when the message is [`Message::clear`]ed, so a
//! message that lives in a ring slot allocates nothing once it has seen a message of its size.

/// How many fields one message may carry; a decoder that would exceed it reports an error.
pub const MAX_FIELDS: usize = 1024;

/// Spare fields a message keeps allocated after an outlier (see [`Message::shrink_outliers`]).
pub const KEPT_FIELDS: usize = 64;

/// Caps `s`'s capacity at `max` bytes, emptying it if it must shrink (it is cleared, or a
/// spare whose content is stale).
#[inline]
fn trim_string(s: &mut String, max: usize) {
    if s.capacity() > max {
        s.clear();
        s.shrink_to(max);
    }
}

/// The type of a field's values (Heka's `Field.ValueType`, same numbering as the protobuf wire).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueType {
    /// UTF-8 strings.
    #[default]
    String = 0,
    /// Raw bytes.
    Bytes = 1,
    /// 64-bit signed integers.
    Integer = 2,
    /// 64-bit floats.
    Double = 3,
    /// Booleans.
    Bool = 4,
}

/// A vector whose cleared elements are kept, so refilling it reuses their allocations.
///
/// `len` counts the live elements; `items[len..]` are spare, already-allocated elements.
#[derive(Clone, Debug, Default)]
pub struct Reuse<T> {
    items: Vec<T>,
    len: usize,
}

/// An element that can be emptied in place, keeping its capacity.
pub trait Clear {
    /// Empties `self`, keeping allocations.
    fn clear(&mut self);
}

impl Clear for String {
    fn clear(&mut self) {
        String::clear(self);
    }
}

impl Clear for Vec<u8> {
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

impl<T: Clear + Default> Reuse<T> {
    /// Appends an element and returns it emptied; reuses a spare one when there is one.
    pub fn push_slot(&mut self) -> &mut T {
        if self.len == self.items.len() {
            self.items.push(T::default());
        } else {
            self.items[self.len].clear();
        }
        self.len += 1;
        &mut self.items[self.len - 1]
    }

    /// Removes the last live element (it stays allocated as a spare).
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    /// Forgets every live element, keeping all of them as spares.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Gives back what an outlier left: spares beyond `keep` are dropped, and every kept
    /// element is trimmed by `trim`.
    fn shrink_outliers(&mut self, keep: usize, mut trim: impl FnMut(&mut T)) {
        self.shrink_spares(keep);
        self.items.iter_mut().for_each(&mut trim);
    }

    /// Drops spares beyond `keep` elements, so one outlier does not pin memory forever.
    pub fn shrink_spares(&mut self, keep: usize) {
        if self.items.len() > keep.max(self.len) {
            self.items.truncate(keep.max(self.len));
        }
    }

    /// The live elements.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }

    /// The live elements, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }

    /// Number of live elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no live elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The values of one field: a single value or a list, all of the field's [`ValueType`].
///
/// Only the list that matches `value_type` is meaningful; the others keep their capacity.
#[derive(Clone, Debug, Default)]
pub struct FieldValues {
    value_type: ValueType,
    strings: Reuse<String>,
    bytes: Reuse<Vec<u8>>,
    integers: Vec<i64>,
    doubles: Vec<f64>,
    bools: Vec<bool>,
}

/// A borrowed view of a field's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Values<'a> {
    /// String values.
    String(&'a [String]),
    /// Byte-string values.
    Bytes(&'a [Vec<u8>]),
    /// Integer values.
    Integer(&'a [i64]),
    /// Double values.
    Double(&'a [f64]),
    /// Boolean values.
    Bool(&'a [bool]),
}

impl FieldValues {
    /// Caps the retained capacity of every value buffer at about `max_bytes`.
    fn shrink_outliers(&mut self, max_bytes: usize) {
        self.strings
            .shrink_outliers(KEPT_FIELDS, |s| trim_string(s, max_bytes));
        self.bytes.shrink_outliers(KEPT_FIELDS, |b| {
            if b.capacity() > max_bytes {
                b.clear();
                b.shrink_to(max_bytes);
            }
        });
        let per = |size: usize| (max_bytes / size).max(1);
        if self.integers.capacity() > per(8) {
            self.integers.clear();
            self.integers.shrink_to(per(8));
        }
        if self.doubles.capacity() > per(8) {
            self.doubles.clear();
            self.doubles.shrink_to(per(8));
        }
        if self.bools.capacity() > per(1) {
            self.bools.clear();
            self.bools.shrink_to(per(1));
        }
    }

    fn clear(&mut self) {
        self.value_type = ValueType::String;
        self.strings.clear();
        self.bytes.clear();
        self.integers.clear();
        self.doubles.clear();
        self.bools.clear();
    }

    /// The type of the values.
    pub fn value_type(&self) -> ValueType {
        self.value_type
    }

    /// Empties the values and sets their type.
    pub fn reset(&mut self, value_type: ValueType) {
        self.clear();
        self.value_type = value_type;
    }

    /// Appends a string value into a reused buffer and returns it. Sets the type to String.
    pub fn push_string(&mut self) -> &mut String {
        self.value_type = ValueType::String;
        self.strings.push_slot()
    }

    /// Appends a bytes value into a reused buffer and returns it. Sets the type to Bytes.
    pub fn push_bytes(&mut self) -> &mut Vec<u8> {
        self.value_type = ValueType::Bytes;
        self.bytes.push_slot()
    }

    /// Appends an integer. Sets the type to Integer.
    pub fn push_integer(&mut self, v: i64) {
        self.value_type = ValueType::Integer;
        self.integers.push(v);
    }

    /// Appends a double. Sets the type to Double.
    pub fn push_double(&mut self, v: f64) {
        self.value_type = ValueType::Double;
        self.doubles.push(v);
    }

    /// Appends an integer to a numeric field: as a Double when the field already holds
    /// Doubles (a mixed list is a list of Doubles), else as an Integer.
    pub fn push_number_int(&mut self, v: i64) {
        if self.value_type == ValueType::Double && !self.doubles.is_empty() {
            self.doubles.push(v as f64);
        } else {
            self.push_integer(v);
        }
    }

    /// Appends a double to a numeric field, first turning Integers already there into
    /// Doubles (in place, no scratch buffer).
    pub fn push_number_float(&mut self, v: f64) {
        if self.value_type == ValueType::Integer {
            self.doubles.clear();
            self.doubles.extend(self.integers.iter().map(|&i| i as f64));
            self.integers.clear();
        }
        self.push_double(v);
    }

    /// Appends a bool. Sets the type to Bool.
    pub fn push_bool(&mut self, v: bool) {
        self.value_type = ValueType::Bool;
        self.bools.push(v);
    }

    /// The values, typed.
    pub fn get(&self) -> Values<'_> {
        match self.value_type {
            ValueType::String => Values::String(self.strings.as_slice()),
            ValueType::Bytes => Values::Bytes(self.bytes.as_slice()),
            ValueType::Integer => Values::Integer(&self.integers),
            ValueType::Double => Values::Double(&self.doubles),
            ValueType::Bool => Values::Bool(&self.bools),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self.value_type {
            ValueType::String => self.strings.len(),
            ValueType::Bytes => self.bytes.len(),
            ValueType::Integer => self.integers.len(),
            ValueType::Double => self.doubles.len(),
            ValueType::Bool => self.bools.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One named field of a message (Heka's `Field`).
#[derive(Clone, Debug, Default)]
pub struct Field {
    /// The field's name (nested JSON objects flatten to `a.b`).
    pub name: String,
    /// How to read the value (Heka's `representation`, e.g. `"ms"`), often empty.
    pub representation: String,
    /// The value or values.
    pub values: FieldValues,
}

impl Clear for Field {
    fn clear(&mut self) {
        self.name.clear();
        self.representation.clear();
        self.values.clear();
    }
}

/// A message as it moves through the pipeline (DESIGN.md section 2).
#[derive(Clone, Debug)]
pub struct Message {
    /// 16-byte uuid; all zero when the wire format had none.
    pub uuid: [u8; 16],
    /// Nanoseconds since the Unix epoch.
    pub timestamp: i64,
    /// The message type, used to pick a filter chain.
    pub msg_type: String,
    /// Who logged it.
    pub logger: String,
    /// RFC 5424 severity 0–7; 7 (debug) when absent.
    pub severity: i32,
    /// The message body.
    pub payload: String,
    /// The sender's envelope version.
    pub env_version: String,
    /// The sender's process id.
    pub pid: i32,
    /// The sender's host name.
    pub hostname: String,
    /// The message's fields.
    pub fields: Reuse<Field>,
}

/// The severity of a message that does not say (RFC 5424 debug).
pub const DEFAULT_SEVERITY: i32 = 7;

impl Default for Message {
    fn default() -> Self {
        Message {
            uuid: [0; 16],
            timestamp: 0,
            msg_type: String::new(),
            logger: String::new(),
            severity: DEFAULT_SEVERITY,
            payload: String::new(),
            env_version: String::new(),
            pid: 0,
            hostname: String::new(),
            fields: Reuse::default(),
        }
    }
}

impl Message {
    /// After [`Message::clear`]: gives back the memory an outlier message left behind
    /// (DESIGN.md section 10: a slot that grew for an outlier shrinks back), so that every
    /// string keeps at most `max_bytes` of capacity and at most [`KEPT_FIELDS`] spare fields
    /// stay allocated. A handful of compares for a message of ordinary size.
    pub fn shrink_outliers(&mut self, max_bytes: usize) {
        for s in [
            &mut self.msg_type,
            &mut self.logger,
            &mut self.payload,
            &mut self.env_version,
            &mut self.hostname,
        ] {
            trim_string(s, max_bytes);
        }
        self.fields.shrink_outliers(KEPT_FIELDS, |f| {
            trim_string(&mut f.name, max_bytes);
            trim_string(&mut f.representation, max_bytes);
            f.values.shrink_outliers(max_bytes);
        });
    }

    /// Resets every value to its default, keeping every allocation.
    pub fn clear(&mut self) {
        self.uuid = [0; 16];
        self.timestamp = 0;
        self.msg_type.clear();
        self.logger.clear();
        self.severity = DEFAULT_SEVERITY;
        self.payload.clear();
        self.env_version.clear();
        self.pid = 0;
        self.hostname.clear();
        self.fields.clear();
    }

    /// Appends a field and returns it, emptied, for the caller to fill.
    ///
    /// # Errors
    ///
    /// Returns `None` when the message already has [`MAX_FIELDS`] fields.
    pub fn add_field(&mut self) -> Option<&mut Field> {
        if self.fields.len() >= MAX_FIELDS {
            return None;
        }
        Some(self.fields.push_slot())
    }

    /// The first field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.as_slice().iter().find(|f| f.name == name)
    }

    /// Copies `other` into `self`, reusing `self`'s buffers.
    pub fn copy_from(&mut self, other: &Message) {
        self.uuid = other.uuid;
        self.timestamp = other.timestamp;
        copy_str(&mut self.msg_type, &other.msg_type);
        copy_str(&mut self.logger, &other.logger);
        self.severity = other.severity;
        copy_str(&mut self.payload, &other.payload);
        copy_str(&mut self.env_version, &other.env_version);
        self.pid = other.pid;
        copy_str(&mut self.hostname, &other.hostname);
        self.fields.clear();
        for f in other.fields.as_slice() {
            let dst = self.fields.push_slot();
            copy_str(&mut dst.name, &f.name);
            copy_str(&mut dst.representation, &f.representation);
            dst.values.reset(f.values.value_type());
            match f.values.get() {
                Values::String(v) => v.iter().for_each(|s| copy_str(dst.values.push_string(), s)),
                Values::Bytes(v) => v.iter().for_each(|b| dst.values.push_bytes().extend(b)),
                Values::Integer(v) => v.iter().for_each(|&i| dst.values.push_integer(i)),
                Values::Double(v) => v.iter().for_each(|&d| dst.values.push_double(d)),
                Values::Bool(v) => v.iter().for_each(|&b| dst.values.push_bool(b)),
            }
        }
    }

    /// Whether two messages carry the same values (fields compared in order).
    pub fn same_as(&self, other: &Message) -> bool {
        self.uuid == other.uuid
            && self.timestamp == other.timestamp
            && self.msg_type == other.msg_type
            && self.logger == other.logger
            && self.severity == other.severity
            && self.payload == other.payload
            && self.env_version == other.env_version
            && self.pid == other.pid
            && self.hostname == other.hostname
            && self.fields.len() == other.fields.len()
            && self
                .fields
                .as_slice()
                .iter()
                .zip(other.fields.as_slice())
                .all(|(a, b)| {
                    a.name == b.name
                        && a.representation == b.representation
                        && a.values.get() == b.values.get()
                })
    }
}

fn copy_str(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_keeps_capacity_and_resets_values() {
        let mut m = Message::default();
        m.payload.push_str("hello heka");
        m.severity = 3;
        let f = m.add_field().unwrap();
        f.name.push_str("seq");
        f.values.push_integer(42);
        let cap = m.payload.capacity();
        m.clear();
        assert_eq!(m.payload.capacity(), cap);
        assert_eq!(m.severity, DEFAULT_SEVERITY);
        assert!(m.fields.is_empty());
        // The spare field is reused and comes back empty.
        let f = m.add_field().unwrap();
        assert!(f.name.is_empty());
        assert!(f.values.is_empty());
    }

    #[test]
    fn field_count_is_capped() {
        let mut m = Message::default();
        for _ in 0..MAX_FIELDS {
            assert!(m.add_field().is_some());
        }
        assert!(m.add_field().is_none());
    }

    #[test]
    fn mixed_numbers_become_doubles() {
        let mut v = FieldValues::default();
        v.push_number_int(1);
        v.push_number_int(2);
        assert_eq!(v.get(), Values::Integer(&[1, 2]));
        v.push_number_float(2.5);
        assert_eq!(v.get(), Values::Double(&[1.0, 2.0, 2.5]));
        v.push_number_int(3);
        assert_eq!(v.get(), Values::Double(&[1.0, 2.0, 2.5, 3.0]));
    }

    #[test]
    fn copy_from_gives_the_same_message() {
        let mut a = Message::default();
        a.msg_type.push('t');
        a.timestamp = 5;
        let f = a.add_field().unwrap();
        f.name.push_str("xs");
        f.values.push_double(1.5);
        f.values.push_double(2.5);
        let mut b = Message::default();
        b.payload.push_str("old");
        b.copy_from(&a);
        assert!(b.same_as(&a));
        assert_eq!(
            b.field("xs").unwrap().values.get(),
            Values::Double(&[1.5, 2.5])
        );
    }
}
