//! `FrameBuffer`: one connection's bytes between reads, split into Heka frames. Allocated
//! once per connection at the size of the largest frame, so a frame split across reads
//! always fits and nothing grows while the connection lives.

use std::io::{self, Read};

use engine::DecodeError;

use crate::framing::{frame_len, max_frame_len};

/// What [`FrameBuffer::read_from`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Read this many bytes (more may be waiting).
    Data(usize),
    /// The source had nothing for now.
    WouldBlock,
    /// The peer closed its side.
    Eof,
}

/// Bytes read from a stream and not yet handed out as frames: `buf[start..end]`.
#[derive(Debug)]
pub struct FrameBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max_message_size: usize,
}

impl FrameBuffer {
    /// A buffer for frames of messages up to `max_message_size` bytes. Allocated zeroed, so
    /// pages a connection never fills cost no resident memory.
    pub fn new(max_message_size: usize) -> Self {
        FrameBuffer {
            buf: vec![0; max_frame_len(max_message_size)],
            start: 0,
            end: 0,
            max_message_size,
        }
    }

    /// The next complete frame, consumed; `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    ///
    /// Bad framing ([`frame_len`]'s errors): the stream cannot be resynchronised.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let pending = &self.buf[self.start..self.end];
        match frame_len(pending, self.max_message_size)? {
            Some(n) if n <= pending.len() => {
                let at = self.start;
                self.start += n;
                Ok(Some(&self.buf[at..at + n]))
            }
            _ => Ok(None),
        }
    }

    /// A buffer holding `pending` (bytes a previous input read but did not frame), or
    /// `None` when they cannot be a frame's start (longer than any frame).
    pub fn with_pending(max_message_size: usize, pending: &[u8]) -> Option<Self> {
        let mut b = FrameBuffer::new(max_message_size);
        let dst = b.buf.get_mut(..pending.len())?;
        dst.copy_from_slice(pending);
        b.end = pending.len();
        Some(b)
    }

    /// Forgets every byte, for a new stream (keeps the allocation).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// The bytes read and not yet handed out as frames.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Whether bytes of an unfinished frame are waiting.
    pub fn has_partial(&self) -> bool {
        self.start < self.end
    }

    /// Reads once from `src` into the free space, first moving pending bytes to the front
    /// when the free space at the end is short of a whole frame.
    ///
    /// # Errors
    ///
    /// `src`'s I/O errors other than WouldBlock and Interrupted (which is retried).
    pub fn read_from(&mut self, src: &mut impl Read) -> io::Result<ReadOutcome> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        // A pending partial frame is shorter than the buffer (frame_len bounds it), so there
        // is always room here.
        loop {
            return match src.read(&mut self.buf[self.end..]) {
                Ok(0) => Ok(ReadOutcome::Eof),
                Ok(n) => {
                    self.end += n;
                    Ok(ReadOutcome::Data(n))
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadOutcome::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use engine::Message;
    use proptest::prelude::*;

    use super::*;
    use crate::encoders::protobuf::encode_frame;
    use crate::testing::{apply, mutation};

    /// Hands out its chunks one read at a time, then WouldBlock, then EOF.
    struct Chunks(VecDeque<Vec<u8>>, bool);

    impl Read for Chunks {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.0.front_mut() {
                Some(c) => {
                    let n = c.len().min(out.len());
                    out[..n].copy_from_slice(&c[..n]);
                    c.drain(..n);
                    if c.is_empty() {
                        self.0.pop_front();
                    }
                    Ok(n)
                }
                None if !self.1 => {
                    self.1 = true;
                    Err(io::ErrorKind::WouldBlock.into())
                }
                None => Ok(0),
            }
        }
    }

    fn frames(n: usize, payload: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let m = Message {
                payload: format!("seq={i:010}{}", "x".repeat(payload)),
                ..Message::default()
            };
            encode_frame(&m, None, &mut out);
        }
        out
    }

    /// Reads everything `src` gives, collecting the frames.
    fn drain(b: &mut FrameBuffer, src: &mut Chunks) -> (Vec<Vec<u8>>, ReadOutcome) {
        let mut got = Vec::new();
        loop {
            while let Some(f) = b.next_frame().unwrap() {
                got.push(f.to_vec());
            }
            match b.read_from(src).unwrap() {
                ReadOutcome::Data(_) => {}
                end => return (got, end),
            }
        }
    }

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let stream = frames(50, 300);
        let want = {
            let mut b = FrameBuffer::new(1000);
            let mut src = Chunks(VecDeque::from([stream.clone()]), true);
            drain(&mut b, &mut src).0
        };
        assert_eq!(want.len(), 50);
        for chunk in [1, 2, 3, 7, 64, 333, 1000] {
            let mut b = FrameBuffer::new(1000);
            let mut src = Chunks(stream.chunks(chunk).map(<[u8]>::to_vec).collect(), false);
            let (got, end) = drain(&mut b, &mut src);
            assert_eq!(end, ReadOutcome::WouldBlock);
            assert_eq!(got, want, "chunks of {chunk}");
            assert!(!b.has_partial());
            assert_eq!(b.read_from(&mut src).unwrap(), ReadOutcome::Eof);
        }
    }

    #[test]
    fn the_largest_frame_fits_and_a_larger_one_is_refused() {
        let m = Message {
            payload: "y".repeat(1000),
            ..Message::default()
        };
        let mut big = Vec::new();
        encode_frame(&m, None, &mut big);
        let len = crate::encoders::protobuf::message_len(&m);
        // A partial frame sitting at the end of the buffer is moved to make room.
        let mut stream = frames(1, 0);
        stream.extend(&big);
        let mut b = FrameBuffer::new(len);
        let mut src = Chunks(stream.chunks(700).map(<[u8]>::to_vec).collect(), false);
        let (got, _) = drain(&mut b, &mut src);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], big);

        let mut b = FrameBuffer::new(len - 1);
        let mut src = Chunks(VecDeque::from([big.clone()]), false);
        b.read_from(&mut src).unwrap();
        assert_eq!(b.next_frame(), Err(DecodeError::TooLarge { len }));
        let mut b = FrameBuffer::new(len);
        let mut src = Chunks(VecDeque::from([b"GET / HTTP/1.1\r\n".to_vec()]), false);
        b.read_from(&mut src).unwrap();
        assert_eq!(b.next_frame(), Err(DecodeError::Malformed { offset: 0 }));
    }

    #[test]
    fn a_partial_frame_at_eof_is_reported() {
        let stream = frames(2, 10);
        let mut b = FrameBuffer::new(1000);
        let mut src = Chunks(VecDeque::from([stream[..stream.len() - 3].to_vec()]), true);
        let (got, end) = drain(&mut b, &mut src);
        assert_eq!((got.len(), end), (1, ReadOutcome::Eof));
        assert!(b.has_partial());
    }

    /// Feeds `stream` in `chunk`-byte reads; returns the frames (each checked against the
    /// bound) until the stream ends or its framing breaks. The buffer never grows.
    fn split(stream: &[u8], chunk: usize, max_message_size: usize) -> usize {
        let mut b = FrameBuffer::new(max_message_size);
        let cap = (b.buf.len(), b.buf.capacity());
        let mut src = Chunks(stream.chunks(chunk).map(<[u8]>::to_vec).collect(), true);
        let mut frames = 0;
        'stream: loop {
            loop {
                match b.next_frame() {
                    Ok(Some(f)) => {
                        assert!(f.len() <= max_frame_len(max_message_size));
                        frames += 1;
                    }
                    Ok(None) => break,
                    Err(_) => break 'stream,
                }
            }
            match b.read_from(&mut src) {
                Ok(ReadOutcome::Data(_)) => {}
                _ => break,
            }
        }
        assert_eq!(
            (b.buf.len(), b.buf.capacity()),
            cap,
            "the buffer never grows"
        );
        frames
    }

    proptest! {
        #[test]
        fn arbitrary_streams_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..2048),
            chunk in 1usize..400,
        ) {
            split(&bytes, chunk, 300);
            let mut framed = vec![0x1e];
            framed.extend(&bytes);
            split(&framed, chunk, 300);
        }

        #[test]
        fn mutated_streams_never_panic(
            n in 1usize..8,
            chunk in 1usize..400,
            edits in prop::collection::vec(mutation(), 1..5),
        ) {
            let mut stream = frames(n, 40);
            prop_assert_eq!(split(&stream, chunk, 300), n);
            for e in &edits {
                apply(&mut stream, e);
            }
            // A frame takes at least 5 bytes (0x1E, length, message_length, 0x1F).
            prop_assert!(split(&stream, chunk, 300) <= stream.len() / 5);
        }
    }
}
