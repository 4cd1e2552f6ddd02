//! The bounded pipeline on smol: producer and consumer tasks around an `async-channel`.
//!
//! The producers, the consumers and how they end are `shootout-async-common`'s
//! ([`shootout_async_common::pipeline`]), shared with async-std. What is smol's is the channel:
//! [`async_channel::bounded`] of the 2.x line, which smol re-exports as `smol::channel`.

use async_channel::{Receiver, Sender};
use shootout_async_common::pipeline::Channel;
use shootout_suite::pipeline::Item;

use crate::runtime::Spawner;

impl Channel for Spawner {
    type Sender = Sender<Item>;
    type Receiver = Receiver<Item>;

    fn bounded(capacity: usize) -> (Sender<Item>, Receiver<Item>) {
        async_channel::bounded(capacity)
    }

    async fn send(tx: &Sender<Item>, item: Item) -> bool {
        tx.send(item).await.is_ok()
    }

    async fn recv(rx: &Receiver<Item>) -> Option<Item> {
        rx.recv().await.ok()
    }
}
