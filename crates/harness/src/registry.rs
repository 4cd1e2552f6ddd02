//! The one place the harness names backends. Adding a backend is adding a line here.

use shootout_suite::{Backend, Form, Profile, Support, Task, TaskId, Variant, Workers};

/// Every backend, in the order tables list them. `sequential` comes first: it is the baseline.
pub fn backends() -> &'static [&'static Backend] {
    &BACKENDS
}

static BACKENDS: [&Backend; 9] = [
    &shootout_suite::sequential::BACKEND,
    &shootout_threads::BACKEND,
    &shootout_rayon::BACKEND,
    &shootout_processes::BACKEND,
    &shootout_tokio::BACKEND,
    &shootout_async_std::BACKEND,
    &shootout_smol::BACKEND,
    &shootout_compio::BACKEND,
    &shootout_may::BACKEND,
];

/// The backend called `name`.
pub fn find(name: &str) -> Option<&'static Backend> {
    backends().iter().copied().find(|b| b.name == name)
}

/// The declaration of `backend`'s `variant` of `task`, if it is still declared.
pub fn variant_of(backend: &str, task: &str, variant: &str) -> Option<&'static Variant> {
    TaskId::parse(task)
        .zip(find(backend))
        .and_then(|(task, backend)| backend.variant(task, variant))
}

/// The form `backend` declares its `variant` of `task` with – natural for a variant no backend
/// declares any more, so that no record is hidden.
pub fn form_of(backend: &str, task: &str, variant: &str) -> Form {
    variant_of(backend, task, variant).map_or(Form::Natural, |v| v.form)
}

/// Whether the cell is the same whatever W is (measured at one W, shown at every W as
/// `(any W)`): a variant that ignores W or fixes its own count, on a task that leaves W free.
pub fn any_workers(backend: &str, task: &str, variant: &str) -> bool {
    TaskId::parse(task)
        .zip(variant_of(backend, task, variant))
        .is_some_and(|(task, v)| v.any_workers(task))
}

/// Whether `efficiency = speedup / W` means anything for a cell: W threads (or processes) did
/// the work – a variant that uses W, or any variant but a one-thread one at the W its task
/// fixes (`fixed`).
pub fn efficiency_applies(
    backend: &str,
    task: &str,
    variant: &str,
    workers: usize,
    fixed: Option<usize>,
) -> bool {
    match (variant_of(backend, task, variant).map(|v| v.workers), fixed) {
        (None, None) => true,
        (Some(Workers::Ignored), _) => false,
        (_, Some(fixed)) => workers == fixed,
        (Some(w), None) => w == Workers::Exact,
    }
}

/// The name of the baseline backend that speedups divide by.
pub const BASELINE: &str = shootout_suite::sequential::NAME;

/// Backends whose task code is written once in a crate they share, their own files holding
/// only what their runtime does differently: `(backend, crate)`.
const SHARED_TASK_CODE: [(&str, &str); 2] =
    [("async-std", "async-common"), ("smol", "async-common")];

/// Tasks whose code a backend keeps in a leaf module of its own rather than in the family
/// file: `(backend, task, file)`.
const TASK_FILES: [(&str, TaskId, &str); 3] = [
    ("tokio", TaskId::Event, "crates/tokio/src/wake.rs"),
    ("tokio", TaskId::Condition, "crates/tokio/src/wake.rs"),
    (
        "processes",
        TaskId::Condition,
        "crates/processes/src/condition.rs",
    ),
];

/// The source file holding `backend`'s implementation of `task`, relative to the workspace:
/// where a reader finds the task's code.
pub fn source_file(backend: &str, task: TaskId) -> String {
    if backend == BASELINE {
        return "crates/suite/src/sequential.rs".to_string();
    }
    if let Some((_, _, file)) = TASK_FILES
        .iter()
        .find(|(b, t, _)| *b == backend && *t == task)
    {
        return (*file).to_string();
    }
    let family = task.family();
    let krate = SHARED_TASK_CODE
        .iter()
        .find(|(b, _)| *b == backend)
        .map_or(backend, |(_, shared)| shared);
    format!("crates/{krate}/src/{}.rs", family.name())
}

/// What `shootout list` prints: every task with its parameters under each profile (or `only`
/// that one), its headline figure and what W means to it; every backend's variants with their
/// form and worker semantics; and every `n/a` with its reason.
pub fn listing(only: Option<Profile>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let profiles: Vec<Profile> = only.map_or(Profile::ALL.to_vec(), |p| vec![p]);
    let _ = writeln!(
        out,
        "TASKS (parameters per profile: {})",
        profiles
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(" / ")
    );
    for id in TaskId::ALL {
        let spec = id.spec();
        let _ = writeln!(out, "  {:<18} {}", id.name(), spec.about);
        let _ = writeln!(
            out,
            "      headline: {}; W: {}",
            spec.headline_words(),
            spec.workers
        );
        let tasks: Vec<Task> = profiles.iter().map(|&p| Task::new(id, p)).collect();
        for &name in tasks[0].param_names() {
            let values: Vec<String> = tasks
                .iter()
                .map(|t| t.get(name).unwrap_or(0).to_string())
                .collect();
            let _ = writeln!(out, "      {:<14} {}", name, values.join(" / "));
        }
    }
    let _ = writeln!(
        out,
        "\nBACKENDS AND VARIANTS (form: natural = the model's own idiom, hybrid = hands the work \
         to another model, restructured = another algorithm or a constraint the model lacks; W: what \
         the worker count means)"
    );
    let mut not_applicable = Vec::new();
    for backend in backends() {
        let _ = writeln!(out, "  {:<18} {}", backend.name, backend.about);
        for id in TaskId::ALL {
            match backend.support(id) {
                Support::Variants(variants) => {
                    for v in variants {
                        let _ = writeln!(
                            out,
                            "      {:<16} {:<22} {}\n      {:<16} {:<22} [{}; W: {}]",
                            id.name(),
                            v.name,
                            v.about,
                            "",
                            "",
                            v.form.name(),
                            v.workers.describe()
                        );
                    }
                }
                Support::NotApplicable(reason) => {
                    not_applicable.push(format!("  {} on {}: {reason}", id.name(), backend.name))
                }
            }
        }
    }
    let _ = writeln!(out, "\nNOT APPLICABLE\n{}", not_applicable.join("\n"));
    out
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
            for task in TaskId::ALL {
                let file = source_file(backend.name, task);
                assert!(
                    std::path::Path::new(root).join(&file).is_file(),
                    "{} {task}: {file} is missing",
                    backend.name,
                );
            }
        }
        assert_eq!(
            source_file("smol", TaskId::Mergesort),
            "crates/async-common/src/dnc.rs"
        );
        assert_eq!(
            source_file("tokio", TaskId::Event),
            "crates/tokio/src/wake.rs"
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
