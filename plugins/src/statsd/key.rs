//! Bucket keys as etsy statsd 0.9 builds them (`stats.js`): the name, then any tags as
//! `;tag=value`, then sanitized: each run of whitespace becomes `_`, `/` becomes `-`, and
//! every character outside `[a-zA-Z0-9_.;=-]` is dropped.

use super::number::is_js_space;

/// Whether a byte survives sanitizing unchanged.
#[inline]
fn is_kept(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b';' | b'=')
}

/// The bucket key of a metric named `name` with raw `tags` (the text after `|#`), borrowed
/// from `name` when sanitizing changes nothing and there are no tags (the common case),
/// otherwise built in `buf`.
///
/// Tags are split on `,`; in each, the first `;` becomes `_` and the first `:` becomes `=`,
/// and each is appended as `;tag`. Bytes that are not UTF-8 are dropped (node reads them as
/// U+FFFD, which sanitizing drops).
pub(super) fn bucket_key<'a>(name: &'a [u8], tags: Option<&[u8]>, buf: &'a mut String) -> &'a str {
    if tags.is_none() && name.iter().all(|&b| is_kept(b)) {
        // All ASCII, so UTF-8.
        return std::str::from_utf8(name).unwrap_or_default();
    }
    buf.clear();
    let mut s = Sanitizer {
        out: buf,
        in_space: false,
    };
    s.push_bytes(name);
    for tag in tags.into_iter().flat_map(|t| t.split(|&b| b == b',')) {
        s.push(';');
        // tag.replace(';', '_').replace(':', '='): JavaScript replaces the first one only.
        // Neither replacement makes or moves the other's character, so one pass does both.
        let (mut semicolon, mut colon) = (false, false);
        s.push_bytes_with(tag, |c| match c {
            ';' if !semicolon => {
                semicolon = true;
                '_'
            }
            ':' if !colon => {
                colon = true;
                '='
            }
            c => c,
        });
    }
    buf
}

/// Sanitizes characters as they are pushed, keeping track of whitespace runs.
struct Sanitizer<'b> {
    out: &'b mut String,
    in_space: bool,
}

impl Sanitizer<'_> {
    fn push(&mut self, c: char) {
        if is_js_space(c) {
            if !self.in_space {
                self.out.push('_');
            }
            self.in_space = true;
            return;
        }
        self.in_space = false;
        if c == '/' {
            self.out.push('-');
        } else if c.is_ascii() && is_kept(c as u8) {
            self.out.push(c);
        }
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        self.push_bytes_with(bytes, |c| c);
    }

    /// Pushes the characters of `bytes`, each mapped by `map` first.
    fn push_bytes_with(&mut self, bytes: &[u8], mut map: impl FnMut(char) -> char) {
        for chunk in bytes.utf8_chunks() {
            chunk.valid().chars().for_each(|c| self.push(map(c)));
            if !chunk.invalid().is_empty() {
                // U+FFFD: not whitespace, dropped.
                self.push('\u{fffd}');
            }
        }
    }
}

/// Whether a key is a JavaScript array index ("0", "17", up to 2^32 - 2): such keys are
/// enumerated before all others, in numeric order, by `for (key in object)`.
pub(super) fn array_index(key: &str) -> Option<u32> {
    let b = key.as_bytes();
    if b.is_empty() || b.len() > 10 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    if !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&n| n != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &[u8], tags: Option<&[u8]>) -> String {
        let mut buf = String::new();
        bucket_key(name, tags, &mut buf).to_string()
    }

    type Case = (&'static [u8], Option<&'static [u8]>, &'static str);

    #[test]
    fn sanitizes_like_statsd() {
        let cases: &[Case] = &[
            (b"gorets", None, "gorets"),
            (b"a.b-c_d;e=f", None, "a.b-c_d;e=f"),
            (b"my key", None, "my_key"),
            (b"my  \t key", None, "my_key"),
            (b" lead", None, "_lead"),
            (b"a/b/c", None, "a-b-c"),
            (b"a$b%c*d!e", None, "abcde"),
            (b"caf\xc3\xa9", None, "caf"),
            (b"a\xc2\xa0b", None, "a_b"),
            (b"a \xc3\xa9 b", None, "a__b"),
            (b"a \xff b", None, "a__b"),
            (b"a\xffb", None, "ab"),
            (b"a\rb", None, "a_b"),
            (
                b"req",
                Some(b"env:prod,region:us;east"),
                "req;env=prod;region=us_east",
            ),
            (b"req", Some(b"a:b:c,x;y;z"), "req;a=bc;x_y;z"),
            (b"req", Some(b"a:b:c"), "req;a=bc"),
            (b"req", Some(b"flag"), "req;flag"),
            (b"req", Some(b"a\xff;b:c"), "req;a_b=c"),
            (b"req", Some(b"a b:c/d"), "req;a_b=c-d"),
            (b"", None, ""),
        ];
        for &(name, tags, want) in cases {
            assert_eq!(
                key(name, tags),
                want,
                "{:?} {:?}",
                String::from_utf8_lossy(name),
                tags
            );
        }
    }

    #[test]
    fn array_indices() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("17"), Some(17));
        assert_eq!(array_index("4294967294"), Some(4_294_967_294));
        for not in ["", "01", "4294967295", "99999999999", "1.5", "-1", "a1"] {
            assert_eq!(array_index(not), None, "{not}");
        }
    }
}
