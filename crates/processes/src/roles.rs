//! Every variant's worker side, wired: the one table a worker process looks its role up in, and
//! the crate's entry point for worker processes.
//!
//! Each family declares its parts (the worker side of its variants) next to the variants
//! themselves; this module only lists the families, and hands the list to the worker loop in
//! [`crate::worker`], which imports no family. So dependencies run one way – this module →
//! families → pool, role, frame – and adding a variant touches its family's file and the
//! `BACKEND` declaration, not this one.

use crate::role::Part;
use crate::{condition, dnc, fanout, pipeline, sync, worker};

/// The worker side of every variant, family by family.
pub(crate) const PARTS: &[&[Part]] = &[
    dnc::PARTS,
    fanout::PARTS,
    pipeline::PARTS,
    sync::PARTS,
    condition::PARTS,
];

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
    worker::run_if_worker(PARTS);
}
