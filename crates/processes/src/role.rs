//! The role message: what a worker is told to be, the same for every variant.
//!
//! A worker needs what its parent's setup had – the cell's task with its parameters, the
//! variant, and where the loopback server is – plus which worker of the pool it is and how many
//! there are. A [`Role`] is exactly that, and it travels as one generic message: the task's short
//! name, its parameters by name (the worker rebuilds the [`Task`] with [`Task::new`] and
//! [`Task::set`], as the harness's `cell` command does), the variant's name, the worker's index,
//! the pool's size and the server's address. The worker then looks its [`Part`] up by task and
//! variant, in the table that each family declares next to its variants, and everything else it
//! derives from the task as the parent did. No family writes a codec of its own, and no number is
//! ever hand-assigned to a job.
//!
//! It is a module of its own because the pool sends it, the worker loop reads it and every
//! family declares its parts with it, while it depends on none of them: only on the framing.
//! The message is sent once per worker in setup, before any repetition is timed (except for
//! `spawn-per-task`, whose processes start inside the repetition by design).

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use shootout_suite::{Cell, Failure, Profile, Task, TaskId};

use crate::frame::{Dec, Enc, Link};

/// What one worker is told to be: its cell (task, variant, server), its index and the pool's
/// size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Role {
    /// The task with the parameters the cell was set up with.
    pub(crate) task: Task,
    /// The variant's name.
    pub(crate) variant: String,
    /// Which worker of the pool this is, from 0.
    pub(crate) index: usize,
    /// How many workers the pool has (the variant's, not always the cell's W).
    pub(crate) count: usize,
    /// The loopback server, for the fan-out tasks.
    pub(crate) server: Option<SocketAddr>,
}

impl Role {
    /// The role of worker `index` of `count` in a pool set up for `cell`.
    pub(crate) fn of(cell: &Cell, index: usize, count: usize) -> Role {
        Role {
            task: cell.task,
            variant: cell.variant.clone(),
            index,
            count,
            server: cell.server,
        }
    }

    /// A pool's name in its failures: `task-variant`.
    pub(crate) fn pool_name(&self) -> String {
        format!("{}-{}", self.task.id().short(), self.variant)
    }

    /// Appends the role to `message`.
    pub(crate) fn encode(&self, message: Enc) -> Enc {
        let params = self.task.params();
        let mut message = message
            .bytes(self.task.id().short().as_bytes())
            .u64(params.len() as u64);
        for (name, value) in params {
            message = message.bytes(name.as_bytes()).u64(value);
        }
        let server = self.server.map(|a| a.to_string()).unwrap_or_default();
        message
            .bytes(self.variant.as_bytes())
            .u64(self.index as u64)
            .u64(self.count as u64)
            .bytes(server.as_bytes())
    }

    /// Reads a role that [`Role::encode`] wrote; a malformed one is a failure, never a panic.
    pub(crate) fn decode(message: &mut Dec<'_>) -> Result<Role, Failure> {
        let malformed = |what: String| Failure::new(format!("a malformed role: {what}"));
        let name = message.str()?;
        let id = TaskId::parse(name).ok_or_else(|| malformed(format!("no task `{name}`")))?;
        let mut task = Task::new(id, Profile::Smoke);
        let count = message.usize()?;
        if count != task.param_names().len() {
            return Err(malformed(format!("{count} parameters for {id}")));
        }
        let mut seen = Vec::with_capacity(count);
        for _ in 0..count {
            let name = message.str()?;
            let value = message.u64()?;
            if seen.contains(&name) {
                return Err(malformed(format!("`{name}` given twice")));
            }
            task.set(name, value).map_err(malformed)?;
            seen.push(name);
        }
        let variant = message.str()?.to_owned();
        let index = message.usize()?;
        let count = message.usize()?;
        if index >= count {
            return Err(malformed(format!("worker {index} of {count}")));
        }
        let server = match message.str()? {
            "" => None,
            addr => Some(
                addr.parse()
                    .map_err(|_| malformed(format!("server address `{addr}`")))?,
            ),
        };
        Ok(Role {
            task,
            variant,
            index,
            count,
            server,
        })
    }

    /// The server address, or a failure if the parent gave none.
    pub(crate) fn server(&self) -> Result<SocketAddr, Failure> {
        self.server
            .ok_or_else(|| Failure::new("a fan-out role without a server address"))
    }

    /// The failure for a role whose task this part does not serve (the table never sends one).
    pub(crate) fn unexpected(&self) -> Failure {
        Failure::new(format!(
            "no worker for {} `{}`",
            self.task.id(),
            self.variant
        ))
    }
}

/// Serves a worker: its setup, then its repetitions until the parent closes the link; it gets
/// the descriptors that came with the role, in the order the parent attached them (after the
/// link's own pipes).
pub(crate) type Serve = fn(&Role, &mut Link, Vec<OwnedFd>) -> Result<(), Failure>;

/// The worker's side of one or more variants: the tasks and variant names it serves, and how.
///
/// Each family declares its parts next to its variants; a worker looks its role up in them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Part {
    /// The tasks.
    pub(crate) tasks: &'static [TaskId],
    /// The variants, by name.
    pub(crate) variants: &'static [&'static str],
    /// The worker's side.
    pub(crate) serve: Serve,
}

impl Part {
    /// Whether this part serves `task`'s variant `variant`.
    pub(crate) fn serves(&self, task: TaskId, variant: &str) -> bool {
        self.tasks.contains(&task) && self.variants.contains(&variant)
    }
}

/// The one part among `parts` that serves `role`.
pub(crate) fn find(parts: &[&[Part]], role: &Role) -> Result<Serve, Failure> {
    parts
        .iter()
        .flat_map(|family| family.iter())
        .find(|part| part.serves(role.task.id(), &role.variant))
        .map(|part| part.serve)
        .ok_or_else(|| role.unexpected())
}

#[cfg(test)]
mod tests {
    use shootout_suite::task::{Bounded, Crawl};

    use super::*;

    fn round_trip(role: &Role) -> Result<Role, Failure> {
        let frame = role.encode(Enc::new()).finish();
        let mut dec = Dec::new(&frame[4..]);
        let back = Role::decode(&mut dec)?;
        dec.end()?;
        Ok(back)
    }

    #[test]
    fn roles_round_trip() {
        let bounded = Task::Bounded(Bounded {
            producers: 3,
            consumers: 2,
            capacity: 5,
            items: 1 << 40,
            work: 7,
        });
        let crawl = Task::Crawl(Crawl {
            rate: 250,
            ..Crawl::profile(Profile::Full)
        });
        for (task, server) in [
            (bounded, None),
            (crawl, Some("127.0.0.1:4321".parse().unwrap())),
        ] {
            for id in TaskId::ALL {
                let task = if id == task.id() {
                    task
                } else {
                    Task::new(id, Profile::Quick)
                };
                let role = Role {
                    task,
                    variant: "spawn-per-task".into(),
                    index: 4,
                    count: 5,
                    server,
                };
                assert_eq!(round_trip(&role).unwrap(), role, "{id}");
            }
        }
    }

    #[test]
    fn malformed_roles_are_failures() {
        let role = Role {
            task: Task::new(TaskId::Fib, Profile::Smoke),
            variant: "pipe".into(),
            index: 0,
            count: 2,
            server: None,
        };
        let frame = role.encode(Enc::new()).finish();
        // Every truncation fails, never panics.
        for len in 4..frame.len() {
            assert!(
                Role::decode(&mut Dec::new(&frame[4..len])).is_err(),
                "{len}"
            );
        }
        let bad = |message: Enc| Role::decode(&mut Dec::new(&message.finish()[4..])).is_err();
        assert!(bad(Enc::new().bytes(b"no-such-task")));
        assert!(bad(Enc::new().bytes(b"fib").u64(1)), "too few parameters");
        let twice = Enc::new().bytes(b"fib").u64(2);
        assert!(bad(twice.bytes(b"n").u64(3).bytes(b"n").u64(4)));
        let unknown = Enc::new().bytes(b"fib").u64(2);
        assert!(bad(unknown.bytes(b"n").u64(3).bytes(b"x").u64(4)));
        let out_of_range = Enc::new().bytes(b"fib").u64(2);
        assert!(bad(out_of_range
            .bytes(b"n")
            .u64(1 << 40)
            .bytes(b"grain")
            .u64(4)));
        let index = Role { index: 2, ..role };
        assert!(round_trip(&index).is_err(), "worker 2 of 2");
    }

    #[test]
    fn parts_are_found_by_task_and_variant() {
        fn serve(_: &Role, _: &mut Link, _: Vec<OwnedFd>) -> Result<(), Failure> {
            Ok(())
        }
        const PARTS: &[Part] = &[Part {
            tasks: &[TaskId::Fib, TaskId::Nqueens],
            variants: &["pipe"],
            serve,
        }];
        let mut role = Role {
            task: Task::new(TaskId::Nqueens, Profile::Smoke),
            variant: "pipe".into(),
            index: 0,
            count: 1,
            server: None,
        };
        assert!(find(&[PARTS], &role).is_ok());
        role.variant = "shm".into();
        let failure = find(&[PARTS], &role).err().unwrap().to_string();
        assert_eq!(failure, "no worker for dnc/nqueens `shm`");
    }
}
