//! The scratch-space budget ([`Limits::scratch_bytes`]): `RLIMIT_FSIZE` bounds each
//! file, not their sum, so the parent walks the writable folders while it waits and
//! stops the run once they grew past the budget. A walk works on every Unix file
//! system (no quota or tmpfs mount needed); its price is that a run can overshoot by
//! what it writes between two walks.
use super::*;
use std::os::unix::fs::MetadataExt;

/// Entries a run may add beneath its writable folders; a walk stops counting there.
/// Checks create a few dozen files: many more is an attack on the walk itself.
pub(super) const MAX_NEW_ENTRIES: u64 = 100_000;
/// The shortest time between two walks.
const MIN_INTERVAL: Duration = Duration::from_millis(75);
/// A walk may take at most this share of the time (1/4): when walking gets slow, the
/// walks come further apart.
const BUSY_SHARE: u32 = 4;

/// What one walk found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Usage {
    /// Allocated bytes (`st_blocks * 512`) of everything beneath, folders included:
    /// a sparse file counts what it really holds.
    pub(super) bytes: u64,
    pub(super) entries: u64,
    /// Folders that could not be listed even after giving their owner read access.
    pub(super) unreadable: u64,
}

/// Walks `roots` without following links, stopping after `max_entries` entries.
pub(super) fn usage(roots: &[PathBuf], max_entries: u64) -> Usage {
    let mut found = Usage::default();
    let mut folders: Vec<PathBuf> = roots.to_vec();
    while let Some(dir) = folders.pop() {
        let entries = match list(&dir) {
            Some(entries) => entries,
            None => {
                found.unreadable += 1;
                continue;
            }
        };
        for entry in entries.flatten() {
            found.entries += 1;
            if found.entries > max_entries {
                return found;
            }
            // DirEntry::metadata does not follow a link (lstat).
            let Ok(meta) = entry.metadata() else {
                continue; // removed meanwhile
            };
            found.bytes = found
                .bytes
                .saturating_add(meta.blocks().saturating_mul(512));
            if meta.is_dir() {
                folders.push(entry.path());
            }
        }
    }
    found
}

/// Lists a folder; one the program made unreadable to hide what is in it gets its
/// owner's read and search rights back first (the checker runs as the same user).
fn list(dir: &Path) -> Option<std::fs::ReadDir> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Some(entries),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::symlink_metadata(dir).ok()?.permissions().mode();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700)).ok()?;
            std::fs::read_dir(dir).ok()
        }
        Err(_) => None,
    }
}

/// The budget of one run: what the writable folders held at the start, and when
/// to look again.
pub(super) struct ScratchWatch {
    roots: Vec<PathBuf>,
    budget: u64,
    start: Usage,
    interval: Duration,
    pub(super) next: Instant,
}

impl ScratchWatch {
    /// `None` when the run has no budget. Walks the folders once for the baseline,
    /// so that what they already held (a previous run's checkpoints) is not counted.
    pub(super) fn start(spec: &Spec) -> Option<ScratchWatch> {
        let budget = spec.limits.scratch_bytes?;
        let start = usage(&spec.writable, u64::MAX);
        Some(ScratchWatch {
            roots: spec.writable.clone(),
            budget,
            start,
            interval: MIN_INTERVAL,
            next: Instant::now() + MIN_INTERVAL,
        })
    }

    /// Walks the folders if it is time; true when the run is over its budget: more
    /// bytes or entries than allowed since the start, or a folder it cannot read.
    pub(super) fn over_budget(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        let began = Instant::now();
        let max_entries = self.start.entries.saturating_add(MAX_NEW_ENTRIES);
        let now_used = usage(&self.roots, max_entries);
        let took = began.elapsed();
        self.interval = MIN_INTERVAL.max(took * BUSY_SHARE);
        self.next = Instant::now() + self.interval;
        exceeds(&self.start, &now_used, self.budget, max_entries)
    }
}

/// The decision of [`ScratchWatch::over_budget`], apart from the walking.
pub(super) fn exceeds(start: &Usage, now: &Usage, budget: u64, max_entries: u64) -> bool {
    now.bytes.saturating_sub(start.bytes) > budget
        || now.entries > max_entries
        || now.unreadable > start.unreadable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_counts_allocated_bytes_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![1u8; 1 << 20]).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/data"), vec![1u8; 256 << 10]).unwrap();
        let sparse = std::fs::File::create(dir.path().join("sparse")).unwrap();
        sparse.set_len(1 << 30).unwrap();
        let roots = [dir.path().to_path_buf()];
        let found = usage(&roots, u64::MAX);
        assert_eq!(found.entries, 4);
        assert!(found.bytes >= 256 << 10, "{found:?}");
        assert!(
            found.bytes < 1 << 20,
            "a link or a sparse file was counted: {found:?}"
        );
        assert_eq!(usage(&roots, 2).entries, 3, "the walk stops past its bound");
    }

    #[test]
    fn a_folder_made_unreadable_is_still_counted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let hidden = dir.path().join("hidden");
        std::fs::create_dir(&hidden).unwrap();
        std::fs::write(hidden.join("data"), vec![1u8; 512 << 10]).unwrap();
        std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o000)).unwrap();
        let found = usage(&[dir.path().to_path_buf()], u64::MAX);
        assert!(found.bytes >= 512 << 10, "{found:?}");
        assert_eq!(found.unreadable, 0);
    }

    #[test]
    fn growth_is_what_counts() {
        let start = Usage {
            bytes: 1000,
            entries: 10,
            unreadable: 0,
        };
        let at = |bytes, entries, unreadable| Usage {
            bytes,
            entries,
            unreadable,
        };
        assert!(!exceeds(&start, &at(1100, 12, 0), 100, 20));
        assert!(exceeds(&start, &at(1101, 12, 0), 100, 20));
        assert!(
            !exceeds(&start, &at(10, 2, 0), 100, 20),
            "removals are fine"
        );
        assert!(exceeds(&start, &at(1000, 21, 0), 100, 20));
        assert!(exceeds(&start, &at(1000, 10, 1), 100, 20));
    }
}
