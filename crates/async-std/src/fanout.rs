//! Fan-out on async-std: its `net::TcpStream` on async-io's reactor, as tasks on N threads or
//! as futures in one task.
//!
//! The client, the scatter's rounds and the crawl's pacing are `shootout-async-common`'s
//! ([`shootout_async_common::fanout`], where the variants and their measurements are
//! described), shared with smol: async-std's reactor and timers are async-io's, the same as
//! smol's, and its `io::Read` and `io::Write` are futures-io's `AsyncRead` and `AsyncWrite`
//! under std's names (their `read_exact` and `write_all` are the same loops as futures-lite's,
//! which the shared client calls). What is async-std's is [`Net`] below, its ready-made
//! wrappers where smol writes each step by hand:
//!
//! - The socket is [`async_std::net::TcpStream`].
//! - A connect or a call is bounded by [`io::timeout`], the future raced against an async-io
//!   timer and dropped (cancelled) if the timer wins: what smol writes with `or`.
//! - A scatter round is bounded by [`future::timeout`] for the time left until its deadline
//!   (async-std has no timeout-at), one timer for the whole round.
//! - A crawl request in open loop waits with [`task::sleep`] for the time left until it is due
//!   (async-std has no sleep-until), an async-io timer like smol's `Timer::at`.
//! - Tasks not yet awaited when a round or a crawl fails are cancelled by hand, one
//!   `JoinHandle::cancel` at a time: dropping an async-std handle would only detach its task,
//!   which would run on ([`crate::Spawner`]).

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_std::io;
use async_std::net::TcpStream;
use async_std::{future, task};
use shootout_async_common::fanout::Net;

use crate::runtime::Spawner;

impl Net for Spawner {
    type Stream = TcpStream;

    async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let stream = io::timeout(timeout, TcpStream::connect(addr)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn within<T: Send>(
        timeout: Duration,
        io: impl Future<Output = io::Result<T>> + Send,
    ) -> impl Future<Output = io::Result<T>> + Send {
        io::timeout(timeout, io)
    }

    async fn by_deadline<T: Send>(
        deadline: Instant,
        work: impl Future<Output = T> + Send,
        late: impl FnOnce() -> T + Send,
    ) -> T {
        future::timeout(deadline.saturating_duration_since(Instant::now()), work)
            .await
            .unwrap_or_else(|_elapsed| late())
    }

    async fn sleep_until(deadline: Instant) {
        task::sleep(deadline.saturating_duration_since(Instant::now())).await;
    }
}
