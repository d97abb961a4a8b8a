//! Building message fields while flattening a decoded map: shared by the JSON and msgpack
//! decoders, which read different wires into the same field model.

use engine::{DecodeError, Field, Message, MAX_FIELDS};

/// Adds a field named `name` to `msg`.
///
/// # Errors
///
/// [`DecodeError::TooManyFields`] past [`MAX_FIELDS`].
pub(crate) fn add<'m>(msg: &'m mut Message, name: &str) -> Result<&'m mut Field, DecodeError> {
    let f = msg
        .add_field()
        .ok_or(DecodeError::TooManyFields { limit: MAX_FIELDS })?;
    f.name.reserve_exact(name.len());
    f.name.push_str(name);
    Ok(f)
}

/// The field the current array is filling (the message's last).
///
/// # Errors
///
/// Only if the caller lost track of its field (a bug, reported rather than a panic).
pub(crate) fn last(msg: &mut Message) -> Result<&mut Field, DecodeError> {
    msg.fields
        .as_mut_slice()
        .last_mut()
        .ok_or(DecodeError::Other("array field vanished"))
}
