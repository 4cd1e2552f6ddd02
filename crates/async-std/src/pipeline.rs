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
use shootout_suite::pipeline::Item;

use crate::runtime::Spawner;

impl Channel for Spawner {
    type Sender = Sender<Item>;
    type Receiver = Receiver<Item>;

    fn bounded(capacity: usize) -> (Sender<Item>, Receiver<Item>) {
        async_std::channel::bounded(capacity)
    }

    async fn send(tx: &Sender<Item>, item: Item) -> bool {
        tx.send(item).await.is_ok()
    }

    async fn recv(rx: &Receiver<Item>) -> Option<Item> {
        rx.recv().await.ok()
    }
}
