//! The framing `Header` message (Heka's `message.proto`): `message_length` = 1,
//! `hmac_hash_function` = 3, `hmac_signer` = 4, `hmac_key_version` = 5, `hmac` = 6.

use engine::DecodeError;

use super::HashFunction;
use crate::protobuf::{put_bytes_field, put_varint_field, Reader, WireType};

/// A decoded frame header, borrowing from the frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header<'a> {
    /// Length of the protobuf message after the header, in bytes.
    pub message_length: u32,
    /// The HMAC's hash function (MD5 when absent, as in Heka).
    pub hmac_hash_function: HashFunction,
    /// Who signed the message (empty when unsigned).
    pub hmac_signer: &'a [u8],
    /// Which of the signer's keys signed it.
    pub hmac_key_version: u32,
    /// The HMAC of the message bytes; `None` for an unsigned message.
    pub hmac: Option<&'a [u8]>,
}

impl<'a> Header<'a> {
    /// Decodes a header from `bytes`, which sit at offset `base` of the input (for error
    /// offsets). Unknown fields are skipped; a repeated field's last value wins.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Malformed`] or [`DecodeError::Truncated`] for bad protobuf, a wrong
    /// wire type on a known field or an unknown hash function;
    /// [`DecodeError::Other`] when `message_length` (required) is missing or over `u32`.
    pub fn decode(bytes: &'a [u8], base: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, base);
        let mut h = Header::default();
        let mut has_length = false;
        while !r.is_empty() {
            let at = r.offset();
            let bad = || Reader::malformed_at(at);
            match r.tag()? {
                (1, WireType::Varint) => {
                    h.message_length = u32::try_from(r.varint()?)
                        .map_err(|_| DecodeError::Other("message_length over 32 bits"))?;
                    has_length = true;
                }
                (3, WireType::Varint) => {
                    h.hmac_hash_function = HashFunction::from_wire(r.varint()?).ok_or_else(bad)?;
                }
                (4, WireType::Len) => h.hmac_signer = r.len_delimited()?.0,
                (5, WireType::Varint) => h.hmac_key_version = r.varint()? as u32,
                (6, WireType::Len) => h.hmac = Some(r.len_delimited()?.0),
                (1 | 3..=6, _) => return Err(bad()),
                (_, wire) => r.skip(wire)?,
            }
        }
        if !has_length {
            return Err(DecodeError::Other("frame header without message_length"));
        }
        Ok(h)
    }

    /// Appends the header's protobuf encoding: `message_length` always, the HMAC fields only
    /// when `hmac` is set (as Heka's Go client writes them).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint_field(out, 1, u64::from(self.message_length));
        if let Some(hmac) = self.hmac {
            put_varint_field(out, 3, self.hmac_hash_function as u64);
            put_bytes_field(out, 4, self.hmac_signer);
            put_varint_field(out, 5, u64::from(self.hmac_key_version));
            put_bytes_field(out, 6, hmac);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_signed_and_unsigned() {
        let digest = [0xab; 16];
        for h in [
            Header {
                message_length: 300,
                ..Header::default()
            },
            Header {
                message_length: 65_507,
                hmac_hash_function: HashFunction::Sha1,
                hmac_signer: b"ops",
                hmac_key_version: 2,
                hmac: Some(&digest),
            },
        ] {
            let mut out = Vec::new();
            h.encode(&mut out);
            assert_eq!(Header::decode(&out, 0), Ok(h));
        }
        let mut out = Vec::new();
        Header {
            message_length: 300,
            ..Header::default()
        }
        .encode(&mut out);
        assert_eq!(out, [0x08, 0xac, 0x02]);
    }

    #[test]
    fn rejects_what_heka_rejects() {
        assert_eq!(
            Header::decode(&[], 0),
            Err(DecodeError::Other("frame header without message_length"))
        );
        // hmac_hash_function = 2 is not in the enum.
        assert_eq!(
            Header::decode(&[0x08, 1, 0x18, 2], 10),
            Err(DecodeError::Malformed { offset: 12 })
        );
        // message_length as a length-delimited value.
        assert_eq!(
            Header::decode(&[0x0a, 0], 0),
            Err(DecodeError::Malformed { offset: 0 })
        );
        // An unknown field is skipped.
        assert_eq!(
            Header::decode(&[0x08, 1, 0x3a, 1, 0], 0).map(|h| h.message_length),
            Ok(1)
        );
    }
}
