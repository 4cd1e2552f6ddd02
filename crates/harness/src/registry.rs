//! The one place the harness names backends. Adding a backend is adding a line here.

use shootout_suite::Backend;

/// Every backend, in the order tables list them. `sequential` comes first: it is the baseline.
pub fn backends() -> &'static [&'static Backend] {
    &BACKENDS
}

static BACKENDS: [&Backend; 7] = [
    &shootout_suite::sequential::BACKEND,
    &shootout_threads::BACKEND,
    &shootout_rayon::BACKEND,
    &shootout_processes::BACKEND,
    &shootout_tokio::BACKEND,
    &shootout_async_std::BACKEND,
    &shootout_smol::BACKEND,
];

/// The backend called `name`.
pub fn find(name: &str) -> Option<&'static Backend> {
    backends().iter().copied().find(|b| b.name == name)
}

/// The form `backend` declares its `variant` of `task` with – natural for a variant no backend
/// declares any more, so that no record is hidden.
pub fn form_of(backend: &str, task: &str, variant: &str) -> shootout_suite::Form {
    shootout_suite::TaskId::parse(task)
        .zip(find(backend))
        .and_then(|(task, backend)| {
            backend
                .support(task)
                .variants()
                .iter()
                .find(|v| v.name == variant)
                .map(|v| v.form)
        })
        .unwrap_or(shootout_suite::Form::Natural)
}

/// The name of the baseline backend that speedups divide by.
pub const BASELINE: &str = shootout_suite::sequential::NAME;

/// Backends whose task code is written once in a crate they share, their own files holding
/// only what their runtime does differently: `(backend, crate)`.
const SHARED_TASK_CODE: [(&str, &str); 2] =
    [("async-std", "async-common"), ("smol", "async-common")];

/// The source file holding `backend`'s implementation of `family`, relative to the workspace:
/// where a reader finds the task's code.
pub fn source_file(backend: &str, family: shootout_suite::Family) -> String {
    if backend == BASELINE {
        return "crates/suite/src/sequential.rs".to_string();
    }
    let krate = SHARED_TASK_CODE
        .iter()
        .find(|(b, _)| *b == backend)
        .map_or(backend, |(_, shared)| shared);
    format!("crates/{krate}/src/{}.rs", family.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declaration_covers_every_task_once() {
        for backend in backends() {
            backend.check().unwrap();
        }
    }

    #[test]
    fn every_source_file_exists() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        for backend in backends() {
            for family in shootout_suite::Family::ALL {
                let file = source_file(backend.name, family);
                assert!(
                    std::path::Path::new(root).join(&file).is_file(),
                    "{} {}: {file} is missing",
                    backend.name,
                    family.name()
                );
            }
        }
        assert_eq!(
            source_file("smol", shootout_suite::Family::ALL[0]),
            "crates/async-common/src/dnc.rs"
        );
    }

    #[test]
    fn names_are_unique_and_the_baseline_comes_first() {
        let names: Vec<&str> = backends().iter().map(|b| b.name).collect();
        assert_eq!(names[0], BASELINE);
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} registered twice");
            assert_eq!(find(name).map(|b| b.name), Some(*name));
        }
    }
}
