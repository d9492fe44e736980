//! Which files of a checkout are its sources, and how to list a folder whose
//! configuration we do not trust.
//!
//! The instructor's tree is listed the way git sees it (tracked and untracked files,
//! nothing ignored). A student's fork is listed by walking it: running git inside a
//! fork would read the fork's own `.git/config`, and options there (hooks,
//! `core.fsmonitor`) run commands of the fork's choosing.
use anyhow::Context;
use std::collections::BTreeSet;
use std::path::Path;

/// Top-level folders of a checkout that are never part of the workshop's sources
/// (git, build outputs, environments, local data and results): `checker grade` and
/// the tests' copies of the tree neither compare nor copy them.
pub const LOCAL_TOP_FOLDERS: &[&str] = &[
    ".git",
    "target",
    ".venv",
    ".libtorch",
    ".se05",
    ".device",
    "datasets",
    "my_models",
    "results",
    "weights",
];

/// Whether the relative path `rel` lies in a local folder (or is a temporary file).
pub fn is_local(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or("");
    LOCAL_TOP_FOLDERS.contains(&top) || rel.split('/').any(|c| c == ".git") || rel.ends_with(".tmp")
}

/// The source files of the checkout at `dir`, relative with `/` separators: git's view
/// when it is a git checkout, else [`walk_files`]. Only files and links: a nested
/// repository that git lists as a folder (a fork cloned inside the checkout) is not
/// one of them.
pub fn source_files(dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    if dir.join(".git").exists() {
        let out = std::process::Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success());
        if let Some(out) = out {
            return Ok(out
                .stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .filter(|p| !is_local(p))
                .filter(|p| {
                    dir.join(p)
                        .symlink_metadata()
                        .is_ok_and(|m| m.is_file() || m.is_symlink())
                })
                .collect());
        }
    }
    walk_files(dir)
}

/// Every file and link beneath `dir` outside the local folders, relative with `/`
/// separators. Links are listed, never followed; no program is run.
pub fn walk_files(dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    fn go(base: &Path, dir: &Path, out: &mut BTreeSet<String>) -> anyhow::Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if is_local(&rel) {
                continue;
            }
            if entry.file_type()?.is_dir() {
                go(base, &path, out)?;
            } else {
                out.insert(rel);
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    go(dir, dir, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_folders_and_nested_repositories_are_not_sources() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for rel in [
            "src/a.rs",
            "target/debug/x",
            "forks/alice/.git/config",
            "b.tmp",
        ] {
            std::fs::create_dir_all(d.join(rel).parent().unwrap()).unwrap();
            std::fs::write(d.join(rel), "x").unwrap();
        }
        let walked = walk_files(d).unwrap();
        assert_eq!(walked.into_iter().collect::<Vec<_>>(), ["src/a.rs"]);
        assert!(is_local(".git/HEAD") && is_local("weights/w.pth") && !is_local("checks/a.rs"));
    }

    #[cfg(unix)]
    #[test]
    fn links_are_listed_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("real")).unwrap();
        std::fs::write(d.join("real/f.rs"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("exercises")).unwrap();
        let walked = walk_files(d).unwrap();
        assert_eq!(
            walked.into_iter().collect::<Vec<_>>(),
            ["exercises", "real/f.rs"]
        );
    }
}
