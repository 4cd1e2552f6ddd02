//! Framing: how parent and worker put messages on a byte stream, and the worker's reply loop.
//!
//! Every message is a frame: a little-endian `u32` length, then the bytes, which are
//! little-endian fields written by [`Enc`] and read back in the same order by [`Dec`]. A
//! worker's reply starts with a status byte, [`OK`] or [`ERR`] followed by the error text. Raw
//! key data may follow a frame (the sort jobs). A [`Link`] carries frames both ways, over a pair
//! of pipes or one socket.
//!
//! It is its own module because both sides of every protocol speak it – the pool, the
//! handshake, the role message and each family's requests and replies – and it knows nothing
//! of any of them.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

use shootout_suite::{Failure, Tally};

/// The first byte of a worker's reply that went well.
pub(crate) const OK: u8 = 0;
/// The first byte of a worker's reply that failed; the error text follows.
pub(crate) const ERR: u8 = 1;

/// A worker's two-way channel to its parent: a pair of pipes, or one socket used both ways.
pub(crate) struct Link {
    /// Where messages come from.
    pub(crate) rx: File,
    /// Where messages go.
    pub(crate) tx: File,
}

impl Link {
    /// A link reading from `rx` and writing to `tx`.
    pub(crate) fn new(rx: OwnedFd, tx: OwnedFd) -> Link {
        Link {
            rx: File::from(rx),
            tx: File::from(tx),
        }
    }

    /// Sends one frame (from [`Enc::finish`], [`ok`] or [`err`]).
    pub(crate) fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.tx.write_all(frame)
    }

    /// The next frame's bytes, or `None` if the other side closed the link between frames.
    pub(crate) fn recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut header = [0u8; 4];
        let mut got = 0;
        while got < header.len() {
            match self.rx.read(&mut header[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut frame = vec![0; frame_len(header)?];
        self.rx.read_exact(&mut frame)?;
        Ok(Some(frame))
    }

    /// Sends a reply: [`OK`] and the message's bytes, or [`ERR`] and the failure's text.
    pub(crate) fn reply(&mut self, result: Result<Enc, Failure>) -> Result<(), Failure> {
        let frame = match result {
            Ok(message) => message.finish(),
            Err(failure) => err(&failure),
        };
        self.send(&frame)
            .map_err(|e| Failure::context("replying to the parent", e))
    }

    /// A worker's life after its setup: says it is ready, then runs `repetition` on each
    /// message from the parent and replies with its result, until the parent closes the link.
    /// `None` is no reply (the repetition was abandoned because another worker died, which the
    /// parent sees for itself); a failure is replied, and the worker goes on.
    pub(crate) fn serve(
        &mut self,
        mut repetition: impl FnMut(&[u8]) -> Result<Option<Enc>, Failure>,
    ) -> Result<(), Failure> {
        self.reply(Ok(ok()))?;
        while let Some(frame) = self.recv().map_err(broken)? {
            match repetition(&frame) {
                Ok(None) => {}
                Ok(Some(reply)) => self.reply(Ok(reply))?,
                Err(failure) => self.reply(Err(failure))?,
            }
        }
        Ok(())
    }
}

/// The failure for a link to the parent that broke.
pub(crate) fn broken(e: io::Error) -> Failure {
    Failure::context("talking to the parent", e)
}

/// The length in a frame header, refusing absurd ones (a corrupted stream).
pub(crate) fn frame_len(header: [u8; 4]) -> io::Result<usize> {
    let len = u32::from_le_bytes(header) as usize;
    if len > 1 << 30 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes"),
        ));
    }
    Ok(len)
}

/// A reply that went well, to which the payload is appended.
pub(crate) fn ok() -> Enc {
    Enc::new().u8(OK)
}

/// The frame of a failed reply.
pub(crate) fn err(failure: &Failure) -> Vec<u8> {
    Enc::new()
        .u8(ERR)
        .raw(failure.to_string().as_bytes())
        .finish()
}

/// Builds a frame: little-endian fields after a length that [`Enc::finish`] fills in.
#[derive(Debug)]
pub(crate) struct Enc(Vec<u8>);

impl Enc {
    /// An empty message.
    pub(crate) fn new() -> Enc {
        Enc(vec![0; 4])
    }

    /// One byte.
    pub(crate) fn u8(mut self, v: u8) -> Enc {
        self.0.push(v);
        self
    }

    /// A `u32`.
    pub(crate) fn u32(mut self, v: u32) -> Enc {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A `u64`.
    pub(crate) fn u64(mut self, v: u64) -> Enc {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Bytes as they are, with no length: only last in a message.
    pub(crate) fn raw(mut self, v: &[u8]) -> Enc {
        self.0.extend_from_slice(v);
        self
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(self, v: &[u8]) -> Enc {
        self.u64(v.len() as u64).raw(v)
    }

    /// Several `u64`s, length-prefixed.
    pub(crate) fn u64s(mut self, v: &[u64]) -> Enc {
        self = self.u64(v.len() as u64);
        self.0.reserve(v.len() * 8);
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
        self
    }

    /// A tally: its count, then its sum.
    pub(crate) fn tally(self, t: &Tally) -> Enc {
        self.u64(t.count).u64(t.sum)
    }

    /// The frame's bytes, length included.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

/// Reads the fields of a frame in the order [`Enc`] wrote them; running short is an error.
pub(crate) struct Dec<'a>(&'a [u8]);

impl<'a> Dec<'a> {
    /// Reads `bytes`, a frame without its length.
    pub(crate) fn new(bytes: &'a [u8]) -> Dec<'a> {
        Dec(bytes)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Failure> {
        if self.0.len() < n {
            return Err(Failure::new("a malformed message (too short)"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, Failure> {
        Ok(self.take(1)?[0])
    }

    /// A `u32`.
    pub(crate) fn u32(&mut self) -> Result<u32, Failure> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// A `u64`.
    pub(crate) fn u64(&mut self) -> Result<u64, Failure> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// A `u64` that must fit `usize`.
    pub(crate) fn usize(&mut self) -> Result<usize, Failure> {
        usize::try_from(self.u64()?).map_err(|_| Failure::new("a malformed message (size)"))
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Failure> {
        let len = self.usize()?;
        self.take(len)
    }

    /// A length-prefixed UTF-8 string.
    pub(crate) fn str(&mut self) -> Result<&'a str, Failure> {
        std::str::from_utf8(self.bytes()?).map_err(|_| Failure::new("a malformed message (text)"))
    }

    /// Several `u64`s, length-prefixed.
    pub(crate) fn u64s(&mut self) -> Result<Vec<u64>, Failure> {
        let len = self.usize()?;
        let bytes = self.take(len.checked_mul(8).ok_or_else(|| Failure::new("too long"))?)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect())
    }

    /// A tally, as [`Enc::tally`] wrote it.
    pub(crate) fn tally(&mut self) -> Result<Tally, Failure> {
        Ok(Tally {
            count: self.u64()?,
            sum: self.u64()?,
        })
    }

    /// Fails unless every byte has been read.
    pub(crate) fn end(&self) -> Result<(), Failure> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(format!(
                "a malformed message ({} bytes too many)",
                self.0.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use rustix::pipe::{PipeFlags, pipe_with};

    use super::*;

    #[test]
    fn frames_round_trip() {
        let tally = Tally { count: 3, sum: 11 };
        let frame = Enc::new()
            .u8(7)
            .u32(9)
            .u64(u64::MAX)
            .bytes(b"abc")
            .u64s(&[1, 2])
            .tally(&tally)
            .finish();
        assert_eq!(
            frame_len(frame[..4].try_into().unwrap()).unwrap(),
            frame.len() - 4
        );
        let mut dec = Dec::new(&frame[4..]);
        assert_eq!(dec.u8().unwrap(), 7);
        assert_eq!(dec.u32().unwrap(), 9);
        assert_eq!(dec.u64().unwrap(), u64::MAX);
        assert_eq!(dec.str().unwrap(), "abc");
        assert_eq!(dec.u64s().unwrap(), vec![1, 2]);
        assert_eq!(dec.tally().unwrap(), tally);
        dec.end().unwrap();
        assert!(dec.u8().is_err(), "reading past the end fails");
        assert!(Dec::new(&[1]).end().is_err(), "bytes left over");
    }

    #[test]
    fn links_carry_frames_and_see_the_end() {
        let (a_rx, b_tx) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        let (b_rx, a_tx) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        let mut a = Link::new(a_rx, a_tx);
        let mut b = Link::new(b_rx, b_tx);
        a.send(&ok().u64(42).finish()).unwrap();
        let frame = b.recv().unwrap().unwrap();
        assert_eq!(frame[0], OK);
        assert_eq!(Dec::new(&frame[1..]).u64().unwrap(), 42);
        b.reply(Err(Failure::new("nope"))).unwrap();
        assert_eq!(a.recv().unwrap().unwrap(), [&[ERR][..], b"nope"].concat());
        drop(b);
        assert!(a.recv().unwrap().is_none(), "a closed link reads as None");
    }
}
