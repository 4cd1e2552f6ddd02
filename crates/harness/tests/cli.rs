//! The `shootout` binary as a user meets it: bad input refused up front, bad cells recorded
//! and survived, nothing left running afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SHOOTOUT: &str = env!("CARGO_BIN_EXE_shootout");

/// A scratch directory and a marker that every process this test starts inherits.
struct Scratch {
    dir: PathBuf,
    marker: String,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("shootout-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch {
            dir,
            marker: format!("{name}-{}", std::process::id()),
        }
    }

    fn out(&self) -> PathBuf {
        self.dir.join("runs.jsonl")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(SHOOTOUT);
        command
            .args(args)
            .env("SHOOTOUT_TEST_MARKER", &self.marker)
            .current_dir(&self.dir);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Processes (other than zombies being reaped) that carry this test's marker.
    fn survivors(&self) -> Vec<String> {
        let needle = format!("SHOOTOUT_TEST_MARKER={}", self.marker);
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let path = entry.path();
            let Ok(environ) = std::fs::read(path.join("environ")) else {
                continue;
            };
            if environ
                .split(|&b| b == 0)
                .any(|var| var == needle.as_bytes())
            {
                let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
                found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        found
    }

    /// Waits (up to a generous limit) for every marked process to be gone, and says which stayed.
    fn assert_no_survivors(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.survivors().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            self.survivors(),
            Vec::<String>::new(),
            "processes left behind"
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_input_is_refused_before_anything_runs() {
    let scratch = Scratch::new("bad-input");
    let out = scratch.out();
    let out = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--workers", "0"], "workers"),
        (&["run", "--task", "nope"], "unknown task `nope`"),
        (&["run", "--backend", "nope"], "unknown backend `nope`"),
        (&["run", "--profile", "nope"], "nope"),
        (&["run", "--variant", "nope"], "variant `nope`"),
        (&["run", "-p", "bogus=1"], "`bogus`"),
        (&["run", "--task", "fib", "-p", "n=99"], "too large"),
        (
            &["run", "--task", "scatter", "-p", "conns=10000000"],
            "open-file limit",
        ),
        (
            &["run", "--task", "mergesort", "-p", "n=100000000000"],
            "memory",
        ),
        (
            &["run", "--task", "bounded", "-p", "capacity=0"],
            "at least 1",
        ),
        (
            &["run", "--task", "semaphore", "-p", "permits=0"],
            "permits must be at least 1",
        ),
        (&["run", "--task", "barrier", "-p", "width=0"], "width"),
        (
            &[
                "run",
                "--profile",
                "smoke",
                "--task",
                "fib",
                "--workers",
                "100000",
            ],
            "more than this machine can start",
        ),
    ];
    for (args, needle) in cases {
        let mut args = args.to_vec();
        args.extend(["--out", out]);
        let output = scratch.run(&args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert!(
            message.contains(needle),
            "{args:?}: `{message}` should mention `{needle}`"
        );
        assert_eq!(
            message.trim().lines().count(),
            1,
            "{args:?}: one line, got `{message}`"
        );
        assert!(!Path::new(out).exists(), "{args:?} wrote records");
    }
}

#[test]
fn an_existing_records_file_is_never_overwritten() {
    let scratch = Scratch::new("existing");
    std::fs::write(scratch.out(), "precious\n").unwrap();
    let output = scratch.run(&[
        "run",
        "--profile",
        "smoke",
        "--task",
        "fib",
        "--out",
        scratch.out().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--resume"));
    assert_eq!(
        std::fs::read_to_string(scratch.out()).unwrap(),
        "precious\n"
    );
}

#[test]
fn a_smoke_run_verifies_and_records_every_cell() {
    let scratch = Scratch::new("smoke");
    let output = scratch.run(&[
        "run",
        "--profile",
        "smoke",
        "--task",
        "fib,bounded",
        "--workers",
        "1,2",
        "--out",
        scratch.out().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let records = records(&scratch.out());
    assert!(records.len() >= 4, "{records:?}");
    for r in &records {
        assert_eq!(r["status"], "verified", "{r}");
        assert!(!r["reps"].as_array().unwrap().is_empty());
        assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
        assert!(
            r["cell_command"]
                .as_str()
                .unwrap()
                .starts_with("shootout run")
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("dnc/fib") && stdout.contains("sequential/reference"),
        "{stdout}"
    );
    scratch.assert_no_survivors();
}

#[test]
fn a_hanging_cell_is_killed_at_its_timeout_and_the_run_goes_on() {
    let scratch = Scratch::new("hang");
    let started = Instant::now();
    let output = scratch.run(&[
        "run",
        "--profile",
        "smoke",
        "--task",
        "fib",
        "--backend",
        "sequential,rayon",
        "--timeout",
        "1",
        "--fault",
        "hang",
        "--out",
        scratch.out().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let records = records(&scratch.out());
    assert_eq!(
        records.len(),
        3,
        "every cell is recorded, one after another"
    );
    for r in &records {
        assert_eq!(r["status"], "timeout", "{r}");
        assert!(r["error"].as_str().unwrap().contains("timeout"));
    }
    assert!(started.elapsed() < Duration::from_secs(120));
    scratch.assert_no_survivors();
}

#[test]
fn panics_and_wrong_answers_are_recorded_as_such() {
    for (fault, status) in [("panic", "crashed"), ("wrong", "wrong-answer")] {
        let scratch = Scratch::new(fault);
        let output = scratch.run(&[
            "run",
            "--profile",
            "smoke",
            "--task",
            "nqueens",
            "--backend",
            "sequential",
            "--fault",
            fault,
            "--out",
            scratch.out().to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let records = records(&scratch.out());
        assert_eq!(records[0]["status"], status, "{}", records[0]);
        assert!(String::from_utf8_lossy(&output.stdout).contains(status));
    }
}

#[test]
fn ctrl_c_stops_everything_and_keeps_the_records() {
    let scratch = Scratch::new("ctrl-c");
    // The fan-out task makes the harness start its loopback server too.
    let mut child = scratch
        .command(&[
            "run",
            "--profile",
            "smoke",
            "--task",
            "scatter,fib",
            "--backend",
            "threads,sequential",
            "--fault",
            "hang",
            "--timeout",
            "600",
            "--out",
            scratch.out().to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a cell process is running, however slow the machine is.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !scratch.survivors().iter().any(|p| p.contains(" cell ")) {
        assert!(
            Instant::now() < deadline,
            "no cell started: {:?}",
            scratch.survivors()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut message = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut message).unwrap();
    assert_eq!(status.code(), Some(130), "{message}");
    assert!(message.contains("--resume"), "{message}");
    scratch.assert_no_survivors();
}

#[test]
fn resume_runs_only_what_is_missing() {
    let scratch = Scratch::new("resume");
    let out = scratch.out();
    let base = [
        "run",
        "--profile",
        "smoke",
        "--task",
        "fib",
        "--backend",
        "sequential",
        "--out",
        out.to_str().unwrap(),
    ];
    assert!(scratch.run(&base).status.success());
    assert_eq!(records(&out).len(), 1);
    let mut more = base.to_vec();
    more.extend(["--resume", "--rounds", "3"]);
    let output = scratch.run(&more);
    assert!(output.status.success(), "{}", stderr(&output));
    let records = records(&out);
    let rounds: Vec<u64> = records
        .iter()
        .map(|r| r["round"].as_u64().unwrap())
        .collect();
    assert_eq!(rounds, [0, 1, 2]);
    assert!(records.iter().all(|r| r["run_id"] == records[0]["run_id"]));
}

#[test]
fn serve_prints_its_address_and_refuses_a_taken_one() {
    let scratch = Scratch::new("serve");
    let mut server = scratch
        .command(&["serve"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the address comes first");
    let output = scratch.run(&["serve", "--addr", addr]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot serve"));
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Runs `command` with its stdout closed before it writes a byte, as `… | head -0` does.
fn with_stdout_closed(command: &mut Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_reader_that_stops_reading_is_not_a_crash() {
    // `shootout list | head -0`: the pipe is closed before anything is written.
    let output = with_stdout_closed(Command::new(SHOOTOUT).arg("list"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn list_shows_tasks_variants_and_reasons() {
    let output = Command::new(SHOOTOUT).arg("list").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "dnc/mergesort",
        "pipeline/bounded",
        "par-sort",
        "NOT APPLICABLE",
        "grain",
        "headline: p50 / tail round latency",
    ] {
        assert!(text.contains(needle), "list lacks `{needle}`");
    }
    // Every declared variant is listed under its task, with its form and worker semantics on
    // the line after it.
    let lines: Vec<&str> = text.lines().collect();
    for backend in shootout_harness::registry::backends() {
        let header = format!("  {} ", backend.name);
        let from = lines
            .iter()
            .position(|l| l.starts_with(&header))
            .unwrap_or_else(|| panic!("{} not listed", backend.name));
        for variant in backend.variants {
            for task in variant.tasks {
                let at = from
                    + lines[from..]
                        .iter()
                        .position(|l| {
                            let words: Vec<&str> = l.split_whitespace().collect();
                            words.len() > 2 && words[0] == task.name() && words[1] == variant.name
                        })
                        .unwrap_or_else(|| {
                            panic!("{}/{} {task} not listed", backend.name, variant.name)
                        });
                let form = format!(
                    "[{}; W: {}]",
                    variant.form.name(),
                    variant.workers.describe()
                );
                assert!(
                    lines[at + 1].trim() == form,
                    "{}/{}: `{}` instead of `{form}`",
                    backend.name,
                    variant.name,
                    lines[at + 1].trim()
                );
            }
        }
    }
    assert!(
        text.contains("[hybrid; W: uses W]"),
        "tokio's rayon bridge is a hybrid"
    );
    assert!(
        text.contains("[restructured;"),
        "rayon's reduce is restructured"
    );
}

#[test]
fn reports_are_deterministic_and_the_headline_is_spliced() {
    let scratch = Scratch::new("report");
    let machine = scratch.dir.join("results").join("m");
    std::fs::create_dir_all(&machine).unwrap();
    let runs = machine.join("runs.jsonl");
    let output = scratch.run(&[
        "run",
        "--profile",
        "smoke",
        "--task",
        "fib,bounded,lock,event",
        "--workers",
        "1,2",
        "--out",
        runs.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // As if measured from a clean revision, whatever state this checkout is in.
    set_revisions(&runs, |_| "0123456789ab");

    let report = |_: ()| {
        let output = scratch.run(&["report", runs.to_str().unwrap()]);
        assert!(output.status.success(), "{}", stderr(&output));
        std::fs::read(machine.join("summary.md")).unwrap()
    };
    let first = report(());
    let second = report(());
    assert_eq!(first, second, "the same records must give the same bytes");
    let summary = String::from_utf8(first).unwrap();
    for needle in [
        "## dnc/fib",
        "**2 workers**",
        "sequential/reference",
        "Regenerate: `shootout run",
        "## sync/lock",
        "## The GIL experiment",
        "| threads/gil |",
        "With 2 workers, fib under one lock ran at",
    ] {
        assert!(summary.contains(needle), "summary lacks `{needle}`");
    }
    // The GIL table sits between the last dnc section and the first of another family.
    let gil = summary.find("## The GIL experiment").unwrap();
    assert!(summary.find("## dnc/fib").unwrap() < gil);
    assert!(gil < summary.find("## pipeline/bounded").unwrap());
    for plot in [
        "speedup-fib.svg",
        "sync-lock-throughput.svg",
        "sync-event-latency.svg",
    ] {
        assert!(machine.join("plots").join(plot).is_file(), "{plot}");
    }

    let readme = scratch.dir.join("README.md");
    std::fs::write(
        &readme,
        format!(
            "intro\n{}\nstale\n{}\noutro\n",
            shootout_harness::publish::START,
            shootout_harness::publish::END
        ),
    )
    .unwrap();
    let results = scratch.dir.join("results");
    let output = scratch.run(&[
        "index",
        results.to_str().unwrap(),
        "--readme",
        readme.to_str().unwrap(),
        "--headline",
        "m",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(
        text.starts_with("intro\n") && text.ends_with("outro\n"),
        "{text}"
    );
    assert!(
        !text.contains("stale") && text.contains("| threads |"),
        "{text}"
    );
    assert!(
        text.contains("**sync**") && text.contains("sync/event"),
        "{text}"
    );
    assert!(results.join("README.md").is_file());
}

/// Rewrites the `git` revision of every record in `runs`: `revision(i)` for the `i`-th.
fn set_revisions(runs: &std::path::Path, revision: impl Fn(usize) -> &'static str) {
    let text: String = std::fs::read_to_string(runs)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            record["machine"]["git"] = Value::from(revision(i));
            format!("{record}\n")
        })
        .collect();
    std::fs::write(runs, text).unwrap();
}

#[test]
fn records_from_several_revisions_or_a_dirty_tree_are_published_only_when_told() {
    let scratch = Scratch::new("mixed");
    let runs = scratch.out();
    let output = scratch.run(&[
        "run",
        "--profile",
        "smoke",
        "--task",
        "fib",
        "--backend",
        "sequential,threads",
        "--variant",
        "reference,scope",
        "--out",
        runs.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = scratch.dir.join("published");
    for (revision, problem) in [
        (
            (|i| {
                if i == 0 {
                    "aaaaaaaaaaaa"
                } else {
                    "bbbbbbbbbbbb"
                }
            }) as fn(usize) -> &'static str,
            "2 revisions",
        ),
        (|_| "aaaaaaaaaaaa-dirty", "uncommitted changes"),
    ] {
        set_revisions(&runs, revision);
        let output = scratch.run(&[
            "report",
            runs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(problem), "{}", stderr(&output));
        assert!(!out.exists(), "nothing is written before the refusal");
        let output = scratch.run(&[
            "report",
            runs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--allow-mixed",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(summary.contains("**Not from one clean revision.**") && summary.contains(problem));
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn a_cell_that_failed_is_not_run_again_in_later_rounds() {
    let scratch = Scratch::new("fail-once");
    let output = scratch.run(&[
        "run",
        "--profile",
        "smoke",
        "--task",
        "nqueens",
        "--backend",
        "sequential",
        "--fault",
        "panic",
        "--rounds",
        "3",
        "--out",
        scratch.out().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let records = records(&scratch.out());
    assert_eq!(records.len(), 1, "one failed round is the cell's record");
    assert_eq!(records[0]["status"], "crashed");
}

#[test]
fn compare_flags_a_deliberate_slowdown_only() {
    let scratch = Scratch::new("compare");
    let base = [
        "run",
        "--profile",
        "smoke",
        "--task",
        "fib",
        "--backend",
        "sequential",
        "-p",
        "n=24",
        "--rounds",
        "3",
        "--reps",
        "4",
    ];
    let a = scratch.out();
    let b = scratch.dir.join("b.jsonl");
    assert!(
        scratch
            .run(&[&base[..], &["--out", a.to_str().unwrap()]].concat())
            .status
            .success()
    );
    // A file compared with itself: nothing changed …
    let output = scratch.run(&["compare", a.to_str().unwrap(), a.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success()
            && (text.contains("1 same") || text.contains("1 inconclusive"))
            && !text.contains("SLOWER"),
        "{text}"
    );
    // A reader that stops reading (`compare a a | head -0`) is not a crash.
    let closed = with_stdout_closed(&mut scratch.command(&[
        "compare",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
    ]));
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(
        closed.status.success() && !stderr.contains("panicked"),
        "{stderr}"
    );
    // … and with a copy whose wall times are doubled: a slowdown that must be flagged. The
    // measured times of so small a cell on a busy machine can spread by more than 2×, so both
    // files get the same synthetic times (±2 % around 1 ms), doubled in the second.
    let with_walls = |factor: u64| -> String {
        std::fs::read_to_string(&a)
            .unwrap()
            .lines()
            .map(|line| {
                let mut record: Value = serde_json::from_str(line).unwrap();
                let round = record["round"].as_u64().unwrap();
                for (i, rep) in record["reps"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .enumerate()
                {
                    let jitter = (round * 7 + i as u64 * 3) % 5;
                    rep["wall_ns"] = Value::from(factor * (980_000 + 10_000 * jitter));
                }
                format!("{record}\n")
            })
            .collect()
    };
    let a = scratch.dir.join("a-synthetic.jsonl");
    std::fs::write(&a, with_walls(1)).unwrap();
    std::fs::write(&b, with_walls(2)).unwrap();
    let output = scratch.run(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("1 SLOWER"), "{text}");
}
