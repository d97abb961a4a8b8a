//! Heka stream framing, the wire of heka-py and Heka's Go client (DESIGN.md section 6):
//!
//! ```text
//! 0x1E | header length (1 byte) | protobuf Header | 0x1F | protobuf Message
//! ```
//!
//! The [`Header`] says how long the message is and, when the message is signed, with which
//! HMAC ([`HashFunction`]), signer and key version. [`frame_len`] splits a byte stream into
//! frames (the TCP input), [`parse_frame`] checks one whole frame (a UDP datagram, a pack),
//! [`Signers`] verifies signatures and [`SigningKey`] makes them.

mod header;
mod signer;

pub use header::Header;
pub use signer::{HashFunction, SignerError, Signers, SigningKey, MAX_DIGEST_LEN};

use engine::DecodeError;

/// First byte of a frame (ASCII record separator).
pub const RECORD_SEPARATOR: u8 = 0x1E;
/// Byte between the header and the message (ASCII unit separator).
pub const UNIT_SEPARATOR: u8 = 0x1F;
/// The header length is one byte.
pub const MAX_HEADER_LEN: usize = 255;
/// Bytes of framing around the header: separator, length byte, unit separator.
pub const FRAMING_LEN: usize = 3;
/// The largest frame for messages of at most `max_message_size` bytes.
pub const fn max_frame_len(max_message_size: usize) -> usize {
    FRAMING_LEN + MAX_HEADER_LEN + max_message_size
}

/// One whole frame, borrowed from the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The decoded header.
    pub header: Header<'a>,
    /// The protobuf message bytes (what the HMAC covers).
    pub message: &'a [u8],
}

/// The length of the frame at the start of `buf` once its header is complete: `Ok(None)`
/// while more bytes are needed to know it. `buf` need not hold the whole message yet.
///
/// # Errors
///
/// [`DecodeError::Malformed`] when `buf` does not start with [`RECORD_SEPARATOR`], the header
/// is not followed by [`UNIT_SEPARATOR`], or the header does not decode;
/// [`DecodeError::TooLarge`] when the header announces a message over `max_message_size`.
///
/// # Examples
///
/// ```
/// use plugins::framing::frame_len;
/// // 0x1E, header of 2 bytes (message_length = 5), 0x1F, then the message's first 3 bytes.
/// let partial = [0x1E, 2, 0x08, 5, 0x1F, 1, 2, 3];
/// assert_eq!(frame_len(&partial[..3], 65_507), Ok(None));
/// assert_eq!(frame_len(&partial, 65_507), Ok(Some(10)));
/// ```
pub fn frame_len(buf: &[u8], max_message_size: usize) -> Result<Option<usize>, DecodeError> {
    let (&first, rest) = match buf.split_first() {
        Some(x) => x,
        None => return Ok(None),
    };
    if first != RECORD_SEPARATOR {
        return Err(DecodeError::Malformed { offset: 0 });
    }
    let Some(&header_len) = rest.first() else {
        return Ok(None);
    };
    let header_len = usize::from(header_len);
    let Some(&unit) = buf.get(2 + header_len) else {
        return Ok(None);
    };
    if unit != UNIT_SEPARATOR {
        return Err(DecodeError::Malformed {
            offset: 2 + header_len,
        });
    }
    let header = Header::decode(&buf[2..2 + header_len], 2)?;
    let len = header.message_length as usize;
    if len > max_message_size {
        return Err(DecodeError::TooLarge { len });
    }
    Ok(Some(FRAMING_LEN + header_len + len))
}

/// Parses `bytes`, which must be exactly one frame.
///
/// # Errors
///
/// As [`frame_len`]; [`DecodeError::Truncated`] when `bytes` ends before the frame does,
/// [`DecodeError::Malformed`] (at the first extra byte) when it goes on after it.
///
/// # Examples
///
/// ```
/// use plugins::framing::parse_frame;
/// let frame = parse_frame(&[0x1E, 2, 0x08, 2, 0x1F, 0x28, 6], 65_507)?;
/// assert_eq!(frame.header.message_length, 2);
/// assert_eq!(frame.message, [0x28, 6]); // severity = 6
/// # Ok::<(), engine::DecodeError>(())
/// ```
pub fn parse_frame(bytes: &[u8], max_message_size: usize) -> Result<Frame<'_>, DecodeError> {
    let Some(total) = frame_len(bytes, max_message_size)? else {
        return Err(DecodeError::Truncated { needed: 0 });
    };
    match bytes.len().cmp(&total) {
        std::cmp::Ordering::Less => Err(DecodeError::Truncated {
            needed: total - bytes.len(),
        }),
        std::cmp::Ordering::Greater => Err(DecodeError::Malformed { offset: total }),
        std::cmp::Ordering::Equal => {
            let header_len = usize::from(bytes[1]);
            Ok(Frame {
                header: Header::decode(&bytes[2..2 + header_len], 2)?,
                message: &bytes[FRAMING_LEN + header_len..],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_len_needs_the_whole_header_and_checks_it() {
        let frame = [0x1E, 2, 0x08, 3, 0x1F, 0x28, 6, 0x40];
        for n in 0..5 {
            assert_eq!(frame_len(&frame[..n], 100), Ok(None), "{n} bytes");
        }
        for n in 5..=frame.len() {
            assert_eq!(frame_len(&frame[..n], 100), Ok(Some(8)));
        }
        assert_eq!(frame_len(&frame, 2), Err(DecodeError::TooLarge { len: 3 }));
        assert_eq!(
            frame_len(b"{\"a\":1}", 100),
            Err(DecodeError::Malformed { offset: 0 })
        );
        assert_eq!(
            frame_len(&[0x1E, 2, 0x08, 3, 0x1E], 100),
            Err(DecodeError::Malformed { offset: 4 })
        );
        // A header without message_length.
        assert!(frame_len(&[0x1E, 0, 0x1F], 100).is_err());
    }

    #[test]
    fn parse_frame_wants_exactly_one_frame() {
        let frame = [0x1E, 2, 0x08, 2, 0x1F, 0x28, 6];
        let f = parse_frame(&frame, 100).unwrap();
        assert_eq!(f.message, [0x28, 6]);
        assert_eq!(f.header.hmac, None);
        assert_eq!(
            parse_frame(&frame[..6], 100),
            Err(DecodeError::Truncated { needed: 1 })
        );
        assert_eq!(
            parse_frame(&frame[..3], 100),
            Err(DecodeError::Truncated { needed: 0 })
        );
        let mut longer = frame.to_vec();
        longer.push(0);
        assert_eq!(
            parse_frame(&longer, 100),
            Err(DecodeError::Malformed { offset: 7 })
        );
    }
}
