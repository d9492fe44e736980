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
//! - **Output**: stdout and stderr share one pipe that a thread drains all the time, so
//!   the program never blocks on a full pipe; the first and last
//!   [`Limits::output_keep`] bytes are kept and the rest only counted. Nothing is written
//!   to disk. stdin is `/dev/null`, or a pipe holding [`Spec::stdin`].
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
}

impl Default for Limits {
    /// 5 minutes, 8 GiB, 64 MiB files, 512 tasks, 4 KiB of output at each end.
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(300),
            memory: Some(8 << 30),
            file_size: 64 << 20,
            processes: 512,
            output_keep: 4096,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The executable: a path, or a bare name looked up in `PATH`.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Set on top of the inherited environment (after `TMPDIR`, so they can replace it).
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
    /// The folders the program may write beneath (they must exist); everything else
    /// is read-only. The first one becomes `TMPDIR`.
    pub writable: Vec<PathBuf>,
    pub limits: Limits,
    /// Try the user/PID/network namespaces (default). `false` takes the fallback
    /// directly; meant for tests and for debugging.
    pub namespaces: bool,
    /// Bytes the program reads on standard input, then end of input; `None`: an
    /// empty standard input (`/dev/null`). Keep it under the pipe's 64 KiB buffer.
    pub stdin: Option<Vec<u8>>,
    /// Also copy the program's output to this process's standard output as it comes
    /// (for long runs a person watches), up to this many bytes; 0: none.
    pub echo_bytes: u64,
}

impl Spec {
    /// A spec with default limits, no arguments, no extra environment and namespaces on.
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Spec {
        Spec {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: cwd.into(),
            writable: Vec::new(),
            limits: Limits::default(),
            namespaces: true,
            stdin: None,
            echo_bytes: 0,
        }
    }
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
}

impl LimitHit {
    /// A short phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            LimitHit::WallClock => "time limit reached",
            LimitHit::Memory => "memory limit reached",
            LimitHit::FileSize => "file size limit reached",
            LimitHit::Processes => "process limit reached",
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

// Records on the status pipe: [tag, a, b] as three native-endian i32 (12 bytes, one
// atomic write each).
const REC_MODE: i32 = 1; // a: 1 namespaces, 0 fallback; b: errno of unshare (fallback)
const REC_NS_REFUSED: i32 = 2; // a: errno of the map write
const REC_STATUS: i32 = 3; // a: the program's wait status
const REC_ERROR: i32 = 4; // a: stage, b: errno
const REC_SIZE: usize = 12;

const STAGE_FORK: i32 = 1;
const STAGE_LANDLOCK: i32 = 2;
const STAGE_RLIMIT: i32 = 3;
const STAGE_EXEC: i32 = 4;

fn stage_name(stage: i32) -> &'static str {
    match stage {
        STAGE_FORK => "fork",
        STAGE_LANDLOCK => "landlock_restrict_self",
        STAGE_RLIMIT => "setrlimit",
        STAGE_EXEC => "execve",
        _ => "setup",
    }
}

/// Everything the forked helpers need, prepared before the fork so that they never
/// allocate.
struct ChildPlan {
    try_namespaces: bool,
    parent_pid: libc::pid_t,
    status_fd: RawFd,
    ruleset_fd: RawFd, // -1: no Landlock
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// (resource, value) set in the program before execve.
    rlimits: Vec<(libc::__rlimit_resource_t, libc::rlim_t)>,
    nproc_namespace: libc::rlim_t,
    nproc_fallback: libc::rlim_t,
    program: CString,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    /// Null-terminated pointer arrays into `_argv` / `_envp`, stored as addresses so the
    /// plan is `Send + Sync` as `pre_exec` requires.
    argv_ptrs: Vec<usize>,
    envp_ptrs: Vec<usize>,
}

fn cstring(bytes: &[u8], what: &str) -> anyhow::Result<CString> {
    CString::new(bytes.to_vec()).with_context(|| format!("{what} contains a NUL byte"))
}

fn resolve_program(program: &Path) -> anyhow::Result<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Ok(program.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if let Ok(meta) = candidate.metadata() {
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    bail!("sandbox: program {} not found in PATH", program.display())
}

fn landlock_abi() -> i32 {
    // LANDLOCK_CREATE_RULESET_VERSION = 1: returns the ABI version or fails.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    if r < 0 {
        0
    } else {
        r as i32
    }
}

/// Builds the Landlock ruleset in the caller; only `landlock_restrict_self` runs in the
/// program's process. `None` when the kernel has no Landlock.
fn landlock_ruleset(writable: &[PathBuf]) -> anyhow::Result<Option<OwnedFd>> {
    use landlock::{
        Access, AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
        Scope, ABI,
    };
    if landlock_abi() < 1 {
        return Ok(None);
    }
    let abi = ABI::V6;
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rule(PathBeneath::new(
            PathFd::new("/")?,
            AccessFs::from_read(abi),
        ))?;
    for dir in writable {
        let fd = PathFd::new(dir)
            .with_context(|| format!("sandbox: writable folder {}", dir.display()))?;
        ruleset = ruleset.add_rule(PathBeneath::new(fd, AccessFs::from_all(abi)))?;
    }
    let mut devices: Vec<PathBuf> = ["/dev/null", "/dev/zero", "/dev/full"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Ok(entries) = std::fs::read_dir("/dev") {
        for entry in entries.flatten() {
            if entry.file_name().as_bytes().starts_with(b"nvidia") {
                devices.push(entry.path());
            }
        }
    }
    for device in devices {
        if let Ok(fd) = PathFd::new(&device) {
            ruleset = ruleset.add_rule(PathBeneath::new(fd, AccessFs::from_file(abi)))?;
        }
    }
    Ok(ruleset.into())
}

/// Root of the initial user namespace, which `RLIMIT_NPROC` does not apply to.
fn initial_root() -> bool {
    let uid = unsafe { libc::getuid() };
    uid == 0
        && std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|map| map.split_whitespace().eq(["0", "0", "4294967295"]))
}

/// Tasks (threads included) that the real user runs now, for the fallback's
/// `RLIMIT_NPROC`.
fn tasks_of_current_user() -> u64 {
    let uid = unsafe { libc::getuid() }.to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut tasks = 0;
    for entry in entries.flatten() {
        if !entry.file_name().as_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let real_uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next());
        if real_uid == Some(uid.as_str()) {
            tasks += status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|l| l.trim().parse::<u64>().ok())
                .unwrap_or(1);
        }
    }
    tasks
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn build_plan(
    spec: &Spec,
    try_namespaces: bool,
    status_fd: RawFd,
    ruleset_fd: RawFd,
) -> anyhow::Result<ChildPlan> {
    let program_path = resolve_program(&spec.program)?;
    let program = cstring(program_path.as_os_str().as_bytes(), "program path")?;
    let mut argv = vec![cstring(spec.program.as_os_str().as_bytes(), "program")?];
    for arg in &spec.args {
        argv.push(cstring(arg.as_bytes(), "an argument")?);
    }
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let mut set = |name: &OsStr, value: &OsStr| {
        env.retain(|(n, _)| n != name);
        env.push((name.to_os_string(), value.to_os_string()));
    };
    if let Some(first) = spec.writable.first() {
        set(OsStr::new("TMPDIR"), first.as_os_str());
    }
    for (name, value) in &spec.env {
        set(name, value);
    }
    let mut envp = Vec::with_capacity(env.len());
    for (name, value) in &env {
        let mut entry = name.as_bytes().to_vec();
        entry.push(b'=');
        entry.extend_from_slice(value.as_bytes());
        envp.push(cstring(&entry, "an environment variable")?);
    }
    let pointers = |strings: &[CString]| -> Vec<usize> {
        let mut v: Vec<usize> = strings.iter().map(|s| s.as_ptr() as usize).collect();
        v.push(0);
        v
    };
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let limits = &spec.limits;
    let mut rlimits = vec![
        (libc::RLIMIT_FSIZE, limits.file_size as libc::rlim_t),
        (libc::RLIMIT_CORE, 0),
    ];
    if let Some(bytes) = limits.memory {
        rlimits.push((libc::RLIMIT_DATA, bytes as libc::rlim_t));
    }
    let nproc = limits.processes as libc::rlim_t;
    // The fallback's RLIMIT_NPROC counts all the user's tasks, so it is raised by their
    // number. Root of the initial user namespace is exempt (uid 0 of a nested one is
    // not). Once namespaces have worked in this process, the fallback is not expected.
    let nproc_fallback = if NAMESPACES_WORKED.load(Ordering::Relaxed) || initial_root() {
        nproc
    } else {
        nproc.saturating_add(tasks_of_current_user() as libc::rlim_t)
    };
    Ok(ChildPlan {
        try_namespaces,
        parent_pid: std::process::id() as libc::pid_t,
        status_fd,
        ruleset_fd,
        uid_map: format!("{uid} {uid} 1\n").into_bytes(),
        gid_map: format!("{gid} {gid} 1\n").into_bytes(),
        rlimits,
        nproc_namespace: nproc,
        nproc_fallback,
        program,
        argv_ptrs: pointers(&argv),
        envp_ptrs: pointers(&envp),
        _argv: argv,
        _envp: envp,
    })
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
    let ruleset = landlock_ruleset(&spec.writable)?;
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
    let mut wall_killed = false;
    let mut supervisor_killed = false;
    let mut grace_deadline = None;
    loop {
        let now = Instant::now();
        let until = grace_deadline.unwrap_or(deadline);
        if now >= until {
            if !wall_killed {
                wall_killed = true;
                unsafe { libc::kill(supervisor_pid, libc::SIGUSR1) };
                grace_deadline = Some(now + KILL_GRACE);
                continue;
            }
            // The supervisor did not finish its cleanup in time: kill it. The init it
            // leaves dies by its parent-death signal, and the namespace with it.
            unsafe { libc::kill(supervisor_pid, libc::SIGKILL) };
            supervisor_killed = true;
            break;
        }
        let wait_ms = (until - now).as_millis().clamp(1, 60_000) as i32;
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
        None if wall_killed => Exit::Signal(libc::SIGKILL),
        None => bail!(
            "sandbox: the supervisor ended ({supervisor_status}) without reporting on {}",
            spec.program.display()
        ),
    };
    let limit_hit = classify(wall_killed, exit, &output, &spec.limits);
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

fn classify(wall_killed: bool, exit: Exit, output: &Output, limits: &Limits) -> Option<LimitHit> {
    if wall_killed {
        return Some(LimitHit::WallClock);
    }
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

/// Keeps the first and last `keep` bytes of the stream and counts the rest.
struct Collector {
    keep: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Collector {
    fn new(keep: usize) -> Collector {
        Collector {
            keep,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.head.len() < self.keep {
            let take = (self.keep - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if data.len() >= self.keep {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.keep..]);
        } else {
            let excess = (self.tail.len() + data.len()).saturating_sub(self.keep);
            self.tail.drain(..excess);
            self.tail.extend(data);
        }
    }

    fn finish(self) -> Output {
        let tail: Vec<u8> = self.tail.into_iter().collect();
        let cut = self.total - self.head.len() as u64 - tail.len() as u64;
        if cut == 0 {
            let mut all = self.head;
            all.extend_from_slice(&tail);
            return Output {
                head: String::from_utf8_lossy(&all).into_owned(),
                tail: String::new(),
                total_bytes: self.total,
                cut_bytes: 0,
            };
        }
        // Drop a character split by the cut rather than show replacement marks.
        let mut head = &self.head[..];
        if let Err(e) = std::str::from_utf8(head) {
            if e.error_len().is_none() {
                head = &head[..e.valid_up_to()];
            }
        }
        let skip = tail
            .iter()
            .take(3)
            .take_while(|b| (**b & 0xC0) == 0x80)
            .count();
        let tail = &tail[skip..];
        Output {
            head: String::from_utf8_lossy(head).into_owned(),
            tail: String::from_utf8_lossy(tail).into_owned(),
            total_bytes: self.total,
            cut_bytes: self.total - head.len() as u64 - tail.len() as u64,
        }
    }
}

/// Reads the output pipe until end of file; once `stop` is set (the run is over) it
/// gives the pipe [`OUTPUT_GRACE`] to close. Returns the output and whether the pipe
/// was still open then.
fn drain_output(pipe: OwnedFd, keep: usize, echo: u64, stop: &AtomicBool) -> (Output, bool) {
    let mut collector = Collector::new(keep);
    let mut echoed = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    let mut give_up_at: Option<Instant> = None;
    let escaped = loop {
        if give_up_at.is_none() && stop.load(Ordering::Relaxed) {
            give_up_at = Some(Instant::now() + OUTPUT_GRACE);
        }
        if give_up_at.is_some_and(|t| Instant::now() >= t) {
            break true;
        }
        let mut pfd = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let r = unsafe { libc::poll(&mut pfd, 1, 50) };
        if r <= 0 {
            continue; // timeout or EINTR
        }
        let n = unsafe { libc::read(pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => break false,
            n if n > 0 => {
                let bytes = &buf[..n as usize];
                if echoed < echo {
                    use std::io::Write;
                    let part = &bytes[..bytes.len().min((echo - echoed) as usize)];
                    let mut out = io::stdout().lock();
                    let _ = out.write_all(part);
                    let _ = out.flush();
                    echoed += part.len() as u64;
                    if echoed >= echo {
                        let _ = writeln!(out, "\n… (further output not shown)");
                    }
                }
                collector.push(bytes)
            }
            _ => {
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    break false;
                }
            }
        }
    };
    (collector.finish(), escaped)
}

// ---------------------------------------------------------------------------------
// Everything below runs in forked processes of a multithreaded parent: raw system
// calls only, no allocation, no locks, no panics.

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

unsafe fn report(fd: RawFd, tag: i32, a: i32, b: i32) {
    let mut rec = [0u8; REC_SIZE];
    rec[0..4].copy_from_slice(&tag.to_ne_bytes());
    rec[4..8].copy_from_slice(&a.to_ne_bytes());
    rec[8..12].copy_from_slice(&b.to_ne_bytes());
    libc::write(fd, rec.as_ptr().cast(), REC_SIZE);
}

/// fork() without glibc's atfork handlers.
unsafe fn raw_fork() -> libc::pid_t {
    libc::syscall(
        libc::SYS_clone,
        libc::SIGCHLD as libc::c_ulong,
        0usize,
        0usize,
        0usize,
        0usize,
    ) as libc::pid_t
}

unsafe fn write_proc_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), i32> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(errno());
    }
    let n = libc::write(fd, data.as_ptr().cast(), data.len());
    let result = if n == data.len() as isize {
        Ok(())
    } else {
        Err(errno())
    };
    libc::close(fd);
    result
}

/// Closes every descriptor from 3 up except those in `keep`.
unsafe fn close_fds_except(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut from: u32 = 3;
    for &fd in keep.iter().filter(|fd| **fd >= 3) {
        let fd = fd as u32;
        if fd > from {
            close_range(from, fd - 1);
        }
        from = fd + 1;
    }
    close_range(from, u32::MAX);
}

unsafe fn close_range(first: u32, last: u32) {
    if libc::syscall(libc::SYS_close_range, first, last, 0u32) == 0 {
        return;
    }
    // Kernels before 5.9: close one by one up to the descriptor limit.
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 {
        rl.rlim_cur.min(1 << 20) as u32
    } else {
        1024
    };
    let mut fd = first;
    while fd <= last && fd < max {
        libc::close(fd as i32);
        fd += 1;
    }
}

unsafe fn signal_set(signals: &[i32]) -> libc::sigset_t {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    for &s in signals {
        libc::sigaddset(&mut set, s);
    }
    set
}

/// Default dispositions and an empty mask: ignored signals would stay ignored across
/// execve.
unsafe fn reset_signals() {
    for signal in 1..32 {
        if signal != libc::SIGKILL && signal != libc::SIGSTOP {
            libc::signal(signal, libc::SIG_DFL);
        }
    }
    let empty = signal_set(&[]);
    libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
}

/// The supervisor: std's forked child. Returns only on an early failure (reported by
/// `spawn`); otherwise it ends with `_exit`.
fn supervisor(plan: &ChildPlan) -> io::Result<()> {
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGUSR1 as libc::c_ulong,
            0,
            0,
            0,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if libc::getppid() != plan.parent_pid {
            libc::_exit(1); // the caller is already gone
        }
        // Also closes std's exec-error pipe, so `spawn` returns now.
        let mut keep = [plan.status_fd, plan.ruleset_fd];
        close_fds_except(&mut keep);

        let mut namespaces = false;
        if plan.try_namespaces {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNET) == 0 {
                let mapped = write_proc_file(c"/proc/self/uid_map", &plan.uid_map)
                    .and_then(|_| write_proc_file(c"/proc/self/setgroups", b"deny"))
                    .and_then(|_| write_proc_file(c"/proc/self/gid_map", &plan.gid_map));
                if let Err(e) = mapped {
                    report(plan.status_fd, REC_NS_REFUSED, e, 0);
                    libc::_exit(0);
                }
                namespaces = true;
                // New credentials may clear the parent-death signal: set it again.
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGUSR1 as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::getppid() != plan.parent_pid {
                    libc::_exit(1);
                }
                report(plan.status_fd, REC_MODE, 1, 0);
            } else {
                report(plan.status_fd, REC_MODE, 0, errno());
            }
        } else {
            report(plan.status_fd, REC_MODE, 0, libc::ENOSYS);
        }

        // waitpid needs SIGCHLD not ignored.
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        let watched = signal_set(&[libc::SIGUSR1, libc::SIGCHLD]);
        libc::sigprocmask(libc::SIG_BLOCK, &watched, std::ptr::null_mut());
        if !namespaces {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        let direct = raw_fork();
        if direct < 0 {
            report(plan.status_fd, REC_ERROR, STAGE_FORK, errno());
            libc::_exit(1);
        }
        if direct == 0 {
            if namespaces {
                namespace_init(plan);
            } else {
                program(plan, false);
            }
        }
        supervise(plan, direct, namespaces, &watched);
    }
}

/// Waits for the direct child, kills on request (SIGUSR1: wall clock or caller death),
/// and in the fallback kills every remaining descendant before reporting.
unsafe fn supervise(
    plan: &ChildPlan,
    direct: libc::pid_t,
    namespaces: bool,
    watched: &libc::sigset_t,
) -> ! {
    let mut direct_status: Option<i32> = None;
    loop {
        loop {
            let mut status = 0;
            let r = libc::waitpid(-1, &mut status, libc::WNOHANG);
            if r == direct {
                direct_status = Some(status);
            } else if r <= 0 {
                break;
            }
        }
        if direct_status.is_some() {
            break;
        }
        let signal = libc::sigwaitinfo(watched, std::ptr::null_mut());
        if signal == libc::SIGUSR1 {
            if namespaces {
                libc::kill(direct, libc::SIGKILL);
            } else {
                libc::kill(-direct, libc::SIGKILL); // its process group
                kill_children();
            }
        }
    }
    if !namespaces {
        reap_all_descendants();
        if let Some(status) = direct_status {
            report(plan.status_fd, REC_STATUS, status, 0);
        }
    }
    libc::_exit(0);
}

/// SIGKILLs every current child of this process, listed in /proc/thread-self/children.
/// Returns false when that file cannot be read.
unsafe fn kill_children() -> bool {
    let fd = libc::open(
        c"/proc/thread-self/children".as_ptr(),
        libc::O_RDONLY | libc::O_CLOEXEC,
    );
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 4096];
    let mut pid: libc::pid_t = 0;
    loop {
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        if n <= 0 {
            break;
        }
        for &b in &buf[..n as usize] {
            if b.is_ascii_digit() {
                pid = pid * 10 + (b - b'0') as libc::pid_t;
            } else {
                if pid > 0 {
                    libc::kill(pid, libc::SIGKILL);
                }
                pid = 0;
            }
        }
    }
    if pid > 0 {
        libc::kill(pid, libc::SIGKILL);
    }
    libc::close(fd);
    true
}

/// As subreaper, every orphan comes to us: kill the children, reap one, repeat until
/// none is left.
unsafe fn reap_all_descendants() {
    loop {
        kill_children();
        let mut status = 0;
        let r = libc::waitpid(-1, &mut status, 0);
        if r < 0 && errno() != libc::EINTR {
            break; // ECHILD: nothing left
        }
    }
}

/// Pid 1 of the new PID namespace: starts the program, reaps orphans, reports the
/// program's status and exits, which makes the kernel kill whatever is left.
unsafe fn namespace_init(plan: &ChildPlan) -> ! {
    libc::prctl(
        libc::PR_SET_PDEATHSIG,
        libc::SIGKILL as libc::c_ulong,
        0,
        0,
        0,
    );
    libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    let pid = raw_fork();
    if pid < 0 {
        report(plan.status_fd, REC_ERROR, STAGE_FORK, errno());
        libc::_exit(1);
    }
    if pid == 0 {
        program(plan, true);
    }
    loop {
        let mut status = 0;
        let r = libc::waitpid(-1, &mut status, 0);
        if r == pid {
            report(plan.status_fd, REC_STATUS, status, 0);
            libc::_exit(0);
        }
        if r < 0 && errno() != libc::EINTR {
            libc::_exit(1);
        }
    }
}

/// The program's process: limits, Landlock, execve.
unsafe fn program(plan: &ChildPlan, namespaces: bool) -> ! {
    reset_signals();
    libc::prctl(
        libc::PR_SET_PDEATHSIG,
        libc::SIGKILL as libc::c_ulong,
        0,
        0,
        0,
    );
    if !namespaces {
        // Its own process group: a second way for the supervisor to reach it all.
        libc::setpgid(0, 0);
    }
    let nproc = if namespaces {
        plan.nproc_namespace
    } else {
        plan.nproc_fallback
    };
    let all = plan
        .rlimits
        .iter()
        .copied()
        .chain(std::iter::once((libc::RLIMIT_NPROC, nproc)));
    for (resource, value) in all {
        let rl = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        if libc::setrlimit(resource, &rl) != 0 {
            report(plan.status_fd, REC_ERROR, STAGE_RLIMIT, errno());
            libc::_exit(127);
        }
    }
    if plan.ruleset_fd >= 0 {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if libc::syscall(libc::SYS_landlock_restrict_self, plan.ruleset_fd, 0u32) != 0 {
            report(plan.status_fd, REC_ERROR, STAGE_LANDLOCK, errno());
            libc::_exit(127);
        }
        libc::close(plan.ruleset_fd);
    }
    libc::execve(
        plan.program.as_ptr(),
        plan.argv_ptrs.as_ptr().cast(),
        plan.envp_ptrs.as_ptr().cast(),
    );
    report(plan.status_fd, REC_ERROR, STAGE_EXEC, errno());
    libc::_exit(127);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_keeps_head_and_tail() {
        let mut c = Collector::new(4);
        c.push(b"abcdefg");
        c.push(b"hij");
        c.push(b"klmnopq");
        let out = c.finish();
        assert_eq!(out.head, "abcd");
        assert_eq!(out.tail, "nopq");
        assert_eq!(out.total_bytes, 17);
        assert_eq!(out.cut_bytes, 9);
        assert_eq!(out.render(), "abcd\n…(9 bytes cut)…\nnopq");
    }

    #[test]
    fn collector_short_output_is_whole_in_head() {
        let mut c = Collector::new(4);
        c.push("héllo".as_bytes());
        let out = c.finish();
        assert_eq!(out.head, "héllo");
        assert_eq!(out.tail, "");
        assert_eq!(out.cut_bytes, 0);
        assert_eq!(out.render(), "héllo");
    }

    #[test]
    fn collector_drops_split_characters() {
        let mut c = Collector::new(3);
        c.push("aéééééé".as_bytes()); // 'é' is two bytes
        let out = c.finish();
        assert_eq!(out.head, "aé");
        assert_eq!(out.tail, "é");
        assert_eq!(out.total_bytes, 13);
        assert_eq!(out.cut_bytes, 8); // the halves of split characters count as cut
    }

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
            ]),
        )
        .unwrap();
        assert_eq!(limits.wall, Duration::from_millis(2500));
        assert_eq!(limits.memory, None);
        assert_eq!(limits.file_size, 3 << 20);
        assert_eq!(limits.processes, 40);
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
            classify(true, Exit::Code(0), &out(""), &limits),
            Some(LimitHit::WallClock)
        );
        assert_eq!(
            classify(false, Exit::Signal(libc::SIGXFSZ), &out(""), &limits),
            Some(LimitHit::FileSize)
        );
        assert_eq!(
            classify(
                false,
                Exit::Signal(libc::SIGABRT),
                &out("memory allocation of 100 bytes failed\n"),
                &limits
            ),
            Some(LimitHit::Memory)
        );
        assert_eq!(
            classify(false, Exit::Code(101), &out("thread panicked"), &limits),
            None
        );
        assert_eq!(
            classify(false, Exit::Code(0), &out("MemoryError"), &limits),
            None
        );
    }
}
