//! The task suite: what every backend computes, and how the answer is checked.
//!
//! A benchmark across concurrency models is only fair if every model solves exactly the same
//! problem and is checked against the same answer. This crate defines the problems and nothing
//! else: task parameters with defaults per [`Profile`], inputs from a seeded generator
//! ([`rng::SplitMix64`]), the sequential kernels the backends share ([`dnc`], [`pipeline`],
//! [`fanout`]), a reference checksum per task, and the [`Backend`] declaration through which
//! the harness drives every model. It depends on no runtime.
//!
//! # Examples
//!
//! ```
//! use shootout_suite::{Cell, Profile, Task, TaskId, sequential};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "reference".into(), workers: 1, server: None };
//! let mut run = sequential::BACKEND.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```

pub mod backend;
pub mod dnc;
pub mod fanout;
mod outcome;
pub mod percore;
pub mod pipeline;
pub mod region;
pub mod rng;
pub mod sequential;
pub mod sync;
mod tally;
pub mod task;
pub mod time;
pub mod wake;

pub use backend::{
    Answer, Backend, Cell, Failure, Form, Input, NotApplicable, Outcome, Runner, Setup, Support,
    Variant, Workers, runner,
};
pub use outcome::Collected;
pub use tally::Tally;
pub use task::{Family, Metric, Profile, Spec, Task, TaskId};
