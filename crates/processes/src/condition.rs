//! The condition task on processes: two processes ping-pong a ball, each waiting for its turn –
//! on a monitor in shared memory, on a bare futex turn word, or in `read` on a pipe.
//!
//! Worker 0, the pinger, serves, times the round trips and reports the ball; worker 1, the
//! ponger, returns it. Both run whatever W is. The primitives are in [`crate::futex`], the
//! boards in the crate's `shm` module; the other sync tasks, and the plumbing this file shares
//! with them, are in [`crate::sync`]. A file of its own because the sync family would not fit
//! one file.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rustix::pipe::PipeFlags;
use shootout_suite::sync::condition;
use shootout_suite::task;
use shootout_suite::time::nanos;
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Task, TaskId, runner};

use crate::frame::{Dec, Enc, Link, ok};
use crate::pool::{LinkKind, Pool, Spec};
use crate::role::{Part, Role};
use crate::shm::{ConditionBoard, SharedMemory, TurnBoard};
use crate::sync::{start, view};

/// The worker's side of each variant.
pub(crate) const PARTS: &[Part] = &[
    Part {
        tasks: &[TaskId::Condition],
        variants: &["futex"],
        serve: serve_futex,
    },
    Part {
        tasks: &[TaskId::Condition],
        variants: &["futex-turn"],
        serve: serve_turn,
    },
    Part {
        tasks: &[TaskId::Condition],
        variants: &["pipe"],
        serve: serve_pipe,
    },
];

/// The pinger: worker 0, which serves, times the round trips and reports the ball.
const PINGER: u32 = 0;
/// The ponger: worker 1.
const PONGER: u32 = 1;

/// `futex` condition: the textbook monitor between two processes – whose turn it is and the
/// ball under a [`Mutex`] in shared memory, and one [`Condvar`] beside them that both parties
/// wait on for their turn: `multiprocessing.Condition` and a shared value, or a process-shared
/// `pthread_mutex_t` and `pthread_cond_t`.
///
/// Written as `threads`' `condvar` variant is: each party holds the lock throughout and lets go
/// only inside `wait`, notifying while it holds the lock. With two parties only one of them ever
/// waits, so `notify_one` and a single condition variable suffice.
///
/// [`Mutex`]: crate::futex::Mutex
/// [`Condvar`]: crate::futex::Condvar
pub fn condition_futex(cell: &Cell) -> Result<Runner, Failure> {
    if !matches!(cell.task, Task::Condition(_)) {
        return Err(cell.unsupported());
    }
    let mem = SharedMemory::for_layout::<ConditionBoard, AtomicU64>("shootout-condition", 0)?;
    let mut pool = start(cell, 2, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<ConditionBoard>(&mem);
            // Unused between repetitions: nobody holds the mutex or waits.
            board.turn.store(PINGER, Ordering::SeqCst);
            board.ball.store(condition::SERVE, Ordering::SeqCst);
            rally(pool)
        })
    })
}

/// A `futex` condition party: holding the monitor's lock, `trips` times wait on the condition
/// variable for the turn, hit the ball, pass the turn and notify.
fn condition_futex_party(board: &ConditionBoard, p: task::Condition, me: u32) -> Enc {
    let wait_for = |court, turn| board.wait_for(court, turn);
    let mut court = board.mutex.lock();
    if me == PINGER {
        let mut rtts = Vec::with_capacity(p.trips as usize);
        for _ in 0..p.trips {
            let start = Instant::now();
            let ball = condition::ping(board.ball.load(Ordering::Relaxed));
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.store(PONGER, Ordering::Relaxed);
            board.turn_changed.notify_one();
            court = wait_for(court, PINGER);
            rtts.push(nanos(start.elapsed()));
        }
        let ball = board.ball.load(Ordering::Relaxed);
        drop(court);
        ok().u64(ball).u64s(&rtts)
    } else {
        for _ in 0..p.trips {
            court = wait_for(court, PONGER);
            let ball = condition::pong(board.ball.load(Ordering::Relaxed));
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.store(PINGER, Ordering::Relaxed);
            board.turn_changed.notify_one();
        }
        drop(court);
        ok()
    }
}

/// `futex-turn` condition: two processes pass the ball through shared memory, a [`Turn`] word
/// saying whose it is – no mutex and no condition variable, only the futex that every condition
/// variable sleeps on: the lower bound that a monitor compiles down to.
///
/// [`Turn`]: crate::futex::Turn
pub fn condition_futex_turn(cell: &Cell) -> Result<Runner, Failure> {
    if !matches!(cell.task, Task::Condition(_)) {
        return Err(cell.unsupported());
    }
    let mem = SharedMemory::for_layout::<TurnBoard, AtomicU64>("shootout-condition", 0)?;
    let mut pool = start(cell, 2, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<TurnBoard>(&mem);
            board.turn.reset(PINGER);
            board.ball.store(condition::SERVE, Ordering::SeqCst);
            rally(pool)
        })
    })
}

/// A `futex-turn` condition party: `trips` times, wait for the turn, hit the ball, pass the
/// turn.
fn condition_turn_party(board: &TurnBoard, p: task::Condition, me: u32) -> Enc {
    let mut ball = condition::SERVE;
    if me == PINGER {
        let mut rtts = Vec::with_capacity(p.trips as usize);
        for _ in 0..p.trips {
            let start = Instant::now();
            ball = condition::ping(ball);
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.pass(PONGER);
            board.turn.wait_for(PINGER);
            ball = board.ball.load(Ordering::Relaxed);
            rtts.push(nanos(start.elapsed()));
        }
        ok().u64(ball).u64s(&rtts)
    } else {
        for _ in 0..p.trips {
            board.turn.wait_for(PONGER);
            ball = condition::pong(board.ball.load(Ordering::Relaxed));
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.pass(PINGER);
        }
        ok()
    }
}

/// `pipe` condition: two processes ping-pong the ball as an 8-byte message through a pair of
/// pipes, each blocked in `read` until it arrives – what `multiprocessing.Pipe()` users write
/// instead of a condition variable.
pub fn condition_pipe(cell: &Cell) -> Result<Runner, Failure> {
    if !matches!(cell.task, Task::Condition(_)) {
        return Err(cell.unsupported());
    }
    let pipe =
        || rustix::pipe::pipe_with(PipeFlags::CLOEXEC).map_err(|e| Failure::context("pipe", e));
    let (to_pinger_rx, to_pinger_tx) = pipe()?;
    let (to_ponger_rx, to_ponger_tx) = pipe()?;
    let [pinger, ponger] = parties(cell);
    let specs = vec![
        pinger.with_fd(to_pinger_rx).with_fd(to_ponger_tx),
        ponger.with_fd(to_ponger_rx).with_fd(to_pinger_tx),
    ];
    // The pool hands the ends over and closes ours: each pipe is between the two parties only.
    let mut pool = Pool::start(specs)?;
    runner(move |_| pool.run(rally))
}

/// A `pipe` condition party: `trips` times, read the ball (the ponger), hit it, write it back.
///
/// End-of-file or a broken pipe means the other party died: this one then says nothing, and
/// the parent hears of the death itself.
fn condition_pipe_party(
    (rx, tx): (&mut File, &mut File),
    p: task::Condition,
    me: u32,
) -> io::Result<Enc> {
    let mut ball = condition::SERVE;
    let mut bytes = [0u8; 8];
    if me == PINGER {
        let mut rtts = Vec::with_capacity(p.trips as usize);
        for _ in 0..p.trips {
            let start = Instant::now();
            ball = condition::ping(ball);
            tx.write_all(&ball.to_le_bytes())?;
            rx.read_exact(&mut bytes)?;
            ball = u64::from_le_bytes(bytes);
            rtts.push(nanos(start.elapsed()));
        }
        Ok(ok().u64(ball).u64s(&rtts))
    } else {
        for _ in 0..p.trips {
            rx.read_exact(&mut bytes)?;
            ball = condition::pong(u64::from_le_bytes(bytes));
            tx.write_all(&ball.to_le_bytes())?;
        }
        Ok(ok())
    }
}

/// One condition repetition: both parties go; the pinger's reply is the ball and the round
/// trips.
fn rally(pool: &mut Pool) -> Result<Outcome, Failure> {
    let replies = pool.everyone()?;
    let mut reply = Dec::new(&replies[PINGER as usize]);
    let ball = reply.u64()?;
    let rtts = reply.u64s()?;
    Ok(Outcome::with_latencies(Answer::Value(ball), rtts))
}

/// The specs of the two parties set up for `cell`: the pinger, then the ponger.
fn parties(cell: &Cell) -> [Spec; 2] {
    let mut specs = Spec::each(cell, 2, LinkKind::Socket).into_iter();
    let mut next = || specs.next().expect("two parties");
    [next(), next()]
}

/// The role's condition parameters and party number.
fn party(role: &Role) -> Result<(task::Condition, u32), Failure> {
    let Task::Condition(p) = role.task else {
        return Err(role.unexpected());
    };
    let me = u32::try_from(role.index).map_err(|_| Failure::new("a malformed role (index)"))?;
    Ok((p, me))
}

/// A `futex` party process: maps the monitor, then rallies once per repetition.
fn serve_futex(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let (p, me) = party(role)?;
    let mem = SharedMemory::handed_over(&mut fds)?;
    link.serve(|_| Ok(Some(condition_futex_party(view(&mem).0, p, me))))
}

/// A `futex-turn` party process: maps the turn word, then rallies once per repetition.
fn serve_turn(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let (p, me) = party(role)?;
    let mem = SharedMemory::handed_over(&mut fds)?;
    link.serve(|_| Ok(Some(condition_turn_party(view(&mem).0, p, me))))
}

/// A `pipe` party process: takes its two pipe ends, then rallies once per repetition; says
/// nothing if the other party died.
fn serve_pipe(role: &Role, link: &mut Link, fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let (p, me) = party(role)?;
    let (mut rx, mut tx) = match <[OwnedFd; 2]>::try_from(fds) {
        Ok([rx, tx]) => (File::from(rx), File::from(tx)),
        Err(_) => return Err(Failure::new("a pipe party needs two pipe ends")),
    };
    link.serve(|_| match condition_pipe_party((&mut rx, &mut tx), p, me) {
        Ok(reply) => Ok(Some(reply)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(Failure::context("passing the ball", e)),
    })
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    /// The monitor and the turn word, used by two threads through two mappings.
    #[test]
    fn both_condition_boards_rally_across_two_mappings() {
        let p = task::Condition { trips: 5_000 };
        let expected = {
            let mut ball = condition::SERVE;
            for _ in 0..p.trips {
                ball = condition::pong(condition::ping(ball));
            }
            ball
        };
        let here = SharedMemory::for_layout::<ConditionBoard, AtomicU64>("test", 0).unwrap();
        let there = SharedMemory::open(here.fd().try_clone_to_owned().unwrap()).unwrap();
        view::<ConditionBoard>(&here)
            .0
            .ball
            .store(condition::SERVE, Ordering::SeqCst);
        let reply = thread::scope(|s| {
            s.spawn(|| condition_futex_party(view(&there).0, p, PONGER));
            condition_futex_party(view(&here).0, p, PINGER).finish()
        });
        // After the frame's length and the "ok" byte: the ball and the round trips.
        let mut reply = Dec::new(&reply[5..]);
        assert_eq!(reply.u64().unwrap(), expected);
        assert_eq!(reply.u64s().unwrap().len(), p.trips as usize);
        assert!(!view::<ConditionBoard>(&there).0.mutex.is_locked());

        let here = SharedMemory::for_layout::<TurnBoard, AtomicU64>("test", 0).unwrap();
        let there = SharedMemory::open(here.fd().try_clone_to_owned().unwrap()).unwrap();
        let reply = thread::scope(|s| {
            s.spawn(|| condition_turn_party(view(&there).0, p, PONGER));
            condition_turn_party(view(&here).0, p, PINGER).finish()
        });
        assert_eq!(Dec::new(&reply[5..]).u64().unwrap(), expected);
    }
}
