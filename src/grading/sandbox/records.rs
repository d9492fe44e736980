//! The small records the forked helpers send the checker on the status pipe.

// Records on the status pipe: [tag, a, b] as three native-endian i32 (12 bytes, one
// atomic write each).
pub(super) const REC_MODE: i32 = 1; // a: 1 namespaces, 0 fallback; b: errno of unshare (fallback)
pub(super) const REC_NS_REFUSED: i32 = 2; // a: errno of the map write
pub(super) const REC_STATUS: i32 = 3; // a: the program's wait status
pub(super) const REC_ERROR: i32 = 4; // a: stage, b: errno
pub(super) const REC_SIZE: usize = 12;

pub(super) const STAGE_FORK: i32 = 1;
pub(super) const STAGE_LANDLOCK: i32 = 2;
pub(super) const STAGE_RLIMIT: i32 = 3;
pub(super) const STAGE_EXEC: i32 = 4;

pub(super) fn stage_name(stage: i32) -> &'static str {
    match stage {
        STAGE_FORK => "fork",
        STAGE_LANDLOCK => "landlock_restrict_self",
        STAGE_RLIMIT => "setrlimit",
        STAGE_EXEC => "execve",
        _ => "setup",
    }
}
