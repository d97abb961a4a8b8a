//! JavaScript number semantics, so values read and print exactly as etsy statsd (node) reads
//! and prints them: `Number(string)` for parsing, `Number.prototype.toString()` for output,
//! `Math.round` for percentile counts, and JavaScript's whitespace set for `trim()` and `\s`.

use std::fmt::Write as _;

/// Whether `c` is JavaScript whitespace (`WhiteSpace` or `LineTerminator`), the set that
/// `String.prototype.trim`, `Number(string)` and the regex class `\s` use.
pub(super) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// JavaScript's `Number(text)`: surrounding whitespace is ignored, empty is 0, `Infinity`
/// and `0x`/`0o`/`0b` integers are numbers, anything else not a decimal literal is NaN.
/// Bytes that are not UTF-8 (node decodes them as U+FFFD) make it NaN.
pub(super) fn js_number(text: &[u8]) -> f64 {
    // Fast path: a short run of ASCII digits, by far the most common value.
    if !text.is_empty() && text.len() <= 15 && text.iter().all(u8::is_ascii_digit) {
        let n = text.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        // Exact: below 10^15 < 2^53.
        return n as f64;
    }
    let Ok(s) = std::str::from_utf8(text) else {
        return f64::NAN;
    };
    let s = s.trim_matches(is_js_space);
    if s.is_empty() {
        return 0.0;
    }
    let b = s.as_bytes();
    if b.len() > 2 && b[0] == b'0' {
        let radix = match b[1] {
            b'x' | b'X' => 16,
            b'o' | b'O' => 8,
            b'b' | b'B' => 2,
            _ => 0,
        };
        if radix != 0 {
            return radix_integer(&s[2..], radix);
        }
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned == "Infinity" {
        return if b[0] == b'-' {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    if !is_decimal_literal(unsigned.as_bytes()) {
        return f64::NAN;
    }
    // The grammar is checked, and Rust reads that grammar with the same correct rounding.
    s.parse().unwrap_or(f64::NAN)
}

/// `digits [. digits] [e [+-] digits]` or `. digits [e ...]`, with at least one mantissa
/// digit (JavaScript's `StrUnsignedDecimalLiteral` without `Infinity`).
fn is_decimal_literal(b: &[u8]) -> bool {
    let digits = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = digits(0);
    let mut mantissa = i;
    if b.get(i) == Some(&b'.') {
        let frac = digits(i + 1);
        mantissa += frac;
        i += 1 + frac;
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(i);
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// The value of `digits` in `radix`, NaN unless every digit is valid (and there is one).
fn radix_integer(digits: &str, radix: u32) -> f64 {
    let mut exact: Option<u128> = Some(0);
    let mut approx = 0.0f64;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else {
            return f64::NAN;
        };
        exact = exact
            .and_then(|n| n.checked_mul(u128::from(radix)))
            .and_then(|n| n.checked_add(u128::from(d)));
        approx = approx * f64::from(radix) + f64::from(d);
    }
    // u128 -> f64 rounds to nearest, like JavaScript; past 2^128 the sum is close enough.
    exact.map_or(approx, |n| n as f64)
}

/// JavaScript's `Math.round`: the nearest integer, halves rounded up (towards +∞).
pub(super) fn js_round(x: f64) -> f64 {
    let f = x.floor();
    // x - floor(x) is exact for every finite double.
    if x - f >= 0.5 {
        f + 1.0
    } else {
        f
    }
}

/// A stack buffer for formatting a double (the longest `{:e}` is about 24 bytes).
struct Buf {
    bytes: [u8; 40],
    len: usize,
}

impl std::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `x` as JavaScript's `String(x)` prints it: the shortest digits that read back as
/// `x`, positional from 1e-7 to 1e21 (`0.1`, `100`, no `.0`), exponential outside
/// (`1e+21`, `1.5e-7`), and `NaN`, `Infinity`, `-Infinity`, `0` for -0.
pub(super) fn write_js_number(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x == 0.0 {
        out.push('0');
        return;
    }
    if x.is_infinite() {
        out.push_str(if x < 0.0 { "-Infinity" } else { "Infinity" });
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    // Integers below 2^53 print as their digits (the common case: counts, gauges).
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        push_digits(x.abs() as u64, out);
        return;
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `d[.ddd]e[-]N`.
    let mut buf = Buf {
        bytes: [0; 40],
        len: 0,
    };
    if write!(buf, "{:e}", x.abs()).is_err() {
        // Unreachable: the buffer is larger than any `{:e}` of an f64.
        out.push_str("NaN");
        return;
    }
    let text = &buf.bytes[..buf.len];
    let e_at = text.iter().position(|&c| c == b'e').unwrap_or(text.len());
    let (mantissa, exp) = (&text[..e_at], &text[(e_at + 1).min(text.len())..]);
    let exp: i32 = std::str::from_utf8(exp)
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 20];
    let mut k = 0;
    for &c in mantissa.iter().filter(|c| c.is_ascii_digit()) {
        if k < digits.len() {
            digits[k] = c;
            k += 1;
        }
    }
    let s = &digits[..k];
    let k = k as i32;
    // The decimal point sits after `n` digits: x = 0.s × 10^n.
    let n = exp + 1;
    let push = |out: &mut String, bytes: &[u8]| bytes.iter().for_each(|&c| out.push(char::from(c)));
    if k <= n && n <= 21 {
        push(out, s);
        (0..n - k).for_each(|_| out.push('0'));
    } else if 0 < n && n <= 21 {
        push(out, &s[..n as usize]);
        out.push('.');
        push(out, &s[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        (0..-n).for_each(|_| out.push('0'));
        push(out, s);
    } else {
        push(out, &s[..1]);
        if k > 1 {
            out.push('.');
            push(out, &s[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        // Writing to a String cannot fail.
        write!(out, "{}", (n - 1).unsigned_abs()).unwrap_or(());
    }
}

/// Appends the decimal digits of `n`.
pub(super) fn push_digits(mut n: u64, out: &mut String) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[i..].iter().for_each(|&d| out.push(char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js(x: f64) -> String {
        let mut s = String::new();
        write_js_number(x, &mut s);
        s
    }

    #[test]
    fn prints_like_javascript() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (100.0, "100"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456789.0, "123456789"),
            (1.5e-7, "1.5e-7"),
            (1e-7, "1e-7"),
            (1e-6, "0.000001"),
            (1.25e-6, "0.00000125"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (123e20, "1.23e+22"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (9007199254740993.0, "9007199254740992"),
            (9007199254740991.0, "9007199254740991"),
            (-9007199254740991.0, "-9007199254740991"),
            (123456789012345680000.0, "123456789012345680000"),
            (u64::MAX as f64, "18446744073709552000"),
            (12.5, "12.5"),
            (-0.001, "-0.001"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(x, want) in cases {
            assert_eq!(js(x), want, "{x:e}");
        }
    }

    #[test]
    fn reads_like_javascript_number() {
        let cases: &[(&str, f64)] = &[
            ("", 0.0),
            ("  ", 0.0),
            ("0", 0.0),
            ("42", 42.0),
            (" 42\t", 42.0),
            ("\u{a0}42\u{3000}", 42.0),
            ("+1", 1.0),
            ("-1", -1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("-.5", -0.5),
            ("1e3", 1000.0),
            ("1E+3", 1000.0),
            ("1.5e-3", 0.0015),
            ("0x1F", 31.0),
            ("0o17", 15.0),
            ("0b101", 5.0),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("+Infinity", f64::INFINITY),
            ("1e400", f64::INFINITY),
            ("000123", 123.0),
            ("1234567890123456789", 1234567890123456789.0),
        ];
        for &(s, want) in cases {
            assert_eq!(js_number(s.as_bytes()), want, "{s:?}");
        }
        for bad in [
            ".", "e5", "1e", "1_000", "0x", "-0x1", "0x1g", "inf", "infinity", "NaN", "nan", "1 2",
            "abc", "1,5", "--1", "+-1", "١", "1\u{85}",
        ] {
            assert!(js_number(bad.as_bytes()).is_nan(), "{bad:?}");
        }
        assert!(js_number(b"1\xff").is_nan());
    }

    #[test]
    fn rounds_like_math_round() {
        for (x, want) in [
            (0.5, 1.0),
            (1.5, 2.0),
            (2.5, 3.0),
            (2.4999, 2.0),
            (9.0, 9.0),
        ] {
            assert_eq!(js_round(x), want, "{x}");
        }
        assert_eq!(js_round(0.49999999999999994), 0.0);
    }
}
