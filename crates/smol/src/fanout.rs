//! Fan-out on smol: async-net sockets on async-io's reactor, as tasks on N threads or as
//! futures in one task.
//!
//! The client, the scatter's rounds and the crawl's pacing are `shootout-async-common`'s
//! ([`shootout_async_common::fanout`], where the variants and their measurements are
//! described), shared with async-std. What is smol's is [`Net`] below, smol's own crates doing
//! each job by hand:
//!
//! - The socket is [`async_net::TcpStream`] (`smol::net`), registered with async-io's reactor.
//! - A connect or a call is bounded by racing it against an [`async_io::Timer::after`] with
//!   futures-lite's [`FutureExt::or`]: the first to finish wins, and the other is dropped.
//! - A scatter round is raced against one [`Timer::at`] its deadline, so that the whole round
//!   costs one timer.
//! - A crawl request in open loop waits on [`Timer::at`] until it is due.
//! - Tasks not yet awaited when a round or a crawl fails are cancelled by dropping them:
//!   dropping a smol `Task` cancels it ([`crate::Spawner`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_net::TcpStream;
use futures_lite::FutureExt;
use shootout_async_common::fanout::Net;

use crate::runtime::Spawner;

impl Net for Spawner {
    type Stream = TcpStream;

    async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let stream = within(timeout, TcpStream::connect(addr)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn within<T: Send>(
        timeout: Duration,
        io: impl Future<Output = io::Result<T>> + Send,
    ) -> impl Future<Output = io::Result<T>> + Send {
        within(timeout, io)
    }

    fn by_deadline<T: Send>(
        deadline: Instant,
        work: impl Future<Output = T> + Send,
        late: impl FnOnce() -> T + Send,
    ) -> impl Future<Output = T> + Send {
        work.or(async move {
            Timer::at(deadline).await;
            late()
        })
    }

    async fn sleep_until(deadline: Instant) {
        Timer::at(deadline).await;
    }
}

/// `io`, bounded by `timeout`: raced against a timer, and when the timer wins, `io` is dropped
/// (cancelled) and the result is an error of kind `TimedOut`.
async fn within<T>(timeout: Duration, io: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    io.or(async {
        Timer::after(timeout).await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await
}
