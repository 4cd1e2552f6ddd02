//! The worker's side of a pool: check the parent, take the role, find the part, serve.
//!
//! A worker process is this program re-executed with [`WORKER_ENV`] set (see [`crate::pool`]).
//! Its life is short to tell: it makes sure it dies with its parent (`PR_SET_PDEATHSIG`, then a
//! check that the parent is still the one that started it), receives its
//! [`Role`](crate::role::Role) and descriptors through the [handshake](crate::handshake), builds
//! its [`Link`] to the parent, looks up the [`Part`] that serves its task and variant in the
//! table it is given, and runs it until the parent closes the link. A failure is sent to the parent, which may be waiting for
//! a reply, and the process exits with status 1.
//!
//! It is its own module, and it is handed the table of parts rather than importing the
//! families, so that dependencies run one way: families → pool, role, frame; never back.

use std::ffi::OsStr;
use std::io;
use std::os::fd::AsFd;

use shootout_suite::Failure;

use crate::frame::{Link, err};
use crate::handshake;
use crate::pool::WORKER_ENV;
use crate::role::{self, Part};

/// Becomes a worker serving one of `parts` if this process was started as one, and never
/// returns then; otherwise returns at once.
pub(crate) fn run_if_worker(parts: &[&[Part]]) {
    let Some(parent) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let code = match serve(&parent, parts) {
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

/// The life of a worker process: check the parent, take the role, serve until the link closes.
fn serve(parent: &OsStr, parts: &[&[Part]]) -> Result<(), Failure> {
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
    let handshake::Handover {
        pipes,
        role,
        mut fds,
    } = handshake::receive(&control)?;
    let mut link = if pipes {
        // The handshake checked that there are two.
        let mut link_fds = fds.drain(..2);
        match (link_fds.next(), link_fds.next()) {
            (Some(rx), Some(tx)) => Link::new(rx, tx),
            _ => unreachable!("a pipe link comes with two descriptors"),
        }
    } else {
        Link::new(control.try_clone()?, control)
    };
    let result = role::find(parts, &role).and_then(|serve| serve(&role, &mut link, fds));
    if let Err(failure) = &result {
        // The parent may be waiting for a reply: tell it why there will be none. Once it has
        // the message, saying it again on stderr would only repeat it.
        if link.send(&err(failure)).is_ok() {
            std::process::exit(1);
        }
    }
    result
}
