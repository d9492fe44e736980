//! What the forked helpers need, prepared before the fork (they must not allocate):
//! the program, its arguments and environment, the uid/gid maps, the limits.
use super::*;

/// Everything the forked helpers need, prepared before the fork so that they never
/// allocate.
pub(super) struct ChildPlan {
    pub(super) try_namespaces: bool,
    pub(super) parent_pid: libc::pid_t,
    pub(super) status_fd: RawFd,
    pub(super) ruleset_fd: RawFd, // -1: no Landlock
    pub(super) uid_map: Vec<u8>,
    pub(super) gid_map: Vec<u8>,
    /// (resource, value) set in the program before execve.
    pub(super) rlimits: Vec<(libc::__rlimit_resource_t, libc::rlim_t)>,
    pub(super) nproc_namespace: libc::rlim_t,
    pub(super) nproc_fallback: libc::rlim_t,
    pub(super) program: CString,
    pub(super) _argv: Vec<CString>,
    pub(super) _envp: Vec<CString>,
    /// Null-terminated pointer arrays into `_argv` / `_envp`, stored as addresses so the
    /// plan is `Send + Sync` as `pre_exec` requires.
    pub(super) argv_ptrs: Vec<usize>,
    pub(super) envp_ptrs: Vec<usize>,
}

pub(super) fn cstring(bytes: &[u8], what: &str) -> anyhow::Result<CString> {
    CString::new(bytes.to_vec()).with_context(|| format!("{what} contains a NUL byte"))
}

pub(super) fn resolve_program(program: &Path) -> anyhow::Result<PathBuf> {
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

/// Root of the initial user namespace, which `RLIMIT_NPROC` does not apply to.
pub(super) fn initial_root() -> bool {
    let uid = unsafe { libc::getuid() };
    uid == 0
        && std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|map| map.split_whitespace().eq(["0", "0", "4294967295"]))
}

/// Tasks (threads included) that the real user runs now, for the fallback's
/// `RLIMIT_NPROC`.
pub(super) fn tasks_of_current_user() -> u64 {
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

pub(super) fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub(super) fn build_plan(
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
    let mut env: Vec<(OsString, OsString)> = if spec.inherit_env {
        std::env::vars_os().collect()
    } else {
        Vec::new()
    };
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
