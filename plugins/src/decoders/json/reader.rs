//! `Reader`: a cursor over JSON bytes that validates as it goes and never allocates.
//!
//! The reader works on a `&str`: the decoder checks the whole datagram's UTF-8 once (one
//! fast pass, as RFC 8259 requires of a JSON text), so a string body between two quotes is a
//! `&str` slice with no further validation. Strings are read in two steps:
//! [`Reader::raw_string`] finds the closing quote and notes whether there are escapes, then
//! [`RawStr::decode_into`] resolves escapes and writes into a [`Sink`] (a reused `String`,
//! or [`Discard`] to only check the escapes).

use engine::DecodeError;

use super::MAX_DEPTH;

/// Where decoded string data goes.
pub(super) trait Sink {
    /// Makes room for `additional` more bytes (exactly, so buffers never grow past input size).
    fn reserve(&mut self, additional: usize);
    /// Appends a run of text.
    fn push_str(&mut self, s: &str);
    /// Appends one character.
    fn push_char(&mut self, c: char);
}

impl Sink for String {
    fn reserve(&mut self, additional: usize) {
        self.reserve_exact(additional);
    }

    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }

    fn push_char(&mut self, c: char) {
        self.push(c);
    }
}

/// A sink that keeps nothing: validates a string being skipped.
#[derive(Debug)]
pub(super) struct Discard;

impl Sink for Discard {
    fn reserve(&mut self, _: usize) {}
    fn push_str(&mut self, _: &str) {}
    fn push_char(&mut self, _: char) {}
}

/// A JSON number, typed the way the decoder needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Num {
    /// No fraction or exponent, and fits an `i64`.
    Int(i64),
    /// Anything else (an integer too large for `i64` included).
    Float(f64),
}

/// A string token found by [`Reader::raw_string`], not yet decoded.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawStr<'a> {
    /// Offset of the opening quote in the input.
    start: usize,
    /// The text between the quotes.
    text: &'a str,
    /// Whether `body` contains a backslash.
    pub(super) escaped: bool,
}

impl<'a> RawStr<'a> {
    /// The bytes between the quotes.
    #[inline]
    pub(super) fn body(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Resolves escapes and appends the text to `out`.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Malformed`] at a bad escape or unpaired surrogate.
    pub(super) fn decode_into<S: Sink>(&self, out: &mut S) -> Result<(), DecodeError> {
        // Runs end and start at backslashes and escapes, all ASCII: char boundaries.
        let utf8 = |run: std::ops::Range<usize>| Ok::<_, DecodeError>(&self.text[run]);
        // Escapes only shrink text, so the raw length bounds the decoded length.
        out.reserve(self.text.len());
        if !self.escaped {
            out.push_str(self.text);
            return Ok(());
        }
        let b = self.body();
        let mut run = 0;
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'\\' {
                i += 1;
                continue;
            }
            out.push_str(utf8(run..i)?);
            let malformed = DecodeError::Malformed {
                offset: self.start + 1 + i,
            };
            let c = match b.get(i + 1) {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let (c, len) = unicode_escape(&b[i..]).ok_or(malformed)?;
                    out.push_char(c);
                    i += len;
                    run = i;
                    continue;
                }
                _ => return Err(malformed),
            };
            out.push_char(c);
            i += 2;
            run = i;
        }
        out.push_str(utf8(run..b.len())?);
        Ok(())
    }
}

/// Decodes `\uXXXX` (or a `\uD8xx\uDCxx` surrogate pair) at the start of `b`; returns the
/// character and the number of bytes used. `None` for bad hex or an unpaired surrogate.
fn unicode_escape(b: &[u8]) -> Option<(char, usize)> {
    let hi = hex4(b.get(2..6)?)?;
    match hi {
        0xD800..=0xDBFF => {
            if b.get(6..8)? != b"\\u" {
                return None;
            }
            let lo = hex4(b.get(8..12)?)?;
            if !(0xDC00..=0xDFFF).contains(&lo) {
                return None;
            }
            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            Some((char::from_u32(c)?, 12))
        }
        0xDC00..=0xDFFF => None,
        _ => Some((char::from_u32(hi)?, 6)),
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    b.iter()
        .try_fold(0u32, |acc, &c| Some(acc << 4 | char::from(c).to_digit(16)?))
}

/// A position in a JSON document. Every method skips leading whitespace first.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    text: &'a str,
    buf: &'a [u8],
    pos: usize,
}

const TRUNCATED: DecodeError = DecodeError::Truncated { needed: 0 };

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub(super) fn new(text: &'a str) -> Self {
        Reader {
            text,
            buf: text.as_bytes(),
            pos: 0,
        }
    }

    /// A [`DecodeError::Malformed`] at the current position.
    pub(super) fn malformed(&self) -> DecodeError {
        DecodeError::Malformed { offset: self.pos }
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.buf.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] at the end of the input.
    #[inline]
    pub(super) fn peek(&mut self) -> Result<u8, DecodeError> {
        self.skip_ws();
        self.buf.get(self.pos).copied().ok_or(TRUNCATED)
    }

    /// Consumes trailing whitespace and says whether the input is exhausted.
    pub(super) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.buf.len()
    }

    /// Consumes `open` (`{` or `[`), which the caller has peeked, entering a container at
    /// `depth` (the number of containers already open). Returns `false` and consumes the
    /// matching `close` if the container is empty.
    ///
    /// # Errors
    ///
    /// [`DecodeError::TooDeep`] when `depth` containers are already open.
    pub(super) fn open(&mut self, open: u8, close: u8, depth: usize) -> Result<bool, DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep { limit: MAX_DEPTH });
        }
        if self.peek()? != open {
            return Err(self.malformed());
        }
        self.pos += 1;
        if self.peek()? == close {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After a member or element: consumes `,` (returns `true`) or `close` (returns `false`).
    pub(super) fn more(&mut self, close: u8) -> Result<bool, DecodeError> {
        let b = self.peek()?;
        if b == b',' {
            self.pos += 1;
            Ok(true)
        } else if b == close {
            self.pos += 1;
            Ok(false)
        } else {
            Err(self.malformed())
        }
    }

    /// Consumes the `:` between a key and its value.
    pub(super) fn colon(&mut self) -> Result<(), DecodeError> {
        if self.peek()? != b':' {
            return Err(self.malformed());
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes a string token and returns it undecoded. Raw control characters inside it
    /// are an error (JSON requires them escaped).
    ///
    /// Always inlined: returned through memory, this `Result` was copied with overlapping
    /// 8-byte moves that defeat store forwarding (a quarter of the decoder's time at
    /// overload in `perf annotate`).
    #[inline(always)]
    pub(super) fn raw_string(&mut self) -> Result<RawStr<'a>, DecodeError> {
        if self.peek()? != b'"' {
            return Err(self.malformed());
        }
        let start = self.pos;
        let b = self.buf;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            i += b
                .get(i..)
                .map_or(0, engine::scan::find_quote_backslash_or_control);
            match b.get(i) {
                None => {
                    self.pos = b.len();
                    return Err(TRUNCATED);
                }
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(_) => {
                    self.pos = i;
                    return Err(self.malformed());
                }
            }
        }
        self.pos = i + 1;
        Ok(RawStr {
            start,
            // Both ends are quotes (ASCII), so char boundaries.
            text: &self.text[start + 1..i],
            escaped,
        })
    }

    /// Consumes a string and appends its decoded text to `out`.
    #[inline]
    pub(super) fn string_into<S: Sink>(&mut self, out: &mut S) -> Result<(), DecodeError> {
        self.raw_string()?.decode_into(out)
    }

    /// Consumes `true`, `false` (returning them) or `null` (returning `None`).
    pub(super) fn literal(&mut self) -> Result<Option<bool>, DecodeError> {
        self.skip_ws();
        let rest = &self.buf[self.pos..];
        for (word, value) in [
            (&b"true"[..], Some(true)),
            (b"false", Some(false)),
            (b"null", None),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(value);
            }
            if !rest.is_empty() && word.starts_with(rest) {
                self.pos = self.buf.len();
                return Err(TRUNCATED);
            }
        }
        Err(self.malformed())
    }

    /// Consumes a number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    pub(super) fn number(&mut self) -> Result<Num, DecodeError> {
        let (start, magnitude, is_float) = self.scan_number()?;
        if let Some(m) = magnitude.filter(|_| !is_float) {
            let v = if self.buf[start] == b'-' {
                0i64.checked_sub_unsigned(m)
            } else {
                i64::try_from(m).ok()
            };
            if let Some(v) = v {
                return Ok(Num::Int(v));
            }
        }
        // A number's bytes are ASCII, so the slice is on char boundaries.
        self.text[start..self.pos]
            .parse()
            .ok()
            .map(Num::Float)
            .ok_or(DecodeError::Malformed { offset: start })
    }

    /// Consumes a number; returns where it started, the magnitude of its integer part
    /// (`None` past 19 digits, where it may not fit a `u64` and cannot fit an `i64`) and
    /// whether it has a fraction or exponent.
    fn scan_number(&mut self) -> Result<(usize, Option<u64>, bool), DecodeError> {
        self.skip_ws();
        let start = self.pos;
        if self.buf.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let mut magnitude = Some(0u64);
        match self.buf.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                let first = self.pos;
                let mut m = 0u64;
                while let Some(&d @ b'0'..=b'9') = self.buf.get(self.pos) {
                    // Wraps only past 19 digits, which are discarded below.
                    m = m.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                    self.pos += 1;
                }
                magnitude = (self.pos - first <= 19).then_some(m);
            }
            Some(_) => return Err(self.malformed()),
            None => return Err(TRUNCATED),
        }
        let mut is_float = false;
        if self.buf.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.digits()?;
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.buf.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.buf.get(self.pos) {
                self.pos += 1;
            }
            self.digits()?;
            is_float = true;
        }
        Ok((start, magnitude, is_float))
    }

    /// Consumes one or more ASCII digits.
    fn digits(&mut self) -> Result<(), DecodeError> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.buf.get(self.pos) {
            self.pos += 1;
        }
        match self.buf.get(self.pos) {
            _ if self.pos > start => Ok(()),
            None => Err(TRUNCATED),
            Some(_) => Err(self.malformed()),
        }
    }

    /// Consumes any JSON value, validating it, at `depth` (containers already open).
    pub(super) fn skip_value(&mut self, depth: usize) -> Result<(), DecodeError> {
        match self.peek()? {
            b'"' => self.string_into(&mut Discard),
            b'{' => {
                if self.open(b'{', b'}', depth)? {
                    loop {
                        self.string_into(&mut Discard)?;
                        self.colon()?;
                        self.skip_value(depth + 1)?;
                        if !self.more(b'}')? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            b'[' => {
                if self.open(b'[', b']', depth)? {
                    loop {
                        self.skip_value(depth + 1)?;
                        if !self.more(b']')? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            b't' | b'f' | b'n' => self.literal().map(drop),
            _ => self.scan_number().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<String, DecodeError> {
        let mut r = Reader::new(json);
        let mut out = String::new();
        r.string_into(&mut out)?;
        assert!(r.at_end(), "{json}");
        Ok(out)
    }

    #[test]
    fn strings_and_escapes() {
        let ok = [
            (r#""""#, ""),
            (r#""plain""#, "plain"),
            (r#""caf\u00e9 café""#, "café café"),
            (r#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{c}\n\r\t"),
            (r#""\u0000\u001F\u20AC""#, "\0\u{1f}€"),
            (r#""\uD83D\uDE00 \ud83d\ude00""#, "😀 😀"),
            (r#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
            (r#""a\\""#, "a\\"),
        ];
        for (json, want) in ok {
            assert_eq!(decode(json).as_deref(), Ok(want), "{json}");
        }
    }

    #[test]
    fn bad_strings() {
        let m = |offset| Err(DecodeError::Malformed { offset });
        assert_eq!(decode(r#""ab\x""#), m(3));
        assert_eq!(decode(r#""\u12""#), m(1));
        assert_eq!(decode(r#""\u12G4""#), m(1));
        assert_eq!(decode(r#""\uD800""#), m(1));
        assert_eq!(decode(r#""\uD800x""#), m(1));
        assert_eq!(decode(r#""\uD800\u0041""#), m(1));
        assert_eq!(decode(r#""\uD800\uD800""#), m(1));
        assert_eq!(decode(r#""\uDC00""#), m(1));
        assert_eq!(decode("\"a\tb\""), m(2));
        assert_eq!(decode("\"abc"), Err(DecodeError::Truncated { needed: 0 }));
        assert_eq!(
            decode("\"abc\\\""),
            Err(DecodeError::Truncated { needed: 0 })
        );
        assert_eq!(decode("x"), m(0));
    }

    #[test]
    fn decoded_strings_never_outgrow_their_source() {
        let json = r#""\u00e9\n\uD83D\uDE00""#;
        let mut out = String::new();
        Reader::new(json).string_into(&mut out).unwrap();
        assert!(out.capacity() <= json.len());
    }

    #[test]
    fn numbers() {
        let cases = [
            ("0", Num::Int(0)),
            ("-0", Num::Int(0)),
            ("42", Num::Int(42)),
            ("-8531", Num::Int(-8531)),
            ("9223372036854775807", Num::Int(i64::MAX)),
            ("-9223372036854775808", Num::Int(i64::MIN)),
            ("9223372036854775808", Num::Float(9.223_372_036_854_776e18)),
            (
                "-9223372036854775809",
                Num::Float(-9.223_372_036_854_776e18),
            ),
            (
                "123456789012345678901234567890",
                Num::Float(1.234_567_890_123_456_8e29),
            ),
            ("1.5", Num::Float(1.5)),
            ("-0.25", Num::Float(-0.25)),
            ("1e3", Num::Float(1000.0)),
            ("1E+3", Num::Float(1000.0)),
            ("2.5e-3", Num::Float(0.0025)),
            ("1.0", Num::Float(1.0)),
            ("1e999", Num::Float(f64::INFINITY)),
        ];
        for (json, want) in cases {
            let mut r = Reader::new(json);
            assert_eq!(r.number(), Ok(want), "{json}");
            assert!(r.at_end());
        }
        let m = |offset| Err(DecodeError::Malformed { offset });
        let t = Err(DecodeError::Truncated { needed: 0 });
        for (json, want) in [
            ("-", t),
            ("1.", t),
            ("1e", t),
            ("1e+", t),
            ("-x", m(1)),
            ("+1", m(0)),
        ] {
            assert_eq!(Reader::new(json).number(), want, "{json}");
        }
        for (json, want) in [("1.x", m(2)), (".5", m(0)), ("1ex", m(2))] {
            assert_eq!(Reader::new(json).number(), want, "{json}");
        }
        // A leading zero ends the number; the caller then finds a stray digit.
        let mut r = Reader::new("01");
        assert_eq!(r.number(), Ok(Num::Int(0)));
        assert!(!r.at_end());
    }

    #[test]
    fn literals() {
        let t = Err(DecodeError::Truncated { needed: 0 });
        assert_eq!(Reader::new(" true").literal(), Ok(Some(true)));
        assert_eq!(Reader::new("false").literal(), Ok(Some(false)));
        assert_eq!(Reader::new("null").literal(), Ok(None));
        assert_eq!(Reader::new("tru").literal(), t);
        assert_eq!(Reader::new("nul").literal(), t);
        assert_eq!(
            Reader::new("").literal(),
            Err(DecodeError::Malformed { offset: 0 })
        );
        assert_eq!(
            Reader::new("trux").literal(),
            Err(DecodeError::Malformed { offset: 0 })
        );
    }

    #[test]
    fn skip_validates_and_limits_depth() {
        let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
        let skip = |json: &str| {
            let mut r = Reader::new(json);
            r.skip_value(0).map(|()| r.at_end())
        };
        assert_eq!(
            skip(r#"{"a": [1, -2.5e3, "x\n", true, null, {}], "b": {"c": []}}"#),
            Ok(true)
        );
        assert_eq!(skip(&deep(MAX_DEPTH)), Ok(true));
        assert_eq!(
            skip(&deep(MAX_DEPTH + 1)),
            Err(DecodeError::TooDeep { limit: MAX_DEPTH })
        );
        assert_eq!(skip("[1,]"), Err(DecodeError::Malformed { offset: 3 }));
        assert_eq!(skip("[1}"), Err(DecodeError::Malformed { offset: 2 }));
        assert_eq!(
            skip(r#"{"a" 1}"#),
            Err(DecodeError::Malformed { offset: 5 })
        );
        assert_eq!(skip(r#"{1: 1}"#), Err(DecodeError::Malformed { offset: 1 }));
        assert_eq!(skip("[1, 2"), Err(DecodeError::Truncated { needed: 0 }));
        assert_eq!(skip("}"), Err(DecodeError::Malformed { offset: 0 }));
    }
}
