//! The bounded pipeline on smol: producer and consumer tasks around an `async-channel`.
//!
//! The producers, the consumers and how they end are `shootout-async-common`'s
//! ([`shootout_async_common::pipeline`]), shared with async-std. What is smol's is the channel:
//! [`async_channel::bounded`] of the 2.x line, which smol re-exports as `smol::channel`.

use async_channel::{Receiver, Sender};
use shootout_async_common::pipeline::Channel;

use crate::runtime::Spawner;

impl Channel for Spawner {
    type Sender<T: Send + 'static> = Sender<T>;
    type Receiver<T: Send + 'static> = Receiver<T>;

    fn bounded<T: Send + 'static>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        async_channel::bounded(capacity)
    }

    async fn send<T: Send + 'static>(tx: &Sender<T>, message: T) -> bool {
        tx.send(message).await.is_ok()
    }

    async fn recv<T: Send + 'static>(rx: &Receiver<T>) -> Option<T> {
        rx.recv().await.ok()
    }
}
