//! Code that runs in forked processes of a multithreaded parent: the supervisor,
//! the namespace's init and the program's last steps before execve. Raw system calls
//! only, no allocation, no locks, no panics.
use super::*;

// ---------------------------------------------------------------------------------
// Everything below runs in forked processes of a multithreaded parent: raw system
// calls only, no allocation, no locks, no panics.

pub(super) fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub(super) unsafe fn report(fd: RawFd, tag: i32, a: i32, b: i32) {
    let mut rec = [0u8; REC_SIZE];
    rec[0..4].copy_from_slice(&tag.to_ne_bytes());
    rec[4..8].copy_from_slice(&a.to_ne_bytes());
    rec[8..12].copy_from_slice(&b.to_ne_bytes());
    libc::write(fd, rec.as_ptr().cast(), REC_SIZE);
}

/// fork() without glibc's atfork handlers.
pub(super) unsafe fn raw_fork() -> libc::pid_t {
    libc::syscall(
        libc::SYS_clone,
        libc::SIGCHLD as libc::c_ulong,
        0usize,
        0usize,
        0usize,
        0usize,
    ) as libc::pid_t
}

pub(super) unsafe fn write_proc_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), i32> {
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
pub(super) unsafe fn close_fds_except(keep: &mut [RawFd]) {
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

pub(super) unsafe fn close_range(first: u32, last: u32) {
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

pub(super) unsafe fn signal_set(signals: &[i32]) -> libc::sigset_t {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    for &s in signals {
        libc::sigaddset(&mut set, s);
    }
    set
}

/// Default dispositions and an empty mask: ignored signals would stay ignored across
/// execve.
pub(super) unsafe fn reset_signals() {
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
pub(super) fn supervisor(plan: &ChildPlan) -> io::Result<()> {
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
pub(super) unsafe fn supervise(
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
pub(super) unsafe fn kill_children() -> bool {
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
pub(super) unsafe fn reap_all_descendants() {
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
pub(super) unsafe fn namespace_init(plan: &ChildPlan) -> ! {
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
pub(super) unsafe fn program(plan: &ChildPlan, namespaces: bool) -> ! {
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
