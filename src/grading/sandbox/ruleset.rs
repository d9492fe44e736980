//! The Landlock ruleset: read and execute everywhere (or only beneath the readable
//! paths, when given), write only beneath the writable folders, no TCP, no signals
//! outside the sandbox (where the ABI has them).
use super::*;

pub(super) fn landlock_abi() -> i32 {
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
pub(super) fn landlock_ruleset(
    writable: &[PathBuf],
    readable: Option<&[PathBuf]>,
) -> anyhow::Result<Option<OwnedFd>> {
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
        .create()?;
    let everywhere = [PathBuf::from("/")];
    for dir in readable.unwrap_or(&everywhere) {
        // A path the machine does not have (e.g. /lib32) is nothing to allow.
        if let Ok(fd) = PathFd::new(dir) {
            ruleset = ruleset.add_rule(PathBeneath::new(fd, AccessFs::from_read(abi)))?;
        }
    }
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
