//! The thread-count sampler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use super::{Usage, thread_count};

/// A thread that samples the process's thread count, to report the peak.
///
/// There is no kernel counter for peak threads, so it is sampled every few milliseconds; a
/// thread that lives shorter than that may be missed. The sampler's own thread is not counted,
/// and its own CPU time and context switches are published so the cell can subtract them.
///
/// Waking every few milliseconds inside a timed repetition would disturb it (a wake-up, a
/// context switch and a `/proc` read each time), so the sampler can be [paused](Self::pause):
/// the cell samples during setup and warm-up repetitions (which run the same code, so reach the
/// same peak) and pauses the sampler during measured repetitions, calling
/// [`sample_now`](Self::sample_now) between them. A paused sampler sleeps until resumed, with
/// no wake-ups at all.
pub struct ThreadSampler {
    control: Arc<Control>,
    peak: Arc<AtomicU64>,
    own: Arc<[AtomicU64; 4]>,
    /// The sampler thread's id (for `/proc/self/task/<tid>`).
    pub(super) tid: i32,
    handle: Option<thread::JoinHandle<()>>,
}

/// What the sampler is told, and what it says back.
#[derive(Default)]
struct Control {
    state: Mutex<SamplerState>,
    /// Signalled on every change of `state`, in either direction.
    changed: Condvar,
}

#[derive(Default)]
struct SamplerState {
    /// The sampler is to end.
    stop: bool,
    /// The sampler is to sleep until resumed.
    paused: bool,
    /// The sampler has taken its last sample before sleeping.
    parked: bool,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, SamplerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How often the sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

impl ThreadSampler {
    /// Starts sampling.
    pub fn start() -> ThreadSampler {
        let control = Arc::new(Control::default());
        let peak = Arc::new(AtomicU64::new(thread_count()));
        let own: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let handle = {
            let (control, peak, own) = (control.clone(), peak.clone(), own.clone());
            thread::Builder::new()
                .name("thread-sampler".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    let _ = tid_tx.send(nix::unistd::gettid().as_raw());
                    sample(&control, &peak, &own);
                })
                .expect("spawning the thread sampler")
        };
        ThreadSampler {
            control,
            peak,
            own,
            tid: tid_rx.recv().unwrap_or(0),
            handle: Some(handle),
        }
    }

    /// Takes a sample now, from the calling thread (between repetitions, so that a cell
    /// shorter than the sampling period is still counted). It works whether or not the
    /// sampler is paused.
    pub fn sample_now(&self) {
        self.peak
            .fetch_max(thread_count().saturating_sub(1), Ordering::Relaxed);
    }

    /// Stops the periodic sampling until [`resume`](Self::resume): returns once the sampler
    /// has taken a last sample, published its counters and gone to sleep, so that nothing of
    /// it runs until it is resumed (its [`own_usage`](Self::own_usage) stays fixed, and a
    /// repetition measured now owes it nothing).
    pub fn pause(&self) {
        let mut state = self.control.lock();
        state.paused = true;
        self.control.changed.notify_all();
        while !state.parked && !state.stop && self.running() {
            state = self
                .control
                .changed
                .wait_timeout(state, Duration::from_millis(10))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let parked = state.parked;
        drop(state);
        // Having said it is parked, it still has to release the lock and block on the
        // condition variable; wait for that too (a bounded wait, in case `/proc` says nothing).
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while parked && !self.asleep() && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_micros(50));
        }
    }

    /// Lets a [paused](Self::pause) sampler go on sampling (at once, then periodically).
    pub fn resume(&self) {
        let mut state = self.control.lock();
        state.paused = false;
        state.parked = false;
        drop(state);
        self.control.changed.notify_all();
    }

    /// The most threads seen so far (excluding the sampler).
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// The sampler's own counters, as of its last sample (while paused: as of pausing).
    pub fn own_usage(&self) -> Usage {
        let [user_ns, sys_ns, voluntary, involuntary] =
            [0, 1, 2, 3].map(|i| self.own[i].load(Ordering::Relaxed));
        Usage {
            user_ns,
            sys_ns,
            voluntary,
            involuntary,
        }
    }

    /// The process's counters minus the sampler's.
    pub fn usage(&self) -> Usage {
        Usage::now().since(&self.own_usage())
    }

    fn running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Whether the sampler thread is blocked (or gone), per `/proc/self/task/<tid>/stat`.
    fn asleep(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{}/stat", self.tid))
            .unwrap_or_default();
        // Field 3, the state, follows the parenthesised command name.
        !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next()),
            Some("R")
        )
    }
}

/// The sampler thread's loop: sample, publish, then wait for the next period, a pause or the
/// end; while paused, sleep until told otherwise.
fn sample(control: &Control, peak: &AtomicU64, own: &[AtomicU64; 4]) {
    loop {
        // Minus one: the sampler itself is not part of the backend.
        peak.fetch_max(thread_count().saturating_sub(1), Ordering::Relaxed);
        let me = Usage::this_thread();
        for (slot, value) in own
            .iter()
            .zip([me.user_ns, me.sys_ns, me.voluntary, me.involuntary])
        {
            slot.store(value, Ordering::Relaxed);
        }
        let mut state = control.lock();
        if state.paused && !state.stop {
            while state.paused && !state.stop {
                // Said again after every wake-up: a `resume` and a `pause` may both have come
                // and gone while it slept.
                state.parked = true;
                control.changed.notify_all();
                state = control
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.parked = false;
        } else if !state.stop {
            state = control
                .changed
                .wait_timeout(state, SAMPLE_EVERY)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if state.stop {
            return;
        }
    }
}

impl Drop for ThreadSampler {
    fn drop(&mut self) {
        self.control.lock().stop = true;
        self.control.changed.notify_all();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
