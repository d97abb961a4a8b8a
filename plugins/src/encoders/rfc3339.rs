//! RFC 3339 timestamps: formatting nanoseconds since the Unix epoch as
//! `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` and parsing them back, without allocating and without a
//! date library. Calendar arithmetic uses Howard Hinnant's `days_from_civil` and
//! `civil_from_days` (proleptic Gregorian calendar, exact for every year 0000–9999).

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Appends `timestamp_ns` (nanoseconds since the Unix epoch) in UTC as
/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, always with nine fraction digits.
///
/// Every `i64` is representable: the range is 1677-09-21 to 2262-04-11.
///
/// # Examples
///
/// ```
/// let mut out = Vec::new();
/// plugins::encoders::rfc3339::format(1_795_579_080_105_194_000, &mut out);
/// assert_eq!(out, b"2026-11-25T03:58:00.105194000Z");
/// ```
pub fn format(timestamp_ns: i64, out: &mut Vec<u8>) {
    let secs = timestamp_ns.div_euclid(NANOS_PER_SEC);
    let nanos = timestamp_ns.rem_euclid(NANOS_PER_SEC);
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    push_digits(out, year, 4);
    out.push(b'-');
    push_digits(out, month.into(), 2);
    out.push(b'-');
    push_digits(out, day.into(), 2);
    out.push(b'T');
    push_digits(out, sod / 3600, 2);
    out.push(b':');
    push_digits(out, sod / 60 % 60, 2);
    out.push(b':');
    push_digits(out, sod % 60, 2);
    out.push(b'.');
    push_digits(out, nanos, 9);
    out.push(b'Z');
}

/// Parses an RFC 3339 timestamp into nanoseconds since the Unix epoch.
///
/// Accepts `YYYY-MM-DDTHH:MM:SS`, an optional fraction of one or more digits (digits past
/// the ninth are truncated), and `Z` or a `+hh:mm`/`-hh:mm` offset. `t`, `z` and a space in
/// place of `T` are accepted too (RFC 3339 section 5.6). Second 60 (a leap second) is read
/// as the first second of the next minute.
///
/// Returns `None` for anything else: a malformed string, an impossible date (month 13,
/// February 30, ...), or an instant outside the `i64` nanosecond range (before 1677-09-21 or
/// after 2262-04-11).
///
/// # Examples
///
/// ```
/// use plugins::encoders::rfc3339::parse;
/// assert_eq!(parse(b"1970-01-01T00:00:01Z"), Some(1_000_000_000));
/// assert_eq!(parse(b"1970-01-01T01:00:00.5+01:00"), Some(500_000_000));
/// assert_eq!(parse(b"1970-02-30T00:00:00Z"), None);
/// ```
pub fn parse(s: &[u8]) -> Option<i64> {
    Parser::default().parse(s)
}

/// [`parse`] for a stream of timestamps: it remembers the date, hour and minute of the last
/// string it read, which one sender's messages nearly always share, so a string with the
/// same first 16 bytes (`YYYY-MM-DDTHH:MM`) costs a 16-byte compare and the seconds,
/// fraction and offset, not a calendar computation.
///
/// # Examples
///
/// ```
/// let mut p = plugins::encoders::rfc3339::Parser::default();
/// assert_eq!(p.parse(b"1970-01-01T00:01:02Z"), Some(62_000_000_000));
/// assert_eq!(p.parse(b"1970-01-01T00:01:03.5Z"), Some(63_500_000_000));
/// assert_eq!(p.parse(b"1970-01-01T00:01:61Z"), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Parser {
    /// `YYYY-MM-DDTHH:MM` of the last string read whose minute was valid, and the seconds
    /// from the epoch to that minute (the string's offset not applied).
    last: Option<([u8; 16], i64)>,
}

impl Parser {
    /// Parses like [`parse`] (same result for every input).
    pub fn parse(&mut self, s: &[u8]) -> Option<i64> {
        let (head, rest) = s.split_first_chunk::<19>()?;
        let (minute, tail) = head.split_first_chunk::<16>()?;
        let minute_secs = match self.last {
            Some((m, secs)) if m == *minute => secs,
            _ => {
                let secs = minute_secs(minute)?;
                self.last = Some((*minute, secs));
                secs
            }
        };
        let second = match *tail {
            [b':', s1, s0] => two_digits(s1, s0)?,
            _ => return None,
        };
        if second > 60 {
            return None;
        }
        let (nanos, rest) = fraction(rest)?;
        let offset = match rest {
            [b'Z' | b'z'] => 0,
            &[sign @ (b'+' | b'-'), h1, h0, b':', m1, m0] => {
                let hh = two_digits(h1, h0)?;
                let mm = two_digits(m1, m0)?;
                if hh > 23 || mm > 59 {
                    return None;
                }
                let secs = hh * 3600 + mm * 60;
                if sign == b'-' {
                    -secs
                } else {
                    secs
                }
            }
            _ => return None,
        };
        let secs = minute_secs + second - offset;
        let ns = i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(nanos);
        i64::try_from(ns).ok()
    }
}

/// Seconds from the epoch to `YYYY-MM-DDTHH:MM` (no offset applied); `None` when it is
/// malformed or names an impossible date or time.
fn minute_secs(head: &[u8; 16]) -> Option<i64> {
    let two = |i: usize| two_digits(head[i], head[i + 1]);
    let year = two(0)? * 100 + two(2)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, minute) = (two(11)?, two(14)?);
    if head[4] != b'-'
        || head[7] != b'-'
        || !matches!(head[10], b'T' | b't' | b' ')
        || head[13] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
    {
        return None;
    }
    // Both casts are exact: month is 1..=12 and day 1..=31 (checked above).
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * SECS_PER_DAY + hour * 3600 + minute * 60)
}

/// An optional `.` and one or more digits at the start of `s`, as nanoseconds (digits past
/// the ninth are truncated), and what follows. `None` for a `.` without digits.
fn fraction(s: &[u8]) -> Option<(i64, &[u8])> {
    let Some((b'.', digits)) = s.split_first() else {
        return Some((0, s));
    };
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let mut nanos = 0;
    for i in 0..9 {
        let d = digits.get(i).filter(|_| i < n).map_or(0, |&b| b - b'0');
        nanos = nanos * 10 + i64::from(d);
    }
    Some((nanos, &digits[n..]))
}

fn two_digits(tens: u8, ones: u8) -> Option<i64> {
    let (t, o) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
    (t < 10 && o < 10).then(|| i64::from(t * 10 + o))
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`
/// (Hinnant's `days_from_civil`). `month` is 1..=12 and `day` 1..=31.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of `days` since 1970-01-01
/// (Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // In range by the bounds noted above.
    (year, month as u8, day as u8)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Appends `v` (non-negative) zero-padded to `width` digits (more if `v` needs them).
fn push_digits(out: &mut Vec<u8>, v: i64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut v = v.unsigned_abs();
    let mut i = buf.len();
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = i.min(buf.len() - width);
    out.extend_from_slice(&buf[start..]);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn fmt(ns: i64) -> String {
        let mut out = Vec::new();
        format(ns, &mut out);
        String::from_utf8(out).unwrap()
    }

    // Expected values from GNU `date -u -d <text> +%s%N` (negative instants worked by hand:
    // `date` prints the floored seconds and the positive fraction side by side).
    const VECTORS: &[(&str, i64)] = &[
        ("1970-01-01T00:00:00.000000000Z", 0),
        ("2026-11-25T03:58:00.105194000Z", 1_795_579_080_105_194_000),
        ("2000-02-29T22:59:59.999999999Z", 951_865_199_999_999_999),
        ("1969-12-31T23:59:59.500000000Z", -500_000_000),
        ("2262-04-11T23:47:16.854775807Z", i64::MAX),
        ("1677-09-21T00:12:43.145224192Z", i64::MIN),
        ("2023-11-14T22:13:20.000000000Z", 1_700_000_000_000_000_000),
    ];

    #[test]
    fn format_matches_date() {
        for &(text, ns) in VECTORS {
            assert_eq!(fmt(ns), text);
            assert_eq!(parse(text.as_bytes()), Some(ns), "{text}");
        }
    }

    #[test]
    fn parse_accepts_the_rfc3339_forms() {
        let ok: &[(&str, i64)] = &[
            ("2026-11-25T03:58:00.105194Z", 1_795_579_080_105_194_000),
            ("2026-11-25T03:58:00Z", 1_795_579_080_000_000_000),
            ("2026-11-25t03:58:00z", 1_795_579_080_000_000_000),
            ("2026-11-25 03:58:00Z", 1_795_579_080_000_000_000),
            (
                "2000-02-29T23:59:59.999999999+01:00",
                951_865_199_999_999_999,
            ),
            ("1995-06-01T12:00:00-05:30", 802_027_800_000_000_000),
            ("1970-01-01T00:00:00.1Z", 100_000_000),
            ("1970-01-01T00:00:00.123456789999Z", 123_456_789),
            ("1970-01-01T00:00:00+00:00", 0),
            ("1970-01-01T00:00:00-00:00", 0),
            ("1969-12-31T23:59:60Z", 0),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000_000_000),
        ];
        for &(text, ns) in ok {
            assert_eq!(parse(text.as_bytes()), Some(ns), "{text}");
        }
    }

    #[test]
    fn parse_rejects_malformed_and_impossible_times() {
        let bad = [
            "",
            "2026-11-25",
            "2026-11-25T03:58:00",
            "2026-11-25T03:58:00.Z",
            "2026-11-25T03:58Z",
            "2026-11-25X03:58:00Z",
            "2026/11/25T03:58:00Z",
            "26-11-25T03:58:00Z",
            "2026-1-25T03:58:00Z",
            "2026-11-25T03:58:00ZZ",
            "2026-11-25T03:58:00 Z",
            "2026-11-25T03:58:00+0100",
            "2026-11-25T03:58:00+01",
            "2026-11-25T03:58:00+24:00",
            "2026-11-25T03:58:00+01:60",
            "2026-13-25T03:58:00Z",
            "2026-00-25T03:58:00Z",
            "2026-11-00T03:58:00Z",
            "2026-11-31T03:58:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T23:60:00Z",
            "2026-11-25T23:59:61Z",
            "-026-11-25T03:58:00Z",
            "+2026-11-25T03:58:00Z",
            "2026-11-25T03:58:0\u{661}Z",
            // Valid dates outside the i64 nanosecond range.
            "0000-01-01T00:00:00Z",
            "1677-09-21T00:12:43.145224191Z",
            "2262-04-11T23:47:16.854775808Z",
            "9999-12-31T23:59:59Z",
        ];
        for text in bad {
            assert_eq!(parse(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn leap_years() {
        assert!(is_leap(2000) && is_leap(2024) && is_leap(0) && is_leap(9996));
        assert!(!is_leap(1900) && !is_leap(2023) && !is_leap(2100) && !is_leap(9999));
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28),
            1
        );
    }

    /// Every day of years 0000–9999, walked one at a time against a naive calendar.
    #[test]
    fn civil_days_agree_with_a_naive_calendar_for_years_0_to_9999() {
        let mut days = days_from_civil(0, 1, 1);
        assert_eq!(days, -719_528);
        for year in 0..=9999 {
            for month in 1..=12u8 {
                for day in 1..=days_in_month(year, month.into()) as u8 {
                    assert_eq!(civil_from_days(days), (year, month, day));
                    assert_eq!(days_from_civil(year, month.into(), day.into()), days);
                    days += 1;
                }
            }
        }
        assert_eq!(days, days_from_civil(10_000, 1, 1));
    }

    #[test]
    fn a_fresh_parser_remembers_no_minute() {
        let mut p = Parser::default();
        assert_eq!(p.parse(b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0:00Z"), None);
        assert_eq!(
            p.parse(b"2026-11-25T03:58:00Z"),
            Some(1_795_579_080_000_000_000)
        );
        assert_eq!(
            p.parse(b"2026-11-25T03:58:01Z"),
            Some(1_795_579_081_000_000_000)
        );
        assert_eq!(p.parse(b"2026-11-25T03:58:61Z"), None);
        assert_eq!(p.parse(b"2026-11-31T03:58:00Z"), None);
        assert_eq!(
            p.parse(b"2026-11-25T03:58:02Z"),
            Some(1_795_579_082_000_000_000)
        );
    }

    proptest! {
        #[test]
        fn every_i64_round_trips(ns in any::<i64>()) {
            let mut out = Vec::new();
            format(ns, &mut out);
            prop_assert_eq!(out.len(), 30);
            prop_assert_eq!(parse(&out), Some(ns));
        }

        #[test]
        fn offsets_shift_the_instant(
            ns in 0i64..4_000_000_000_000_000_000,
            sign in prop::bool::ANY,
            hh in 0i64..24,
            mm in 0i64..60,
        ) {
            let mut out = Vec::new();
            format(ns, &mut out);
            out.truncate(out.len() - 1);
            out.push(if sign { b'-' } else { b'+' });
            push_digits(&mut out, hh, 2);
            out.push(b':');
            push_digits(&mut out, mm, 2);
            let shift = (hh * 3600 + mm * 60) * NANOS_PER_SEC;
            let expected = if sign { ns + shift } else { ns - shift };
            prop_assert_eq!(parse(&out), Some(expected));
        }

        #[test]
        fn parse_never_panics(s in prop::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse(&s);
        }

        /// A parser that has read other strings (the same minute, a neighbour, garbage)
        /// gives what a fresh one gives.
        #[test]
        fn a_warm_parser_agrees_with_a_fresh_one(
            ns in any::<i64>(),
            tweak in 0usize..30,
            byte in any::<u8>(),
            before in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut good = Vec::new();
            format(ns, &mut good);
            let mut bent = good.clone();
            bent[tweak] = byte;
            let mut p = Parser::default();
            for s in [&before[..], &good, &bent, &good, &before, &bent] {
                prop_assert_eq!(p.parse(s), parse(s), "{:?}", String::from_utf8_lossy(s));
            }
        }
    }
}
