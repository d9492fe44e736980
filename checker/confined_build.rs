//! The cargo of `checker grade`, run in the sandbox with its reads limited.
//!
//! The compiler reads whatever the code it compiles names (`include_str!("/abs/…")`,
//! `#[path]`), outside the check process's sandbox. The policy refuses those
//! constructs; this is the wall behind it for the grade that counts: cargo and rustc
//! may read only the grading copy, the toolchain, libtorch and the operating system's
//! folders, and write only the build folder, cargo's own cache and a scratch folder.
//! Not the instructor's checkout, not a home folder, not the other forks. Offline
//! (its own network namespace), with the same cleanup as any sandboxed run.
use anyhow::Context;
use se05::grading::sandbox::{self, Limits, Spec};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a confined cargo call left: its exit, its standard output (the JSON
/// messages) and the end of its standard error.
pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr_tail: String,
}

/// The folder cargo keeps its registry and locks in.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// The folder rustup keeps its toolchains in.
fn rustup_home() -> Option<PathBuf> {
    std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
}

/// The toolchain's root for a program found on PATH (…/bin/cargo → …), so a
/// toolchain installed outside rustup's folders is readable too.
fn install_root(program: &Path) -> Option<PathBuf> {
    let found = if program.components().count() > 1 {
        program.to_path_buf()
    } else {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())?
    };
    Some(found.canonicalize().ok()?.parent()?.parent()?.to_path_buf())
}

/// What the build may read: the copy, the toolchain, libtorch, the system.
fn readable(copy: &Path, program: &Path) -> Vec<PathBuf> {
    let mut paths = sandbox::system_paths();
    paths.push(copy.to_path_buf());
    paths.extend(rustup_home());
    paths.extend(install_root(program));
    if let Some(rustc) = install_root(Path::new("rustc")) {
        paths.push(rustc);
    }
    // libtorch: the copy's .libtorch link and LIBTORCH, where they really are.
    for libtorch in [copy.join(".libtorch")]
        .into_iter()
        .chain(std::env::var_os("LIBTORCH").map(PathBuf::from))
    {
        if let Ok(real) = libtorch.canonicalize() {
            paths.push(real);
        }
    }
    paths
}

/// Runs `program args` (cargo) in `copy` under the build's limits. `target_dir` is
/// where it builds; only its `debug` folder is writable (and readable), not the rest
/// of it, which may hold other copies of the instructor's tree.
pub fn run(
    program: &Path,
    args: &[OsString],
    env: Vec<(OsString, OsString)>,
    copy: &Path,
    target_dir: &Path,
) -> anyhow::Result<Ran> {
    let scratch = tempfile::tempdir().context("cannot create a temporary folder")?;
    let build = target_dir.join("debug");
    // Cargo also makes `<target>/tmp` for integration tests; an existing folder needs
    // no right to write beneath it, and what the tests keep there stays unreadable.
    for dir in [&build, &target_dir.join("tmp")] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let stdout = scratch.path().join("messages.jsonl");
    // The shell only sends cargo's standard output to a file: the sandbox keeps just
    // the head and tail of what a program prints, and the messages are wanted whole.
    let mut spec = Spec::new("/bin/sh", copy);
    spec.args = vec![
        "-c".into(),
        "out=$1; shift; exec \"$@\" > \"$out\"".into(),
        "sh".into(),
        stdout.clone().into(),
        program.into(),
    ];
    spec.args.extend(args.iter().cloned());
    spec.env = env;
    spec.inherit_env = false;
    spec.writable = vec![scratch.path().to_path_buf(), build];
    spec.writable.extend(cargo_home().filter(|p| p.is_dir()));
    spec.readable = Some(readable(copy, program));
    spec.limits = Limits {
        wall: Duration::from_secs(45 * 60),
        memory: None,
        file_size: 16 << 30,
        processes: 4096,
        output_keep: 16 << 10,
        // The build folder grows by what a build writes, gigabytes for a cold one.
        scratch_bytes: None,
    };
    let finished = sandbox::run(&spec).context("cannot start cargo in the sandbox")?;
    for warning in &finished.warnings {
        eprintln!("warning: {warning}");
    }
    let stdout_text = std::fs::read_to_string(&stdout).unwrap_or_default();
    Ok(Ran {
        success: finished.success(),
        stdout: stdout_text,
        stderr_tail: finished.output.render(),
    })
}
