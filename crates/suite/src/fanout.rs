//! The fan-out family: the wire protocol spoken with the loopback server, and the pieces of
//! client code that do not depend on a concurrency model.
//!
//! # The protocol
//!
//! A request is 17 bytes: the request id (`u64`), the delay the server waits before answering
//! in microseconds (`u32`) and the size of the reply payload (`u32`), all little-endian, then
//! one byte that says whether the server closes the connection after replying (`1`) or keeps it
//! open for the next request (`0`). The reply is a 4-byte little-endian length followed by that
//! many payload bytes, which are derived from the id (see [`fill_payload`]). A client checks
//! every payload by folding its [`digest`] into a [`Tally`](crate::Tally); the reference
//! computes the same digests without any network, so a lost, duplicated, mixed-up or corrupted
//! reply fails the cell.
//!
//! # Who closes first
//!
//! Scatter keeps its connections open from round to round. Crawl opens a connection per request
//! and asks the server to close it after the reply (HTTP/1.0's `Connection: close`); the client
//! reads on to the end of the stream and only then drops its socket. The side that closes first
//! keeps the connection in `TIME_WAIT` for a minute. On the server that costs nothing: its end
//! is the listening port, already bound. On the client it would hold the ephemeral port, which
//! Linux lets a new connection reuse only after a second (`tcp_tw_reuse`), and a crawl opens
//! thousands of connections a second: once the ports of the last second fill the ephemeral
//! range, every `connect` scans the whole range for a free one, and some repetitions took five
//! times as long as the others. A client that dropped its socket as soon as it had the reply
//! would still close first (the server's FIN not yet read), so every client of a closing
//! request reads once more and checks that it got the end of the stream ([`confirm_close`];
//! [`read_reply_blocking`] does it for the blocking clients).
//!
//! The codec lives here rather than in `shootout-loopback` so that a backend depends on nothing
//! but `suite` and its own runtime; the server crate uses the same functions.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::outcome::{Collected, Failure};
use crate::rng::{SplitMix64, mix};
use crate::time;

/// The size of an encoded request.
pub const REQUEST_LEN: usize = 17;

/// The size of a reply's length prefix.
pub const REPLY_HEADER_LEN: usize = 4;

/// The largest reply payload the server will send.
pub const MAX_REPLY_LEN: u32 = 1 << 20;

/// One request: which id, how long the server waits, how many bytes it sends back, and whether
/// the server closes the connection afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The request id; the payload is derived from it.
    pub id: u64,
    /// How long the server waits before replying, in microseconds.
    pub delay_us: u32,
    /// The size of the reply payload in bytes.
    pub reply_len: u32,
    /// Whether the server closes the connection after the reply (the connection's last
    /// request), so that the server, not the client, closes first (see the module docs).
    pub close: bool,
}

impl Request {
    /// The bytes on the wire.
    pub fn encode(&self) -> [u8; REQUEST_LEN] {
        let mut out = [0; REQUEST_LEN];
        out[..8].copy_from_slice(&self.id.to_le_bytes());
        out[8..12].copy_from_slice(&self.delay_us.to_le_bytes());
        out[12..16].copy_from_slice(&self.reply_len.to_le_bytes());
        out[16] = u8::from(self.close);
        out
    }

    /// Parses a request from the wire, refusing what the protocol never sends: a reply longer
    /// than [`MAX_REPLY_LEN`], or a close byte other than 0 or 1.
    pub fn decode(bytes: &[u8; REQUEST_LEN]) -> io::Result<Self> {
        let word = |r: std::ops::Range<usize>| -> [u8; 4] { bytes[r].try_into().expect("4 bytes") };
        let refuse = |what: String| Err(io::Error::new(io::ErrorKind::InvalidData, what));
        let request = Self {
            id: u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")),
            delay_us: u32::from_le_bytes(word(8..12)),
            reply_len: u32::from_le_bytes(word(12..16)),
            close: match bytes[16] {
                0 => false,
                1 => true,
                other => return refuse(format!("close byte {other} is neither 0 nor 1")),
            },
        };
        if request.reply_len > MAX_REPLY_LEN {
            return refuse(format!(
                "reply length {} exceeds the protocol's maximum",
                request.reply_len
            ));
        }
        Ok(request)
    }
}

/// Decodes a reply's length prefix, refusing lengths the protocol never sends.
pub fn reply_len(header: [u8; REPLY_HEADER_LEN]) -> io::Result<usize> {
    let len = u32::from_le_bytes(header);
    if len > MAX_REPLY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("reply length {len} exceeds the protocol's maximum"),
        ));
    }
    Ok(len as usize)
}

/// Fills `payload` with the bytes the server sends for request `id`.
pub fn fill_payload(id: u64, payload: &mut [u8]) {
    let mut rng = SplitMix64::new(id);
    for chunk in payload.chunks_mut(8) {
        let word = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// The value a client adds to its tally for the reply to `id`: a hash of the id and every byte.
pub fn digest(id: u64, payload: &[u8]) -> u64 {
    // FNV-1a over the bytes, then mixed with the id and length.
    let bytes = payload.iter().fold(0xCBF2_9CE4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    });
    mix(bytes ^ mix(id) ^ (payload.len() as u64).rotate_left(32))
}

/// The digest a correct reply to `id` with `len` payload bytes has (what the reference uses).
pub fn expected_digest(id: u64, len: usize) -> u64 {
    let mut payload = vec![0; len];
    fill_payload(id, &mut payload);
    digest(id, &payload)
}

/// Checks what a read after the reply to a closing request returned: `0` bytes, the end of the
/// stream (the server has closed its end), or the protocol was broken.
///
/// Every client of a [`Request`] with `close` set reads once more after the reply and passes
/// the count here, so that it drops its socket only after the server has closed first.
pub fn confirm_close(read: usize) -> io::Result<()> {
    if read == 0 {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "the server sent more than the reply to a closing request",
    ))
}

/// One request and its reply over a blocking stream; returns the reply's digest.
///
/// This is the whole client for the models that do blocking IO (sequential, threads,
/// processes). The async backends write the same steps with their runtime's IO traits.
pub fn call_blocking<S: Read + Write>(
    stream: &mut S,
    request: Request,
    payload: &mut Vec<u8>,
) -> io::Result<u64> {
    stream.write_all(&request.encode())?;
    read_reply_blocking(stream, request, payload)
}

/// One thread's share of calls, pipelined: every request (`request_of(i)` on `streams[i]`)
/// written before any reply is read, so all are in flight at once and the replies wait in the
/// kernel until their turn; the replies' digests in order, or the first failure and the index
/// of its stream. What one blocking thread does to keep many requests in flight: the processes'
/// and the threads' `pipelined` scatter.
pub fn pipelined_calls<S: Read + Write>(
    streams: &mut [S],
    request_of: impl Fn(usize) -> Request,
    payload: &mut Vec<u8>,
) -> Result<Vec<u64>, (usize, io::Error)> {
    for (i, stream) in streams.iter_mut().enumerate() {
        stream
            .write_all(&request_of(i).encode())
            .map_err(|e| (i, e))?;
    }
    streams
        .iter_mut()
        .enumerate()
        .map(|(i, stream)| read_reply_blocking(stream, request_of(i), payload).map_err(|e| (i, e)))
        .collect()
}

/// The bounds of `parts` contiguous shares of `n` items, as even as can be: share `i` is
/// `bounds[i]..bounds[i + 1]`.
pub fn split(n: usize, parts: usize) -> Vec<usize> {
    (0..parts)
        .map(|i| crate::percore::share(n, parts, i).start)
        .chain([n])
        .collect()
}

/// Reads the reply to `request`, already sent, from a blocking stream; returns its digest.
/// When the request asked the server to close, it also reads on to the end of the stream
/// ([`confirm_close`]).
pub fn read_reply_blocking<S: Read>(
    stream: &mut S,
    request: Request,
    payload: &mut Vec<u8>,
) -> io::Result<u64> {
    let mut header = [0; REPLY_HEADER_LEN];
    stream.read_exact(&mut header)?;
    payload.resize(reply_len(header)?, 0);
    stream.read_exact(payload)?;
    if request.close {
        let mut byte = [0; 1];
        let read = loop {
            match stream.read(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => break result?,
            }
        };
        confirm_close(read)?;
    }
    Ok(digest(request.id, payload))
}

/// Opens a blocking connection for one client: no Nagle delay, and every read and write bounded
/// by `timeout`, so that a server that never answers fails the request instead of hanging it.
pub fn connect_blocking(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// One crawl request over blocking IO: a fresh connection, one call (a closing `request`
/// reads on until the server has closed its end), closed on return; the reply's digest, or a
/// failure that says which request and whether it timed out.
pub fn fetch_blocking(
    addr: SocketAddr,
    request: Request,
    timeout: Duration,
    payload: &mut Vec<u8>,
) -> Result<u64, Failure> {
    let mut stream = connect_blocking(addr, timeout).map_err(|e| {
        io_failure(
            format!("crawl request {}: connecting to {addr}", request.id),
            e,
            timeout,
        )
    })?;
    call_blocking(&mut stream, request, payload).map_err(|e| {
        io_failure(
            format!("crawl request {} to {addr}", request.id),
            e,
            timeout,
        )
    })
}

/// The failure for an IO error while doing `what`, a timeout said as such. Unix reports an
/// expired `SO_RCVTIMEO` as `WouldBlock` ("Resource temporarily unavailable"), the async
/// runtimes' timers as `TimedOut`: both read "timed out after … ms".
pub fn io_failure(what: String, err: io::Error, timeout: Duration) -> Failure {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Failure::new(format!(
            "{what}: timed out after {} ms",
            timeout.as_millis()
        )),
        _ => Failure::context(&what, err),
    }
}

/// A task's `timeout_ms` as a [`Duration`] (at least a millisecond: a zero timeout means
/// "none" to some socket APIs).
pub fn timeout(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms.max(1)))
}

/// What a fan-out repetition (or one worker's share of it) collects: the tally of reply
/// digests, and one latency sample per round (scatter) or request (crawl).
pub type Report = Collected;

impl Collected {
    /// Records one reply: its digest and its latency.
    pub fn record(&mut self, digest: u64, latency: Duration) {
        self.tally.add(digest);
        self.latencies_ns.push(time::nanos(latency));
    }
}

/// The id of connection `conn`'s request in round `round` of a scatter with `conns` connections.
pub fn scatter_id(round: u32, conn: usize, conns: usize) -> u64 {
    u64::from(round) * conns as u64 + conn as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for close in [false, true] {
            let request = Request {
                id: u64::MAX - 3,
                delay_us: 1000,
                reply_len: 77,
                close,
            };
            assert_eq!(Request::decode(&request.encode()).unwrap(), request);
        }
    }

    #[test]
    fn decode_refuses_what_the_protocol_never_sends() {
        let request = Request {
            id: 1,
            delay_us: 0,
            reply_len: MAX_REPLY_LEN,
            close: true,
        };
        let mut bytes = request.encode();
        bytes[16] = 2;
        assert!(Request::decode(&bytes).is_err(), "a close byte of 2");
        let too_long = Request {
            reply_len: MAX_REPLY_LEN + 1,
            ..request
        };
        assert!(Request::decode(&too_long.encode()).is_err());
    }

    #[test]
    fn payloads_differ_by_id_and_digest_sees_every_byte() {
        let mut a = vec![0; 33];
        let mut b = vec![0; 33];
        fill_payload(1, &mut a);
        fill_payload(2, &mut b);
        assert_ne!(a, b);
        let good = digest(1, &a);
        assert_eq!(good, expected_digest(1, 33));
        a[32] ^= 1;
        assert_ne!(digest(1, &a), good);
        assert_ne!(digest(2, &b), expected_digest(1, 33));
    }

    #[test]
    fn oversized_replies_are_refused() {
        assert!(reply_len((MAX_REPLY_LEN + 1).to_le_bytes()).is_err());
        assert_eq!(reply_len(5u32.to_le_bytes()).unwrap(), 5);
    }

    /// A fake stream: the reply is queued up front, the request is captured.
    struct Fake {
        reply: io::Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl Fake {
        /// A stream that answers request `id` with `len` payload bytes, then `extra`, then ends.
        fn answering(id: u64, len: usize, extra: &[u8]) -> Fake {
            let mut payload = vec![0; len];
            fill_payload(id, &mut payload);
            let mut reply = (len as u32).to_le_bytes().to_vec();
            reply.extend_from_slice(&payload);
            reply.extend_from_slice(extra);
            Fake {
                reply: io::Cursor::new(reply),
                sent: Vec::new(),
            }
        }
    }

    impl Read for Fake {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reply.read(buf)
        }
    }

    impl Write for Fake {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.sent.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn call_blocking_speaks_the_protocol() {
        for close in [false, true] {
            let mut fake = Fake::answering(9, 10, &[]);
            let request = Request {
                id: 9,
                delay_us: 0,
                reply_len: 10,
                close,
            };
            let got = call_blocking(&mut fake, request, &mut Vec::new()).unwrap();
            assert_eq!(got, expected_digest(9, 10));
            assert_eq!(fake.sent, request.encode());
        }
    }

    #[test]
    fn a_closing_call_reads_to_the_end_of_the_stream() {
        let request = Request {
            id: 4,
            delay_us: 0,
            reply_len: 6,
            close: true,
        };
        let mut fake = Fake::answering(4, 6, &[]);
        call_blocking(&mut fake, request, &mut Vec::new()).unwrap();
        assert_eq!(
            fake.reply.position(),
            fake.reply.get_ref().len() as u64,
            "every byte read"
        );
        // A byte after the reply is a broken protocol, not a second reply.
        let mut fake = Fake::answering(4, 6, &[0]);
        let err = call_blocking(&mut fake, request, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // A request that keeps the connection open reads nothing past its reply.
        let mut fake = Fake::answering(4, 6, &[0]);
        let open = Request {
            close: false,
            ..request
        };
        call_blocking(&mut fake, open, &mut Vec::new()).unwrap();
        assert_eq!(fake.reply.position(), REPLY_HEADER_LEN as u64 + 6);
    }
}
