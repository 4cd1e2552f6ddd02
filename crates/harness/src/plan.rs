//! Turning command-line choices into the list of cells to run, and refusing bad ones early.
//!
//! Everything that can be wrong with a request – an unknown name, a parameter out of range,
//! more sockets than the open-file limit, more memory than the machine has – is found here,
//! before a single cell starts. The caller turns an error into exit code 2.

use shootout_suite::{Profile, Support, Task, TaskId};

use crate::fingerprint;
use crate::registry;

/// One cell to run: a task with parameters on a backend variant with a worker count.
#[derive(Clone, Debug)]
pub struct PlannedCell {
    /// Task and parameters.
    pub task: Task,
    /// Backend name.
    pub backend: &'static str,
    /// Variant name.
    pub variant: &'static str,
    /// Worker count.
    pub workers: usize,
}

impl PlannedCell {
    /// The cell's identity in records and tables.
    pub fn key(&self) -> String {
        format!(
            "{} | {}/{} | workers={}",
            self.task, self.backend, self.variant, self.workers
        )
    }
}

/// A backend that does not run a task, and why.
#[derive(Clone, Debug)]
pub struct NotApplicable {
    /// The task.
    pub task: TaskId,
    /// The backend.
    pub backend: &'static str,
    /// Why not.
    pub reason: &'static str,
}

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Task names or family names; empty means all.
    pub tasks: Vec<String>,
    /// Backend names; empty means all.
    pub backends: Vec<String>,
    /// Variant names; empty means all.
    pub variants: Vec<String>,
    /// Worker counts; empty means the available cores.
    pub workers: Vec<usize>,
    /// Parameter overrides: `name=v1,v2,…`, each a sweep over its values.
    pub params: Vec<String>,
}

/// The cells to run, and the cells that are `n/a`.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Cells to run.
    pub cells: Vec<PlannedCell>,
    /// Backend × task pairs that are not applicable.
    pub not_applicable: Vec<NotApplicable>,
    /// What the plan decided that the request did not say: a task that fixes its own W.
    pub notes: Vec<String>,
}

/// Builds and checks the plan for `selection` on `profile`.
pub fn plan(selection: &Selection, profile: Profile) -> Result<Plan, String> {
    let tasks = select_tasks(&selection.tasks)?;
    let backends = select_backends(&selection.backends)?;
    let sweeps = parse_params(&selection.params)?;
    for (name, _) in &sweeps {
        if !tasks
            .iter()
            .any(|&t| Task::new(t, profile).get(name).is_some())
        {
            return Err(format!("no selected task has a parameter named `{name}`"));
        }
    }
    let workers = if selection.workers.is_empty() {
        vec![fingerprint::available_cores()]
    } else {
        selection.workers.clone()
    };
    if let Some(&w) = workers.iter().find(|&&w| w == 0) {
        return Err(format!("workers must be at least 1, got {w}"));
    }
    let limit = fingerprint::task_limit();
    let refuse_beyond_limit = |counts: &[usize]| match limit {
        Some((limit, what)) => match counts.iter().find(|&&w| w as u64 > limit) {
            Some(w) => Err(format!(
                "workers = {w} is more than this machine can start: at most {limit} threads or \
                 processes ({what})"
            )),
            None => Ok(()),
        },
        None => Ok(()),
    };
    refuse_beyond_limit(&workers)?;

    let mut plan = Plan::default();
    let mut variant_seen = selection
        .variants
        .iter()
        .map(|v| (v.as_str(), false))
        .collect::<Vec<_>>();
    for &id in &tasks {
        let instances = expand(Task::new(id, profile), &sweeps)?;
        for backend in &backends {
            let variants = match backend.support(id) {
                Support::NotApplicable(reason) => {
                    plan.not_applicable.push(NotApplicable {
                        task: id,
                        backend: backend.name,
                        reason,
                    });
                    continue;
                }
                Support::Variants(variants) => variants,
            };
            for variant in variants {
                if !selection.variants.is_empty() {
                    match variant_seen.iter_mut().find(|(v, _)| *v == variant.name) {
                        Some(seen) => seen.1 = true,
                        None => continue,
                    }
                }
                for task in &instances {
                    // The task's own W, one W for a variant that ignores it, …: the rule is
                    // the declarations', so every model of a task is measured alike.
                    for workers in variant.measured_workers(task, &workers) {
                        plan.cells.push(PlannedCell {
                            task: *task,
                            backend: backend.name,
                            variant: variant.name,
                            workers,
                        });
                    }
                }
            }
        }
        if id.fixes_workers() && plan.cells.iter().any(|c| c.task.id() == id) {
            plan.notes.push(format!(
                "{id}: W is {}, whatever --workers says",
                id.spec().workers
            ));
        }
    }
    if let Some((unknown, _)) = variant_seen.iter().find(|(_, seen)| !seen) {
        return Err(format!(
            "no selected backend offers a variant `{unknown}` for the selected tasks (see `shootout list`)"
        ));
    }
    // A task's own W (P + C stages) can be beyond the machine too.
    refuse_beyond_limit(&plan.cells.iter().map(|c| c.workers).collect::<Vec<_>>())?;
    check_machine_limits(&plan)?;
    Ok(plan)
}

fn select_tasks(names: &[String]) -> Result<Vec<TaskId>, String> {
    if names.is_empty() {
        return Ok(TaskId::ALL.to_vec());
    }
    let mut tasks = Vec::new();
    for name in names {
        let matched: Vec<TaskId> = TaskId::ALL
            .into_iter()
            .filter(|t| TaskId::parse(name) == Some(*t) || t.family().name() == name)
            .collect();
        if matched.is_empty() {
            let known: Vec<String> = TaskId::ALL.iter().map(|t| t.name()).collect();
            return Err(format!(
                "unknown task `{name}` (tasks: {}; or a family: dnc, fanout, pipeline, sync)",
                known.join(", ")
            ));
        }
        for t in matched {
            if !tasks.contains(&t) {
                tasks.push(t);
            }
        }
    }
    tasks.sort();
    Ok(tasks)
}

fn select_backends(names: &[String]) -> Result<Vec<&'static shootout_suite::Backend>, String> {
    let all = registry::backends();
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    for name in names {
        if registry::find(name).is_none() {
            let known: Vec<&str> = all.iter().map(|b| b.name).collect();
            return Err(format!(
                "unknown backend `{name}` (backends: {})",
                known.join(", ")
            ));
        }
    }
    Ok(all
        .iter()
        .copied()
        .filter(|b| names.iter().any(|n| n == b.name))
        .collect())
}

/// Parses `name=v1,v2` overrides into `(name, values)`.
pub fn parse_params(params: &[String]) -> Result<Vec<(String, Vec<u64>)>, String> {
    params
        .iter()
        .map(|p| {
            let (name, values) = p
                .split_once('=')
                .ok_or_else(|| format!("parameter `{p}` is not of the form name=value[,value…]"))?;
            let values = values
                .split(',')
                .map(|v| {
                    parse_number(v).ok_or_else(|| {
                        format!("parameter `{name}`: `{v}` is not a non-negative integer")
                    })
                })
                .collect::<Result<Vec<u64>, String>>()?;
            Ok((name.trim().to_string(), values))
        })
        .collect()
}

/// Parses `1000`, `1_000`, `1k`, `10M` as an integer.
fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim().replace('_', "");
    let (digits, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1_000),
        'm' | 'M' => (&text[..text.len() - 1], 1_000_000),
        _ => (&text[..], 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

/// Every combination of the swept parameters this task has, validated.
fn expand(base: Task, sweeps: &[(String, Vec<u64>)]) -> Result<Vec<Task>, String> {
    let mut tasks = vec![base];
    for (name, values) in sweeps {
        if base.get(name).is_none() {
            continue;
        }
        tasks = tasks
            .iter()
            .flat_map(|t| values.iter().map(move |&v| (*t, v)))
            .map(|(mut t, v)| t.set(name, v).map(|()| t))
            .collect::<Result<_, _>>()?;
    }
    for task in &tasks {
        task.validate()?;
    }
    tasks.dedup();
    Ok(tasks)
}

/// Refuses cells the machine cannot hold: more sockets than the open-file limit allows, or
/// more memory than is available.
fn check_machine_limits(plan: &Plan) -> Result<(), String> {
    let fd_limit = open_file_limit();
    let memory = fingerprint::available_memory_bytes();
    for cell in &plan.cells {
        let sockets = cell.task.sockets();
        // Headroom for the process's own files, the listening socket and the pipes.
        if sockets > 0 && sockets + 64 > fd_limit {
            return Err(format!(
                "{}: needs {sockets} open sockets, but the open-file limit is {fd_limit} (raise it with `ulimit -n`)",
                cell.task
            ));
        }
        if let Some(available) = memory {
            let needed = cell.task.memory_bytes();
            if needed > available {
                return Err(format!(
                    "{}: needs about {} MiB of memory, but only {} MiB are available",
                    cell.task,
                    needed >> 20,
                    available >> 20
                ));
            }
        }
    }
    Ok(())
}

/// Raises the soft open-file limit to the hard limit and returns it.
///
/// Ten thousand connections need ten thousand descriptors; the default soft limit is often
/// 1024 while the hard limit allows far more. Child processes inherit the raised limit.
pub fn open_file_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Ok((soft, _)) => soft,
        Err(_) => 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(tasks: &[&str], backends: &[&str]) -> Selection {
        Selection {
            tasks: tasks.iter().map(|s| s.to_string()).collect(),
            backends: backends.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn numbers_take_suffixes() {
        assert_eq!(parse_number("1_000"), Some(1000));
        assert_eq!(parse_number("10k"), Some(10_000));
        assert_eq!(parse_number("2M"), Some(2_000_000));
        assert_eq!(parse_number("-1"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn sweeps_multiply_cells() {
        let mut s = selection(&["fib"], &["threads"]);
        s.params = vec!["grain=10,15".into()];
        s.workers = vec![1, 2];
        let plan = plan(&s, Profile::Smoke).unwrap();
        let per_variant = 2 * 2;
        assert_eq!(plan.cells.len() % per_variant, 0);
        assert!(
            plan.cells
                .iter()
                .any(|c| c.task.get("grain") == Some(15) && c.workers == 2)
        );
    }

    fn counts(tasks: &[&str], backend: &str, variant: &str, workers: &[usize]) -> Vec<usize> {
        let mut s = selection(tasks, &[backend]);
        s.variants = vec![variant.into()];
        s.workers = workers.to_vec();
        plan(&s, Profile::Smoke)
            .unwrap()
            .cells
            .iter()
            .map(|c| c.workers)
            .collect()
    }

    #[test]
    fn a_variant_that_ignores_workers_runs_once_on_one() {
        assert_eq!(counts(&["fib"], "sequential", "reference", &[2, 4]), [1]);
        assert_eq!(
            counts(&["crawl"], "tokio", "current-thread", &[1, 2, 4]),
            [1]
        );
    }

    #[test]
    fn a_variant_with_its_own_count_runs_once_at_the_largest() {
        assert_eq!(
            counts(&["scatter"], "threads", "thread-per-conn", &[1, 4, 2]),
            [4]
        );
    }

    #[test]
    fn a_variant_that_uses_workers_runs_at_every_count() {
        assert_eq!(counts(&["crawl"], "tokio", "spawn", &[1, 2, 4]), [1, 2, 4]);
    }

    #[test]
    fn a_task_that_fixes_workers_runs_every_model_there() {
        // The pipeline at P + C (smoke: 2 + 2), whatever the variant's declaration says.
        assert_eq!(counts(&["bounded"], "threads", "crossbeam", &[1, 2]), [4]);
        assert_eq!(counts(&["bounded"], "tokio", "async-channel", &[1, 2]), [4]);
        assert_eq!(counts(&["condition"], "tokio", "notify", &[1, 8]), [2]);
        let mut s = selection(&["bounded"], &["smol"]);
        s.params = vec!["producers=1,3".into()];
        let plan = plan(&s, Profile::Smoke).unwrap();
        for c in &plan.cells {
            assert_eq!(c.workers, c.task.get("producers").unwrap() as usize + 2);
        }
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(plan.notes[0].contains("P + C"), "{:?}", plan.notes);
    }

    #[test]
    fn families_select_their_tasks() {
        let plan = plan(&selection(&["dnc"], &["sequential"]), Profile::Smoke).unwrap();
        assert_eq!(plan.cells.len(), 3);
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        let check = |s: Selection, needle: &str| {
            let err = plan(&s, Profile::Smoke).unwrap_err();
            assert!(err.contains(needle), "`{err}` should mention `{needle}`");
        };
        check(selection(&["nope"], &[]), "unknown task `nope`");
        check(selection(&[], &["nope"]), "unknown backend `nope`");
        check(
            Selection {
                variants: vec!["nope".into()],
                ..Default::default()
            },
            "variant `nope`",
        );
        check(
            Selection {
                workers: vec![0],
                ..Default::default()
            },
            "workers must be at least 1",
        );
        check(
            Selection {
                params: vec!["n".into()],
                ..Default::default()
            },
            "not of the form",
        );
        check(
            Selection {
                params: vec!["bogus=1".into()],
                ..Default::default()
            },
            "`bogus`",
        );
        check(
            Selection {
                tasks: vec!["fib".into()],
                params: vec!["n=99".into()],
                ..Default::default()
            },
            "too large",
        );
        check(
            Selection {
                tasks: vec!["scatter".into()],
                params: vec!["conns=10000000".into()],
                ..Default::default()
            },
            "open-file limit",
        );
        check(
            Selection {
                tasks: vec!["mergesort".into()],
                params: vec!["n=100000000000".into()],
                ..Default::default()
            },
            "memory",
        );
    }
}
