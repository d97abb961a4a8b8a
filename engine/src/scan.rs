//! Byte scans for the decoders' inner loops, sixteen bytes per step: SSE2 on x86_64 (part of
//! its baseline, so no runtime detection), a byte loop or `std` elsewhere. They live here because
//! `unsafe` lives only in `engine`.

/// Index of the first byte of `s` that is `"`, `\` or a control byte (below 0x20), or
/// `s.len()` if there is none: where the plain run of a JSON string ends.
///
/// # Examples
///
/// ```
/// use engine::scan::find_quote_backslash_or_control as find;
/// assert_eq!(find(br#"hello", "#), 5);
/// assert_eq!(find(b"tab\there"), 3);
/// assert_eq!(find(b"plain"), 5);
/// ```
#[inline]
pub fn find_quote_backslash_or_control(s: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    let i = sse2_prefix(s);
    #[cfg(not(target_arch = "x86_64"))]
    let i = 0;
    i + s[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .unwrap_or(s.len() - i)
}

/// Scans whole 16-byte blocks of `s`: the index of the first match in them, or the start of
/// the last partial block (fewer than 16 bytes) when none matched.
#[cfg(target_arch = "x86_64")]
#[inline]
fn sse2_prefix(s: &[u8]) -> usize {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut i = 0;
    // SAFETY: SSE2 is part of the x86_64 baseline, so every intrinsic here exists on every
    // CPU this code can run on. Each unaligned load reads `s[i..i + 16]`, inside `s` because
    // the loop runs only while `i + 16 <= s.len()`.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let control = _mm_set1_epi8(0x1f);
        while i + 16 <= s.len() {
            let v = _mm_loadu_si128(s.as_ptr().add(i).cast());
            // max(v, 0x1f) == 0x1f exactly for the bytes at or below 0x1f (unsigned).
            let hits = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                _mm_cmpeq_epi8(_mm_max_epu8(v, control), control),
            );
            let mask = _mm_movemask_epi8(hits) as u32;
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    i
}

/// `bytes` as text: [`std::str::from_utf8`], with a fast path for all-ASCII input (most
/// log lines), checked sixteen bytes per step.
///
/// # Errors
///
/// The [`std::str::Utf8Error`] of `from_utf8` (where the first bad byte is).
///
/// # Examples
///
/// ```
/// assert_eq!(engine::scan::utf8(b"plain"), Ok("plain"));
/// assert_eq!(engine::scan::utf8("café".as_bytes()), Ok("café"));
/// assert_eq!(engine::scan::utf8(b"ab\xffcd").unwrap_err().valid_up_to(), 2);
/// ```
#[inline]
pub fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if !is_ascii(bytes) {
        return std::str::from_utf8(bytes);
    }
    // SAFETY: every byte is below 0x80 (checked just above), and ASCII is valid UTF-8.
    Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Whether every byte of `s` is below 0x80.
#[inline]
fn is_ascii(s: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};
        let mut i = 0;
        // SAFETY: SSE2 is part of the x86_64 baseline. Each unaligned load reads
        // `s[i..i + 16]` (or `s[i + 16..i + 32]`), inside `s` by the loop conditions.
        unsafe {
            while i + 32 <= s.len() {
                let a = _mm_loadu_si128(s.as_ptr().add(i).cast());
                let b = _mm_loadu_si128(s.as_ptr().add(i + 16).cast());
                if _mm_movemask_epi8(_mm_or_si128(a, b)) != 0 {
                    return false;
                }
                i += 32;
            }
            if i + 16 <= s.len() {
                if _mm_movemask_epi8(_mm_loadu_si128(s.as_ptr().add(i).cast())) != 0 {
                    return false;
                }
                i += 16;
            }
        }
        s[i..].is_ascii()
    }
    #[cfg(not(target_arch = "x86_64"))]
    s.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &[u8]) -> usize {
        s.iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .unwrap_or(s.len())
    }

    #[test]
    fn finds_the_first_special_byte_at_every_position_and_length() {
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0, 0x1f, b'\n'] {
                    for filler in [b'a', 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 0xdc] {
                        let mut s = vec![filler; len];
                        if at < len {
                            s[at] = special;
                            // A second special byte later must not matter.
                            if at + 1 < len {
                                s[len - 1] = 0;
                            }
                        }
                        assert_eq!(find_quote_backslash_or_control(&s), naive(&s), "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn utf8_takes_ascii_fast_and_everything_else_to_std() {
        for len in 0..70 {
            for at in 0..len {
                for bad in [0x80u8, 0xc3, 0xff] {
                    let mut s = vec![b'a'; len];
                    s[at] = bad;
                    assert_eq!(utf8(&s), std::str::from_utf8(&s), "{s:?}");
                }
            }
            let s = vec![b'a'; len];
            assert_eq!(utf8(&s), std::str::from_utf8(&s));
        }
    }

    proptest::proptest! {
        #[test]
        fn utf8_agrees_with_std(s in proptest::collection::vec(0u8.., 0..100), text in ".{0,40}") {
            proptest::prop_assert_eq!(utf8(&s), std::str::from_utf8(&s));
            proptest::prop_assert_eq!(utf8(text.as_bytes()), Ok(text.as_str()));
        }

        #[test]
        fn agrees_with_a_byte_loop(s in proptest::collection::vec(0u8.., 0..100)) {
            proptest::prop_assert_eq!(find_quote_backslash_or_control(&s), naive(&s));
        }
    }
}
