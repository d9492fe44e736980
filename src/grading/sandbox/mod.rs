//! A process container for running untrusted student code on Linux.
//!
//! [`run`] starts one program, waits for it under a single wall-clock limit and returns
//! how it ended ([`Finished`]). It never hangs and never leaves a process behind:
//!
//! - **Filesystem**: a Landlock ruleset allows reading and executing everywhere and
//!   writing only beneath [`Spec::writable`] (plus `/dev/null`, `/dev/zero`, `/dev/full`
//!   and any `/dev/nvidia*` device). TCP bind/connect are denied and signals to
//!   processes outside the sandbox are blocked where the kernel's Landlock ABI has those
//!   rights (ABI 4 and 6). Without Landlock the program still runs and a line in
//!   [`Finished::warnings`] says so. `TMPDIR` is set to the first writable folder.
//! - **Processes**: the program runs in a new user, PID and network namespace. The
//!   network namespace has no interfaces up, so the program is offline. When the
//!   namespace's init ends, the kernel kills everything left in it, so a background
//!   child, a `setsid` daemon or a double fork cannot outlive the run. Where user
//!   namespaces are not allowed (Ubuntu 24.04 can restrict them through AppArmor), the
//!   fallback is a supervisor that is a child subreaper (`PR_SET_CHILD_SUBREAPER`): every
//!   orphaned descendant is re-parented to it, and it kills and reaps them all, from
//!   `/proc/thread-self/children`, before it reports; a warning says the fallback was
//!   taken. If the calling thread dies (the checker is killed), the supervisor gets a
//!   parent-death signal and kills the run. One hole is left in the fallback only: if
//!   the supervisor itself is SIGKILLed, the program dies (parent-death signal) but its
//!   own children are re-parented to the system's init and live on.
//! - **Limits** ([`Limits`]): a wall clock for the whole run; `RLIMIT_DATA` for memory;
//!   `RLIMIT_FSIZE` for files; `RLIMIT_NPROC` for processes; `RLIMIT_CORE` = 0 so a
//!   crash writes no core file. `RLIMIT_NPROC` counts threads too and is not enforced
//!   for root (the CI here runs as root), so cleanup never relies on it; it does apply
//!   to students and to GitHub's `runner` user. In the namespace it counts only the
//!   sandbox's own tasks (two of which are the helpers below); in the fallback it
//!   counts every task of the user, so there the limit is raised by the number of tasks
//!   the user already runs.
//! - **Scratch space** ([`Limits::scratch_bytes`]): `RLIMIT_FSIZE` bounds each file, not
//!   their sum, so the checker watches the total itself (below).
//! - **Output**: stdout and stderr share one pipe that a thread drains all the time, so
//!   the program never blocks on a full pipe; the first and last
//!   [`Limits::output_keep`] bytes are kept and the rest only counted. Nothing is written
//!   to disk. stdin is `/dev/null`, or a pipe holding [`Spec::stdin`]. Output echoed
//!   live ([`Spec::echo_bytes`]) has its control characters written visibly.
//!
//! # How the scratch space is watched
//! The budget is for the *growth* of everything beneath [`Spec::writable`]: the
//! allocated size (`st_blocks * 512`, so a sparse file counts what it really holds) of
//! every entry, folders included, minus what was there when the run started (a
//! previous run's checkpoints in an output folder do not count). While it waits, the
//! parent walks the folders every 75 ms, without following links and stopping after
//! [`MAX_SCRATCH_ENTRIES`] new entries; a walk that takes longer than a quarter of that
//! pushes the next one further off, so walking never takes more than a quarter of a
//! core. The run is stopped like at the wall clock, as [`LimitHit::ScratchSpace`], when
//! the growth passes the budget, when it added more entries than that bound, or when a
//! folder cannot be listed (one the program made unreadable first gets its owner's
//! rights back). A plain walk works on every file system and platform, with no quota
//! or tmpfs mount; the price is that a run overshoots by what it writes between two
//! walks and while it is being stopped (tens of MB at a fast disk's rate). A file the
//! program deleted while keeping it open is not seen by a walk.
//!
//! # Why memory is `RLIMIT_DATA`, not `RLIMIT_AS`
//! `RLIMIT_AS` counts every address range a process reserves, also those it never
//! touches: CUDA's unified-memory reservations, glibc's per-thread malloc arenas
//! (64 MiB each), thread stacks. `RLIMIT_DATA` counts only private writable mappings,
//! which is where heap memory lives (malloc, Rust's allocator, libtorch's CPU
//! allocator), so it bounds what a program really allocates without breaking libraries
//! that reserve large ranges. The check targets (which link `libtorch_cuda`) start and
//! pass under an 8 GiB `RLIMIT_DATA`. Either limit is per process, not for the run as a
//! whole (that would need cgroups).
//!
//! # How the processes are arranged, and why
//! `unshare(CLONE_NEWPID)` moves only the *children* of the caller into the new PID
//! namespace, and `unshare(CLONE_NEWUSER)` is refused in a multithreaded process, so
//! the work happens after `fork`, in `Command::pre_exec`, which std runs in the forked
//! child after stdio and the working directory are set up. The checker is
//! multithreaded, so from there on only async-signal-safe calls are made: raw system
//! calls through `libc`, no allocation (every string, path and map line is prepared
//! before the fork), no locks. Further forks use the raw `clone` system call rather than
//! `fork()`, so that `pthread_atfork` handlers registered by libraries such as
//! libtorch's OpenMP runtime do not run in a process copied from a multithreaded one.
//! Re-executing the current binary with a hidden argument would avoid these rules, but
//! every program using this module (the checker and each test binary) would then have
//! to route that argument in its `main`.
//!
//! ```text
//! checker thread ── supervisor (std's child; setsid, parent-death signal SIGUSR1)
//!                     │ unshare(user+pid+net), uid/gid maps
//!                     └── init (pid 1 in the namespace, reaps orphans)
//!                           └── program (pid 2; Landlock, rlimits, execve)
//! ```
//!
//! The program is not pid 1 itself because the kernel protects a namespace's init from
//! signals it has no handler for: `abort()` and `SIGXFSZ` would not end it the usual
//! way. The supervisor stays outside the PID namespace: on the wall clock (a `SIGUSR1`
//! from the checker) it kills the init, and its `waitpid` on the init returns only once
//! the kernel has emptied the namespace, so [`run`] returns after everything is gone.
//! The fallback drops the init: the supervisor forks the program directly.
//! A pipe (close-on-exec) carries small records from the helpers to the checker: which
//! mode was taken, the program's wait status, setup errors. If the checker has to give
//! up on the supervisor (it does not exit within a grace period after `SIGUSR1`), it
//! kills it, and the init dies by its own parent-death signal.
//!
//! # Environment overrides ([`limits_from_env`])
//! - `SE05_SANDBOX_WALL_S`: wall-clock limit in seconds (decimals allowed).
//! - `SE05_SANDBOX_MEMORY_MB`: memory limit in MiB; `0` or `unlimited` removes it.
//! - `SE05_SANDBOX_FSIZE_MB`: largest file the program may write, in MiB.
//! - `SE05_SANDBOX_NPROC`: process (and thread) limit.
//! - `SE05_SANDBOX_SCRATCH_MB`: how much the writable folders may grow, in MiB; `0` or
//!   `unlimited` removes the budget. Defaults: 256 MiB for a check
//!   ([`DEFAULT_SCRATCH_BYTES`]), 2 GiB for `checker train`.
//!
//! Linux only, like the checker's grading.

use anyhow::{bail, Context};
use std::collections::VecDeque;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod child;
mod output;
mod plan;
mod quota;
mod records;
mod ruleset;

use child::*;
use output::*;
use plan::*;
use quota::*;
use records::*;
use ruleset::*;

/// Resource limits of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// One wall-clock limit for the whole run, children included.
    pub wall: Duration,
    /// `RLIMIT_DATA` in bytes, per process (see the module doc); `None`: unlimited.
    pub memory: Option<u64>,
    /// `RLIMIT_FSIZE`: the largest file the program may write, in bytes.
    pub file_size: u64,
    /// `RLIMIT_NPROC`: processes and threads (not enforced for root).
    pub processes: u64,
    /// Bytes of the combined stdout+stderr kept at the head and, again, at the tail.
    pub output_keep: usize,
    /// How much the writable folders may grow in all (allocated bytes), watched while
    /// the run lasts (see the module doc); `None`: no budget.
    pub scratch_bytes: Option<u64>,
}

impl Default for Limits {
    /// 5 minutes, 8 GiB, 64 MiB files, 512 tasks, 4 KiB of output at each end,
    /// 256 MiB of scratch space.
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(300),
            memory: Some(8 << 30),
            file_size: 64 << 20,
            processes: 512,
            output_keep: 4096,
            scratch_bytes: Some(DEFAULT_SCRATCH_BYTES),
        }
    }
}

/// The default [`Limits::scratch_bytes`]: the checks write a few small image sets and
/// an observations file of at most 16 MiB; 256 MiB leaves them ample room and still
/// stops a runaway writer early. The final stage sets its own (it saves checkpoints).
pub const DEFAULT_SCRATCH_BYTES: u64 = 256 << 20;

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The executable: a path, or a bare name looked up in `PATH`.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Set on top of the inherited environment (after `TMPDIR`, so they can replace it).
    pub env: Vec<(OsString, OsString)>,
    /// Start from this process's environment (default); `false`: from an empty one,
    /// so that only `TMPDIR` and [`Spec::env`] reach the program.
    pub inherit_env: bool,
    pub cwd: PathBuf,
    /// The folders the program may write beneath (they must exist); everything else
    /// is read-only. The first one becomes `TMPDIR`.
    pub writable: Vec<PathBuf>,
    /// When set, the program may read and execute only beneath these paths (and the
    /// writable folders); `None`: everywhere. Paths that do not exist are skipped.
    /// [`system_paths`] lists what any program needs from the operating system.
    pub readable: Option<Vec<PathBuf>>,
    pub limits: Limits,
    /// Try the user/PID/network namespaces (default). `false` takes the fallback
    /// directly; meant for tests and for debugging.
    pub namespaces: bool,
    /// Bytes the program reads on standard input, then end of input; `None`: an
    /// empty standard input (`/dev/null`). Keep it under the pipe's 64 KiB buffer.
    pub stdin: Option<Vec<u8>>,
    /// Also copy the program's output to this process's standard output as it comes
    /// (for long runs a person watches), up to this many bytes, with control
    /// characters written visibly (`grading::text::inert`); 0: none.
    pub echo_bytes: u64,
}

impl Spec {
    /// A spec with default limits, no arguments, no extra environment and namespaces on.
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Spec {
        Spec {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            inherit_env: true,
            cwd: cwd.into(),
            writable: Vec::new(),
            readable: None,
            limits: Limits::default(),
            namespaces: true,
            stdin: None,
            echo_bytes: 0,
        }
    }
}

/// The operating system's folders that programs read: libraries, executables,
/// configuration, `/proc`, `/dev`. Not the home folders, not `/tmp`, not `/work`.
pub fn system_paths() -> Vec<PathBuf> {
    [
        "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/opt", "/proc",
        "/sys", "/dev", "/run",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|p| p.exists())
    .collect()
}

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal ended it (`SIGKILL` when the wall clock did).
    Signal(i32),
}

/// Which limit ended or broke the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    /// Killed at [`Limits::wall`]; certain.
    WallClock,
    /// An allocation failed (seen in the output, e.g. "memory allocation of N bytes
    /// failed", `std::bad_alloc`, `MemoryError`); a heuristic.
    Memory,
    /// `SIGXFSZ`, or "File too large" (`EFBIG`) in the output.
    FileSize,
    /// A fork or thread creation failed ("Resource temporarily unavailable"); a heuristic.
    Processes,
    /// Killed because the writable folders grew past [`Limits::scratch_bytes`] (or by
    /// more than [`MAX_SCRATCH_ENTRIES`] entries); certain.
    ScratchSpace,
}

/// Entries a run may add beneath its writable folders before it is stopped as over
/// its scratch budget (the walk that measures them must stay short).
pub const MAX_SCRATCH_ENTRIES: u64 = MAX_NEW_ENTRIES;

impl LimitHit {
    /// A short phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            LimitHit::WallClock => "time limit reached",
            LimitHit::Memory => "memory limit reached",
            LimitHit::FileSize => "file size limit reached",
            LimitHit::Processes => "process limit reached",
            LimitHit::ScratchSpace => "scratch space limit reached",
        }
    }
}

/// The program's combined stdout and stderr, cut in the middle when long.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The first bytes; the whole output when nothing was cut.
    pub head: String,
    /// The last bytes when something was cut, else empty.
    pub tail: String,
    /// Bytes the program wrote in all.
    pub total_bytes: u64,
    /// Bytes neither in `head` nor in `tail`.
    pub cut_bytes: u64,
}

impl Output {
    /// The output as one text, with a "…(N bytes cut)…" line where the middle went.
    pub fn render(&self) -> String {
        if self.cut_bytes == 0 {
            return format!("{}{}", self.head, self.tail);
        }
        let newline = if self.head.ends_with('\n') { "" } else { "\n" };
        format!(
            "{}{newline}…({} bytes cut)…\n{}",
            self.head, self.cut_bytes, self.tail
        )
    }
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Finished {
    pub exit: Exit,
    pub limit_hit: Option<LimitHit>,
    pub output: Output,
    pub elapsed: Duration,
    /// Weaker isolation than intended (no Landlock, no namespaces, ...): for the caller
    /// to print.
    pub warnings: Vec<String>,
}

impl Finished {
    /// Exit status 0 and no limit hit.
    pub fn success(&self) -> bool {
        self.exit == Exit::Code(0) && self.limit_hit.is_none()
    }
}

/// `defaults` with the `SE05_SANDBOX_*` overrides from the environment applied (see the
/// module doc). A value that does not parse is an error naming the variable.
pub fn limits_from_env(defaults: Limits) -> anyhow::Result<Limits> {
    limits_from_lookup(defaults, |name| std::env::var_os(name))
}

fn limits_from_lookup(
    mut limits: Limits,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> anyhow::Result<Limits> {
    let read = |name: &str| -> anyhow::Result<Option<String>> {
        match lookup(name) {
            None => Ok(None),
            Some(v) => v
                .into_string()
                .map(|s| Some(s.trim().to_string()))
                .map_err(|_| anyhow::anyhow!("{name} is not valid UTF-8")),
        }
    };
    let number = |name: &str, text: &str| -> anyhow::Result<u64> {
        text.parse::<u64>()
            .with_context(|| format!("{name}={text:?}: expected a whole number"))
    };
    if let Some(v) = read("SE05_SANDBOX_WALL_S")? {
        let secs: f64 = v
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0)
            .with_context(|| format!("SE05_SANDBOX_WALL_S={v:?}: expected seconds > 0"))?;
        limits.wall = Duration::from_secs_f64(secs);
    }
    if let Some(v) = read("SE05_SANDBOX_MEMORY_MB")? {
        limits.memory = if v == "0" || v.eq_ignore_ascii_case("unlimited") {
            None
        } else {
            Some(number("SE05_SANDBOX_MEMORY_MB", &v)?.saturating_mul(1 << 20))
        };
    }
    if let Some(v) = read("SE05_SANDBOX_FSIZE_MB")? {
        limits.file_size = number("SE05_SANDBOX_FSIZE_MB", &v)?.saturating_mul(1 << 20);
    }
    if let Some(v) = read("SE05_SANDBOX_NPROC")? {
        limits.processes = number("SE05_SANDBOX_NPROC", &v)?;
    }
    if let Some(v) = read("SE05_SANDBOX_SCRATCH_MB")? {
        limits.scratch_bytes = if v == "0" || v.eq_ignore_ascii_case("unlimited") {
            None
        } else {
            Some(number("SE05_SANDBOX_SCRATCH_MB", &v)?.saturating_mul(1 << 20))
        };
    }
    Ok(limits)
}

/// Set once a namespace setup failed after `unshare` (mappings refused): later runs of
/// this process go straight to the fallback instead of paying for a second start.
static NAMESPACES_BROKEN: AtomicBool = AtomicBool::new(false);
/// Set once a run got its namespaces.
static NAMESPACES_WORKED: AtomicBool = AtomicBool::new(false);

/// How long the supervisor gets to clean up after the wall clock before it is killed.
const KILL_GRACE: Duration = Duration::from_secs(3);
/// How long the output pipe may stay open once the supervisor is gone.
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// Runs `spec.program` in the sandbox and waits for it (at most `spec.limits.wall`
/// plus a few seconds of cleanup). An error means the run could not be set up (no
/// such program, a writable folder missing, ...); whatever the program does is
/// reported in [`Finished`].
pub fn run(spec: &Spec) -> anyhow::Result<Finished> {
    let mut warnings = Vec::new();
    let try_ns = spec.namespaces && !NAMESPACES_BROKEN.load(Ordering::Relaxed);
    match run_once(spec, try_ns, &mut warnings)? {
        Attempt::Done(finished) => Ok(finished),
        Attempt::NamespaceRefused(errno) => {
            NAMESPACES_BROKEN.store(true, Ordering::Relaxed);
            warnings.push(format!(
                "sandbox: user namespace created but its uid/gid maps were refused ({}); \
                 running with the fallback",
                io::Error::from_raw_os_error(errno)
            ));
            match run_once(spec, false, &mut warnings)? {
                Attempt::Done(finished) => Ok(finished),
                Attempt::NamespaceRefused(_) => unreachable!("namespaces were not tried"),
            }
        }
    }
}

enum Attempt {
    Done(Finished),
    NamespaceRefused(i32),
}
fn run_once(
    spec: &Spec,
    try_namespaces: bool,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Attempt> {
    for dir in &spec.writable {
        if !dir.is_dir() {
            bail!("sandbox: writable folder {} does not exist", dir.display());
        }
    }
    let ruleset = landlock_ruleset(&spec.writable, spec.readable.as_deref())?;
    if ruleset.is_none() && !warnings.iter().any(|w| w.contains("Landlock")) {
        warnings.push(
            "sandbox: Landlock is not available on this kernel: the program can write \
             wherever your user can"
                .to_string(),
        );
    }
    let (status_read, status_write) = pipe_cloexec().context("sandbox: status pipe")?;
    let (output_read, output_write) = pipe_cloexec().context("sandbox: output pipe")?;
    let plan = build_plan(
        spec,
        try_namespaces,
        status_write.as_raw_fd(),
        ruleset.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
    )?;

    let mut command = Command::new(&spec.program);
    command
        .current_dir(&spec.cwd)
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::from(output_write.try_clone()?))
        .stderr(Stdio::from(output_write));
    // SAFETY: the closure only makes async-signal-safe system calls on data prepared
    // above (see `supervisor`).
    unsafe {
        command.pre_exec(move || supervisor(&plan));
    }
    // What the writable folders hold before the program starts is not its doing.
    let mut scratch = ScratchWatch::start(spec);
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("sandbox: cannot start {}", spec.program.display()))?;
    if let (Some(bytes), Some(mut pipe)) = (&spec.stdin, child.stdin.take()) {
        use std::io::Write;
        // Fits the pipe's buffer, so this cannot block on a program that never reads.
        let _ = pipe.write_all(bytes);
    }
    drop(command); // closes our copies of the output pipe's write end
    drop(status_write);
    drop(ruleset);

    let stop_reading = Arc::new(AtomicBool::new(false));
    let keep = spec.limits.output_keep;
    let echo = spec.echo_bytes;
    let reader = {
        let stop = Arc::clone(&stop_reading);
        std::thread::Builder::new()
            .name("sandbox-output".into())
            .spawn(move || drain_output(output_read, keep, echo, &stop))
            .context("sandbox: output thread")?
    };

    let supervisor_pid = child.id() as libc::pid_t;
    let deadline = start + spec.limits.wall;
    let mut records = Vec::new();
    let mut pending = Vec::new();
    // The limit the checker stopped the run for (wall clock, scratch space), if any.
    let mut killed_for: Option<LimitHit> = None;
    let mut supervisor_killed = false;
    let mut grace_deadline = None;
    loop {
        let now = Instant::now();
        let until = grace_deadline.unwrap_or(deadline);
        let over_budget =
            killed_for.is_none() && scratch.as_mut().is_some_and(|watch| watch.over_budget(now));
        if now >= until || over_budget {
            if killed_for.is_none() {
                killed_for = Some(if over_budget {
                    LimitHit::ScratchSpace
                } else {
                    LimitHit::WallClock
                });
                // The supervisor kills the init, and with it the whole run.
                unsafe { libc::kill(supervisor_pid, libc::SIGUSR1) };
                grace_deadline = Some(Instant::now() + KILL_GRACE);
                continue;
            }
            // The supervisor did not finish its cleanup in time: kill it. The init it
            // leaves dies by its parent-death signal, and the namespace with it.
            unsafe { libc::kill(supervisor_pid, libc::SIGKILL) };
            supervisor_killed = true;
            break;
        }
        // Wake for the next walk of the scratch space while one is due.
        let wake = match (&scratch, killed_for) {
            (Some(watch), None) => until.min(watch.next),
            _ => until,
        };
        let wait_ms = wake
            .saturating_duration_since(now)
            .as_millis()
            .clamp(1, 60_000) as i32;
        let mut pfd = libc::pollfd {
            fd: status_read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let r = unsafe { libc::poll(&mut pfd, 1, wait_ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            unsafe { libc::kill(supervisor_pid, libc::SIGKILL) };
            let _ = child.wait();
            return Err(e).context("sandbox: poll");
        }
        if r == 0 {
            continue;
        }
        let mut buf = [0u8; 256];
        let n = unsafe { libc::read(status_read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            unsafe { libc::kill(supervisor_pid, libc::SIGKILL) };
            let _ = child.wait();
            return Err(e).context("sandbox: status pipe");
        }
        if n == 0 {
            break; // every helper has exited
        }
        pending.extend_from_slice(&buf[..n as usize]);
        while pending.len() >= REC_SIZE {
            let field =
                |i: usize| i32::from_ne_bytes(pending[i * 4..i * 4 + 4].try_into().unwrap());
            records.push((field(0), field(1), field(2)));
            pending.drain(..REC_SIZE);
        }
    }
    let supervisor_status = child
        .wait()
        .context("sandbox: waiting for the supervisor")?;
    let elapsed = start.elapsed();
    stop_reading.store(true, Ordering::Relaxed);
    let (output, output_escaped) = reader
        .join()
        .map_err(|_| anyhow::anyhow!("sandbox: the output thread panicked"))?;

    let mut program_status = None;
    for &(tag, a, b) in &records {
        match tag {
            REC_NS_REFUSED => return Ok(Attempt::NamespaceRefused(a)),
            REC_MODE if a == 1 => NAMESPACES_WORKED.store(true, Ordering::Relaxed),
            REC_MODE if a == 0 && try_namespaces => warnings.push(format!(
                "sandbox: no user/PID namespace ({}): background processes are tracked \
                 through a subreaper instead, and the network stays reachable",
                io::Error::from_raw_os_error(b)
            )),
            REC_STATUS => program_status = Some(a),
            REC_ERROR => bail!(
                "sandbox: cannot start {}: {} failed: {}",
                spec.program.display(),
                stage_name(a),
                io::Error::from_raw_os_error(b)
            ),
            _ => {}
        }
    }
    if supervisor_killed {
        warnings.push("sandbox: the supervisor did not clean up in time and was killed".into());
    }
    if output_escaped {
        warnings.push(
            "sandbox: the output pipe was still open after the run: a process may have escaped"
                .into(),
        );
    }
    let exit = match program_status {
        Some(status) => decode_wait_status(status),
        None if killed_for.is_some() => Exit::Signal(libc::SIGKILL),
        None => bail!(
            "sandbox: the supervisor ended ({supervisor_status}) without reporting on {}",
            spec.program.display()
        ),
    };
    let limit_hit = killed_for.or_else(|| classify(exit, &output, &spec.limits));
    Ok(Attempt::Done(Finished {
        exit,
        limit_hit,
        output,
        elapsed,
        warnings: std::mem::take(warnings),
    }))
}

fn decode_wait_status(status: i32) -> Exit {
    if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    }
}

/// The limit a run that the checker did not stop ran into, judged from how it ended.
fn classify(exit: Exit, output: &Output, limits: &Limits) -> Option<LimitHit> {
    if exit == Exit::Signal(libc::SIGXFSZ) {
        return Some(LimitHit::FileSize);
    }
    if exit == Exit::Code(0) {
        return None;
    }
    let text = format!("{}\n{}", output.head, output.tail);
    let says = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if limits.memory.is_some()
        && says(&[
            "memory allocation of",
            "bad_alloc",
            "can't allocate memory",
            "MemoryError",
            "Cannot allocate memory",
            "out of memory",
        ])
    {
        return Some(LimitHit::Memory);
    }
    if says(&["File too large"]) {
        return Some(LimitHit::FileSize);
    }
    if says(&[
        "Resource temporarily unavailable",
        "Cannot fork",
        "fork: retry",
    ]) {
        return Some(LimitHit::Processes);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_parse_and_reject() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let limits = limits_from_lookup(
            Limits::default(),
            env(&[
                ("SE05_SANDBOX_WALL_S", "2.5"),
                ("SE05_SANDBOX_MEMORY_MB", "unlimited"),
                ("SE05_SANDBOX_FSIZE_MB", "3"),
                ("SE05_SANDBOX_NPROC", "40"),
                ("SE05_SANDBOX_SCRATCH_MB", "12"),
            ]),
        )
        .unwrap();
        assert_eq!(limits.wall, Duration::from_millis(2500));
        assert_eq!(limits.memory, None);
        assert_eq!(limits.file_size, 3 << 20);
        assert_eq!(limits.processes, 40);
        assert_eq!(limits.scratch_bytes, Some(12 << 20));
        assert_eq!(Limits::default().scratch_bytes, Some(DEFAULT_SCRATCH_BYTES));
        let limits = limits_from_lookup(
            Limits::default(),
            env(&[("SE05_SANDBOX_SCRATCH_MB", "unlimited")]),
        )
        .unwrap();
        assert_eq!(limits.scratch_bytes, None);
        let err = limits_from_lookup(
            Limits::default(),
            env(&[("SE05_SANDBOX_SCRATCH_MB", "1.5")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("SE05_SANDBOX_SCRATCH_MB"), "{err}");
        let limits =
            limits_from_lookup(Limits::default(), env(&[("SE05_SANDBOX_MEMORY_MB", "100")]))
                .unwrap();
        assert_eq!(limits.memory, Some(100 << 20));
        let err = limits_from_lookup(Limits::default(), env(&[("SE05_SANDBOX_WALL_S", "-1")]))
            .unwrap_err();
        assert!(err.to_string().contains("SE05_SANDBOX_WALL_S"), "{err}");
        assert!(
            limits_from_lookup(Limits::default(), env(&[("SE05_SANDBOX_NPROC", "many")])).is_err()
        );
    }

    #[test]
    fn classification() {
        let out = |text: &str| Output {
            head: text.into(),
            ..Output::default()
        };
        let limits = Limits::default();
        assert_eq!(
            classify(Exit::Signal(libc::SIGXFSZ), &out(""), &limits),
            Some(LimitHit::FileSize)
        );
        assert_eq!(
            classify(
                Exit::Signal(libc::SIGABRT),
                &out("memory allocation of 100 bytes failed\n"),
                &limits
            ),
            Some(LimitHit::Memory)
        );
        assert_eq!(
            classify(Exit::Code(101), &out("thread panicked"), &limits),
            None
        );
        assert_eq!(classify(Exit::Code(0), &out("MemoryError"), &limits), None);
    }
}
