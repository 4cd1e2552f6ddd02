//! The bounded pipeline on async-std: producer and consumer tasks around an `async-channel`.
//!
//! The producers, the consumers and how they end are `shootout-async-common`'s
//! ([`shootout_async_common::pipeline`]), shared with smol. What is async-std's is the channel:
//! [`async_std::channel::bounded`] *is* async-channel (`async_std::channel` is
//! `pub use async_channel::*`), of the 1.x line where smol uses 2.x, the same design. That is
//! why the variant is named `async-channel`, as in smol and tokio, so the three line up in the
//! tables.

use async_std::channel::{Receiver, Sender};
use shootout_async_common::pipeline::Channel;

use crate::runtime::Spawner;

impl Channel for Spawner {
    type Sender<T: Send + 'static> = Sender<T>;
    type Receiver<T: Send + 'static> = Receiver<T>;

    fn bounded<T: Send + 'static>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        async_std::channel::bounded(capacity)
    }

    async fn send<T: Send + 'static>(tx: &Sender<T>, message: T) -> bool {
        tx.send(message).await.is_ok()
    }

    async fn recv<T: Send + 'static>(rx: &Receiver<T>) -> Option<T> {
        rx.recv().await.ok()
    }
}
