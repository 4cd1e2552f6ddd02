//! Captures what a record's fingerprint needs from build time: the compiler, the git revision
//! and the versions of the runtime crates from Cargo.lock.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = output(Command::new(rustc).arg("-V")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SHOOTOUT_RUSTC={rustc_version}");

    let revision = output(Command::new("git").args(["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let dirty = output(Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]))
        .is_some_and(|s| !s.is_empty());
    println!(
        "cargo:rustc-env=SHOOTOUT_GIT={revision}{}",
        if dirty { "-dirty" } else { "" }
    );
    for path in ["../../.git/HEAD", "../../.git/index", "../../Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }

    let lock = std::fs::read_to_string("../../Cargo.lock").unwrap_or_default();
    let crates = [
        "rayon",
        "crossbeam-channel",
        "tokio",
        "async-std",
        "smol",
        "async-executor",
        "async-io",
        "compio",
        "may",
    ];
    let versions: Vec<String> = crates
        .iter()
        .filter_map(|name| locked_version(&lock, name).map(|v| format!("{name} {v}")))
        .collect();
    println!("cargo:rustc-env=SHOOTOUT_CRATES={}", versions.join(", "));
}

fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The version of `name` in a Cargo.lock (the first one, if several are locked).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"") {
            let version = lines.next()?;
            return Some(
                version
                    .trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_string(),
            );
        }
    }
    None
}
