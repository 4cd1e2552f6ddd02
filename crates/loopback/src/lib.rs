//! The latency-injecting TCP server that the fan-out tasks talk to.
//!
//! An IO benchmark needs something on the other end of the socket that answers slowly and
//! predictably, costs little CPU (it shares the machine with the backend under test), and holds
//! ten thousand connections without noticing. This is it: each request names a delay and a reply
//! size; the server sleeps that long, then sends a payload derived from the request id, so the
//! client's checksum proves every reply arrived intact and to the right request. A request
//! that asks to close is the connection's last: the server closes it right after the reply.
//!
//! The protocol is defined in [`shootout_suite::fanout`]; this crate only serves it.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use shootout_suite::fanout::{self, Request};
//!
//! let server = shootout_loopback::Server::start("127.0.0.1:0".parse().unwrap()).unwrap();
//! let mut stream = fanout::connect_blocking(server.addr(), Duration::from_secs(5)).unwrap();
//! let request = Request { id: 7, delay_us: 100, reply_len: 32, close: false };
//! let digest = fanout::call_blocking(&mut stream, request, &mut Vec::new()).unwrap();
//! assert_eq!(digest, fanout::expected_digest(7, 32));
//! ```
//!
//! # Implementation
//!
//! One tokio current-thread runtime – a single OS thread – runs the accept loop and one small
//! task per connection. A single thread keeps the server's CPU use low and easy to account
//! for; epoll lets it hold any number of idle connections. Delays use tokio's timer, whose
//! resolution is one millisecond: a requested delay is a lower bound, rounded up to the next
//! tick. The harness runs the server in its own process (`shootout serve`), so its CPU time is
//! never counted against the backend being measured.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use shootout_suite::fanout::{REPLY_HEADER_LEN, REQUEST_LEN, Request, fill_payload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A server running on a thread of its own; it stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and serves on a new thread until dropped.
    pub fn start(addr: SocketAddr) -> io::Result<Server> {
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel();
        let thread = thread::Builder::new()
            .name("loopback-server".into())
            .spawn(move || {
                let on_bound = |addr| {
                    let _ = bound_tx.send(addr);
                };
                serve(addr, on_bound, async {
                    let _ = stopped.await;
                })
            })?;
        match bound_rx.recv() {
            Ok(addr) => Ok(Server {
                addr,
                stop: Some(stop),
                thread: Some(thread),
            }),
            // The thread ended without binding: its result says why.
            Err(_) => Err(thread.join().map_or_else(
                |_| io::Error::other("the server thread panicked"),
                |r| {
                    r.err()
                        .unwrap_or_else(|| io::Error::other("the server stopped before binding"))
                },
            )),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves on `addr` from the calling thread until `shutdown` completes; then every connection
/// is closed. `on_bound` hears the bound address before any connection is taken.
pub fn serve(
    addr: SocketAddr,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = bind(addr)?;
        on_bound(listener.local_addr()?);
        tokio::select! {
            result = accept_loop(listener) => result,
            () = shutdown => Ok(()),
        }
    })
    // Dropping the runtime here drops every connection task, and with it every socket.
}

/// Binds a listening socket with a backlog large enough for a burst of thousands of connects.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // The kernel caps this at net.core.somaxconn; asking for more is harmless.
    socket.listen(16_384)
}

async fn accept_loop(listener: TcpListener) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    // A client that hangs up or misbehaves only loses its own connection.
                    let _ = connection(stream).await;
                });
            }
            // Out of file descriptors or a connection reset before accept: back off a little
            // instead of spinning; the client sees its connect time out and reports it.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Answers the requests on one connection until the client hangs up, a request asks to close
/// (the server then closes first, so `TIME_WAIT` stays on this side), or a request breaks the
/// protocol.
async fn connection(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut request = [0; REQUEST_LEN];
    let mut reply = Vec::new();
    loop {
        match stream.read_exact(&mut request).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let request = Request::decode(&request)?;
        if request.delay_us > 0 {
            tokio::time::sleep(Duration::from_micros(u64::from(request.delay_us))).await;
        }
        reply.clear();
        reply.extend_from_slice(&request.reply_len.to_le_bytes());
        reply.resize(REPLY_HEADER_LEN + request.reply_len as usize, 0);
        fill_payload(request.id, &mut reply[REPLY_HEADER_LEN..]);
        stream.write_all(&reply).await?;
        if request.close {
            // Dropping the stream closes it: the FIN follows the reply.
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    use shootout_suite::fanout::{self, Request};

    use super::*;

    fn start() -> Server {
        Server::start("127.0.0.1:0".parse().unwrap()).unwrap()
    }

    #[test]
    fn answers_many_requests_on_one_connection() {
        let server = start();
        let mut stream = fanout::connect_blocking(server.addr(), Duration::from_secs(10)).unwrap();
        let mut payload = Vec::new();
        for id in 0..50 {
            let request = Request {
                id,
                delay_us: 0,
                reply_len: id as u32 * 3,
                close: false,
            };
            let digest = fanout::call_blocking(&mut stream, request, &mut payload).unwrap();
            assert_eq!(digest, fanout::expected_digest(id, id as usize * 3));
        }
    }

    #[test]
    fn closes_after_the_reply_to_a_closing_request() {
        let server = start();
        let mut stream = fanout::connect_blocking(server.addr(), Duration::from_secs(10)).unwrap();
        let request = Request {
            id: 5,
            delay_us: 0,
            reply_len: 12,
            close: true,
        };
        // The request on its own, so that the reply and the EOF are read here, not by the client.
        stream.write_all(&request.encode()).unwrap();
        let mut header = [0; 4];
        stream.read_exact(&mut header).unwrap();
        let mut payload = vec![0; fanout::reply_len(header).unwrap()];
        stream.read_exact(&mut payload).unwrap();
        assert_eq!(fanout::digest(5, &payload), fanout::expected_digest(5, 12));
        let mut byte = [0; 1];
        assert_eq!(stream.read(&mut byte).unwrap(), 0, "the server hangs up");
        // The client accepts the same from the server.
        let mut again = fanout::connect_blocking(server.addr(), Duration::from_secs(10)).unwrap();
        let request = Request { id: 6, ..request };
        assert_eq!(
            fanout::call_blocking(&mut again, request, &mut Vec::new()).unwrap(),
            fanout::expected_digest(6, 12)
        );
    }

    #[test]
    fn waits_at_least_the_requested_delay() {
        let server = start();
        let mut stream = fanout::connect_blocking(server.addr(), Duration::from_secs(10)).unwrap();
        let started = Instant::now();
        let request = Request {
            id: 1,
            delay_us: 20_000,
            reply_len: 8,
            close: false,
        };
        fanout::call_blocking(&mut stream, request, &mut Vec::new()).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn holds_a_thousand_concurrent_connections() {
        let server = start();
        let mut streams: Vec<_> = (0..1000)
            .map(|_| fanout::connect_blocking(server.addr(), Duration::from_secs(30)).unwrap())
            .collect();
        // Send every request before reading any reply: all are in flight at once.
        for (id, stream) in streams.iter_mut().enumerate() {
            stream
                .write_all(
                    &Request {
                        id: id as u64,
                        delay_us: 1000,
                        reply_len: 16,
                        close: false,
                    }
                    .encode(),
                )
                .unwrap();
        }
        for (id, stream) in streams.iter_mut().enumerate() {
            let mut header = [0; 4];
            stream.read_exact(&mut header).unwrap();
            let mut payload = vec![0; fanout::reply_len(header).unwrap()];
            stream.read_exact(&mut payload).unwrap();
            assert_eq!(
                fanout::digest(id as u64, &payload),
                fanout::expected_digest(id as u64, 16)
            );
        }
    }

    #[test]
    fn a_bad_request_closes_only_its_connection() {
        let server = start();
        let mut bad = fanout::connect_blocking(server.addr(), Duration::from_secs(10)).unwrap();
        bad.write_all(
            &Request {
                id: 0,
                delay_us: 0,
                reply_len: u32::MAX,
                close: false,
            }
            .encode(),
        )
        .unwrap();
        let mut byte = [0; 1];
        assert_eq!(bad.read(&mut byte).unwrap_or(0), 0, "the server hangs up");
        let mut good = fanout::connect_blocking(server.addr(), Duration::from_secs(10)).unwrap();
        let request = Request {
            id: 3,
            delay_us: 0,
            reply_len: 4,
            close: false,
        };
        assert_eq!(
            fanout::call_blocking(&mut good, request, &mut Vec::new()).unwrap(),
            fanout::expected_digest(3, 4)
        );
    }

    #[test]
    fn binding_a_taken_port_fails_at_start() {
        let server = start();
        assert!(Server::start(server.addr()).is_err());
    }

    #[test]
    fn dropping_the_server_closes_its_connections() {
        let server = start();
        let mut stream = fanout::connect_blocking(server.addr(), Duration::from_secs(10)).unwrap();
        drop(server);
        let request = Request {
            id: 1,
            delay_us: 0,
            reply_len: 4,
            close: false,
        };
        assert!(fanout::call_blocking(&mut stream, request, &mut Vec::new()).is_err());
    }
}
