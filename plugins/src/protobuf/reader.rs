//! `Reader`: a cursor over protobuf bytes that never allocates and never reads past the end.

use engine::DecodeError;

/// How a field's value is laid out on the wire (protobuf's wire types; groups are refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireType {
    /// A base-128 varint.
    Varint,
    /// Eight little-endian bytes.
    Fixed64,
    /// A varint length, then that many bytes.
    Len,
    /// Four little-endian bytes.
    Fixed32,
}

impl WireType {
    /// The 3-bit code of the wire type.
    pub(crate) const fn code(self) -> u64 {
        match self {
            WireType::Varint => 0,
            WireType::Fixed64 => 1,
            WireType::Len => 2,
            WireType::Fixed32 => 5,
        }
    }
}

/// The most bytes a 64-bit varint takes.
const MAX_VARINT_LEN: usize = 10;

/// A position in protobuf bytes. Errors carry the offset (from the start of the slice the
/// reader was made from, plus `base`) where reading failed.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`; `base` is `buf`'s offset in the whole input, so that
    /// errors in nested messages still point into the original bytes.
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Offset of the next byte in the whole input.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// A [`DecodeError::Malformed`] at `offset` (in the whole input).
    pub(crate) fn malformed_at(offset: usize) -> DecodeError {
        DecodeError::Malformed { offset }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads a varint of at most 10 bytes.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] when the input ends inside it, [`DecodeError::Malformed`]
    /// when it runs past 10 bytes or overflows 64 bits.
    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v = 0u64;
        for i in 0..MAX_VARINT_LEN {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(DecodeError::Truncated { needed: 1 });
            };
            self.pos += 1;
            if i == MAX_VARINT_LEN - 1 && b > 1 {
                return Err(Self::malformed_at(self.base + start));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Self::malformed_at(self.base + start))
    }

    /// Reads a field tag: the field number (never 0) and its wire type.
    ///
    /// # Errors
    ///
    /// As [`Reader::varint`]; [`DecodeError::Malformed`] for field number 0, a number past
    /// 2^29 - 1, or a wire type that is not 0, 1, 2 or 5.
    #[inline]
    pub(crate) fn tag(&mut self) -> Result<(u32, WireType), DecodeError> {
        let at = self.offset();
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            _ => return Err(Self::malformed_at(at)),
        };
        match u32::try_from(key >> 3) {
            Ok(field @ 1..=0x1fff_ffff) => Ok((field, wire)),
            _ => Err(Self::malformed_at(at)),
        }
    }

    /// Reads `N` raw bytes.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let Some(b) = self.buf.get(self.pos..self.pos + N) else {
            return Err(DecodeError::Truncated {
                needed: N - self.remaining(),
            });
        };
        self.pos += N;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Reads eight little-endian bytes.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] when fewer remain.
    #[inline]
    pub(crate) fn fixed64(&mut self) -> Result<u64, DecodeError> {
        self.array::<8>().map(u64::from_le_bytes)
    }

    /// Reads a length-delimited value (its varint length, then that many bytes) and returns
    /// the bytes with their offset in the whole input.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] when the length runs past the end (so a declared length
    /// is never trusted beyond the bytes actually there).
    #[inline]
    pub(crate) fn len_delimited(&mut self) -> Result<(&'a [u8], usize), DecodeError> {
        let len = self.varint()?;
        let rest = self.remaining();
        match usize::try_from(len) {
            Ok(n) if n <= rest => {
                let at = self.offset();
                let b = &self.buf[self.pos..self.pos + n];
                self.pos += n;
                Ok((b, at))
            }
            _ => Err(DecodeError::Truncated {
                needed: usize::try_from(len).map_or(usize::MAX, |n| n - rest),
            }),
        }
    }

    /// Skips a value of wire type `wire`.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] or [`DecodeError::Malformed`] as the readers above.
    pub(crate) fn skip(&mut self, wire: WireType) -> Result<(), DecodeError> {
        match wire {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.array::<8>().map(drop),
            WireType::Fixed32 => self.array::<4>().map(drop),
            WireType::Len => self.len_delimited().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let cases: &[(&[u8], u64)] = &[
            (&[0], 0),
            (&[1], 1),
            (&[0x7f], 127),
            (&[0x80, 1], 128),
            (&[0xac, 0x02], 300),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
                u64::MAX,
            ),
            // Non-minimal encodings are valid protobuf.
            (&[0x81, 0x80, 0x00], 1),
        ];
        for &(bytes, want) in cases {
            let mut r = Reader::new(bytes, 0);
            assert_eq!(r.varint(), Ok(want), "{bytes:x?}");
            assert!(r.is_empty());
        }
        let t = Err(DecodeError::Truncated { needed: 1 });
        assert_eq!(Reader::new(&[], 0).varint(), t);
        assert_eq!(Reader::new(&[0x80], 0).varint(), t);
        let too_long = [0xff; 11];
        assert_eq!(
            Reader::new(&too_long, 3).varint(),
            Err(DecodeError::Malformed { offset: 3 })
        );
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2];
        assert_eq!(
            Reader::new(&overflow, 0).varint(),
            Err(DecodeError::Malformed { offset: 0 })
        );
    }

    #[test]
    fn tags_and_skips() {
        let mut r = Reader::new(&[0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19], 0);
        assert_eq!(r.tag(), Ok((1, WireType::Varint)));
        assert_eq!(r.varint(), Ok(150));
        assert_eq!(r.tag(), Ok((2, WireType::Len)));
        assert_eq!(r.len_delimited(), Ok((&b"hi"[..], 5)));
        assert_eq!(r.tag(), Ok((3, WireType::Fixed64)));
        assert_eq!(
            r.skip(WireType::Fixed64),
            Err(DecodeError::Truncated { needed: 8 })
        );
        for bad in [[0x00], [0x0b], [0x0c], [0x0e], [0x0f]] {
            assert_eq!(
                Reader::new(&bad, 0).tag(),
                Err(DecodeError::Malformed { offset: 0 }),
                "{bad:x?}"
            );
        }
        let mut r = Reader::new(&[0x0a, 0x05, 1, 2], 0);
        r.tag().unwrap();
        assert_eq!(r.len_delimited(), Err(DecodeError::Truncated { needed: 3 }));
        let huge = [
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        let mut r = Reader::new(&huge, 0);
        r.tag().unwrap();
        assert!(matches!(
            r.len_delimited(),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
