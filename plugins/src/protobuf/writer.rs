//! Protobuf writers: append varints, tags and length-delimited values to a reused buffer.

use super::WireType;

/// Bytes `v` takes as a varint (1 to 10).
#[inline]
pub(crate) const fn varint_len(v: u64) -> usize {
    // Each byte carries 7 bits; 0 still takes one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends `v` as a varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends the tag of field `field` with wire type `wire`.
#[inline]
pub(crate) fn put_tag(out: &mut Vec<u8>, field: u32, wire: WireType) {
    put_varint(out, u64::from(field) << 3 | wire.code());
}

/// Appends field `field` as a varint value.
#[inline]
pub(crate) fn put_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    put_tag(out, field, WireType::Varint);
    put_varint(out, v);
}

/// Appends field `field` as a length-delimited value holding `bytes`.
#[inline]
pub(crate) fn put_bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_tag(out, field, WireType::Len);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Bytes [`put_bytes_field`] appends for a field numbered below 16 holding `len` bytes.
#[inline]
pub(crate) const fn bytes_field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::Reader;
    use super::*;

    #[test]
    fn known_encodings() {
        let mut out = Vec::new();
        put_varint_field(&mut out, 1, 150);
        put_bytes_field(&mut out, 2, b"testing");
        assert_eq!(out, b"\x08\x96\x01\x12\x07testing");
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(u64::MAX), 10);
        assert_eq!(bytes_field_len(7), 9);
    }

    proptest! {
        #[test]
        fn varints_round_trip(v in any::<u64>()) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            prop_assert_eq!(out.len(), varint_len(v));
            let mut r = Reader::new(&out, 0);
            prop_assert_eq!(r.varint(), Ok(v));
            prop_assert!(r.is_empty());
        }
    }
}
