//! The pool: starting worker processes, feeding them, hearing back, and killing and reaping
//! them.
//!
//! # Starting a worker: re-executing this program
//!
//! A worker is this very program, started again with [`std::process::Command`] on
//! [`std::env::current_exe`] and the environment variable [`WORKER_ENV`] set to the parent's pid.
//! The host program calls `run_if_worker` first thing in `main`: in a worker it serves and exits,
//! in the parent it returns at once. A fresh `exec` is the only safe way to get a second Rust
//! process from one that already has threads (a bare `fork` copies one thread and whatever locks
//! the others held), and it is what `multiprocessing` does with its `spawn` start method.
//!
//! A test binary's `main` belongs to libtest, so a test binary holds a test called
//! `worker_entry` that calls `run_if_worker`, and tells the pool with [`set_worker_args`] to
//! start workers as `<test binary> worker_entry --exact --nocapture --test-threads=1`: libtest
//! then runs that one test in the child, and the test never returns (procspawn's trick).
//!
//! Each worker gets its [`Role`] and descriptors through the [handshake](crate::handshake), then
//! talks to the parent over a [`Link`]: either a pair of pipes (the `dnc` jobs, whose variants
//! are about pipes) or the stdin socket itself.
//!
//! # Dying
//!
//! A worker calls `prctl(PR_SET_PDEATHSIG, SIGKILL)` and checks that its parent is still the
//! one that started it, so it never outlives the parent. (The death signal follows the parent
//! *thread* that spawned it: a pool must be dropped before the thread that started it exits,
//! which every runner does.) Workers stay in the parent's process group, so the harness's
//! `killpg` of a cell reaches them too. A pool's `Drop` kills and reaps every worker. A worker
//! that dies shows up as end-of-file on its link (or `EPIPE` when writing to it); the pool
//! then reaps it and fails with its exit status, and stays failed for every later repetition.
//!
//! It is its own module because it is the parent's whole side of process management, and it
//! knows no family: a family describes its workers as [`Spec`]s and talks to them through the
//! pool's methods.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use rustix::pipe::PipeFlags;
use shootout_suite::{Cell, Failure};

use crate::frame::{ERR, Enc, Link, OK};
use crate::handshake;
use crate::role::Role;

/// The environment variable that makes a process a worker; its value is the parent's pid.
///
/// It also marks every worker, so a test can find the workers of a given parent in `/proc`.
pub const WORKER_ENV: &str = "SHOOTOUT_PROCESS_WORKER";

/// Arguments given to every worker after the program name (set by test binaries).
static WORKER_ARGS: OnceLock<Vec<OsString>> = OnceLock::new();

/// How long a new worker may take to say it is ready before the pool gives up on it.
const STARTUP_PATIENCE: Duration = Duration::from_secs(120);

/// Sets the arguments every worker is started with, after the program's name; only the first
/// call counts.
///
/// A test binary, whose `main` is libtest's, passes
/// `["worker_entry", "--exact", "--nocapture", "--test-threads=1"]` and has a
/// `#[test] fn worker_entry() { shootout_processes::run_if_worker() }`.
pub fn set_worker_args<I, S>(args: I)
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let _ = WORKER_ARGS.set(args.into_iter().map(Into::into).collect());
}

/// How a worker talks to its parent after the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// The stdin socket itself.
    Socket,
    /// Two pipes, one each way, with this buffer size if given (`F_SETPIPE_SZ`).
    Pipes(Option<usize>),
}

/// One worker to start: its role, the descriptors it needs, how it talks.
pub(crate) struct Spec {
    role: Role,
    fds: Vec<OwnedFd>,
    link: LinkKind,
}

impl Spec {
    /// A worker with role `role`, talking over `link`.
    pub(crate) fn new(role: Role, link: LinkKind) -> Spec {
        Spec {
            role,
            fds: Vec::new(),
            link,
        }
    }

    /// The specs of `count` workers set up for `cell`, talking over `link`.
    pub(crate) fn each(cell: &Cell, count: usize, link: LinkKind) -> Vec<Spec> {
        (0..count)
            .map(|index| Spec::new(Role::of(cell, index, count), link))
            .collect()
    }

    /// The specs of `count` workers set up for `cell`, talking over `link`, each handed its own
    /// copy of `fd` (a `memfd` to map, say).
    pub(crate) fn each_with_fd(
        cell: &Cell,
        count: usize,
        link: LinkKind,
        fd: BorrowedFd<'_>,
    ) -> Result<Vec<Spec>, Failure> {
        Spec::each(cell, count, link)
            .into_iter()
            .map(|spec| Ok(spec.with_fd(fd.try_clone_to_owned()?)))
            .collect()
    }

    /// Hands `fd` to the worker too (it receives them in this order).
    pub(crate) fn with_fd(mut self, fd: OwnedFd) -> Spec {
        self.fds.push(fd);
        self
    }
}

/// Worker processes, each with a link to this one; killed and reaped when dropped.
pub(crate) struct Pool {
    name: String,
    workers: Vec<Worker>,
    broken: Option<Failure>,
}

struct Worker {
    child: Child,
    link: Link,
    /// How the worker ended, once it has been reaped.
    status: Option<ExitStatus>,
}

/// What [`Pool::wait`] saw.
pub(crate) enum Event {
    /// Worker `w` has something to say (or has died).
    Readable(usize),
    /// The descriptor asked about can be written.
    Writable,
}

impl Pool {
    /// Starts one worker per spec and waits until every one has said it is ready.
    ///
    /// All the processes are started before any handshake is awaited, so their start-ups
    /// overlap. A worker that fails to set up (say, cannot connect) fails the start with its
    /// error; the workers already started are killed.
    pub(crate) fn start(specs: Vec<Spec>) -> Result<Pool, Failure> {
        let name = specs
            .first()
            .map(|spec| spec.role.pool_name())
            .unwrap_or_default();
        if std::env::var_os(WORKER_ENV).is_some() {
            return Err(Failure::new(format!(
                "{name}: a worker process tried to start workers of its own; the program must \
                 call shootout_processes::run_if_worker() first thing in main"
            )));
        }
        let exe = std::env::current_exe()
            .map_err(|e| Failure::context("finding this program to start workers", e))?;
        let mut pool = Pool {
            name,
            workers: Vec::with_capacity(specs.len()),
            broken: None,
        };
        for (index, spec) in specs.into_iter().enumerate() {
            pool.spawn(&exe, index, spec)?;
        }
        let deadline = Instant::now() + STARTUP_PATIENCE;
        for w in 0..pool.workers.len() {
            pool.ready(w, deadline)?;
        }
        Ok(pool)
    }

    /// Starts worker `index` and sends it its role.
    fn spawn(&mut self, exe: &std::path::Path, index: usize, spec: Spec) -> Result<(), Failure> {
        let name = &self.name;
        let what = |doing: &str| format!("{name} worker {index}: {doing}");
        let (control, child_end) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| Failure::context(&what("creating its socket"), e))?;
        let mut fds = Vec::new();
        let link = match spec.link {
            LinkKind::Socket => {
                let rx = control
                    .try_clone()
                    .map_err(|e| Failure::context(&what("duplicating its socket"), e))?;
                Link::new(rx, control.try_clone()?)
            }
            LinkKind::Pipes(size) => {
                let (to_rx, to_tx) = pipe(size).map_err(|e| Failure::context(&what("pipe"), e))?;
                let (from_rx, from_tx) =
                    pipe(size).map_err(|e| Failure::context(&what("pipe"), e))?;
                fds.push(to_rx);
                fds.push(from_tx);
                Link::new(from_rx, to_tx)
            }
        };
        fds.extend(spec.fds);

        let mut command = Command::new(exe);
        command
            .args(WORKER_ARGS.get().into_iter().flatten())
            .env(WORKER_ENV, std::process::id().to_string())
            .stdin(Stdio::from(child_end))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = command
            .spawn()
            .map_err(|e| Failure::context(&what("starting the process"), e))?;
        drop(command); // Our copy of the child's end of the socket.
        self.workers.push(Worker {
            child,
            link,
            status: None,
        });

        let pipes = matches!(spec.link, LinkKind::Pipes(_));
        handshake::send(&control, pipes, &spec.role, &fds)
            .map_err(|e| Failure::context(&what("handing over its role"), e))?;
        // `control` and `fds` close here: the worker holds its own copies now.
        Ok(())
    }

    /// Waits for worker `w`'s first message, which says it is ready (or why it is not).
    fn ready(&mut self, w: usize, deadline: Instant) -> Result<(), Failure> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::new(format!(
                    "{} worker {w} did not start within {} s (does the program call \
                     shootout_processes::run_if_worker() first thing in main?)",
                    self.name,
                    STARTUP_PATIENCE.as_secs()
                )));
            }
            let rx = self.workers[w].link.rx.as_fd();
            let mut fds = [PollFd::new(rx, PollFlags::POLLIN)];
            let timeout = PollTimeout::try_from(left.min(Duration::from_secs(1)))
                .unwrap_or(PollTimeout::NONE);
            match poll(&mut fds, timeout) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => break,
                Err(e) => return Err(Failure::context("poll", e)),
            }
        }
        self.recv(w).map(drop).map_err(|failure| {
            Failure::context(
                &format!("{} worker {w} could not start", self.name),
                failure,
            )
        })
    }

    /// How many workers the pool has.
    pub(crate) fn len(&self) -> usize {
        self.workers.len()
    }

    /// Runs one repetition with `f`. A pool that failed once stays failed: its workers may be
    /// dead or out of step, so every later repetition fails at once with the first error.
    pub(crate) fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Pool) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        if let Some(failure) = &self.broken {
            return Err(Failure::context("an earlier repetition failed", failure));
        }
        let result = f(self);
        if let Err(failure) = &result {
            self.broken = Some(failure.clone());
        }
        result
    }

    /// Sends worker `w` one frame (from [`Enc::finish`]).
    pub(crate) fn send(&mut self, w: usize, frame: &[u8]) -> Result<(), Failure> {
        let result = self.workers[w].link.tx.write_all(frame);
        result.map_err(|e| self.lost(w, e))
    }

    /// Writes raw bytes to worker `w` (after a frame that announced them).
    pub(crate) fn write_raw(&mut self, w: usize, bytes: &[u8]) -> Result<(), Failure> {
        let result = self.workers[w].link.tx.write_all(bytes);
        result.map_err(|e| self.lost(w, e))
    }

    /// Reads raw bytes from worker `w` (after a reply that announced them).
    pub(crate) fn read_raw(&mut self, w: usize, bytes: &mut [u8]) -> Result<(), Failure> {
        let result = self.workers[w].link.rx.read_exact(bytes);
        result.map_err(|e| self.lost(w, e))
    }

    /// Reads worker `w`'s next reply: its payload after [`OK`], or its error as a failure.
    pub(crate) fn recv(&mut self, w: usize) -> Result<Vec<u8>, Failure> {
        let frame = match self.workers[w].link.recv() {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                return Err(self.lost(w, io::ErrorKind::UnexpectedEof.into()));
            }
            Err(e) => return Err(self.lost(w, e)),
        };
        match frame.split_first() {
            Some((&OK, payload)) => Ok(payload.to_vec()),
            Some((&ERR, text)) => Err(Failure::new(String::from_utf8_lossy(text).into_owned())),
            _ => Err(Failure::new(format!(
                "{} worker {w} sent a malformed reply",
                self.name
            ))),
        }
    }

    /// Sends every worker the same frame.
    pub(crate) fn broadcast(&mut self, frame: &[u8]) -> Result<(), Failure> {
        (0..self.len()).try_for_each(|w| self.send(w, frame))
    }

    /// Every worker's next reply, in worker order, taken as they come: a worker that fails or
    /// dies is seen at once, whichever it is.
    pub(crate) fn replies(&mut self) -> Result<Vec<Vec<u8>>, Failure> {
        let mut owed = vec![1; self.len()];
        let mut replies = vec![Vec::new(); self.len()];
        for _ in 0..self.len() {
            let (w, reply) = self.recv_any(&mut owed)?;
            replies[w] = reply;
        }
        Ok(replies)
    }

    /// A repetition in which the parent only starts the workers (an empty frame each) and
    /// waits for their replies.
    pub(crate) fn everyone(&mut self) -> Result<Vec<Vec<u8>>, Failure> {
        self.broadcast(&Enc::new().finish())?;
        self.replies()
    }

    /// Waits until a worker `w` with `owed[w] > 0` has a reply, reads it and counts it off.
    pub(crate) fn recv_any(&mut self, owed: &mut [usize]) -> Result<(usize, Vec<u8>), Failure> {
        match self.wait(owed, None)? {
            Event::Readable(w) => {
                owed[w] -= 1;
                Ok((w, self.recv(w)?))
            }
            Event::Writable => unreachable!("no descriptor to write was given"),
        }
    }

    /// Waits until a worker `w` with `owed[w] > 0` has something to say (or has died), or, if
    /// `writable` is given, until it can be written to.
    pub(crate) fn wait(
        &mut self,
        owed: &[usize],
        writable: Option<BorrowedFd<'_>>,
    ) -> Result<Event, Failure> {
        let watched: Vec<usize> = (0..self.workers.len()).filter(|&w| owed[w] > 0).collect();
        let mut fds: Vec<PollFd<'_>> = watched
            .iter()
            .map(|&w| PollFd::new(self.workers[w].link.rx.as_fd(), PollFlags::POLLIN))
            .collect();
        if let Some(fd) = writable {
            fds.push(PollFd::new(fd, PollFlags::POLLOUT));
        }
        assert!(!fds.is_empty(), "waiting for nothing");
        loop {
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Failure::context("poll", e)),
            }
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        // Replies (and deaths) first: a writable queue can wait, a dead worker cannot.
        if let Some(i) = fds[..watched.len()].iter().position(ready) {
            return Ok(Event::Readable(watched[i]));
        }
        if fds.last().is_some_and(ready) && writable.is_some() {
            return Ok(Event::Writable);
        }
        Err(Failure::new("poll returned with nothing ready"))
    }

    /// Fails if any worker has spoken or died, without waiting: for a parent that is itself
    /// waiting on shared memory while its workers run, when a reply can only be an error.
    pub(crate) fn check(&mut self) -> Result<(), Failure> {
        let mut fds: Vec<PollFd<'_>> = self
            .workers
            .iter()
            .map(|worker| PollFd::new(worker.link.rx.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Failure::context("poll", e)),
        }
        let spoke = fds
            .iter()
            .position(|fd| fd.revents().is_some_and(|r| !r.is_empty()));
        match spoke {
            None => Ok(()),
            Some(w) => match self.recv(w) {
                Err(failure) => Err(failure),
                Ok(_) => Err(Failure::new(format!(
                    "{} worker {w} answered before its repetition ended",
                    self.name
                ))),
            },
        }
    }

    /// The failure for worker `w`'s link breaking with `err`: if the worker is gone, how it
    /// ended, which is what a reader needs to know.
    fn lost(&mut self, w: usize, err: io::Error) -> Failure {
        let name = &self.name;
        let worker = &mut self.workers[w];
        let pid = worker.child.id();
        // End-of-file comes as the worker exits; give the kernel a moment to make it a zombie.
        let deadline = Instant::now() + Duration::from_secs(2);
        while worker.status.is_none() && Instant::now() < deadline {
            match worker.child.try_wait() {
                Ok(Some(status)) => worker.status = Some(status),
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        let how = match worker.status {
            Some(status) => match status.signal() {
                Some(signal) => format!("was killed by signal {signal}"),
                None => format!("exited with {status}"),
            },
            None => format!("broke its link ({err})"),
        };
        Failure::new(format!("{name} worker {w} (pid {pid}) {how}"))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            if worker.status.is_none() {
                let _ = worker.child.kill();
                let _ = worker.child.wait();
            }
        }
    }
}

/// A pipe whose both ends are close-on-exec, with a buffer of `size` bytes if given.
///
/// A failed `F_SETPIPE_SZ` (the unprivileged limit is `/proc/sys/fs/pipe-max-size`, and a user
/// over `pipe-user-pages-soft` gets small pipes) keeps the default 64 KiB: slower, still right.
fn pipe(size: Option<usize>) -> io::Result<(OwnedFd, OwnedFd)> {
    let (rx, tx) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    if let Some(size) = size {
        let _ = rustix::pipe::fcntl_setpipe_size(&tx, size);
    }
    Ok((rx, tx))
}
