//! The cases every variant of every backend must get right: the smoke profile, then the edge
//! cases of each parameter – empty and one-element inputs, prime sizes that no split divides
//! evenly, a grain larger than the input, more producers than consumers and the reverse, a
//! queue of capacity one, one connection, empty and large replies, an open-loop schedule no
//! client keeps up with, fewer cells than workers.

use shootout_suite::task::{
    Barrier, Bounded, Condition, Crawl, Event, Fib, Lock, Mergesort, Nqueens, Scatter, Semaphore,
};
use shootout_suite::{Profile, Task, TaskId};

/// The smoke profile's task `id`, then its edge cases.
pub fn edge_cases(id: TaskId) -> Vec<Task> {
    let mut cases = vec![Task::new(id, Profile::Smoke)];
    match id {
        TaskId::Mergesort => {
            for n in [0, 1, 2, 3, 97, 1009] {
                for grain in [1, 2, 7, 5000] {
                    cases.push(Task::Mergesort(Mergesort { n, grain }));
                }
            }
            // `validate` refuses grain 0; a backend must still not loop or panic on it.
            cases.push(Task::Mergesort(Mergesort { n: 33, grain: 0 }));
        }
        TaskId::Fib => {
            for n in 0..=2 {
                for grain in [0, 1, 2, 5] {
                    cases.push(Task::Fib(Fib { n, grain }));
                }
            }
            // A grain of n - 1 cuts the tree once: two leaves.
            for grain in [0, 1, 10, 14, 15, 40] {
                cases.push(Task::Fib(Fib { n: 15, grain }));
            }
        }
        TaskId::Nqueens => {
            for n in 0..=6 {
                // `validate` refuses split > n: an empty board has only split 0.
                let mut splits = vec![0, 1, n];
                splits.retain(|&split| split <= n);
                splits.dedup();
                for split in splits {
                    cases.push(Task::Nqueens(Nqueens { n, split }));
                }
            }
        }
        TaskId::Scatter => {
            // (conns, rounds, reply_bytes): one connection, one round, empty and large replies.
            let smoke = Scatter::profile(Profile::Smoke);
            let shapes = [(1, 1, 0), (1, 3, 100_000), (7, 2, 0), (7, 2, 100_000)];
            cases.extend(shapes.map(|(conns, rounds, reply_bytes)| {
                Task::Scatter(Scatter {
                    conns,
                    rounds,
                    reply_bytes,
                    ..smoke
                })
            }));
        }
        TaskId::Crawl => {
            // (requests, concurrency, reply_bytes, rate): none, one, more permits than
            // requests, empty and large replies, an open loop of 2000 requests a second, and
            // one faster than any client keeps (every request is due at once).
            let smoke = Crawl::profile(Profile::Smoke);
            let shapes = [
                (0, 1, 64, 0),
                (1, 1, 0, 0),
                (13, 1, 100_000, 0),
                (13, 4, 0, 0),
                (13, 32, 100_000, 0),
                (20, 4, 64, 2_000),
                (20, 2, 64, 1_000_000),
            ];
            cases.extend(shapes.map(|(requests, concurrency, reply_bytes, rate)| {
                Task::Crawl(Crawl {
                    requests,
                    concurrency,
                    reply_bytes,
                    rate,
                    ..smoke
                })
            }));
        }
        TaskId::Bounded => {
            for (producers, consumers) in [(1, 1), (1, 3), (3, 1)] {
                for capacity in [1, 4] {
                    for items in [0, 1, 1000] {
                        cases.push(Task::Bounded(Bounded {
                            producers,
                            consumers,
                            capacity,
                            items,
                            work: 10,
                        }));
                    }
                }
            }
            // The queue alone; more producers than items.
            for (producers, items, work) in [(2, 500, 0), (8, 3, 10)] {
                cases.push(Task::Bounded(Bounded {
                    producers,
                    consumers: 2,
                    capacity: 1,
                    items,
                    work,
                }));
            }
        }
        TaskId::Lock => {
            for increments in [0, 1, 1001] {
                for section in [0, 4] {
                    cases.push(Task::Lock(Lock {
                        increments,
                        section,
                    }));
                }
            }
        }
        TaskId::Semaphore => {
            // One permit (a lock), fewer permits than workers, more permits than workers, and
            // fewer entries than permits.
            for (entries, permits) in [(0, 1), (1, 1), (500, 1), (500, 2), (500, 5), (3, 5)] {
                cases.push(Task::Semaphore(Semaphore {
                    entries,
                    permits,
                    section: 4,
                }));
            }
        }
        TaskId::Barrier => {
            // A ring of one cell is narrower than any W above one.
            for phases in [0, 1, 50] {
                for width in [1, 7, 64] {
                    cases.push(Task::Barrier(Barrier { phases, width }));
                }
            }
        }
        TaskId::Event => {
            for rounds in [0, 1, 50] {
                cases.push(Task::Event(Event { rounds }));
            }
        }
        TaskId::Condition => {
            for trips in [0, 1, 100] {
                cases.push(Task::Condition(Condition { trips }));
            }
        }
    }
    for task in &cases {
        debug_assert!(
            task.validate().is_ok() || matches!(task, Task::Mergesort(Mergesort { grain: 0, .. })),
            "{task}"
        );
    }
    cases
}
