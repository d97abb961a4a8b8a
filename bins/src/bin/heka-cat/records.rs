//! Splits the bytes of a FileOutput file into records: Heka stream frames (`protobuf`
//! format, a record starts with 0x1E) or lines (`json` format), and resynchronises after
//! bytes that are neither.

use std::ops::Range;

use plugins::framing::{frame_len, RECORD_SEPARATOR};

/// The longest line waited for: past it without a newline, the bytes are garbage.
const MAX_LINE: usize = 16 << 20;

/// One record of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// A whole Heka stream frame.
    Frame(Range<usize>),
    /// A line without its newline.
    Line(Range<usize>),
    /// Bytes that start no record (a bad frame header, a truncated frame at the end).
    Garbage(Range<usize>),
}

/// Bytes read so far and where the next record starts.
#[derive(Debug)]
pub(crate) struct Records {
    data: Vec<u8>,
    start: usize,
    /// File offset of `data[0]`.
    base: u64,
    max_message_size: usize,
}

impl Records {
    /// Records of frames whose messages are at most `max_message_size` bytes; the first
    /// byte pushed is at file offset `base`.
    pub(crate) fn new(max_message_size: usize, base: u64) -> Self {
        Records {
            data: Vec::new(),
            start: 0,
            base,
            max_message_size,
        }
    }

    /// Appends bytes read from the file.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.data.len() / 2 {
            self.data.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
        }
        self.data.extend_from_slice(bytes);
    }

    /// The bytes of a record returned by [`Records::next`] (valid until the next `push`).
    pub(crate) fn bytes(&self, r: &Range<usize>) -> &[u8] {
        &self.data[r.clone()]
    }

    /// The file offset of position `at` in the buffer.
    pub(crate) fn offset(&self, at: usize) -> u64 {
        self.base + at as u64
    }

    /// The next whole record, or `None` when more bytes are needed. With `at_end` (the
    /// file will not grow), what remains is returned as a last line or garbage.
    pub(crate) fn next(&mut self, at_end: bool) -> Option<Record> {
        while self
            .data
            .get(self.start)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.start += 1;
        }
        let rest = &self.data[self.start..];
        if rest.is_empty() {
            return None;
        }
        let at = self.start;
        if rest[0] == RECORD_SEPARATOR {
            return match frame_len(rest, self.max_message_size) {
                Ok(Some(n)) if n <= rest.len() => Some(self.take(at, n, Record::Frame)),
                Ok(_) if !at_end => None,
                // A frame cut short at the end, or a bad header: skip to the next byte
                // that could start a record.
                _ => {
                    let n = rest[1..]
                        .iter()
                        .position(|&b| b == RECORD_SEPARATOR || b == b'\n')
                        .map_or(rest.len(), |i| i + 1);
                    Some(self.take(at, n, Record::Garbage))
                }
            };
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => Some(self.take(at, n, Record::Line)),
            None if at_end => Some(self.take(at, rest.len(), Record::Line)),
            None if rest.len() > MAX_LINE => Some(self.take(at, rest.len(), Record::Garbage)),
            None => None,
        }
    }

    fn take(&mut self, at: usize, n: usize, kind: fn(Range<usize>) -> Record) -> Record {
        self.start = at + n;
        kind(at..at + n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugins::encoders::encode_frame;

    fn frame(payload: &str) -> Vec<u8> {
        let mut m = engine::Message::default();
        m.payload.push_str(payload);
        let mut out = Vec::new();
        encode_frame(&m, None, &mut out);
        out
    }

    fn all(r: &mut Records, at_end: bool) -> Vec<(char, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(rec) = r.next(at_end) {
            let (k, range) = match rec {
                Record::Frame(x) => ('f', x),
                Record::Line(x) => ('l', x),
                Record::Garbage(x) => ('g', x),
            };
            out.push((k, r.bytes(&range).to_vec()));
        }
        out
    }

    #[test]
    fn lines_wait_for_their_newline_unless_at_end() {
        let mut r = Records::new(65_507, 0);
        r.push(b"{\"a\":1}\n\n{\"b\"");
        assert_eq!(all(&mut r, false), [('l', b"{\"a\":1}".to_vec())]);
        r.push(b":2}");
        assert!(all(&mut r, false).is_empty());
        assert_eq!(all(&mut r, true), [('l', b"{\"b\":2}".to_vec())]);
    }

    #[test]
    fn frames_split_across_pushes_and_garbage_resyncs() {
        let (a, b) = (frame("a"), frame("b"));
        let mut r = Records::new(65_507, 100);
        r.push(&a[..3]);
        assert!(all(&mut r, false).is_empty());
        r.push(&a[3..]);
        r.push(&[RECORD_SEPARATOR, 1, 0x00, 7]);
        r.push(&b);
        let got = all(&mut r, false);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], ('f', a.clone()));
        assert_eq!(got[1].0, 'g');
        assert_eq!(got[2], ('f', b.clone()));
        assert_eq!(r.offset(0), 100);
        // A frame cut short at the end of the file is garbage.
        let mut r = Records::new(65_507, 0);
        r.push(&a[..a.len() - 1]);
        assert!(all(&mut r, false).is_empty());
        assert_eq!(all(&mut r, true)[0].0, 'g');
    }
}
