//! [`Region`]: an owned, `'static`, disjoint part of one shared buffer of keys – the one audited
//! place of `unsafe` in this crate.
//!
//! The threads and rayon merge sorts borrow: `split_at_mut` cuts the keys and the scratch buffer
//! into disjoint `&mut` halves, and a scoped thread or `rayon::join` may hold them because it
//! ends before the borrow does. A task given to `tokio::spawn`, async-executor's `spawn` or
//! `async_std::task::spawn` must be `'static`: it may outlive the frame that spawned it, so it
//! can borrow nothing. Safe Rust offers no way to cut one allocation into two owned, `'static`
//! halves and join them again without a copy: `Vec::split_off` allocates the back half and
//! copies it, `append` copies it back, and an `Arc<Mutex<Vec<u64>>>` serialises the very
//! writes that are meant to run in parallel. Scoped spawning does not help either: an async
//! scope cannot be made sound in safe Rust (a future may be leaked, `mem::forget`ting the guard
//! that would wait for its tasks), which is why no async runtime offers one without `unsafe`.
//! Measured with any of those workarounds, the async merge sorts would measure the workaround,
//! not the model.
//!
//! So this module does what `bytes::BytesMut::split_to`/`unsplit` do for bytes. A [`Region`]
//! owns a range of a buffer held in an `Arc`; [`Region::split_at`] consumes it and returns its
//! two halves, [`Region::unsplit`] consumes two adjacent halves of the same buffer and returns
//! their union, and [`Region::into_vec`] gives the buffer back, without a copy, once one region
//! covers all of it.
//!
//! **The invariant: no two live `Region`s overlap.** Only [`Region::whole`] (a new buffer, one
//! region over all of it) and [`Region::split_at`] (two disjoint halves of a region it consumes)
//! create regions, and [`Region::unsplit`] only joins two regions it consumes; `Region` is not
//! `Clone`. Every mutable view ([`Region::as_mut_slice`]) is therefore of memory no other region
//! can view, and it borrows its region, which cannot be split, joined or given up while the view
//! lives. The buffer is freed when the last region of it is dropped (the `Arc`'s count), never
//! while a region can still view it.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::Range;
use std::ptr::NonNull;
use std::slice;
use std::sync::Arc;

/// The allocation of a `Vec<u64>`, taken apart: freed when the last [`Region`] of it is dropped.
struct Buffer {
    ptr: NonNull<u64>,
    len: usize,
    cap: usize,
}

#[allow(
    unsafe_code,
    reason = "a Buffer is the raw parts of a Vec<u64>, which is Send"
)]
// SAFETY: a `Buffer` owns its allocation as the `Vec<u64>` it came from did, and `u64` is `Send`;
// nothing about it is tied to the thread that made it (the global allocator frees from any
// thread).
unsafe impl Send for Buffer {}

#[allow(
    unsafe_code,
    reason = "shared only to hand out disjoint Regions, each viewing memory no other Region does"
)]
// SAFETY: `&Buffer` gives access to nothing but its three plain fields; the keys are read and
// written only through `Region`s, whose ranges never overlap (the module's invariant), so threads
// sharing a `Buffer` through an `Arc` never touch the same key.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// Takes `v` apart without freeing it: the `Buffer` now owns its allocation.
    fn new(v: Vec<u64>) -> Buffer {
        let mut v = ManuallyDrop::new(v);
        Buffer {
            ptr: NonNull::new(v.as_mut_ptr()).expect("a Vec's pointer is never null"),
            len: v.len(),
            cap: v.capacity(),
        }
    }

    /// The allocation as the `Vec` it was, now owned by the caller; `self` is not dropped.
    #[allow(
        unsafe_code,
        reason = "rebuilds the Vec from the raw parts Buffer::new took from it"
    )]
    fn into_vec(self) -> Vec<u64> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `ptr`, `len` and `cap` are exactly those of the `Vec<u64>` that `Buffer::new`
        // took apart and never freed, allocated by the global allocator with `u64`'s layout, and
        // its first `len` elements are initialised `u64`s. `this` is `ManuallyDrop`, so `Drop`
        // will not rebuild (and free) it a second time: the new `Vec` is its only owner.
        unsafe { Vec::from_raw_parts(this.ptr.as_ptr(), this.len, this.cap) }
    }
}

impl Drop for Buffer {
    #[allow(
        unsafe_code,
        reason = "frees the allocation of the Vec Buffer::new took apart"
    )]
    fn drop(&mut self) {
        // SAFETY: as in `into_vec`: these are the parts of a `Vec<u64>` never freed, and `drop`
        // runs once, when the last `Region` (the last `Arc`) is gone, so no slice of the
        // allocation is alive and nothing else will free it.
        drop(unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) });
    }
}

/// An owned, disjoint part of one shared buffer of `u64`s: `'static`, `Send`, not `Clone`.
///
/// A task can own one, split it between the tasks it spawns, and join their halves back when
/// they return them, with no copy and no lock. See the [module docs](self) for the invariant.
///
/// ```
/// use shootout_suite::region::Region;
///
/// let (mut front, mut back) = Region::whole(vec![3, 1, 4, 1, 5]).split_at(2);
/// let sorter = std::thread::spawn(move || {
///     back.as_mut_slice().sort_unstable();
///     back
/// });
/// front.as_mut_slice().sort_unstable();
/// let whole = front.unsplit(sorter.join().unwrap());
/// assert_eq!(whole.into_vec(), [1, 3, 1, 4, 5]);
/// ```
pub struct Region {
    buf: Arc<Buffer>,
    range: Range<usize>,
}

impl Region {
    /// One region over all of `v`, which it now owns.
    pub fn whole(v: Vec<u64>) -> Region {
        let range = 0..v.len();
        Region {
            buf: Arc::new(Buffer::new(v)),
            range,
        }
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether it holds no keys.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// Its first `mid` keys and the rest, as two regions. Panics if `mid > self.len()`.
    pub fn split_at(self, mid: usize) -> (Region, Region) {
        assert!(
            mid <= self.len(),
            "split_at({mid}) of a region of {} keys",
            self.len()
        );
        let cut = self.range.start + mid;
        let front = Region {
            buf: Arc::clone(&self.buf),
            range: self.range.start..cut,
        };
        let back = Region {
            buf: self.buf,
            range: cut..self.range.end,
        };
        (front, back)
    }

    /// This region and `back`, which must follow it in the same buffer, as one region.
    ///
    /// Panics if `back` is of another buffer, or does not start where this one ends.
    pub fn unsplit(self, back: Region) -> Region {
        assert!(
            Arc::ptr_eq(&self.buf, &back.buf),
            "unsplit: the regions are of different buffers"
        );
        assert_eq!(
            self.range.end, back.range.start,
            "unsplit: the back region must start where the front one ends"
        );
        Region {
            buf: self.buf,
            range: self.range.start..back.range.end,
        }
    }

    /// The keys it holds.
    #[allow(
        unsafe_code,
        reason = "a view of the region's own, in-bounds part of the shared buffer"
    )]
    pub fn as_slice(&self) -> &[u64] {
        // SAFETY: `range.start <= range.end <= len`, so the offset pointer is in bounds of (or
        // one past the end of) the allocation of `len` keys.
        let start = unsafe { self.buf.ptr.add(self.range.start) };
        // SAFETY: the `range.len()` keys from `start` are initialised (they are within the
        // `Vec`'s `len`) and stay allocated while `self` holds the `Arc`, which the returned
        // borrow of `self` outlives. No `&mut` to them exists: a mutable view is only made by
        // `as_mut_slice` of the region that owns them, which needs `&mut self`, and no other
        // region overlaps this one (the module's invariant).
        unsafe { slice::from_raw_parts(start.as_ptr(), self.range.len()) }
    }

    /// The keys it holds, to write.
    #[allow(
        unsafe_code,
        reason = "a mutable view of the region's own part of the buffer, which no other overlaps"
    )]
    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        // SAFETY: as in `as_slice`: `range` lies within the allocation's `len` keys.
        let start = unsafe { self.buf.ptr.add(self.range.start) };
        // SAFETY: the keys are initialised and stay allocated while `self` holds the `Arc`. The
        // view is unique: no other live region overlaps `range` (only `whole` and `split_at`
        // create regions, each disjoint from every other), and the borrow of `&mut self` rules
        // out any other view of this one – `as_slice`, a second `as_mut_slice`, or a
        // `split_at`/`unsplit`/`into_vec` that would hand the range on – while it lives.
        unsafe { slice::from_raw_parts_mut(start.as_ptr(), self.range.len()) }
    }

    /// The whole buffer back as the `Vec` it was made from, without a copy.
    ///
    /// Panics unless this region covers the whole buffer and is the only region of it left
    /// (every other part has been joined back with [`unsplit`](Region::unsplit) or dropped).
    pub fn into_vec(self) -> Vec<u64> {
        let Region { buf, range } = self;
        assert!(
            range.start == 0 && range.end == buf.len,
            "into_vec: the region holds {range:?}, not the whole buffer of {} keys",
            buf.len
        );
        match Arc::try_unwrap(buf) {
            Ok(buffer) => buffer.into_vec(),
            Err(_) => panic!("into_vec: another region of the buffer is still alive"),
        }
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("range", &self.range)
            .field("buffer_len", &self.buf.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::thread;

    use super::*;

    fn keys(n: u64) -> Vec<u64> {
        (0..n).collect()
    }

    /// The message of the panic `f` must raise.
    fn panic_message(f: impl FnOnce()) -> String {
        let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("it should have panicked");
        match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload
                .downcast::<&str>()
                .map_or(String::new(), |m| m.to_string()),
        }
    }

    #[test]
    fn split_and_unsplit_round_trip() {
        let (front, back) = Region::whole(keys(10)).split_at(4);
        assert_eq!((front.len(), back.len()), (4, 6));
        assert_eq!(front.as_slice(), [0, 1, 2, 3]);
        assert_eq!(back.as_slice(), [4, 5, 6, 7, 8, 9]);
        let (b1, b2) = back.split_at(6);
        assert!(b2.is_empty());
        let whole = front.unsplit(b1.unsplit(b2));
        assert_eq!(whole.len(), 10);
        assert_eq!(whole.into_vec(), keys(10));
    }

    #[test]
    fn writes_through_halves_are_seen_after_unsplit() {
        let (mut front, mut back) = Region::whole(keys(6)).split_at(3);
        front.as_mut_slice().fill(7);
        back.as_mut_slice()[0] = 9;
        let whole = front.unsplit(back);
        assert_eq!(whole.as_slice(), [7, 7, 7, 9, 4, 5]);
    }

    #[test]
    fn into_vec_of_the_whole_gives_the_same_allocation_back() {
        let mut v = Vec::with_capacity(100);
        v.extend(0..37u64);
        let (ptr, cap) = (v.as_ptr(), v.capacity());
        let (front, back) = Region::whole(v).split_at(20);
        let v = front.unsplit(back).into_vec();
        assert_eq!((v.as_ptr(), v.len(), v.capacity()), (ptr, 37, cap));
        assert_eq!(v, keys(37));
        // An empty Vec (a dangling pointer, no allocation) goes round too.
        assert!(Region::whole(Vec::new()).into_vec().is_empty());
    }

    #[test]
    fn halves_move_to_other_threads_and_back() {
        let (mut front, back) = Region::whole(vec![0; 1000]).split_at(500);
        let (b1, b2) = back.split_at(250);
        let workers: Vec<_> = [b1, b2]
            .into_iter()
            .enumerate()
            .map(|(i, mut part)| {
                thread::spawn(move || {
                    part.as_mut_slice().fill(i as u64 + 1);
                    part
                })
            })
            .collect();
        front.as_mut_slice().fill(9);
        let mut parts = workers.into_iter().map(|w| w.join().unwrap());
        let (b1, b2) = (parts.next().unwrap(), parts.next().unwrap());
        let v = front.unsplit(b1.unsplit(b2)).into_vec();
        assert!(v[..500].iter().all(|&k| k == 9));
        assert!(v[500..750].iter().all(|&k| k == 1));
        assert!(v[750..].iter().all(|&k| k == 2));
    }

    #[test]
    #[should_panic(expected = "must start where the front one ends")]
    fn unsplit_of_regions_not_adjacent_panics() {
        let (front, back) = Region::whole(keys(9)).split_at(3);
        let (_middle, end) = back.split_at(3);
        front.unsplit(end);
    }

    #[test]
    #[should_panic(expected = "must start where the front one ends")]
    fn unsplit_in_the_wrong_order_panics() {
        let (front, back) = Region::whole(keys(9)).split_at(3);
        back.unsplit(front);
    }

    #[test]
    #[should_panic(expected = "different buffers")]
    fn unsplit_of_another_buffers_region_panics() {
        let (front, _) = Region::whole(keys(8)).split_at(4);
        let (_, foreign) = Region::whole(keys(8)).split_at(4);
        front.unsplit(foreign);
    }

    #[test]
    fn a_dropped_half_does_not_free_the_buffer_early() {
        let (front, mut back) = Region::whole(keys(8)).split_at(4);
        drop(front);
        assert_eq!(Arc::strong_count(&back.buf), 1);
        back.as_mut_slice().fill(3);
        assert_eq!(back.as_slice(), [3, 3, 3, 3]);
        // Not the whole buffer: refused, and the buffer is still freed once, when `back` is.
        let message = panic_message(|| drop(back.into_vec()));
        assert!(message.contains("not the whole buffer"), "{message}");
    }

    #[test]
    fn into_vec_while_another_region_lives_panics_and_frees_nothing() {
        // An empty front leaves the back covering every key, but the front still holds the
        // buffer: the Vec may not be handed out while a region of it lives.
        let (front, back) = Region::whole(keys(5)).split_at(0);
        let message = panic_message(|| drop(back.into_vec()));
        assert!(message.contains("still alive"), "{message}");
        assert_eq!(Arc::strong_count(&front.buf), 1);
        assert!(front.is_empty());
    }
}
