//! Proof that grading left the graded tree as it found it.
//!
//! Before the process that runs an exercise's code starts, the guard keeps every
//! source file of the tree (about 1 MB: no build outputs, environments or data); after
//! it ends, it compares. Whatever changed is put back and named, and the exercise's
//! points are withheld: a check whose expected values could have been rewritten during
//! the run cannot be trusted. With the sandbox in place nothing can change; the guard
//! is the proof, and the defence where the sandbox is unavailable.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The tree's source files as they were.
pub struct TreeGuard {
    root: PathBuf,
    files: BTreeMap<String, Vec<u8>>,
}

impl TreeGuard {
    /// Reads every source file of `root` (see [`se05::io::source_tree::source_files`]).
    pub fn capture(root: &Path) -> anyhow::Result<TreeGuard> {
        let mut files = BTreeMap::new();
        // The student's own exercise files are theirs to edit, even during a run
        // (`checker watch`); what they say was compiled before the run started.
        for rel in se05::io::source_tree::source_files(root)?
            .into_iter()
            .filter(|r| !r.starts_with("exercises/"))
        {
            if let Ok(bytes) = std::fs::read(root.join(&rel)) {
                files.insert(rel, bytes);
            }
        }
        Ok(TreeGuard {
            root: root.to_path_buf(),
            files,
        })
    }

    /// Files that differ from the capture (changed, removed or added), after putting
    /// each back as it was. Cargo may bring `Cargo.lock` up to date: not counted.
    pub fn restore_changes(&self) -> anyhow::Result<Vec<String>> {
        let now = se05::io::source_tree::source_files(&self.root)?;
        let mut changed = Vec::new();
        for (rel, bytes) in &self.files {
            let path = self.root.join(rel);
            let same = std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice())
                && path.symlink_metadata().is_ok_and(|m| m.is_file());
            if !same {
                if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                    std::fs::remove_dir_all(&path)?;
                } else if path.symlink_metadata().is_ok() {
                    std::fs::remove_file(&path)?;
                }
                se05::io::fsutil::write_atomic(&path, bytes)?;
                changed.push(format!("changed: {rel}"));
            }
        }
        let added = now
            .iter()
            .filter(|r| !r.starts_with("exercises/") && !self.files.contains_key(*r));
        for rel in added {
            let path = self.root.join(rel);
            if std::fs::remove_file(&path).is_ok() {
                changed.push(format!("added: {rel}"));
            }
        }
        changed.retain(|c| !c.ends_with(" Cargo.lock"));
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_named_and_undone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("checks/snapshots")).unwrap();
        std::fs::write(root.join("checks/snapshots/a.snap"), "expected").unwrap();
        std::fs::write(root.join("Cargo.toml"), "[package]").unwrap();
        let guard = TreeGuard::capture(root).unwrap();
        assert!(guard.restore_changes().unwrap().is_empty());

        std::fs::write(root.join("checks/snapshots/a.snap"), "forged").unwrap();
        std::fs::write(root.join("planted.rs"), "x").unwrap();
        std::fs::remove_file(root.join("Cargo.toml")).unwrap();
        let mut changed = guard.restore_changes().unwrap();
        changed.sort();
        assert_eq!(
            changed,
            [
                "added: planted.rs",
                "changed: Cargo.toml",
                "changed: checks/snapshots/a.snap"
            ]
        );
        assert_eq!(
            std::fs::read_to_string(root.join("checks/snapshots/a.snap")).unwrap(),
            "expected"
        );
        assert!(!root.join("planted.rs").exists());
        assert!(guard.restore_changes().unwrap().is_empty());
    }
}
