//! Text forms of a message's 16-byte uuid: `8-4-4-4-12` lowercase hex, or 32 bare hex digits.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `uuid` as 36 characters of lowercase hex with dashes
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
///
/// # Examples
///
/// ```
/// let mut out = Vec::new();
/// plugins::encoders::uuid::format(&[0xab; 16], &mut out);
/// assert_eq!(out, b"abababab-abab-abab-abab-abababababab");
/// ```
pub fn format(uuid: &[u8; 16], out: &mut Vec<u8>) {
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

/// Parses 36 hex characters with dashes at the usual places, or 32 bare hex characters
/// (either case). Returns `None` for anything else.
///
/// # Examples
///
/// ```
/// use plugins::encoders::uuid::parse;
/// let u = parse(b"0123456789ABCDEF0123456789abcdef").unwrap();
/// assert_eq!(u[0], 0x01);
/// assert_eq!(parse(b"01234567-89ab-cdef-0123-456789abcdef"), Some(u));
/// assert_eq!(parse(b"not a uuid"), None);
/// ```
pub fn parse(s: &[u8]) -> Option<[u8; 16]> {
    let mut uuid = [0u8; 16];
    let mut nibbles = 0;
    for (i, &c) in s.iter().enumerate() {
        if s.len() == 36 && matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        let byte = uuid.get_mut(nibbles / 2)?;
        *byte = *byte << 4 | v;
        nibbles += 1;
    }
    (nibbles == 32 && matches!(s.len(), 32 | 36)).then_some(uuid)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_both_forms_and_rejects_the_rest() {
        let want = [
            0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44,
            0x00, 0x00,
        ];
        assert_eq!(parse(b"550e8400-e29b-41d4-a716-446655440000"), Some(want));
        assert_eq!(parse(b"550E8400-E29B-41D4-A716-446655440000"), Some(want));
        assert_eq!(parse(b"550e8400e29b41d4a716446655440000"), Some(want));
        for bad in [
            &b""[..],
            b"550e8400-e29b-41d4-a716-44665544000",
            b"550e8400-e29b-41d4-a716-4466554400000",
            b"550e8400e29b-41d4-a716-4466554400000",
            b"550e8400-e29b-41d4-a716_446655440000",
            b"550e8400-e29b-41d4-a716-44665544000g",
            b"550e8400e29b41d4a71644665544000",
            b"550e8400e29b41d4a7164466554400000",
            b"550e8400e29b41d4a716446655440000-",
            b"------------------------------------",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        #[test]
        fn round_trips(uuid in any::<[u8; 16]>()) {
            let mut out = Vec::new();
            format(&uuid, &mut out);
            prop_assert_eq!(out.len(), 36);
            prop_assert_eq!(parse(&out), Some(uuid));
            let bare: Vec<u8> = out.iter().copied().filter(|&c| c != b'-').collect();
            prop_assert_eq!(parse(&bare), Some(uuid));
        }
    }
}
