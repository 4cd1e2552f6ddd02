//! Shared memory between a parent and its workers: an anonymous `memfd`, mapped by each.
//!
//! `memfd_create` makes a file that lives only in memory and has no name in any file system,
//! so there is nothing to clean up: the memory goes when the last descriptor and the last
//! mapping go, whoever dies first. The parent creates and sizes it, the workers receive the
//! descriptor (by `SCM_RIGHTS`, with their role) and each maps it `MAP_SHARED`: the same
//! physical pages then appear in every process, at different addresses.
//!
//! The mapping is a [`memmap2::MmapRaw`], a raw pointer and a length, because other processes
//! write to these pages while this one runs: no Rust reference may cover memory that changes
//! under it. References are made only for a moment and only where the protocol says nobody
//! else writes: [`SharedMemory::words_mut`] for the range a worker was handed, or the whole
//! mapping while every worker is idle; the ring buffer uses atomics only.

use std::fs::File;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use memmap2::{MmapOptions, MmapRaw};
use rustix::fs::MemfdFlags;
use shootout_suite::Failure;

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
    #[allow(unsafe_code)]
    pub(crate) fn words_mut(&mut self, range: Range<usize>) -> &mut [u64] {
        assert!(
            range.start <= range.end && range.end <= self.word_count(),
            "words {range:?} outside a mapping of {} words",
            self.word_count()
        );
        // SAFETY: the mapping is page-aligned, so every word is aligned for u64; the range is
        // inside the mapping (checked above) and stays mapped while `self` is borrowed; any bit
        // pattern is a valid u64; `&mut self` makes this the only reference in this process,
        // and the protocol makes this process the only one accessing the range meanwhile.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.as_ptr().cast::<u64>().add(range.start),
                range.end - range.start,
            )
        }
    }

    /// The words in `range`, to read; the same rule as [`SharedMemory::words_mut`] holds (nobody
    /// writes them while they are borrowed).
    #[allow(unsafe_code)]
    pub(crate) fn words(&self, range: Range<usize>) -> &[u64] {
        assert!(
            range.start <= range.end && range.end <= self.word_count(),
            "words {range:?} outside a mapping of {} words",
            self.word_count()
        );
        // SAFETY: as in `words_mut`: aligned, in bounds, valid for any bits, and by the
        // protocol not written by any process while this shared borrow lives.
        unsafe {
            std::slice::from_raw_parts(
                self.as_ptr().cast::<u64>().add(range.start),
                range.end - range.start,
            )
        }
    }
}

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
