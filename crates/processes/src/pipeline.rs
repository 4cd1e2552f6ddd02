//! The bounded pipeline between processes: P producer processes and C consumer processes
//! around one queue that the kernel keeps (a pipe, a socket) or that lives in shared memory.
//!
//! Between threads a queue is a data structure; between processes it is a channel with a cost
//! per crossing – a system call and a copy into the kernel and out again – unless it is memory
//! that both map. So the kernel channels move items in *batches*: a producer fills a batch of up
//! to [`BATCH_ITEMS`] items (3 KiB, below `PIPE_BUF`) and writes it with one system call, and a
//! consumer reads one whole batch per call. The shared-memory ring moves single items and makes
//! no system call at all while it is neither full nor empty.
//!
//! Every variant runs the same processes: setup starts P producers and C consumers (whatever
//! `workers` says) and hands each its end of the queue. Per repetition the parent tells every
//! process to start; producer `p` makes the items `produced_by(p, P, items)`, each consumer does
//! the item's work and keeps its own tally; at the end every consumer sends its tally and its
//! latency samples to the parent, which merges them.
//!
//! # The variants
//!
//! - `pipe`: one pipe for everybody, in packet mode (`O_DIRECT`, Linux 3.4): every write of at
//!   most `PIPE_BUF` bytes is one packet, written atomically however many producers write at
//!   once, and every read returns exactly one packet, so concurrent consumers each get whole
//!   batches. The pipe holds a fixed number of packets (one per 4 KiB page of its buffer, set
//!   with `F_SETPIPE_SZ`), so the queue's bound is packets × batch. An unprivileged process
//!   gets at most `/proc/sys/fs/pipe-max-size` (1 MiB: 256 packets, 32 768 items); a larger
//!   capacity is cut to that.
//! - `pipe-per-item`: one ordinary (stream) pipe, one 24-byte write per item and one 24-byte
//!   read per item: Python's `multiprocessing.Queue`, which writes each object to its pipe as it
//!   is put. A write of at most `PIPE_BUF` bytes is atomic, and as every write and every read is
//!   one item, the bytes in the pipe are always whole items, so concurrent readers never tear
//!   one. The pipe is sized to `capacity` items (`F_SETPIPE_SZ` rounds up to a power of two
//!   pages: 1 024 items take 32 KiB, which holds 1 360, as a 24-byte write never straddles
//!   a page). The end marker is an item with `seq` =
//!   `u64::MAX`. This is the processes' per-item row, beside the in-process channels.
//! - `unix-socket`: one `SOCK_SEQPACKET` socket pair, producers sharing one end and consumers the
//!   other: every message arrives whole and to exactly one reader, for any size. The bound is
//!   the sending end's `SO_SNDBUF`, sized for `capacity` items – approximately, because the
//!   kernel doubles the value, counts each message's bookkeeping (several hundred bytes), and
//!   never goes below its own minimum of a few KiB nor above `net.core.wmem_max`.
//! - `shm-ring`: a ring of exactly `capacity` items in a `memfd` mapped by every process, with
//!   futexes to sleep on when full or empty (see the `ring` module's docs for the algorithm).
//!
//! `pipe` and `unix-socket` batch, the in-process channels do not, so those two are
//! *restructured* rows beside the in-process batched variants (`crossbeam-batched`,
//! `async-channel-batched`, the same [`BATCH_ITEMS`]); `pipe-per-item` and `shm-ring` move one
//! item per hand-off, like the channels. (No per-item socket: the kernel charges each message
//! several hundred bytes of bookkeeping against `SO_SNDBUF`, so an unprivileged per-item
//! `SOCK_SEQPACKET` queue holds a few hundred items, and its bound could not be the task's.)
//!
//! Batching makes the bound coarser: a batch is `min(capacity, BATCH_ITEMS)` items and the
//! kernel queue holds `ceil(capacity / batch)` batches (the pipe rounds that up to a power of
//! two), so up to one batch per producer may wait outside the queue while it fills, and one per
//! consumer while it is worked through. That is the trade every batching queue makes.
//!
//! # Ending a repetition
//!
//! Producers do not exit between repetitions, so the end of the stream cannot be end-of-file.
//! With the kernel channels, the parent waits until every producer has reported that it is done,
//! then writes one end-of-stream marker (a one-byte message) per consumer: everything the
//! producers wrote is ahead of the markers, and each consumer stops at the first marker it
//! reads (Python's `multiprocessing` idiom: one `None` per consumer on the queue). In the ring,
//! the last producer to finish pushes the markers itself.
//!
//! # Latency across processes
//!
//! Sampled items (one in `LATENCY_SAMPLE`) carry the time they were made as a raw
//! `CLOCK_MONOTONIC` reading – an [`Instant`](std::time::Instant) cannot cross a process
//! boundary – and the consumer that takes one subtracts it from its own reading of the same
//! clock.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{AddressFamily, SocketFlags, SocketType};
use rustix::pipe::PipeFlags;
use shootout_suite::pipeline::{
    BATCH_ITEMS, Consumed, Item, LATENCY_SAMPLE, batching, produced_by,
};
use shootout_suite::task::Bounded;
use shootout_suite::{Cell, Failure, Runner, Task, TaskId, runner};

use crate::clock::monotonic_ns;
use crate::frame::{Dec, Enc, Link, ok};
use crate::pool::{Event, LinkKind, Pool, Spec};
use crate::ring::{PILL, Ring};
use crate::role::{Part, Role};
use crate::shm::SharedMemory;

// The suite's batch of `BATCH_ITEMS` items, as the in-process batched variants send: 128 × 24
// bytes = 3 KiB, under the 4 KiB `PIPE_BUF` up to which a pipe write is atomic.

/// An item on the wire: `seq`, `born_ns` and `work`, little-endian, padded to 24 bytes.
const ITEM_BYTES: usize = 24;

const _: () = assert!(
    BATCH_ITEMS * ITEM_BYTES <= 4096,
    "a batch must fit PIPE_BUF to be written atomically"
);

/// The end-of-stream marker: a one-byte message, which no batch of items can be.
const END: [u8; 1] = [0xFF];

/// The end-of-stream marker of the per-item pipe, where every read is one item's 24 bytes: an
/// item no producer makes.
const END_ITEM: Item = Item {
    seq: u64::MAX,
    work: 0,
    born_ns: 0,
};

/// The size of a pipe's buffer pages: each holds one packet.
const PAGE: usize = 4096;

/// The worker's side of each variant: a producer or a consumer, on the variant's queue.
pub(crate) const PARTS: &[Part] = &[Part {
    tasks: &[TaskId::Bounded],
    variants: &["pipe", "pipe-per-item", "unix-socket", "shm-ring"],
    serve: serve_stage,
}];

/// `pipe`: one packet-mode pipe, batches of items as packets.
pub fn bounded_pipe(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Bounded(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let (_, batches) = batching(p.capacity);
    let (rx, tx) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::DIRECT)
        .map_err(|e| Failure::context("creating the pipe", e))?;
    size_pipe(&tx, batches * PAGE)?;
    let pool = start(cell, p, &tx, &rx)?;
    drop(rx); // Only consumers read; the parent keeps the write end for the markers.
    stage_runner(p, pool, Ends::Kernel(File::from(tx)))
}

/// `pipe-per-item`: one stream pipe of `capacity` items, one 24-byte write and read per item.
pub fn bounded_pipe_per_item(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Bounded(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let (rx, tx) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)
        .map_err(|e| Failure::context("creating the pipe", e))?;
    size_pipe(&tx, p.capacity * ITEM_BYTES)?;
    let pool = start(cell, p, &tx, &rx)?;
    drop(rx);
    stage_runner(p, pool, Ends::Stream(File::from(tx)))
}

/// `unix-socket`: one `SOCK_SEQPACKET` socket pair, batches of items as messages.
pub fn bounded_unix_socket(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Bounded(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let (batch, batches) = batching(p.capacity);
    let (tx, rx) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| Failure::context("creating the socket pair", e))?;
    rustix::net::sockopt::set_socket_send_buffer_size(&tx, batches * batch * ITEM_BYTES)
        .map_err(|e| Failure::context("sizing the socket buffer", e))?;
    let pool = start(cell, p, &tx, &rx)?;
    drop(rx);
    stage_runner(p, pool, Ends::Kernel(File::from(tx)))
}

/// `shm-ring`: a ring of `capacity` items in shared memory, futexes to wait on.
pub fn bounded_shm_ring(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Bounded(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let shm = SharedMemory::create("shootout-ring", Ring::bytes_for(p.capacity))?;
    Ring::create(&shm, p.capacity)?;
    let fd = shm.fd().try_clone_to_owned()?;
    let pool = start(cell, p, &fd, &fd)?;
    stage_runner(p, pool, Ends::Ring(shm))
}

/// The parent's hold on the queue between repetitions.
enum Ends {
    /// The producers' end of a packet pipe or a socket, for the end-of-stream markers.
    Kernel(File),
    /// The producers' end of the per-item stream pipe, for its end-of-stream items.
    Stream(File),
    /// The shared memory of the ring, to reset its producer count.
    Ring(SharedMemory),
}

/// The runner: one repetition is start everybody, wait for the producers, close the stream,
/// collect the consumers' tallies.
fn stage_runner(p: Bounded, mut pool: Pool, mut ends: Ends) -> Result<Runner, Failure> {
    runner(move |_| {
        pool.run(|pool| {
            if let Ends::Ring(shm) = &ends {
                Ring::attach(shm)?.begin(p.producers);
            }
            let start = Enc::new().finish();
            for w in 0..pool.len() {
                pool.send(w, &start)?;
            }
            let mut owed = vec![1; pool.len()];
            let mut producers_left = p.producers;
            let mut markers_left = match ends {
                Ends::Kernel(_) | Ends::Stream(_) => p.consumers,
                Ends::Ring(_) => 0,
            };
            let mut consumed = Consumed::default();
            while owed.iter().any(|&o| o > 0) {
                let writable = match &ends {
                    Ends::Kernel(tx) | Ends::Stream(tx)
                        if producers_left == 0 && markers_left > 0 =>
                    {
                        Some(tx.as_fd())
                    }
                    _ => None,
                };
                match pool.wait(&owed, writable)? {
                    Event::Writable => {
                        // One packet, message or item: it goes in whole or not at all (at most
                        // `PIPE_BUF` bytes), and poll said there is room.
                        let written = match &mut ends {
                            Ends::Kernel(tx) => tx.write_all(&END),
                            Ends::Stream(tx) => tx.write_all(&encode_item(END_ITEM)),
                            Ends::Ring(_) => Ok(()),
                        };
                        written.map_err(|e| Failure::context("closing the queue", e))?;
                        markers_left -= 1;
                    }
                    Event::Readable(w) => {
                        owed[w] -= 1;
                        let reply = pool.recv(w)?;
                        if w < p.producers {
                            producers_left -= 1;
                        } else {
                            consumed.merge(decode_consumed(&reply)?);
                        }
                    }
                }
            }
            Ok(consumed.into_outcome())
        })
    })
}

/// Starts P producers (workers `0..P`) and C consumers (workers `P..P + C`), handing the
/// producers `producer_end` and the consumers `consumer_end`.
fn start(
    cell: &Cell,
    p: Bounded,
    producer_end: &OwnedFd,
    consumer_end: &OwnedFd,
) -> Result<Pool, Failure> {
    if p.producers == 0 || p.consumers == 0 || p.capacity == 0 {
        return Err(Failure::new(
            "producers, consumers and capacity must each be at least 1",
        ));
    }
    let specs = Spec::each(cell, p.producers + p.consumers, LinkKind::Socket);
    let specs = specs.into_iter().enumerate().map(|(w, spec)| {
        let end = if w < p.producers {
            producer_end
        } else {
            consumer_end
        };
        Ok(spec.with_fd(end.try_clone()?))
    });
    Pool::start(specs.collect::<Result<_, Failure>>()?)
}

/// Sets the pipe's buffer to `bytes`, or, where that is refused (an unprivileged process may not
/// exceed `/proc/sys/fs/pipe-max-size`, 1 MiB = 256 packets by default), to that maximum.
fn size_pipe(pipe: &OwnedFd, bytes: usize) -> Result<(), Failure> {
    if rustix::pipe::fcntl_setpipe_size(pipe, bytes).is_ok() {
        return Ok(());
    }
    let most: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20);
    rustix::pipe::fcntl_setpipe_size(pipe, bytes.min(most))
        .map(drop)
        .map_err(|e| Failure::context("sizing the pipe", e))
}

// ---------------------------------------------------------------------------------------------
// The worker's side.
// ---------------------------------------------------------------------------------------------

/// A producer (workers `0..P`) or a consumer (workers `P..P + C`) on the variant's queue: says
/// it is ready, then runs one repetition per message until the parent closes the link.
fn serve_stage(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Bounded(p) = role.task else {
        return Err(role.unexpected());
    };
    let per_item = role.variant == "pipe-per-item";
    let batch = if per_item { 1 } else { batching(p.capacity).0 };
    let producer = (role.index < p.producers).then_some(role.index);
    let fd = fds
        .pop()
        .ok_or_else(|| Failure::new("no queue came with the role"))?;
    let shm = match role.variant.as_str() {
        "shm-ring" => Some(SharedMemory::open(fd.try_clone()?)?),
        "pipe" | "pipe-per-item" | "unix-socket" => None,
        _ => return Err(role.unexpected()),
    };
    let ring = shm.as_ref().map(Ring::attach).transpose()?;
    let mut queue = File::from(fd);
    link.serve(|_| {
        let reply = match (producer, &ring) {
            (Some(index), Some(ring)) => {
                for seq in produced_by(index, p.producers, p.items) {
                    ring.push(stamped(seq, p.work));
                }
                if ring.producer_done() {
                    for _ in 0..p.consumers {
                        ring.push(Item {
                            seq: PILL,
                            work: 0,
                            born_ns: 0,
                        });
                    }
                }
                ok()
            }
            (Some(index), None) => {
                produce_batches(&mut queue, index, p, batch)?;
                ok()
            }
            (None, Some(ring)) => {
                let mut consumed = Consumed::default();
                loop {
                    let item = ring.pop();
                    if item.seq == PILL {
                        break;
                    }
                    take(&mut consumed, item);
                }
                encode_consumed(&consumed)
            }
            (None, None) if per_item => encode_consumed(&consume_items(&mut queue)?),
            (None, None) => encode_consumed(&consume_batches(&mut queue)?),
        };
        Ok(Some(reply))
    })
}

/// A producer on a pipe or socket: its items in batches of `batch`, one write each.
fn produce_batches(
    queue: &mut File,
    index: usize,
    p: Bounded,
    batch: usize,
) -> Result<(), Failure> {
    let mut buf = Vec::with_capacity(batch * ITEM_BYTES);
    let mut flush = |buf: &mut Vec<u8>| {
        let result = queue.write_all(buf);
        buf.clear();
        result.map_err(|e| Failure::context("writing a batch to the queue", e))
    };
    for seq in produced_by(index, p.producers, p.items) {
        buf.extend_from_slice(&encode_item(stamped(seq, p.work)));
        if buf.len() == batch * ITEM_BYTES {
            flush(&mut buf)?;
        }
    }
    if !buf.is_empty() {
        flush(&mut buf)?;
    }
    Ok(())
}

/// A consumer on a pipe or socket: whole batches, one read each, until an end marker.
fn consume_batches(queue: &mut File) -> Result<Consumed, Failure> {
    let mut consumed = Consumed::default();
    let mut buf = vec![0u8; BATCH_ITEMS * ITEM_BYTES + 1];
    loop {
        let len = match queue.read(&mut buf) {
            Ok(len) => len,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::context("reading the queue", e)),
        };
        match len {
            0 => return Err(Failure::new("the queue closed before its end marker")),
            1 if buf[0] == END[0] => return Ok(consumed),
            len if len % ITEM_BYTES == 0 => {
                for bytes in buf[..len].chunks_exact(ITEM_BYTES) {
                    take(&mut consumed, decode_item(bytes));
                }
            }
            len => return Err(Failure::new(format!("a torn batch of {len} bytes"))),
        }
    }
}

/// A consumer on the per-item pipe: one item, one 24-byte read, until the end item.
fn consume_items(queue: &mut File) -> Result<Consumed, Failure> {
    let mut consumed = Consumed::default();
    let mut bytes = [0u8; ITEM_BYTES];
    loop {
        let len = match queue.read(&mut bytes) {
            Ok(len) => len,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::context("reading the queue", e)),
        };
        match len {
            0 => return Err(Failure::new("the queue closed before its end marker")),
            ITEM_BYTES => match decode_item(&bytes) {
                item if item.seq == END_ITEM.seq => return Ok(consumed),
                item => take(&mut consumed, item),
            },
            len => return Err(Failure::new(format!("a torn item of {len} bytes"))),
        }
    }
}

/// An item on the wire: `seq`, `born_ns` and `work`, little-endian, padded to 24 bytes.
fn encode_item(item: Item) -> [u8; ITEM_BYTES] {
    let mut bytes = [0; ITEM_BYTES];
    bytes[0..8].copy_from_slice(&item.seq.to_le_bytes());
    bytes[8..16].copy_from_slice(&item.born_ns.to_le_bytes());
    bytes[16..20].copy_from_slice(&item.work.to_le_bytes());
    bytes
}

/// The item of [`encode_item`]'s 24 bytes.
fn decode_item(bytes: &[u8]) -> Item {
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    Item {
        seq: word(0),
        born_ns: word(8),
        work: u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes")),
    }
}

/// Item `seq`, stamped with `CLOCK_MONOTONIC` if it is a latency sample (the suite's
/// `Item::new` stamps against an `Instant`, which cannot cross processes).
fn stamped(seq: u64, work: u32) -> Item {
    let born_ns = if seq % LATENCY_SAMPLE == 0 {
        monotonic_ns().max(1)
    } else {
        0
    };
    Item { seq, work, born_ns }
}

/// The consumer's job on one item, as the suite's `Consumed::take` does it: the queueing
/// latency ends when the item is taken (read from `CLOCK_MONOTONIC`), before its work begins.
fn take(consumed: &mut Consumed, item: Item) {
    if item.born_ns != 0 {
        consumed
            .latencies_ns
            .push(monotonic_ns().saturating_sub(item.born_ns));
    }
    consumed.tally.add(item.work());
}

/// A consumer's reply: its tally and its latency samples.
fn encode_consumed(consumed: &Consumed) -> Enc {
    ok().tally(&consumed.tally).u64s(&consumed.latencies_ns)
}

/// A consumer's tally and latency samples, from its reply.
fn decode_consumed(payload: &[u8]) -> Result<Consumed, Failure> {
    let mut dec = Dec::new(payload);
    Ok(Consumed {
        tally: dec.tally()?,
        latencies_ns: dec.u64s()?,
    })
}

#[cfg(test)]
mod tests {
    use shootout_suite::Tally;

    use super::*;

    #[test]
    fn items_cross_a_shared_stream_pipe_whole() {
        // Four producers and four consumers on one small stream pipe, one item per write and
        // per read: no reader may ever see part of an item.
        let (rx, tx) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).unwrap();
        rustix::pipe::fcntl_setpipe_size(&tx, PAGE).unwrap();
        let (rx, tx) = (File::from(rx), File::from(tx));
        let p = Bounded {
            producers: 4,
            consumers: 4,
            capacity: 4,
            items: 20_000,
            work: 1,
        };
        let consumed = std::thread::scope(|s| {
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let mut rx = rx.try_clone().unwrap();
                    s.spawn(move || consume_items(&mut rx).unwrap())
                })
                .collect();
            let producers: Vec<_> = (0..4)
                .map(|i| {
                    let mut tx = tx.try_clone().unwrap();
                    s.spawn(move || produce_batches(&mut tx, i, p, 1).unwrap())
                })
                .collect();
            producers.into_iter().for_each(|t| t.join().unwrap());
            let mut tx = &tx;
            (0..4).for_each(|_| tx.write_all(&encode_item(END_ITEM)).unwrap());
            let mut all = Consumed::default();
            consumers
                .into_iter()
                .for_each(|t| all.merge(t.join().unwrap()));
            all
        });
        let mut expected = Tally::new();
        (0..20_000).for_each(|seq| expected.add(stamped(seq, 1).work()));
        assert_eq!(consumed.tally, expected);
    }

    #[test]
    fn batches_cross_a_packet_pipe_whole() {
        let (rx, tx) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::DIRECT).unwrap();
        rustix::pipe::fcntl_setpipe_size(&tx, PAGE).unwrap();
        let (mut rx, mut tx) = (File::from(rx), File::from(tx));
        let p = Bounded {
            producers: 1,
            consumers: 1,
            capacity: 4,
            items: 70,
            work: 3,
        };
        // A one-packet pipe: the producer blocks on every batch until the consumer reads it.
        let consumed = std::thread::scope(|s| {
            s.spawn(move || {
                produce_batches(&mut tx, 0, p, 4).unwrap();
                tx.write_all(&END).unwrap();
            });
            consume_batches(&mut rx).unwrap()
        });
        let mut expected = Tally::new();
        (0..70).for_each(|seq| expected.add(stamped(seq, 3).work()));
        assert_eq!(consumed.tally, expected);
        assert_eq!(consumed.latencies_ns.len(), 2, "items 0 and 64 are samples");
    }
}
