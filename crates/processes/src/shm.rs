//! Shared memory between a parent and its workers – an anonymous `memfd`, mapped by each – and
//! everything that is laid out in it: the crate's one audited place of `unsafe` code.
//!
//! `memfd_create` makes a file that lives only in memory and has no name in any file system,
//! so there is nothing to clean up: the memory goes when the last descriptor and the last
//! mapping go, whoever dies first. The parent creates and sizes it, the workers receive the
//! descriptor (by `SCM_RIGHTS`, with their role) and each maps it `MAP_SHARED`: the same
//! physical pages then appear in every process, at different addresses.
//!
//! The mapping is a [`memmap2::MmapRaw`], a raw pointer and a length, because other processes
//! write to these pages while this one runs: no Rust reference may cover memory that changes
//! under it, unless every byte of it is an atomic. So there are two kinds of view, and nothing
//! else in the crate turns the mapping's pointer into a reference:
//!
//! - **Words** ([`SharedMemory::words`], [`SharedMemory::words_mut`]): plain `u64`s, made for a
//!   moment and only where the protocol says nobody else writes them – the range a worker was
//!   handed, or the whole mapping while every worker is idle (the `shm` merge sort).
//! - **Layouts** ([`SharedMemory::view`]): a `#[repr(C)]` structure at the start of the mapping
//!   and an array after it, both made of atomics only, so that every bit pattern (zero-filled
//!   memory included) is valid and other processes may change any of it at any time. The types
//!   that may be viewed so are declared here and only here (the [`Layout`] trait is sealed):
//!   the sync family's boards and the pipeline ring's header and slots.
//!
//! The byte view of a key slice that the `pipe` merge sort writes to a pipe ([`bytes_of`],
//! [`bytes_of_mut`]) is here too, so that this file holds every `unsafe` block of the crate,
//! each with its `SAFETY` argument.

use std::fs::File;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use rustix::fs::MemfdFlags;
use shootout_suite::Failure;
use shootout_suite::sync::lock::Counter;
use shootout_suite::sync::semaphore::Gauge;

use crate::futex::{Barrier, Condvar, Event, Mutex, MutexGuard, Semaphore, Turn};

/// The size of a page, to which every mapping is aligned.
const PAGE: usize = 4096;

/// A `memfd` and this process's mapping of it.
pub(crate) struct SharedMemory {
    file: File,
    map: MmapRaw,
}

impl SharedMemory {
    /// A new zero-filled shared memory object of `len` bytes (at least one), mapped here.
    pub(crate) fn create(name: &str, len: usize) -> Result<SharedMemory, Failure> {
        let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC)
            .map_err(|e| Failure::context("memfd_create", e))?;
        rustix::fs::ftruncate(&fd, len.max(1) as u64)
            .map_err(|e| Failure::context("sizing the shared memory", e))?;
        SharedMemory::open(fd)
    }

    /// Zero-filled shared memory for the layout `H` followed by `count` `T`s, mapped here.
    pub(crate) fn for_layout<H: Layout, T: Layout>(
        name: &str,
        count: usize,
    ) -> Result<SharedMemory, Failure> {
        let bytes = count
            .checked_mul(size_of::<T>())
            .and_then(|tail| tail.checked_add(size_of::<H>()))
            .ok_or_else(|| Failure::new("the shared state is too large"))?;
        SharedMemory::create(name, bytes)
    }

    /// Maps the shared memory that came last with a worker's role.
    pub(crate) fn handed_over(fds: &mut Vec<OwnedFd>) -> Result<SharedMemory, Failure> {
        let fd = fds
            .pop()
            .ok_or_else(|| Failure::new("no shared memory came with the role"))?;
        SharedMemory::open(fd)
    }

    /// Maps a shared memory object received from the parent, all of it.
    pub(crate) fn open(fd: OwnedFd) -> Result<SharedMemory, Failure> {
        let file = File::from(fd);
        let len = file
            .metadata()
            .map_err(|e| Failure::context("sizing the shared memory", e))?
            .len();
        let len = usize::try_from(len).map_err(|_| Failure::new("shared memory too large"))?;
        let map = MmapOptions::new()
            .len(len)
            .map_raw(&file)
            .map_err(|e| Failure::context("mapping the shared memory", e))?;
        Ok(SharedMemory { file, map })
    }

    /// The descriptor, to hand to a worker.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// The size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The start of the mapping (page-aligned).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// How many whole `u64` words the mapping holds.
    pub(crate) fn word_count(&self) -> usize {
        self.map.len() / size_of::<u64>()
    }

    /// The words in `range`, to write.
    ///
    /// The caller must be the only process touching these words until the borrow ends: a
    /// worker in the range it was handed, the parent while every worker is idle. (Other
    /// processes cannot be stopped by the borrow checker; the protocol does that.)
    #[allow(
        unsafe_code,
        reason = "a mutable view of the mapping, which safe Rust cannot make of memory another process maps"
    )]
    pub(crate) fn words_mut(&mut self, range: Range<usize>) -> &mut [u64] {
        assert!(
            range.start <= range.end && range.end <= self.word_count(),
            "words {range:?} outside a mapping of {} words",
            self.word_count()
        );
        // SAFETY: the range is inside the mapping (checked above), so its first word is in
        // bounds of it (or one past its end, for an empty range at the end).
        let start = unsafe { self.as_ptr().cast::<u64>().add(range.start) };
        // SAFETY: the mapping is page-aligned, so every word is aligned for u64; the range is
        // inside the mapping (checked above) and stays mapped while `self` is borrowed; any bit
        // pattern is a valid u64; `&mut self` makes this the only reference in this process,
        // and the protocol makes this process the only one accessing the range meanwhile.
        unsafe { std::slice::from_raw_parts_mut(start, range.end - range.start) }
    }

    /// The words in `range`, to read; the same rule as [`SharedMemory::words_mut`] holds (nobody
    /// writes them while they are borrowed).
    #[allow(
        unsafe_code,
        reason = "a view of the mapping, which safe Rust cannot make of memory another process maps"
    )]
    pub(crate) fn words(&self, range: Range<usize>) -> &[u64] {
        assert!(
            range.start <= range.end && range.end <= self.word_count(),
            "words {range:?} outside a mapping of {} words",
            self.word_count()
        );
        // SAFETY: as in `words_mut`: the range is inside the mapping (checked above).
        let start = unsafe { self.as_ptr().cast::<u64>().add(range.start) };
        // SAFETY: as in `words_mut`: aligned, in bounds, valid for any bits, and by the
        // protocol not written by any process while this shared borrow lives.
        unsafe { std::slice::from_raw_parts(start, range.end - range.start) }
    }

    /// The layout `H` at the start of the mapping, and as many `T`s after it as fit.
    #[allow(
        unsafe_code,
        reason = "the shared board laid out over the mapping: a sealed Layout type of atomics only"
    )]
    pub(crate) fn view<H: Layout, T: Layout>(&self) -> (&H, &[T]) {
        let head = size_of::<H>();
        assert!(self.len() >= head, "the mapping holds the layout");
        assert!(
            align_of::<H>() <= PAGE && align_of::<T>() <= PAGE && head % align_of::<T>() == 0,
            "the layouts line up"
        );
        let count = (self.len() - head) / size_of::<T>();
        // The two views below rest on the same facts. The mapping is page-aligned, enough for
        // `H`, and `H`'s size is a multiple of `T`'s alignment, so the `T`s after it are aligned
        // too (both asserted); `H` and the `count` `T`s lie inside the mapping (asserted and
        // computed above), which stays mapped while `self` is borrowed, as the returned lifetime
        // says. `Layout` is sealed and implemented only for the `#[repr(C)]` structures of
        // atomics below (and the atomics themselves), for which every bit pattern is valid and
        // concurrent access from other threads and processes is synchronised by the atomics
        // themselves; no `&mut` to memory viewed so is ever made.
        let base = self.as_ptr();
        // SAFETY: `H` at the start of the mapping: aligned, inside it, valid for any bits and
        // only ever shared (see above).
        let layout = unsafe { &*base.cast::<H>() };
        // SAFETY: `head <= len` (asserted above), so the offset stays inside the mapping (or
        // one past its end).
        let tail_start = unsafe { base.add(head) };
        // SAFETY: the `count` `T`s after `H`: aligned, inside the mapping, valid for any bits
        // and only ever shared (see above).
        let tail = unsafe { std::slice::from_raw_parts(tail_start.cast::<T>(), count) };
        (layout, tail)
    }
}

/// The bytes of `words`, as they lie in memory (native byte order), to write to a pipe.
#[allow(
    unsafe_code,
    reason = "the bytes of plain u64 words, to write them to a pipe without a copy"
)]
pub(crate) fn bytes_of(words: &[u64]) -> &[u8] {
    // SAFETY: the pointer and length describe exactly the memory of `words`, borrowed for the
    // same lifetime; `u8` has alignment 1 and `u64` has no padding, so every byte is
    // initialised and valid as a `u8`.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), size_of_val(words)) }
}

/// The bytes of `words`, to read a pipe straight into them.
#[allow(
    unsafe_code,
    reason = "the bytes of plain u64 words, to read them from a pipe without a copy"
)]
pub(crate) fn bytes_of_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: as in `bytes_of`; the exclusive borrow of `words` moves to the bytes, so nothing
    // else can see the words while they are written, and any bytes written leave a valid `u64`
    // (every bit pattern is one).
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), size_of_val(words)) }
}

// ---------------------------------------------------------------------------------------------
// The layouts: what lies in shared memory, field by field.
// ---------------------------------------------------------------------------------------------

mod sealed {
    /// Only this module's types are layouts.
    pub trait Sealed {}
}

/// A type [`SharedMemory::view`] may put in shared memory: `#[repr(C)]` and made of atomics
/// only, so that every bit pattern – zero-filled memory included – is a valid value, and other
/// processes may change any of it at any time. Sealed: implemented only in this module.
pub(crate) trait Layout: sealed::Sealed {}

/// A value alone on its cache line, so that processes writing it do not slow down readers of
/// its neighbours.
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub(crate) struct Line<T>(pub(crate) T);

/// `lock`: the mutex and the counter it guards, side by side as a C struct would keep them.
#[repr(C, align(64))]
pub(crate) struct LockBoard {
    pub(crate) mutex: Mutex,
    pub(crate) count: AtomicU64,
    pub(crate) sum: AtomicU64,
}

impl LockBoard {
    /// The counter's current value (under the lock, or once every worker is done).
    pub(crate) fn counter(&self) -> Counter {
        Counter {
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// `semaphore`: the semaphore, and the suite's gauge (atomics only) that its holders hammer.
#[repr(C, align(64))]
pub(crate) struct SemaphoreBoard {
    pub(crate) semaphore: Line<Semaphore>,
    pub(crate) gauge: Line<Gauge>,
}

/// `barrier`: the barrier; W phase-log slots and the two buffers follow the board.
#[repr(C, align(64))]
pub(crate) struct BarrierBoard {
    pub(crate) barrier: Barrier,
}

/// `event`: the event and its set time, written by the setter; the ready count, written by the
/// waiters.
#[repr(C, align(64))]
pub(crate) struct EventBoard {
    pub(crate) event: Event,
    pub(crate) set_ns: AtomicU64,
    pub(crate) ready: Line<AtomicU32>,
}

/// `condition`, `futex`: the monitor – its mutex and condition variable, and the state they
/// guard, whose turn it is and the ball.
#[repr(C, align(64))]
pub(crate) struct ConditionBoard {
    pub(crate) mutex: Mutex,
    pub(crate) turn_changed: Condvar,
    pub(crate) turn: AtomicU32,
    pub(crate) ball: AtomicU64,
}

impl ConditionBoard {
    /// Waits on the condition variable, holding the lock `court` otherwise, until it is
    /// `turn`'s turn.
    pub(crate) fn wait_for<'a>(&'a self, mut court: MutexGuard<'a>, turn: u32) -> MutexGuard<'a> {
        while self.turn.load(Ordering::Relaxed) != turn {
            court = self.turn_changed.wait(court);
        }
        court
    }
}

/// `condition`, `futex-turn`: whose turn it is, and the ball.
#[repr(C, align(64))]
pub(crate) struct TurnBoard {
    pub(crate) turn: Turn,
    pub(crate) ball: AtomicU64,
}

/// The pipeline ring's counters, each on a cache line of its own so producers and consumers do
/// not steal each other's lines; `capacity` [`RingSlot`]s follow.
#[repr(C)]
pub(crate) struct RingHeader {
    /// The producers' ticket dispenser.
    pub(crate) tail: Line<AtomicU64>,
    /// The consumers' ticket dispenser.
    pub(crate) head: Line<AtomicU64>,
    /// Producers still producing in this repetition; the last one closes the ring.
    pub(crate) producers_left: Line<AtomicU32>,
    /// How many slots follow the header.
    pub(crate) capacity: AtomicU32,
}

/// One item's place in the ring (32 bytes).
#[repr(C)]
pub(crate) struct RingSlot {
    pub(crate) turn: AtomicU32,
    pub(crate) waiters: AtomicU32,
    pub(crate) seq: AtomicU64,
    pub(crate) born_ns: AtomicU64,
    pub(crate) work: AtomicU32,
    pub(crate) _pad: AtomicU32,
}

/// Declares the layouts; each type listed is `#[repr(C)]` and made of atomics only.
macro_rules! layouts {
    ($($t:ty),*) => {
        $(impl sealed::Sealed for $t {} impl Layout for $t {})*
    };
}

layouts!(
    AtomicU64,
    LockBoard,
    SemaphoreBoard,
    BarrierBoard,
    EventBoard,
    ConditionBoard,
    TurnBoard,
    RingHeader,
    RingSlot
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_mappings_of_one_memfd_see_the_same_words() {
        let mut a = SharedMemory::create("test", 64).unwrap();
        let mut b = SharedMemory::open(a.fd().try_clone_to_owned().unwrap()).unwrap();
        assert_eq!(b.len(), 64);
        assert_eq!(b.word_count(), 8);
        assert_ne!(a.as_ptr(), b.as_ptr(), "two mappings, two addresses");
        assert!(a.words(0..8).iter().all(|&w| w == 0), "zero-filled");
        a.words_mut(2..4).copy_from_slice(&[7, 9]);
        assert_eq!(b.words(0..5), &[0, 0, 7, 9, 0]);
        b.words_mut(7..8)[0] = u64::MAX;
        assert_eq!(a.words(7..8), &[u64::MAX]);
        assert!(a.words(8..8).is_empty());
    }

    #[test]
    fn layouts_leave_what_follows_them_aligned() {
        assert_eq!(size_of::<LockBoard>() % 64, 0);
        assert_eq!(size_of::<SemaphoreBoard>(), 128);
        assert_eq!(size_of::<EventBoard>(), 128);
        assert_eq!(size_of::<RingSlot>(), 32);
        let mem = SharedMemory::create("test", size_of::<BarrierBoard>() + 5 * 8).unwrap();
        let (_, tail) = mem.view::<BarrierBoard, AtomicU64>();
        assert_eq!(tail.len(), 5);
        let other = SharedMemory::open(mem.fd().try_clone_to_owned().unwrap()).unwrap();
        tail[4].store(9, Ordering::SeqCst);
        assert_eq!(
            other.view::<BarrierBoard, AtomicU64>().1[4].load(Ordering::SeqCst),
            9
        );
    }

    #[test]
    fn words_and_bytes_are_the_same_memory() {
        let mut words = vec![0x0102_0304_0506_0708u64, u64::MAX];
        assert_eq!(bytes_of(&words).len(), 16);
        assert_eq!(&bytes_of(&words)[..8], &words[0].to_ne_bytes());
        bytes_of_mut(&mut words)[8..].copy_from_slice(&7u64.to_ne_bytes());
        assert_eq!(words[1], 7);
        assert!(bytes_of(&[]).is_empty());
    }

    #[test]
    fn empty_objects_still_map() {
        let shm = SharedMemory::create("test", 0).unwrap();
        assert_eq!(shm.len(), 1);
        assert_eq!(shm.word_count(), 0);
    }

    #[test]
    #[should_panic(expected = "outside a mapping")]
    fn ranges_past_the_end_are_refused() {
        let mut shm = SharedMemory::create("test", 16).unwrap();
        shm.words_mut(1..3);
    }
}
