//! Worker processes: how a pool starts them, hands them their channels, and hears back.
//!
//! # Starting a worker: re-executing this program
//!
//! A worker is this very program, started again with [`std::process::Command`] on
//! [`std::env::current_exe`] and the environment variable [`WORKER_ENV`] set to the parent's pid.
//! The host program calls [`run_if_worker`] first thing in `main`: in a worker it serves and
//! exits, in the parent it returns at once. A fresh `exec` is the only safe way to get a second
//! Rust process from one that already has threads (a bare `fork` copies one thread and whatever
//! locks the others held), and it is what `multiprocessing` does with its `spawn` start method.
//!
//! A test binary's `main` belongs to libtest, so a test binary holds a test called
//! `worker_entry` that calls [`run_if_worker`], and tells the pool with [`set_worker_args`] to
//! start workers as `<test binary> worker_entry --exact --nocapture --test-threads=1`: libtest
//! then runs that one test in the child, and the test never returns (procspawn's trick).
//!
//! # Handing over channels: `SCM_RIGHTS` on the worker's stdin
//!
//! A worker's stdin is one end of a Unix stream socket pair; its stdout is `/dev/null` (libtest
//! prints there) and its stderr is the parent's. The first thing on the socket is the worker's
//! role – which job, its parameters – with every file descriptor the job needs attached as
//! `SCM_RIGHTS` ancillary data: the pipes of its link to the parent, a `memfd` to map, the end of
//! a queue. Passing descriptors explicitly means nothing is inherited by accident: every
//! descriptor in the parent is close-on-exec, so a pipe never leaks into a sibling started by
//! another thread at the same moment (a leaked write end would hide a worker's death from the
//! reader forever).
//!
//! # Talking: framed messages on a link
//!
//! After the role, parent and worker talk over a [`Link`]: either a pair of pipes (the `dnc`
//! jobs, whose variants are about pipes) or the stdin socket itself. Every message is a frame:
//! a little-endian `u32` length, then the bytes; a worker's reply starts with a status byte,
//! [`OK`] or [`ERR`] followed by the error text. Raw key data may follow a frame (the sort jobs).
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

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use rustix::pipe::PipeFlags;
use shootout_suite::Failure;

/// The environment variable that makes a process a worker; its value is the parent's pid.
///
/// It also marks every worker, so a test can find the workers of a given parent in `/proc`.
pub const WORKER_ENV: &str = "SHOOTOUT_PROCESS_WORKER";

/// Arguments given to every worker after the program name (set by test binaries).
static WORKER_ARGS: OnceLock<Vec<OsString>> = OnceLock::new();

/// How long a new worker may take to say it is ready before the pool gives up on it.
const STARTUP_PATIENCE: Duration = Duration::from_secs(120);

/// The most file descriptors one role hands a worker.
const MAX_FDS: usize = 4;

/// The first byte of a worker's reply that went well.
pub(crate) const OK: u8 = 0;
/// The first byte of a worker's reply that failed; the error text follows.
pub(crate) const ERR: u8 = 1;

/// Becomes a worker if this process was started as one, and never returns then; otherwise
/// returns at once.
///
/// A program that runs the `processes` backend calls this first thing in `main`, before it
/// parses arguments or starts threads:
///
/// ```no_run
/// fn main() {
///     shootout_processes::run_if_worker();
///     // ... the program proper ...
/// }
/// ```
#[allow(clippy::needless_doctest_main)] // The point of the example is where in `main` it goes.
pub fn run_if_worker() {
    let Some(parent) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let code = match serve(&parent) {
        Ok(()) => 0,
        Err(failure) => {
            eprintln!(
                "shootout-processes worker {}: {failure}",
                std::process::id()
            );
            1
        }
    };
    std::process::exit(code);
}

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

// ---------------------------------------------------------------------------------------------
// What a worker is told to be.
// ---------------------------------------------------------------------------------------------

/// Which module serves a worker's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// `dnc.rs`: sort, fib and queens jobs.
    Dnc = 1,
    /// `fanout.rs`: a share of the connections or requests.
    Fanout = 2,
    /// `pipeline.rs`: a producer or a consumer.
    Pipeline = 3,
    /// `sync.rs`: a party to a lock, semaphore, barrier, event or condition.
    Sync = 4,
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
    family: Family,
    role: Vec<u8>,
    fds: Vec<OwnedFd>,
    link: LinkKind,
}

impl Spec {
    /// A worker of `family` whose role is described by `role` (a message from [`Enc`]).
    pub(crate) fn new(family: Family, role: Enc, link: LinkKind) -> Spec {
        Spec {
            family,
            role: role.0[4..].to_vec(),
            fds: Vec::new(),
            link,
        }
    }

    /// Hands `fd` to the worker too (it receives them in this order).
    pub(crate) fn with_fd(mut self, fd: OwnedFd) -> Spec {
        self.fds.push(fd);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// The parent's side: a pool of workers.
// ---------------------------------------------------------------------------------------------

/// Worker processes, each with a link to this one; killed and reaped when dropped.
pub(crate) struct Pool {
    name: &'static str,
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
    pub(crate) fn start(name: &'static str, specs: Vec<Spec>) -> Result<Pool, Failure> {
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
        let name = self.name;
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
        assert!(fds.len() <= MAX_FDS, "a role hands at most {MAX_FDS} fds");

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

        let mut role = Enc::new()
            .u8(spec.family as u8)
            .u8(match spec.link {
                LinkKind::Socket => 0,
                LinkKind::Pipes(_) => 1,
            })
            .u8(fds.len() as u8);
        role.0.extend_from_slice(&spec.role);
        send_with_fds(&control, &role.finish(), &fds)
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
        let name = self.name;
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

/// Sends `bytes` on a stream socket with `fds` attached to the first byte.
fn send_with_fds(socket: &OwnedFd, bytes: &[u8], fds: &[OwnedFd]) -> io::Result<()> {
    let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !borrowed.is_empty() && !control.push(SendAncillaryMessage::ScmRights(&borrowed)) {
        return Err(io::Error::other("too many descriptors for one message"));
    }
    let sent = rustix::net::sendmsg(
        socket,
        &[IoSlice::new(bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    // A stream socket may take less than all; the descriptors went with the first byte.
    File::from(socket.try_clone()?).write_all(&bytes[sent..])
}

// ---------------------------------------------------------------------------------------------
// The worker's side.
// ---------------------------------------------------------------------------------------------

/// The life of a worker process: check the parent, take the role, serve until the link closes.
fn serve(parent: &OsStr) -> Result<(), Failure> {
    let parent: i32 = parent
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failure::new(format!("{WORKER_ENV} is not a pid")))?;
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| Failure::context("prctl(PR_SET_PDEATHSIG)", e))?;
    // The parent may have died before the call above; then we were already re-parented.
    if nix::unistd::getppid().as_raw() != parent {
        return Err(Failure::new("the parent exited before the worker started"));
    }
    let control = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Failure::context("taking the control socket", e))?;
    let (role, mut fds) = receive_role(&control)?;
    let mut role = Dec::new(&role);
    let family = role.u8()?;
    let pipes = role.u8()? == 1;
    let count = usize::from(role.u8()?);
    if fds.len() != count {
        return Err(Failure::new(format!(
            "expected {count} descriptors with the role, got {}",
            fds.len()
        )));
    }
    let mut link = if pipes {
        let mut link_fds = fds.drain(..2);
        let (rx, tx) = (link_fds.next(), link_fds.next());
        match (rx, tx) {
            (Some(rx), Some(tx)) => Link::new(rx, tx),
            _ => return Err(Failure::new("a pipe link needs two descriptors")),
        }
    } else {
        Link::new(control.try_clone()?, control)
    };
    let result = match family {
        f if f == Family::Dnc as u8 => crate::dnc::serve(role, &mut link, fds),
        f if f == Family::Fanout as u8 => crate::fanout::serve(role, &mut link, fds),
        f if f == Family::Pipeline as u8 => crate::pipeline::serve(role, &mut link, fds),
        f if f == Family::Sync as u8 => crate::sync::serve(role, &mut link, fds),
        other => Err(Failure::new(format!("unknown worker family {other}"))),
    };
    if let Err(failure) = &result {
        // The parent may be waiting for a reply: tell it why there will be none. Once it has
        // the message, saying it again on stderr would only repeat it.
        if link.send(&err(failure)).is_ok() {
            std::process::exit(1);
        }
    }
    result
}

/// Reads the role frame from the control socket, with the descriptors attached to it.
fn receive_role(control: &OwnedFd) -> Result<(Vec<u8>, Vec<OwnedFd>), Failure> {
    let broken = |e: io::Error| Failure::context("reading the role", e);
    let mut header = [0u8; 4];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut ancillary = RecvAncillaryBuffer::new(&mut space);
    let got = rustix::net::recvmsg(
        control,
        &mut [IoSliceMut::new(&mut header)],
        &mut ancillary,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| broken(e.into()))?;
    let mut fds = Vec::new();
    for message in ancillary.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    if got.bytes == 0 {
        return Err(broken(io::ErrorKind::UnexpectedEof.into()));
    }
    let mut socket = File::from(control.try_clone().map_err(broken)?);
    socket
        .read_exact(&mut header[got.bytes..])
        .map_err(broken)?;
    let len = frame_len(header).map_err(broken)?;
    let mut role = vec![0; len];
    socket.read_exact(&mut role).map_err(broken)?;
    Ok((role, fds))
}

// ---------------------------------------------------------------------------------------------
// Links and frames.
// ---------------------------------------------------------------------------------------------

/// A worker's two-way channel to its parent: a pair of pipes, or one socket used both ways.
pub(crate) struct Link {
    /// Where messages come from.
    pub(crate) rx: File,
    /// Where messages go.
    pub(crate) tx: File,
}

impl Link {
    fn new(rx: OwnedFd, tx: OwnedFd) -> Link {
        Link {
            rx: File::from(rx),
            tx: File::from(tx),
        }
    }

    /// Sends one frame (from [`Enc::finish`], [`ok`] or [`err`]).
    pub(crate) fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.tx.write_all(frame)
    }

    /// The next frame's bytes, or `None` if the other side closed the link between frames.
    pub(crate) fn recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut header = [0u8; 4];
        let mut got = 0;
        while got < header.len() {
            match self.rx.read(&mut header[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut frame = vec![0; frame_len(header)?];
        self.rx.read_exact(&mut frame)?;
        Ok(Some(frame))
    }

    /// Sends a reply: [`OK`] and the message's bytes, or [`ERR`] and the failure's text.
    pub(crate) fn reply(&mut self, result: Result<Enc, Failure>) -> Result<(), Failure> {
        let frame = match result {
            Ok(message) => message.finish(),
            Err(failure) => err(&failure),
        };
        self.send(&frame)
            .map_err(|e| Failure::context("replying to the parent", e))
    }
}

/// The length in a frame header, refusing absurd ones (a corrupted stream).
fn frame_len(header: [u8; 4]) -> io::Result<usize> {
    let len = u32::from_le_bytes(header) as usize;
    if len > 1 << 30 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes"),
        ));
    }
    Ok(len)
}

/// A reply that went well, to which the payload is appended.
pub(crate) fn ok() -> Enc {
    Enc::new().u8(OK)
}

/// The frame of a failed reply.
pub(crate) fn err(failure: &Failure) -> Vec<u8> {
    let mut message = Enc::new().u8(ERR);
    message.0.extend_from_slice(failure.to_string().as_bytes());
    message.finish()
}

/// Builds a frame: little-endian fields after a length that [`Enc::finish`] fills in.
#[derive(Debug)]
pub(crate) struct Enc(Vec<u8>);

impl Enc {
    /// An empty message.
    pub(crate) fn new() -> Enc {
        Enc(vec![0; 4])
    }

    pub(crate) fn u8(mut self, v: u8) -> Enc {
        self.0.push(v);
        self
    }

    pub(crate) fn u32(mut self, v: u32) -> Enc {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u64(mut self, v: u64) -> Enc {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(mut self, v: &[u8]) -> Enc {
        self = self.u64(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    /// Several `u64`s, length-prefixed.
    pub(crate) fn u64s(mut self, v: &[u64]) -> Enc {
        self = self.u64(v.len() as u64);
        self.0.reserve(v.len() * 8);
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
        self
    }

    /// The frame's bytes, length included.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

/// Reads the fields of a frame in the order [`Enc`] wrote them.
pub(crate) struct Dec<'a>(&'a [u8]);

impl<'a> Dec<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Dec<'a> {
        Dec(bytes)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Failure> {
        if self.0.len() < n {
            return Err(Failure::new("a malformed message (too short)"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Failure> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Failure> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Failure> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// A `u64` that must fit `usize`.
    pub(crate) fn usize(&mut self) -> Result<usize, Failure> {
        usize::try_from(self.u64()?).map_err(|_| Failure::new("a malformed message (size)"))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Failure> {
        let len = self.usize()?;
        self.take(len)
    }

    pub(crate) fn u64s(&mut self) -> Result<Vec<u64>, Failure> {
        let len = self.usize()?;
        let bytes = self.take(len.checked_mul(8).ok_or_else(|| Failure::new("too long"))?)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect())
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the one clock that every process on the machine shares.
///
/// An [`Instant`] reads the same clock but keeps its value private, so it cannot cross a
/// process boundary; timestamps that travel between processes are these raw values.
pub(crate) fn monotonic_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Nanoseconds in `d`, saturating.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frame = Enc::new()
            .u8(7)
            .u32(9)
            .u64(u64::MAX)
            .bytes(b"abc")
            .u64s(&[1, 2])
            .finish();
        assert_eq!(
            frame_len(frame[..4].try_into().unwrap()).unwrap(),
            frame.len() - 4
        );
        let mut dec = Dec::new(&frame[4..]);
        assert_eq!(dec.u8().unwrap(), 7);
        assert_eq!(dec.u32().unwrap(), 9);
        assert_eq!(dec.u64().unwrap(), u64::MAX);
        assert_eq!(dec.bytes().unwrap(), b"abc");
        assert_eq!(dec.u64s().unwrap(), vec![1, 2]);
        assert!(dec.u8().is_err(), "reading past the end fails");
    }

    #[test]
    fn links_carry_frames_and_see_the_end() {
        let (a_rx, b_tx) = pipe(None).unwrap();
        let (b_rx, a_tx) = pipe(None).unwrap();
        let mut a = Link::new(a_rx, a_tx);
        let mut b = Link::new(b_rx, b_tx);
        a.send(&ok().u64(42).finish()).unwrap();
        let frame = b.recv().unwrap().unwrap();
        assert_eq!(frame[0], OK);
        assert_eq!(Dec::new(&frame[1..]).u64().unwrap(), 42);
        b.reply(Err(Failure::new("nope"))).unwrap();
        assert_eq!(a.recv().unwrap().unwrap(), [&[ERR][..], b"nope"].concat());
        drop(b);
        assert!(a.recv().unwrap().is_none(), "a closed link reads as None");
    }

    #[test]
    fn descriptors_travel_with_the_first_byte() {
        let (parent, child) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let (rx, tx) = pipe(None).unwrap();
        let frame = Enc::new().bytes(b"role").finish();
        send_with_fds(&parent, &frame, &[tx]).unwrap();
        let (role, mut fds) = receive_role(&child).unwrap();
        assert_eq!(Dec::new(&role).bytes().unwrap(), b"role");
        assert_eq!(fds.len(), 1);
        File::from(fds.pop().unwrap()).write_all(b"x").unwrap();
        let mut byte = [0];
        File::from(rx).read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let a = monotonic_ns();
        thread::sleep(Duration::from_millis(2));
        assert!(monotonic_ns() >= a + 2_000_000);
    }
}
