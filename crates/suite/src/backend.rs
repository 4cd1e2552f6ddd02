//! The contract between the harness and a backend.
//!
//! The harness knows no backend by name: it reads each registered [`Backend`]'s declaration
//! (its [`Variant`]s and what it does not run), builds a cell with [`Backend::setup`] (untimed:
//! runtimes, pools and connections are made here), then calls the returned [`Runner`] once per
//! repetition and times only that call.

use std::net::SocketAddr;

pub use crate::outcome::{Answer, Failure, Input, Outcome};
use crate::task::{Task, TaskId};

/// A concurrency model: one crate of the workspace, declared as data.
///
/// Each backend crate has one `pub static BACKEND: Backend` listing every variant once – its
/// name, when to choose it, the tasks it runs, its form, how it uses the worker count, and the
/// function that sets it up – and the tasks it does not run, each with its reason. The CLI's
/// `list`, the plan, the reports, the benches and the conformance tests all read this one
/// declaration.
#[derive(Debug)]
pub struct Backend {
    /// The backend's name on the command line and in the tables (`threads`, `rayon`, …).
    pub name: &'static str,
    /// What the backend shows, in one line.
    pub about: &'static str,
    /// Every variant, in the order tables list them.
    pub variants: &'static [Variant],
    /// The tasks the backend does not run, and why.
    pub not_applicable: &'static [NotApplicable],
}

/// The tasks a backend does not run, with the reason it gives.
#[derive(Clone, Copy, Debug)]
pub struct NotApplicable {
    /// Which tasks.
    pub tasks: &'static [TaskId],
    /// Why not, in one line.
    pub reason: &'static str,
}

impl Backend {
    /// The variants this backend offers for `task`, or why it does not run it.
    pub fn support(&self, task: TaskId) -> Support {
        if let Some(na) = self
            .not_applicable
            .iter()
            .find(|na| na.tasks.contains(&task))
        {
            return Support::NotApplicable(na.reason);
        }
        Support::Variants(
            self.variants
                .iter()
                .filter(|v| v.tasks.contains(&task))
                .collect(),
        )
    }

    /// The variant called `name` for `task`, if offered.
    pub fn variant(&self, task: TaskId, name: &str) -> Option<&'static Variant> {
        self.variants
            .iter()
            .find(|v| v.name == name && v.tasks.contains(&task))
    }

    /// Prepares `cell` for measurement; everything done here is reported as setup time.
    pub fn setup(&self, cell: &Cell) -> Result<Runner, Failure> {
        if cell.workers == 0 {
            return Err(Failure::new("workers must be at least 1"));
        }
        let variant = self
            .variant(cell.task.id(), &cell.variant)
            .ok_or_else(|| cell.unsupported())?;
        (variant.setup)(cell)
    }

    /// Checks the declaration itself: every task is either run (in at least one variant) or
    /// declared not applicable, never both, and no two variants of a task share a name.
    pub fn check(&self) -> Result<(), String> {
        for task in TaskId::ALL {
            let names: Vec<&str> = self
                .variants
                .iter()
                .filter(|v| v.tasks.contains(&task))
                .map(|v| v.name)
                .collect();
            let na = self
                .not_applicable
                .iter()
                .filter(|na| na.tasks.contains(&task))
                .count();
            match (names.len(), na) {
                (0, 0) => return Err(format!("{}: {task} is neither run nor n/a", self.name)),
                (0, 1) => {}
                (_, 0) => {}
                _ => return Err(format!("{}: {task} is declared more than once", self.name)),
            }
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    return Err(format!("{}: {task} has two variants `{name}`", self.name));
                }
            }
        }
        Ok(())
    }
}

/// The timed part of a cell: called once per repetition with a fresh input.
pub type Runner = Box<dyn FnMut(Input) -> Result<Outcome, Failure>>;

/// Builds a cell's [`Runner`]: a variant's setup, untimed.
pub type Setup = fn(&Cell) -> Result<Runner, Failure>;

/// Wraps a closure as a [`Runner`].
pub fn runner(
    f: impl FnMut(Input) -> Result<Outcome, Failure> + 'static,
) -> Result<Runner, Failure> {
    Ok(Box::new(f))
}

/// One way a backend runs one or more tasks, named for the idiom it shows.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    /// The name on the command line (`scope`, `crossbeam`, `par-sort`, …).
    pub name: &'static str,
    /// When a practitioner would choose this idiom, in one line.
    pub about: &'static str,
    /// The tasks it runs.
    pub tasks: &'static [TaskId],
    /// Whether it is the model's own idiom, another model's, or another algorithm.
    pub form: Form,
    /// What the cell's worker count means to it.
    pub workers: Workers,
    /// Builds its runner for one cell (the harness only calls it for a task in `tasks`).
    pub setup: Setup,
}

impl Variant {
    /// The worker counts, of the `requested` ones, that a cell of `task` on this variant is
    /// measured at: the task's own count where it fixes one (every model then runs the same
    /// problem), one for a variant that ignores W, the largest requested for a variant that
    /// fixes its own count (measured once, shown as the same row at any W), else every one.
    pub fn measured_workers(&self, task: &Task, requested: &[usize]) -> Vec<usize> {
        match (task.fixed_workers(), self.workers) {
            (Some(fixed), _) => vec![fixed],
            (None, Workers::Ignored) => vec![1],
            (None, Workers::Own(_)) => requested.iter().max().into_iter().copied().collect(),
            (None, Workers::Exact) => requested.to_vec(),
        }
    }

    /// Whether a cell of `task` on this variant is the same whatever W is asked for: measured
    /// at one W, and shown as one row at every W.
    pub fn any_workers(&self, task: TaskId) -> bool {
        self.workers != Workers::Exact && !task.fixes_workers()
    }
}

/// What a variant shows about its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// The model's own idiom: what the model's result means.
    Natural,
    /// Hands the work to another model (tokio's rayon bridge): a useful combination, not the
    /// model on its own.
    Hybrid,
    /// Changes the algorithm, designs the contention away (a lock-free version of the lock
    /// task, a reduce, a different sort) or adds a constraint the model does not have (the GIL
    /// experiment's global lock): a useful contrast, not the model's own result.
    Restructured,
}

impl Form {
    /// The form's name in `shootout list` and the reports.
    pub fn name(self) -> &'static str {
        match self {
            Form::Natural => "natural",
            Form::Hybrid => "hybrid",
            Form::Restructured => "restructured",
        }
    }
}

/// What the cell's worker count W means to a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workers {
    /// W OS threads (or processes) do the work.
    Exact,
    /// The idiom fixes its own count whatever W is: says which (P + C threads, a thread per
    /// connection, two parties).
    Own(&'static str),
    /// One thread whatever W is (the baseline, current-thread runtimes).
    Ignored,
}

impl Workers {
    /// A short description for `shootout list`.
    pub fn describe(self) -> String {
        match self {
            Workers::Exact => "uses W".into(),
            Workers::Own(what) => format!("{what}, whatever W is"),
            Workers::Ignored => "one thread, ignores W".into(),
        }
    }
}

/// Whether a backend runs a task.
#[derive(Clone, Debug)]
pub enum Support {
    /// It does, in these variants (never empty).
    Variants(Vec<&'static Variant>),
    /// It does not, for this reason.
    NotApplicable(&'static str),
}

impl Support {
    /// The variants offered (none if not applicable).
    pub fn variants(&self) -> &[&'static Variant] {
        match self {
            Support::Variants(v) => v,
            Support::NotApplicable(_) => &[],
        }
    }
}

/// Everything a backend needs to set up one measurement cell.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The task and its parameters.
    pub task: Task,
    /// Which of the backend's variants.
    pub variant: String,
    /// How many OS threads (or processes) do the work: the same meaning for every backend.
    pub workers: usize,
    /// The loopback server's address, for fan-out tasks.
    pub server: Option<SocketAddr>,
}

impl Cell {
    /// The server address, or a failure naming the missing piece.
    pub fn server(&self) -> Result<SocketAddr, Failure> {
        self.server.ok_or_else(|| {
            Failure::new(format!(
                "{} needs a loopback server address",
                self.task.id()
            ))
        })
    }

    /// The parameters of the cell's task as `P` (`let p: Fib = cell.params()?`), or
    /// [`Cell::unsupported`] if the cell runs another task.
    pub fn params<P: TryFrom<Task>>(&self) -> Result<P, Failure> {
        P::try_from(self.task).map_err(|_| self.unsupported())
    }

    /// The failure for a `(task, variant)` pair that was not declared: the harness never asks
    /// for one, so a variant's setup returns this for the tasks outside its `tasks`.
    pub fn unsupported(&self) -> Failure {
        Failure::new(format!(
            "no variant `{}` for {}",
            self.variant,
            self.task.id()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;
    use crate::sequential::BACKEND;

    fn cell(id: TaskId, variant: &str, workers: usize) -> Cell {
        Cell {
            task: Task::new(id, Profile::Smoke),
            variant: variant.into(),
            workers,
            server: None,
        }
    }

    #[test]
    fn setup_refuses_what_was_not_declared() {
        let err = |c: Cell| BACKEND.setup(&c).err().map(|e| e.to_string());
        assert_eq!(
            err(cell(TaskId::Fib, "nope", 1)).as_deref(),
            Some("no variant `nope` for dnc/fib")
        );
        // `inline` is declared for the pipeline only.
        assert!(err(cell(TaskId::Fib, "inline", 1)).is_some());
        assert_eq!(
            err(cell(TaskId::Fib, "reference", 0)).as_deref(),
            Some("workers must be at least 1")
        );
        assert!(err(cell(TaskId::Fib, "reference", 1)).is_none());
    }

    #[test]
    fn support_reads_the_declaration() {
        assert!(matches!(
            BACKEND.support(TaskId::Event),
            Support::NotApplicable(_)
        ));
        let names: Vec<&str> = BACKEND
            .support(TaskId::Bounded)
            .variants()
            .iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(names, ["inline"]);
        BACKEND.check().unwrap();
    }

    #[test]
    fn check_refuses_an_incomplete_or_doubled_declaration() {
        static NONE: Backend = Backend {
            name: "none",
            about: "runs nothing",
            variants: &[],
            not_applicable: &[],
        };
        assert!(NONE.check().unwrap_err().contains("neither run nor n/a"));
        static TWICE: Backend = Backend {
            name: "twice",
            about: "declares fib twice",
            variants: &[],
            not_applicable: &[
                NotApplicable {
                    tasks: &TaskId::ALL,
                    reason: "all",
                },
                NotApplicable {
                    tasks: &[TaskId::Fib],
                    reason: "again",
                },
            ],
        };
        assert!(TWICE.check().unwrap_err().contains("more than once"));
    }
}
