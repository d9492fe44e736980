//! The copy of the instructor's tree in which `checker grade` builds and runs a fork's
//! exercise files.
//!
//! It holds what grading needs and nothing that is the instructor's alone: no
//! `solutions/`, no test suite (its fixtures include near-solutions), no scripts or
//! benchmarks ([`crate::release::instructor_only`]); the hidden checks stay, since they
//! grade. It lives outside the instructor's checkout, so a path that climbs out of the
//! copy does not land in the instructor's files, and so that whatever cargo writes
//! in it is never a change to the instructor's tree. It sits in the same place each
//! time and is refreshed file by file, so cargo rebuilds only what changed between
//! submissions.
use anyhow::{bail, Context};
use se05::grading::registry::EXERCISES;
use se05::io::manifest;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The version tag of the copy's package (see [`se05::io::manifest`]).
const TAG: &str = "grade";

/// Whether `rel`, a file of the instructor's tree, goes into the grading copy as it
/// is. Exercise files come from each submission instead.
pub fn holds(rel: &str) -> bool {
    crate::release::instructor_only(rel).is_none() && !is_exercise_file(rel)
}

pub fn is_exercise_file(rel: &str) -> bool {
    EXERCISES.iter().any(|e| e.exercise_file() == rel)
}

/// The copy, and the instructor's files it holds.
pub struct GradingCopy {
    pub dir: PathBuf,
    files: BTreeSet<String>,
}

impl GradingCopy {
    /// The copy for `root`'s files at `dir` (not created yet).
    pub fn new(dir: PathBuf, root_files: &BTreeSet<String>) -> GradingCopy {
        let files = root_files.iter().filter(|f| holds(f)).cloned().collect();
        GradingCopy { dir, files }
    }

    /// Makes the copy equal to `root`'s files again: copies what differs, removes what
    /// is not the instructor's (a submission's code may have written files). Returns
    /// what it had to put right.
    pub fn refresh(&self, root: &Path) -> anyhow::Result<Vec<String>> {
        std::fs::create_dir_all(&self.dir)?;
        let mut fixed = Vec::new();
        for rel in &self.files {
            let bytes = std::fs::read(root.join(rel))
                .with_context(|| format!("cannot read {rel} in the instructor's tree"))?;
            if sync_file(&self.dir.join(rel), &as_copied(rel, bytes))? {
                fixed.push(rel.clone());
            }
        }
        for rel in se05::io::source_tree::walk_files(&self.dir)? {
            if !self.files.contains(&rel) && !is_exercise_file(&rel) {
                remove(&self.dir.join(&rel))?;
                fixed.push(rel);
            }
        }
        let link = self.dir.join(".libtorch");
        if let Ok(libtorch) = root.join(".libtorch").canonicalize() {
            if std::fs::read_link(&link).ok().as_deref() != Some(libtorch.as_path()) {
                if link.symlink_metadata().is_ok() {
                    remove(&link)?;
                }
                std::os::unix::fs::symlink(&libtorch, &link)?;
            }
        }
        Ok(fixed)
    }
}

/// A file's bytes as the copy holds them: the manifest and lock with the copy's own
/// version, the manifest without benchmarks (which stay out) and binaries (not needed
/// to grade).
fn as_copied(rel: &str, bytes: Vec<u8>) -> Vec<u8> {
    match rel {
        "Cargo.toml" => {
            let toml = String::from_utf8_lossy(&bytes);
            manifest::tag_version(&manifest::only_library_and_tests(&toml), TAG).into_bytes()
        }
        "Cargo.lock" => manifest::tag_lock(&String::from_utf8_lossy(&bytes), TAG).into_bytes(),
        _ => bytes,
    }
}

/// Where the copy lives for a target folder: a folder of the system's temporary
/// space (`TMPDIR` first) that is not inside the instructor's checkout, the same path
/// each time (cargo reuses its builds).
pub fn location(root: &Path, target_dir: &Path) -> anyhow::Result<PathBuf> {
    let key = target_dir
        .canonicalize()
        .unwrap_or_else(|_| target_dir.to_path_buf());
    let hash = Sha256::digest(key.to_string_lossy().as_bytes());
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let candidates = [std::env::temp_dir(), "/tmp".into(), "/var/tmp".into()];
    for base in candidates {
        let Ok(real) = base.canonicalize() else {
            continue;
        };
        if !real.starts_with(&root) {
            return Ok(real.join(format!("se05-grade-{short}")));
        }
    }
    bail!(
        "no temporary folder outside the instructor's checkout for the grading copy \
         (TMPDIR is inside it): set TMPDIR to a folder elsewhere, e.g. TMPDIR=/tmp"
    )
}

/// Writes `bytes` to `path` only when they differ from what is there, so that
/// cargo's freshness checks (file times) see only real changes. True when written.
pub fn sync_file(path: &Path, bytes: &[u8]) -> anyhow::Result<bool> {
    if let Ok(meta) = path.symlink_metadata() {
        if meta.file_type().is_symlink() || meta.is_dir() {
            remove(path)?;
        } else if std::fs::read(path).ok().as_deref() == Some(bytes) {
            return Ok(false);
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

fn remove(path: &Path) -> anyhow::Result<()> {
    let meta = path.symlink_metadata()?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path)?;
    } else {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructor_only_files_stay_out_and_hidden_checks_stay_in() {
        for (rel, held) in [
            ("solutions/ex06_double_conv.rs", false),
            ("solutions/mistakes/ex06_double_conv.json", false),
            ("tests/fixtures/release/ex06_visible_only.rs", false),
            ("tests/grading_attacks.rs", false),
            ("benches/compare.rs", false),
            ("scripts/edit_to_verdict.sh", false),
            (".github/workflows/grade-course.yml", false),
            ("exercises/ex06_double_conv.rs", false),
            ("checks/hidden/ex06_double_conv.rs", true),
            ("src/grading/exercises/hidden/mod.rs", true),
            ("checks/ex06_double_conv.rs", true),
            ("checker/stubs/ex06_double_conv.rs", true),
            ("Cargo.toml", true),
            ("src/lib.rs", true),
        ] {
            assert_eq!(holds(rel), held, "{rel}");
        }
    }

    #[test]
    fn the_copy_is_never_inside_the_checkout() {
        let root = tempfile::tempdir().unwrap();
        let at = location(root.path(), &root.path().join("target")).unwrap();
        let real_root = root.path().canonicalize().unwrap();
        assert!(!at.starts_with(&real_root), "{}", at.display());
        assert!(at
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("se05-grade-"));
        // A checkout that holds the temporary folder (TMPDIR set inside it, as a
        // workflow might): the copy goes to the next candidate outside it.
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        let at = location(&tmp, &root.path().join("target")).unwrap();
        assert!(!at.starts_with(&tmp), "{}", at.display());
        let refused = location(Path::new("/"), &root.path().join("target")).unwrap_err();
        assert!(refused.to_string().contains("TMPDIR"), "{refused}");
    }

    #[test]
    fn the_manifest_is_the_copy_s_own() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let toml = as_copied(
            "Cargo.toml",
            std::fs::read(root.join("Cargo.toml")).unwrap(),
        );
        let toml = String::from_utf8(toml).unwrap();
        assert!(
            !toml.contains("[[bench]]") && !toml.contains("[[bin]]"),
            "{toml}"
        );
        assert!(toml.contains("-grade\""), "{toml}");
        assert!(toml.contains("hidden-checks"), "{toml}");
    }
}
