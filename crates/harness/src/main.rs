//! `shootout`: runs the same concurrency tasks on every backend, each cell in its own process,
//! checks every answer, and records and tabulates what it cost.
//!
//! ```text
//! cargo run --release -p shootout-harness -- run            # the default run (quick profile)
//! cargo run --release -p shootout-harness -- run --task fib --workers 1,2 -p grain=15,20
//! cargo run --release -p shootout-harness -- list           # tasks, backends, variants, n/a
//! ```

use shootout_harness::{
    cell, compare, fingerprint, plan, publish, record, registry, report, run, summary, table,
};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use shootout_suite::{Profile, Task, TaskId};

/// Set when writing to stdout failed other than by a closed pipe: the command then exits with
/// a failure once its work is done.
static STDOUT_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes what a command reports to stdout. A reader who stopped reading (`shootout list |
/// head`) is not an error: what cannot be written is dropped and the command finishes its work –
/// a run still records every cell and stops its servers. Any other failure is said once on
/// stderr and fails the command at its end.
fn out(text: &str) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().write_all(text.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
        && !STDOUT_FAILED.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        eprintln!("error: writing to stdout: {e}");
    }
}

/// `println!` through [`out`].
macro_rules! say {
    ($($arg:tt)*) => {
        out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Exit code for a request refused before any work started.
const USAGE_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "shootout",
    version,
    about = "Concurrency models measured the same way, every answer verified."
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run the suite: every selected cell in a fresh process, records appended as they finish.
    Run(RunArgs),
    /// List tasks (with their parameters per profile), backends, variants and `n/a` cells.
    List {
        /// Show the parameters of this profile only.
        #[arg(long, value_enum)]
        profile: Option<ProfileArg>,
    },
    /// Write `summary.md` and `plots/*.svg` from a records file (read-only: measures nothing).
    Report {
        /// The records file (`runs.jsonl`).
        runs: PathBuf,
        /// Where to write; default: the records file's folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Publish records from several revisions, or from a tree with uncommitted changes
        /// (refused otherwise); the summary then says so at its top.
        #[arg(long)]
        allow_mixed: bool,
    },
    /// Compare two records files cell by cell: ratios of medians (raw, calibrated by the
    /// machine speed index, and against each file's own sequential reference), each with its
    /// 95% interval, and a verdict from the intervals.
    Compare {
        /// The baseline records.
        a: PathBuf,
        /// The records to judge against it.
        b: PathBuf,
    },
    /// Write `results/README.md` over every machine folder, and splice the headline tables into
    /// a README between its markers.
    Index {
        /// The results folder (one sub-folder per machine, each with `runs.jsonl`).
        #[arg(default_value = "results")]
        results: PathBuf,
        /// A README to splice the headline into.
        #[arg(long)]
        readme: Option<PathBuf>,
        /// The machine folder whose results make the headline (default: the first).
        #[arg(long)]
        headline: Option<String>,
    },
    /// Print this machine's results folder name (CPU model and core count), as the scripts use it.
    Machine,
    /// Run the loopback server that the fan-out tasks talk to, until killed.
    Serve {
        /// Address to bind; port 0 picks a free one. The bound address is printed first.
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
        /// Exit when the parent process does (how `shootout run` starts it).
        #[arg(long, hide = true)]
        die_with_parent: bool,
    },
    /// Run one cell in this process and print its measurement as JSON (used by `run`).
    #[command(hide = true)]
    Cell(CellArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Smoke,
    Bench,
    Quick,
    Full,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Smoke => Profile::Smoke,
            ProfileArg::Bench => Profile::Bench,
            ProfileArg::Quick => Profile::Quick,
            ProfileArg::Full => Profile::Full,
        }
    }
}

#[derive(Args)]
struct RunArgs {
    /// Tasks to run, by name (`fib`, `dnc/fib`) or family (`dnc`); repeatable. Default: all.
    #[arg(long = "task", short = 't', value_delimiter = ',')]
    tasks: Vec<String>,
    /// Backends to run; repeatable. Default: all.
    #[arg(long = "backend", short = 'b', value_delimiter = ',')]
    backends: Vec<String>,
    /// Variants to run; repeatable. Default: all.
    #[arg(long = "variant", short = 'v', value_delimiter = ',')]
    variants: Vec<String>,
    /// The parameter defaults to start from.
    #[arg(long, value_enum, default_value = "quick")]
    profile: ProfileArg,
    /// Worker threads (or processes) per cell; a list sweeps, e.g. `1,2,4`. Default: the
    /// available cores.
    #[arg(long, short = 'w', value_delimiter = ',')]
    workers: Vec<usize>,
    /// Override a task parameter, `name=value` or a sweep `name=v1,v2`; repeatable. Applies to
    /// every selected task that has the parameter.
    #[arg(long = "param", short = 'p')]
    params: Vec<String>,
    /// Interleaving rounds: each round runs every cell once, in a new shuffled order.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: Option<u32>,
    /// Measured repetitions per cell and round.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    reps: Option<u32>,
    /// Warm-up repetitions per cell and round (verified, not recorded).
    #[arg(long)]
    warmup: Option<u32>,
    /// Seconds a cell process may take before it is killed and recorded as a timeout.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// The records file (JSON lines). Default: `results/local/run-<time>.jsonl`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue an interrupted run: skip the cells and rounds `--out` already holds.
    #[arg(long, requires = "out", conflicts_with = "append")]
    resume: bool,
    /// Add a new run to an existing records file (records are never overwritten).
    #[arg(long, requires = "out")]
    append: bool,
    /// The seed that shuffles cell order (default: from the clock; recorded either way).
    #[arg(long)]
    seed: Option<u64>,
    /// Use the loopback server at this address instead of starting one.
    #[arg(long)]
    server: Option<SocketAddr>,
    /// Make every cell misbehave, to test the harness.
    #[arg(long, value_enum, hide = true)]
    fault: Option<cell::Fault>,
}

#[derive(Args)]
struct CellArgs {
    #[arg(long)]
    task: String,
    #[arg(long)]
    backend: String,
    #[arg(long)]
    variant: String,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    workers: u64,
    #[arg(long = "param")]
    params: Vec<String>,
    #[arg(long, default_value_t = 1)]
    reps: u32,
    #[arg(long, default_value_t = 0)]
    warmup: u32,
    /// The reference checksum, hex.
    #[arg(long)]
    expect: String,
    #[arg(long)]
    server: Option<SocketAddr>,
    #[arg(long, value_enum)]
    fault: Option<cell::Fault>,
}

fn main() -> ExitCode {
    // When the processes backend re-executes this binary as one of its workers, serve and exit.
    shootout_processes::run_if_worker();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout as clap prints them; a usage error is one line, exit 2.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let rendered = e.render().to_string();
            return usage_error(
                rendered
                    .lines()
                    .next()
                    .unwrap_or("bad arguments")
                    .trim_start_matches("error: "),
            );
        }
    };
    let code = match cli.command {
        Commands::Run(args) => run(args),
        Commands::List { profile } => {
            out(&registry::listing(profile.map(Profile::from)));
            ExitCode::SUCCESS
        }
        Commands::Serve {
            addr,
            die_with_parent,
        } => serve(addr, die_with_parent),
        Commands::Cell(args) => run_cell(args),
        Commands::Machine => {
            say!("{}", fingerprint::machine_slug(&fingerprint::current()));
            ExitCode::SUCCESS
        }
        Commands::Report {
            runs,
            out,
            allow_mixed,
        } => {
            let out = out.unwrap_or_else(|| runs.parent().map(PathBuf::from).unwrap_or_default());
            match publish::report(&runs, &out, allow_mixed) {
                Ok(files) => {
                    files.iter().for_each(|f| say!("{}", f.display()));
                    ExitCode::SUCCESS
                }
                Err(e) => usage_error(format!("{e:#}")),
            }
        }
        Commands::Compare { a, b } => compare_runs(&a, &b),
        Commands::Index {
            results,
            readme,
            headline,
        } => match publish::index(&results, readme.as_deref(), headline.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(format!("{e:#}")),
        },
    };
    if STDOUT_FAILED.load(std::sync::atomic::Ordering::Relaxed) {
        ExitCode::FAILURE
    } else {
        code
    }
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(USAGE_ERROR)
}

fn run(args: RunArgs) -> ExitCode {
    let profile = Profile::from(args.profile);
    let selection = plan::Selection {
        tasks: args.tasks,
        backends: args.backends,
        variants: args.variants,
        workers: args.workers,
        params: args.params,
    };
    let plan = match plan::plan(&selection, profile) {
        Ok(plan) => plan,
        Err(e) => return usage_error(e),
    };
    if plan.cells.is_empty() {
        return usage_error("the selection leaves no cell to run (see `shootout list`)");
    }
    let (rounds, reps, warmup) = match profile {
        Profile::Smoke => (1, 2, 1),
        Profile::Bench => (2, 5, 1),
        Profile::Quick => (3, 2, 1),
        Profile::Full => (5, 2, 1),
    };
    let out = args.out.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        PathBuf::from(format!("results/local/run-{}.jsonl", now.as_secs()))
    });
    if !args.resume && !args.append && out.exists() {
        return usage_error(format!(
            "{} already exists: pass --resume to continue its run, --append to add a new run, or choose another --out",
            out.display()
        ));
    }
    let settings = run::Settings {
        profile,
        rounds: args.rounds.unwrap_or(rounds),
        reps: args.reps.unwrap_or(reps),
        warmup: args.warmup.unwrap_or(warmup),
        timeout: Duration::from_secs(args.timeout),
        out: out.clone(),
        resume: args.resume,
        append: args.append,
        seed: args.seed,
        server: args.server,
        fault: args.fault,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    eprintln!(
        "shootout on {}: {} cells x {} rounds ({} reps + {} warm-up each), profile {}, records -> {}",
        fingerprint::machine_slug(&fingerprint::current()),
        plan.cells.len(),
        settings.rounds,
        settings.reps,
        settings.warmup,
        profile.name(),
        out.display()
    );
    plan.notes.iter().for_each(|note| eprintln!("{note}"));
    let outcome = match run::run(&plan.cells, &settings) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let summaries = summary::summarize_cells(&outcome.records);
    say!("{}", table::render(&summaries, &plan.not_applicable));
    let failed = summaries.iter().filter(|s| !s.status.is_verified()).count();
    if outcome.interrupted {
        eprintln!(
            "interrupted: {} records kept in {}; continue with --resume --out {}",
            outcome.records.len(),
            out.display(),
            out.display()
        );
        return ExitCode::from(130);
    }
    eprintln!("records: {}", out.display());
    if failed > 0 {
        eprintln!("{failed} of {} cells did not verify", summaries.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn compare_runs(a: &std::path::Path, b: &std::path::Path) -> ExitCode {
    let read = |p: &std::path::Path| record::read(p).map_err(|e| format!("{}: {e}", p.display()));
    // Like the published tables, each cell from the latest run in its file that measured it.
    let (ra, rb) = match (read(a), read(b)) {
        (Ok(ra), Ok(rb)) => (report::latest_per_cell(&ra), report::latest_per_cell(&rb)),
        (Err(e), _) | (_, Err(e)) => return usage_error(e),
    };
    let comparisons = compare::compare(&ra, &rb);
    if comparisons.is_empty() {
        return usage_error("the two files have no cell in common");
    }
    let machines = compare::machines(&ra, &rb);
    if let Some((ma, mb)) = &machines.different {
        say!("A and B come from different machines: A {ma}, B {mb}.");
    }
    match machines.speed {
        Some(speed) if machines.different_speed => say!(
            "B's machine ran the calibration kernel {speed:.2}x as long as A's: raw ratios carry that; \
             verdicts use the calibrated ratio."
        ),
        Some(speed) => say!(
            "Both ran the calibration kernel at the same speed (B / A = {speed:.3}); verdicts use the calibrated ratio."
        ),
        None => say!(
            "A file lacks the machine speed index (records before schema 2): verdicts use raw ratios."
        ),
    }
    match machines.parallel_speed {
        Some(p) => say!(
            "With every core busy, B's machine ran the kernel {p:.2}x as long as A's; cells with several workers are calibrated by that index."
        ),
        None => say!(
            "A file lacks the parallel speed index: cells with several workers are calibrated by the one-core index."
        ),
    }
    if let Some((la, lb)) = machines.load {
        // A tenth of a runnable task per logical CPU, lasting.
        let cores = ra.first().map_or(1, |r| r.machine.cores.max(1)) as f64;
        say!(
            "Load average before the cells both measured (median): A {la:.2}, B {lb:.2}.{}",
            if (lb - la).abs() > 0.1 * cores {
                " It counts each run's own earlier cells too (a run of only multi-worker cells \
                 raises it by itself), and a lasting difference can slow cells with several \
                 workers in ways neither index sees (METHODOLOGY.md, \"Comparing runs\")."
            } else {
                ""
            }
        );
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "cell",
        "A median",
        "B median",
        "B / A raw (95%)",
        "calibrated",
        "vs own sequential",
        "verdict",
    ]);
    let mut counts = std::collections::BTreeMap::new();
    for c in &comparisons {
        *counts.entry(c.verdict).or_insert(0) += 1;
        let fmt = |s: f64| {
            if s.is_finite() {
                table::seconds(s)
            } else {
                "-".into()
            }
        };
        let ratio = |r: Option<compare::Ratio>| {
            r.map_or("-".into(), |r| {
                format!("{:.3} ({:.3}-{:.3})", r.value, r.ci.lo, r.ci.hi)
            })
        };
        table.add_row([
            c.key.clone(),
            fmt(c.median_a),
            fmt(c.median_b),
            ratio(c.raw),
            ratio(c.calibrated),
            ratio(c.baseline),
            c.verdict.word().to_string(),
        ]);
    }
    say!("{table}");
    let summary: Vec<String> = counts
        .iter()
        .map(|(v, n)| format!("{n} {}", v.word()))
        .collect();
    let agree = comparisons
        .iter()
        .filter(|c| {
            matches!(
                c.verdict,
                compare::Verdict::Same | compare::Verdict::Inconclusive
            )
        })
        .count();
    say!(
        "{} cells compared: {}; {agree} show no change beyond their interval",
        comparisons.len(),
        summary.join(", ")
    );
    ExitCode::SUCCESS
}

fn run_cell(args: CellArgs) -> ExitCode {
    cell::die_with_parent();
    let Some(id) = TaskId::parse(&args.task) else {
        return usage_error(format!("unknown task `{}`", args.task));
    };
    // Parameters come from the smoke defaults, then every one is set explicitly by the parent.
    let mut task = Task::new(id, Profile::Smoke);
    let params = match plan::parse_params(&args.params) {
        Ok(params) => params,
        Err(e) => return usage_error(e),
    };
    for (name, values) in params {
        if let Err(e) = task.set(&name, values[0]) {
            return usage_error(e);
        }
    }
    if let Err(e) = task.validate() {
        return usage_error(e);
    }
    let Ok(expected) = u64::from_str_radix(&args.expect, 16) else {
        return usage_error(format!("--expect `{}` is not a hex checksum", args.expect));
    };
    let Some(backend) = registry::find(&args.backend) else {
        return usage_error(format!("unknown backend `{}`", args.backend));
    };
    if backend.variant(id, &args.variant).is_none() {
        return usage_error(format!(
            "{} has no variant `{}` for {}",
            args.backend, args.variant, id
        ));
    }
    let spec = cell::Spec {
        task,
        backend: args.backend,
        variant: args.variant,
        workers: args.workers as usize,
        warmup: args.warmup,
        reps: args.reps,
        expected,
        server: args.server,
        fault: args.fault,
    };
    let measurement = cell::measure(&spec);
    say!(
        "{}",
        serde_json::to_string(&measurement).expect("a measurement serializes")
    );
    ExitCode::SUCCESS
}

fn serve(addr: SocketAddr, die_with_parent: bool) -> ExitCode {
    if die_with_parent {
        cell::die_with_parent();
    }
    plan::open_file_limit();
    let result = shootout_loopback::serve(
        addr,
        |bound| {
            say!("listening on {bound}");
            use std::io::Write;
            let _ = std::io::stdout().flush();
        },
        std::future::pending(),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot serve on {addr}: {e}")),
    }
}
