//! The statsd line protocol, read exactly as etsy statsd 0.9 reads it (`stats.js` and
//! `lib/helpers.js`): pure functions over bytes, no I/O and no allocation.
//!
//! A datagram holds lines separated by `\n` ([`lines`]). A line is
//! `name:value|type[|@rate][|#tags]`; a line may carry several samples for one name
//! (`name:v1|c:v2|ms`), each checked on its own, so [`parse_line`] returns the name and an
//! iterator over its samples ([`Metric::samples`]).
//!
//! ```
//! use plugins::statsd::{parse_line, Kind};
//!
//! let metric = parse_line(b"glork:320|ms|@0.1")?;
//! assert_eq!(metric.name, b"glork");
//! let sample = metric.samples().next().unwrap()?;
//! assert_eq!((sample.kind, sample.value, sample.sample_rate), (Kind::Timer, 320.0, 0.1));
//! # Ok::<(), plugins::statsd::ParseError>(())
//! ```

use super::key::bucket_key;
use super::number::{is_js_space, js_number};

/// The kind of a sample, from its type field.
///
/// Like statsd, `ms`, `g` and `s` (surrounding whitespace ignored) are timers, gauges and
/// sets, and every other type, `c` or not, is a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `c` (and any unknown type): added up, scaled by 1/sample rate.
    Counter,
    /// `ms`: every value kept until the flush.
    Timer,
    /// `g`: the last value, or adjusted by a signed value.
    Gauge,
    /// `s`: distinct values counted.
    Set,
}

/// Why statsd would count a line (or one sample of it) as a bad line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line has no `:` (statsd reads it as value `1` with no type).
    #[error("no value: expected name:value|type")]
    NoValue,
    /// A sample has no `|type`.
    #[error("no type: expected value|type")]
    NoType,
    /// The third field is not `@` followed by a non-negative number that starts with a digit
    /// or `.` (statsd 0.9 crashes on `@ 1` and `@+1`; here they are bad lines).
    #[error("bad sample rate: expected @rate")]
    BadSampleRate,
    /// The value is not a number (for any type but an exact `s`).
    #[error("bad value: not a number")]
    BadValue,
    /// A timer (`ms`) value below zero.
    #[error("bad value: negative timer")]
    NegativeTimer,
}

/// The non-empty lines of a datagram (statsd splits on `\n` only; a `\r` stays in the line).
pub fn lines(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    datagram.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// One line: a name (with optional tags) and one or more samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric<'a> {
    /// The name as sent: everything before the first `:`, not yet sanitized.
    pub name: &'a [u8],
    /// The DogStatsD tags after the first `|#`, as sent (comma separated), when not empty.
    pub tags: Option<&'a [u8]>,
    /// Everything after the first `:` (and before `|#`).
    values: &'a [u8],
}

/// Splits a line into its name, tags and samples. Only the line's shape is checked here;
/// each sample is checked as it is read from [`Metric::samples`].
///
/// # Errors
///
/// [`ParseError::NoValue`] when the line has no `:`.
pub fn parse_line(line: &[u8]) -> Result<Metric<'_>, ParseError> {
    let (body, tags) = match find_tags(line) {
        Some(i) => {
            let rest = &line[i + 2..];
            let tags = find_tags(rest).map_or(rest, |j| &rest[..j]);
            (&line[..i], (!tags.is_empty()).then_some(tags))
        }
        None => (line, None),
    };
    let colon = body
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::NoValue)?;
    Ok(Metric {
        name: &body[..colon],
        tags,
        values: &body[colon + 1..],
    })
}

impl<'a> Metric<'a> {
    /// The samples, in order; each one is a sample or the reason statsd would count it as a
    /// bad line.
    pub fn samples(&self) -> Samples<'a> {
        Samples {
            rest: Some(self.values),
        }
    }

    /// The bucket key statsd files the samples under: the name and tags, sanitized (runs of
    /// whitespace become `_`, `/` becomes `-`, characters outside `[a-zA-Z0-9_.;=-]` are
    /// dropped, tags are appended as `;tag=value`). Borrows the line when nothing changes,
    /// otherwise builds the key in `buf`.
    ///
    /// ```
    /// let mut buf = String::new();
    /// let metric = plugins::statsd::parse_line(b"my app/req:1|c|#env:prod")?;
    /// assert_eq!(metric.key(&mut buf), "my_app-req;env=prod");
    /// # Ok::<(), plugins::statsd::ParseError>(())
    /// ```
    pub fn key<'b>(&self, buf: &'b mut String) -> &'b str
    where
        'a: 'b,
    {
        bucket_key(self.name, self.tags, buf)
    }
}

/// The samples of a line, from [`Metric::samples`].
#[derive(Clone, Debug)]
pub struct Samples<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Samples<'a> {
    type Item = Result<Sample<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        let text = match rest.iter().position(|&b| b == b':') {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                &rest[..i]
            }
            None => {
                self.rest = None;
                rest
            }
        };
        Some(parse_sample(text))
    }
}

/// One sample of a line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample<'a> {
    /// What kind of metric it is.
    pub kind: Kind,
    /// The value, read as JavaScript's `Number()` reads it; 0 for a set.
    pub value: f64,
    /// The value as sent: a set's member (`"0"` when empty, as in statsd), otherwise the
    /// number's text.
    pub text: &'a [u8],
    /// The sample rate after `@`; 1 when absent.
    pub sample_rate: f64,
}

impl Sample<'_> {
    /// Whether the value as sent starts with `+` or `-`: for a gauge that already has a
    /// non-zero value, an adjustment rather than a new value.
    pub fn is_delta(&self) -> bool {
        matches!(self.text.first(), Some(b'+' | b'-'))
    }
}

/// `value|type[|@rate]` (fields after the third are ignored, as in statsd).
fn parse_sample(text: &[u8]) -> Result<Sample<'_>, ParseError> {
    let mut fields = text.split(|&b| b == b'|');
    let value = fields.next().unwrap_or_default();
    let ty = fields.next().ok_or(ParseError::NoType)?;
    let rate = fields.next();
    if let Some(rate) = rate {
        let valid = match rate {
            [b'@', num @ ..] => !num.is_empty() && is_number(num) && num[0] != b'-',
            _ => false,
        };
        if !valid {
            return Err(ParseError::BadSampleRate);
        }
    }
    // statsd's isNumber(value): not empty and Number(value) not NaN. An exact `s` skips it.
    let number = if ty == b"s" { 0.0 } else { js_number(value) };
    if ty != b"s" && (value.is_empty() || number.is_nan()) {
        return Err(ParseError::BadValue);
    }
    if ty == b"ms" && number < 0.0 {
        return Err(ParseError::NegativeTimer);
    }
    let sample_rate = match rate {
        // statsd: Number(fields[2].match(/^@([\d\.]+)/)[1]), a TypeError when it does not match.
        Some(rate) => {
            let num = &rate[1..];
            let n = num
                .iter()
                .take_while(|&&b| b.is_ascii_digit() || b == b'.')
                .count();
            if n == 0 {
                return Err(ParseError::BadSampleRate);
            }
            js_number(&num[..n])
        }
        None => 1.0,
    };
    let kind = match ty {
        b"c" => Kind::Counter,
        b"ms" => Kind::Timer,
        b"g" => Kind::Gauge,
        b"s" => Kind::Set,
        // statsd dispatches on fields[1].trim().
        _ => match std::str::from_utf8(ty).map(|t| t.trim_matches(is_js_space)) {
            Ok("ms") => Kind::Timer,
            Ok("g") => Kind::Gauge,
            Ok("s") => Kind::Set,
            _ => Kind::Counter,
        },
    };
    Ok(match kind {
        Kind::Set => Sample {
            kind,
            value: 0.0,
            text: if value.is_empty() { b"0" } else { value },
            sample_rate,
        },
        _ => Sample {
            kind,
            value: number,
            text: value,
            sample_rate,
        },
    })
}

/// statsd's `isNumber`: not empty, and `Number(text)` is not NaN.
fn is_number(text: &[u8]) -> bool {
    !text.is_empty() && !js_number(text).is_nan()
}

/// The position of the first `|#`.
fn find_tags(haystack: &[u8]) -> Option<usize> {
    // `contains` on bytes is a memchr: most lines have no `#` at all.
    if !haystack.contains(&b'#') {
        return None;
    }
    haystack.windows(2).position(|w| w == b"|#")
}
