//! Process-shared synchronisation primitives, each on a futex word that may live in shared
//! memory: a lock, a condition variable, a counting semaphore, a barrier, an event and a turn.
//!
//! Threads take their locks from `std::sync`. Processes get nothing of the kind from Rust's
//! standard library, and C's answer – a `pthread_mutex_t` marked `PTHREAD_PROCESS_SHARED`, or
//! `sem_init(&sem, 1, n)`, placed in shared memory – is a futex underneath; so are Python's
//! `multiprocessing.Lock`, `Semaphore`, `Barrier`, `Event` and `Condition`, which are POSIX
//! semaphores in shared memory. So this module writes each primitive on the futex itself, the
//! way std writes its own Linux `Mutex`: a 32-bit word that every party maps, changed with atomic
//! instructions while nobody has to wait, and `futex(FUTEX_WAIT)` to sleep while the word holds
//! a given value, `futex(FUTEX_WAKE)` to wake sleepers after changing it. The futexes are shared
//! ones (no `FUTEX_PRIVATE_FLAG`): the kernel keys them by the `memfd`'s page and offset, so
//! processes that mapped it at different addresses meet on the same word.
//!
//! Every primitive is `#[repr(C)]` and made of atomics only, and zero-filled memory is a valid
//! (unlocked, empty, unset) one, so it can be placed in a shared-memory
//! board as it is. It is a module of its own, with its own tests (threads standing
//! in for processes), because it is a library: the sync family's task drivers and the pipeline's
//! ring use it, and it knows nothing of either.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rustix::thread::futex;

/// A mutual-exclusion lock on one futex word, which may live in shared memory: std's Linux
/// `Mutex`, algorithm for algorithm – the three-state mutex of Ulrich Drepper's "Futexes Are
/// Tricky" (in its final form, with `xchg`), which glibc's low-level lock is too, plus std's
/// short spin before sleeping. So the only difference from `threads`' `std-mutex` variant is
/// that this word lies in memory that processes share.
///
/// The word is 0 when unlocked, 1 when locked, 2 when locked and someone may be asleep on it.
/// Locking a free mutex is one compare-exchange and unlocking one nobody waits for is one
/// decrement: no system call without contention. A contender that finds the lock held first
/// spins, as std does: up to a hundred reads (each with [`std::hint::spin_loop`]) while the word
/// says locked-and-uncontended, since a short section is likely over before a sleep would pay
/// off; it stops early once the lock is free or someone already sleeps. Then it swaps in 2
/// before it sleeps, so the holder's unlock sees 2, stores 0 and wakes one sleeper; the woken
/// one spins and swaps in 2 again (it cannot know whether others sleep too), which costs at most
/// one spare wake-up.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Mutex {
    state: AtomicU32,
}

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;
/// How many times a contender reads a held lock before it sleeps: std's number.
const SPINS: u32 = 100;

impl Mutex {
    /// An unlocked mutex (zero-filled shared memory is one too).
    pub const fn new() -> Mutex {
        Mutex {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Waits until the lock is free and takes it; dropping the guard releases it.
    pub fn lock(&self) -> MutexGuard<'_> {
        self.acquire();
        MutexGuard { mutex: self }
    }

    fn acquire(&self) {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.acquire_contended();
        }
    }

    /// std's `lock_contended`: spin, try once more while nobody sleeps, then sleep on 2.
    #[cold]
    fn acquire_contended(&self) {
        let mut state = self.spin();
        if state == UNLOCKED {
            match self.state.compare_exchange(
                UNLOCKED,
                LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
        loop {
            // Marking the lock contended may take it: then it must be unlocked as contended
            // too, which costs a spare wake-up at most.
            if state != CONTENDED && self.state.swap(CONTENDED, Ordering::Acquire) == UNLOCKED {
                return;
            }
            futex_wait(&self.state, CONTENDED, None);
            state = self.spin();
        }
    }

    /// Reads the word while it says locked-and-uncontended, at most [`SPINS`] times; returns
    /// what it read last.
    fn spin(&self) -> u32 {
        let mut left = SPINS;
        loop {
            let state = self.state.load(Ordering::Relaxed);
            if state != LOCKED || left == 0 {
                return state;
            }
            std::hint::spin_loop();
            left -= 1;
        }
    }

    /// Whether the lock is held right now (a snapshot, for checks once nobody uses it).
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::SeqCst) != UNLOCKED
    }

    fn unlock(&self) {
        if self.state.fetch_sub(1, Ordering::Release) != LOCKED {
            self.state.store(UNLOCKED, Ordering::Release);
            futex_wake(&self.state, 1);
        }
    }
}

/// Holds a [`Mutex`] locked until dropped.
#[derive(Debug)]
pub struct MutexGuard<'a> {
    mutex: &'a Mutex,
}

impl Drop for MutexGuard<'_> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

/// A condition variable on one futex word, which may live in shared memory: std's Linux
/// `Condvar`, algorithm for algorithm, which is also what a `pthread_cond_t` marked
/// `PTHREAD_PROCESS_SHARED` and `multiprocessing.Condition` come down to.
///
/// The word is a sequence number. Notifying bumps it and wakes one sleeper (or all). Waiting
/// reads it *before* unlocking the mutex, unlocks, and sleeps only while the word still holds
/// what was read: a notification between the unlock and the sleep has changed the word, so the
/// `FUTEX_WAIT` returns at once and nothing is missed. Wake-ups may be spurious, as with every
/// condition variable: a waiter checks its condition again under the lock.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Condvar {
    sequence: AtomicU32,
}

impl Condvar {
    /// A condition variable nobody waits on (zero-filled shared memory is one too).
    pub const fn new() -> Condvar {
        Condvar {
            sequence: AtomicU32::new(0),
        }
    }

    /// Wakes one waiter, if any.
    pub fn notify_one(&self) {
        self.sequence.fetch_add(1, Ordering::Relaxed);
        futex_wake(&self.sequence, 1);
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.sequence.fetch_add(1, Ordering::Relaxed);
        futex_wake(&self.sequence, i32::MAX as u32);
    }

    /// Unlocks `guard`'s mutex and sleeps until notified (or spuriously woken), then locks it
    /// again.
    pub fn wait<'a>(&self, guard: MutexGuard<'a>) -> MutexGuard<'a> {
        let mutex = guard.mutex;
        let sequence = self.sequence.load(Ordering::Relaxed);
        drop(guard);
        futex_wait(&self.sequence, sequence, None);
        mutex.lock()
    }
}

/// A counting semaphore on one futex word, which may live in shared memory: the word is the
/// number of free permits, as in glibc's `sem_t` – what `sem_init(&sem, 1, n)` gives C, and
/// `multiprocessing.Semaphore` gives Python.
///
/// Acquiring takes a permit with a compare-exchange while there is one, and otherwise sleeps
/// while the count is zero; releasing adds one back and wakes one sleeper, but only if the
/// `sleepers` count says there is one, so the uncontended path makes no system call. (glibc
/// keeps its sleeper count in the high half of a 64-bit word; two words do the same job as long
/// as both sides order them `SeqCst` around the sleep: either the releaser sees the sleeper, or
/// the sleeper's `FUTEX_WAIT` sees the new permit and does not sleep.)
#[derive(Debug, Default)]
#[repr(C)]
pub struct Semaphore {
    permits: AtomicU32,
    sleepers: AtomicU32,
}

impl Semaphore {
    /// A semaphore of `permits` permits.
    pub const fn new(permits: u32) -> Semaphore {
        Semaphore {
            permits: AtomicU32::new(permits),
            sleepers: AtomicU32::new(0),
        }
    }

    /// Readies the semaphore with `permits` permits (for one in shared memory, while unused).
    pub fn reset(&self, permits: u32) {
        self.sleepers.store(0, Ordering::SeqCst);
        self.permits.store(permits, Ordering::SeqCst);
    }

    /// Waits for a permit and takes it; dropping the permit gives it back.
    pub fn acquire(&self) -> Permit<'_> {
        let mut free = self.permits.load(Ordering::Relaxed);
        loop {
            if free == 0 {
                self.sleepers.fetch_add(1, Ordering::SeqCst);
                futex_wait(&self.permits, 0, None);
                self.sleepers.fetch_sub(1, Ordering::SeqCst);
                free = self.permits.load(Ordering::Relaxed);
                continue;
            }
            match self.permits.compare_exchange_weak(
                free,
                free - 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Permit { semaphore: self },
                Err(now) => free = now,
            }
        }
    }

    fn release(&self) {
        self.permits.fetch_add(1, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            futex_wake(&self.permits, 1);
        }
    }
}

/// One of a [`Semaphore`]'s permits, given back when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.semaphore.release();
    }
}

/// A barrier for a fixed number of parties on two futex words, which may live in shared memory:
/// what `pthread_barrier_t` marked `PTHREAD_PROCESS_SHARED` and `multiprocessing.Barrier` are.
///
/// Each arrival counts itself in `arrived`; the last one resets the count for the next phase,
/// bumps `generation` and wakes everyone asleep on it (`FUTEX_WAKE` of `i32::MAX`). The others
/// sleep until the generation differs from the one they read before they arrived – a
/// generation, not a flag, so nobody can take one phase's release for another's.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Barrier {
    arrived: AtomicU32,
    generation: AtomicU32,
    parties: AtomicU32,
}

impl Barrier {
    /// A barrier for `parties` parties.
    pub const fn new(parties: u32) -> Barrier {
        Barrier {
            arrived: AtomicU32::new(0),
            generation: AtomicU32::new(0),
            parties: AtomicU32::new(parties),
        }
    }

    /// Readies the barrier for `parties` parties (for one in shared memory, while unused).
    pub fn reset(&self, parties: u32) {
        self.arrived.store(0, Ordering::SeqCst);
        self.parties.store(parties, Ordering::SeqCst);
    }

    /// Waits until every party has arrived.
    pub fn wait(&self) {
        // Read before arriving: the generation cannot move on until this party has arrived.
        let generation = self.generation.load(Ordering::Acquire);
        let parties = self.parties.load(Ordering::Relaxed);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == parties {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation
                .store(generation.wrapping_add(1), Ordering::Release);
            futex_wake(&self.generation, i32::MAX as u32);
        } else {
            while self.generation.load(Ordering::Acquire) == generation {
                futex_wait(&self.generation, generation, None);
            }
        }
    }
}

/// An event that one setter raises for any number of waiters, on a futex word that may live in
/// shared memory.
///
/// The word counts the times the event has been set, so a waiter waits for a generation past
/// the last one it saw and can neither miss a set nor see one twice (Python's `Event` is a flag,
/// which needs a `clear` and a lock around both). Setting stores the new generation and wakes
/// every sleeper with one `FUTEX_WAKE` of `i32::MAX`: the broadcast that a condition variable's
/// `notify_all` is on Linux.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Event {
    generation: AtomicU32,
}

impl Event {
    /// Sets the event to `generation`, waking every waiter.
    pub fn set(&self, generation: u32) {
        self.generation.store(generation, Ordering::Release);
        futex_wake(&self.generation, i32::MAX as u32);
    }

    /// Waits until the generation is past `seen`, and returns it.
    pub fn wait_past(&self, seen: u32) -> u32 {
        loop {
            let now = self.generation.load(Ordering::Acquire);
            if now > seen {
                return now;
            }
            futex_wait(&self.generation, now, None);
        }
    }

    /// Back to generation 0 (for one in shared memory, while unused).
    pub fn reset(&self) {
        self.generation.store(0, Ordering::SeqCst);
    }
}

/// Whose turn it is, between parties, on a futex word that may live in shared memory: a
/// monitor's condition ("it is my turn") made the futex word itself, with the state it guards
/// stored beside it – no mutex, no condition variable (the `futex-turn` condition variant).
///
/// A party passes the turn by storing the other's number (`Release`: what it wrote before is
/// published) and waking it; it waits for its own turn by sleeping while the word holds anything
/// else.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Turn {
    whose: AtomicU32,
}

impl Turn {
    /// Gives the turn to party `to` without waking anyone (for one in shared memory, while
    /// unused).
    pub fn reset(&self, to: u32) {
        self.whose.store(to, Ordering::SeqCst);
    }

    /// Gives the turn to party `to`, waking it.
    pub fn pass(&self, to: u32) {
        self.whose.store(to, Ordering::Release);
        futex_wake(&self.whose, 1);
    }

    /// Waits until it is party `me`'s turn.
    pub fn wait_for(&self, me: u32) {
        loop {
            let now = self.whose.load(Ordering::Acquire);
            if now == me {
                return;
            }
            futex_wait(&self.whose, now, None);
        }
    }
}

/// Sleeps while `word` holds `expected`, for at most `timeout`; true if the time ran out.
///
/// It returns at once if the word holds something else, and early on any wake-up or signal:
/// every caller looks at the word again.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let timeout = timeout.and_then(|t| futex::Timespec::try_from(t).ok());
    let result = futex::wait(word, futex::Flags::empty(), expected, timeout.as_ref());
    result == Err(rustix::io::Errno::TIMEDOUT)
}

/// Wakes up to `count` sleepers on `word`.
pub(crate) fn futex_wake(word: &AtomicU32, count: u32) {
    let _ = futex::wake(word, futex::Flags::empty(), count);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::thread;

    use super::*;

    #[test]
    fn the_mutex_excludes() {
        let mutex = Mutex::new();
        let (count, shadow) = (AtomicU64::new(0), AtomicU64::new(0));
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..5_000 {
                        let _guard = mutex.lock();
                        // A non-atomic read-modify-write: lost updates if two were inside.
                        let now = count.load(Ordering::Relaxed);
                        shadow.fetch_add(1, Ordering::Relaxed);
                        count.store(now + 1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(count.load(Ordering::SeqCst), 20_000);
        assert_eq!(shadow.load(Ordering::SeqCst), 20_000);
        assert!(!mutex.is_locked());
    }

    #[test]
    fn a_condvar_waiter_sees_every_change() {
        let mutex = Mutex::new();
        let changed = Condvar::new();
        let turn = AtomicU32::new(0);
        thread::scope(|s| {
            for me in 0..2 {
                let (mutex, changed, turn) = (&mutex, &changed, &turn);
                s.spawn(move || {
                    let mut guard = mutex.lock();
                    for _ in 0..1_000 {
                        while turn.load(Ordering::Relaxed) != me {
                            guard = changed.wait(guard);
                        }
                        turn.store(1 - me, Ordering::Relaxed);
                        changed.notify_one();
                    }
                });
            }
        });
        assert!(!mutex.is_locked());
        changed.notify_all(); // Nobody waits: a no-op.
    }

    #[test]
    fn the_semaphore_admits_at_most_its_permits() {
        let semaphore = Semaphore::new(2);
        let inside = AtomicU32::new(0);
        let most = AtomicU32::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..2_000 {
                        let _permit = semaphore.acquire();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(semaphore.permits.load(Ordering::SeqCst), 2);
        semaphore.reset(1);
        drop(semaphore.acquire());
        assert_eq!(semaphore.permits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_barrier_keeps_phases_apart() {
        let barrier = Barrier::new(3);
        let phase = AtomicU32::new(0);
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for p in 0..500 {
                        assert!(phase.load(Ordering::SeqCst) >= p);
                        barrier.wait();
                        phase.fetch_max(p + 1, Ordering::SeqCst);
                        barrier.wait();
                    }
                });
            }
        });
        assert_eq!(phase.load(Ordering::SeqCst), 500);
    }

    #[test]
    fn events_and_turns_hand_over() {
        let event = Event::default();
        let turn = Turn::default();
        thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(event.wait_past(0), 1);
                turn.wait_for(1);
                turn.pass(0);
            });
            event.set(1);
            turn.pass(1);
            turn.wait_for(0);
        });
        assert_eq!(event.wait_past(0), 1, "a set event stays set");
        event.reset();
        turn.reset(1);
        turn.wait_for(1);
    }

    #[test]
    fn a_waiter_on_a_count_wakes_when_it_is_reached() {
        let word = AtomicU32::new(0);
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..3 {
                    thread::sleep(Duration::from_millis(5));
                    word.fetch_add(1, Ordering::SeqCst);
                    futex_wake(&word, 1);
                }
            });
            while word.load(Ordering::SeqCst) < 3 {
                futex_wait(
                    &word,
                    word.load(Ordering::SeqCst),
                    Some(Duration::from_secs(1)),
                );
            }
        });
        assert!(
            futex_wait(&word, 3, Some(Duration::from_millis(1))),
            "times out"
        );
        assert!(
            !futex_wait(&word, 7, None),
            "returns at once on another value"
        );
    }
}
