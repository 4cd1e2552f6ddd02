//! The one place the harness names backends. Adding a backend is adding a line here.

use shootout_suite::Backend;

/// Every backend, in the order tables list them. `sequential` comes first: it is the baseline.
pub fn backends() -> &'static [&'static dyn Backend] {
    &[
        &shootout_suite::sequential::Sequential,
        &shootout_threads::Threads,
        &shootout_rayon::Rayon,
        &shootout_processes::Processes,
        &shootout_tokio::Tokio,
        &shootout_async_std::AsyncStd,
        &shootout_smol::Smol,
    ]
}

/// The backend called `name`.
pub fn find(name: &str) -> Option<&'static dyn Backend> {
    backends().iter().copied().find(|b| b.name() == name)
}

/// The name of the baseline backend that speedups divide by.
pub const BASELINE: &str = "sequential";

/// The source file holding `backend`'s implementation of `family`, relative to the workspace.
pub fn source_file(backend: &str, family: shootout_suite::Family) -> String {
    if backend == BASELINE {
        "crates/suite/src/sequential.rs".to_string()
    } else {
        format!("crates/{backend}/src/{}.rs", family.name())
    }
}
