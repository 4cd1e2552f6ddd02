//! The handshake: a worker's role and descriptors, handed over `SCM_RIGHTS` on its stdin.
//!
//! A worker's stdin is one end of a Unix stream socket pair; its stdout is `/dev/null` (libtest
//! prints there) and its stderr is the parent's. The first thing on the socket is one frame –
//! how the worker will talk to its parent (a pair of pipes, or this socket), how many
//! descriptors came with it, and its [`Role`] – with every file descriptor the job needs
//! attached to the first byte as `SCM_RIGHTS` ancillary data: the pipes of its link to the
//! parent, a `memfd` to map, the end of a queue. Passing descriptors explicitly means nothing is
//! inherited by accident: every descriptor in the parent is close-on-exec, so a pipe never leaks
//! into a sibling started by another thread at the same moment (a leaked write end would hide a
//! worker's death from the reader forever).
//!
//! It is its own module because it is the one place that touches ancillary data, and both sides
//! of it – the pool's send and the worker's receive – are tested together here.

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use shootout_suite::Failure;

use crate::frame::{Dec, Enc, frame_len};
use crate::role::Role;

/// The most file descriptors one role hands a worker.
pub(crate) const MAX_FDS: usize = 4;

/// What a worker receives: its role, whether its link is a pair of pipes (the first two
/// descriptors) or the socket itself, and its descriptors.
pub(crate) struct Handover {
    /// Whether the first two descriptors are the link's pipes (to read, to write).
    pub(crate) pipes: bool,
    /// What the worker is to be.
    pub(crate) role: Role,
    /// Every descriptor that came with the role, in the order the parent attached them.
    pub(crate) fds: Vec<OwnedFd>,
}

/// Sends a worker its role on `socket`, with `fds` attached (the link's two pipes first if
/// `pipes`).
pub(crate) fn send(socket: &OwnedFd, pipes: bool, role: &Role, fds: &[OwnedFd]) -> io::Result<()> {
    assert!(fds.len() <= MAX_FDS, "a role hands at most {MAX_FDS} fds");
    let head = Enc::new().u8(u8::from(pipes)).u8(fds.len() as u8);
    send_with_fds(socket, &role.encode(head).finish(), fds)
}

/// Receives the role on the worker's control socket, checking that every descriptor it
/// announces came with it.
pub(crate) fn receive(control: &OwnedFd) -> Result<Handover, Failure> {
    let (frame, fds) = receive_with_fds(control)?;
    let mut message = Dec::new(&frame);
    let pipes = message.u8()? == 1;
    let count = usize::from(message.u8()?);
    if fds.len() != count {
        return Err(Failure::new(format!(
            "expected {count} descriptors with the role, got {}",
            fds.len()
        )));
    }
    if pipes && count < 2 {
        return Err(Failure::new("a pipe link needs two descriptors"));
    }
    let role = Role::decode(&mut message)?;
    message.end()?;
    Ok(Handover { pipes, role, fds })
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

/// Reads one frame from the control socket, with the descriptors attached to it.
fn receive_with_fds(control: &OwnedFd) -> Result<(Vec<u8>, Vec<OwnedFd>), Failure> {
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
    let mut frame = vec![0; len];
    socket.read_exact(&mut frame).map_err(broken)?;
    Ok((frame, fds))
}

#[cfg(test)]
mod tests {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    use rustix::pipe::{PipeFlags, pipe_with};
    use shootout_suite::{Profile, Task, TaskId};

    use super::*;

    /// A connected pair of stream sockets, as between a pool and a worker.
    fn socket_pair() -> (OwnedFd, OwnedFd) {
        rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap()
    }

    #[test]
    fn descriptors_travel_with_the_role() {
        let (parent, child) = socket_pair();
        let (rx, tx) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        let role = Role {
            task: Task::new(TaskId::Lock, Profile::Smoke),
            variant: "futex".into(),
            index: 1,
            count: 3,
            server: None,
        };
        send(&parent, false, &role, &[tx]).unwrap();
        let mut handover = receive(&child).unwrap();
        assert!(!handover.pipes);
        assert_eq!(handover.role, role);
        assert_eq!(handover.fds.len(), 1);
        File::from(handover.fds.pop().unwrap())
            .write_all(b"x")
            .unwrap();
        let mut byte = [0];
        File::from(rx).read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    #[test]
    fn a_role_missing_its_descriptors_is_refused() {
        let (parent, child) = socket_pair();
        // Announces two descriptors and attaches none.
        send_with_fds(&parent, &Enc::new().u8(1).u8(2).finish(), &[]).unwrap();
        let failure = receive(&child).err().unwrap().to_string();
        assert_eq!(failure, "expected 2 descriptors with the role, got 0");
    }
}
