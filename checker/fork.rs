//! Reading a student's fork as data.
//!
//! A fork is a folder someone else made: any name in it may be a link (a file, or a
//! whole `exercises` folder pointing at `../../solutions` or `/proc/self/cwd/...`),
//! and its git configuration may name programs to run. So a file is taken from a fork
//! only when every component of its path is a real folder or, for the last one, a
//! regular file inside the fork, and its bytes are copied; nothing is followed and no
//! program runs in the fork.
use std::path::{Component, Path};

/// The largest exercise file taken from a fork; a real one is a few KiB.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why a file of a fork was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Missing,
    /// A link at this component (relative path), e.g. `exercises`.
    Link(String),
    /// A component that is neither a folder nor, for the last one, a regular file.
    NotPlain(String),
    TooLarge(u64),
    /// A path that leaves the fork (`..`, an absolute path).
    Outside,
}

impl Refused {
    /// Says what was found at `rel`, for a note in the gradebook.
    pub fn describe(&self, rel: &str) -> String {
        match self {
            Refused::Missing => format!("{rel} is missing"),
            Refused::Link(at) if at == rel => format!("{rel} is a symbolic link"),
            Refused::Link(at) => format!("{rel} lies beneath {at}, which is a symbolic link"),
            Refused::NotPlain(at) if at == rel => {
                format!("{rel} is not a plain file (a folder or a device)")
            }
            Refused::NotPlain(at) => format!("{rel} lies beneath {at}, which is not a folder"),
            Refused::TooLarge(n) => {
                format!("{rel} holds {n} bytes, more than an exercise file may ({MAX_FILE_BYTES})")
            }
            Refused::Outside => format!("{rel} is not a path inside the fork"),
        }
    }
}

/// The bytes of the fork's file `rel` (relative, `/` separators), or why not.
pub fn read_plain(fork: &Path, rel: &str) -> Result<Vec<u8>, Refused> {
    let rel_path = Path::new(rel);
    if rel_path
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(Refused::Outside);
    }
    let names: Vec<_> = rel_path.components().collect();
    let mut here = fork.to_path_buf();
    let mut shown = String::new();
    for (i, name) in names.iter().enumerate() {
        here.push(name);
        if !shown.is_empty() {
            shown.push('/');
        }
        shown.push_str(&name.as_os_str().to_string_lossy());
        let meta = match here.symlink_metadata() {
            Ok(m) => m,
            Err(_) => return Err(Refused::Missing),
        };
        let last = i + 1 == names.len();
        if meta.file_type().is_symlink() {
            return Err(Refused::Link(shown));
        }
        if (last && !meta.is_file()) || (!last && !meta.is_dir()) {
            return Err(Refused::NotPlain(shown));
        }
        if last && meta.len() > MAX_FILE_BYTES {
            return Err(Refused::TooLarge(meta.len()));
        }
    }
    // Belt and braces: the resolved path must still be inside the fork.
    let (Ok(real), Ok(base)) = (here.canonicalize(), fork.canonicalize()) else {
        return Err(Refused::Missing);
    };
    if !real.starts_with(&base) {
        return Err(Refused::Outside);
    }
    let bytes = std::fs::read(&real).map_err(|_| Refused::Missing)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Refused::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn fork_with_solutions() -> (tempfile::TempDir, std::path::PathBuf) {
        let base = tempfile::tempdir().unwrap();
        let solutions = base.path().join("solutions");
        std::fs::create_dir_all(&solutions).unwrap();
        std::fs::write(solutions.join("ex06.rs"), "the answer").unwrap();
        let fork = base.path().join("fork");
        std::fs::create_dir_all(&fork).unwrap();
        (base, fork)
    }

    #[test]
    fn plain_files_are_read() {
        let (_base, fork) = fork_with_solutions();
        std::fs::create_dir_all(fork.join("exercises")).unwrap();
        std::fs::write(fork.join("exercises/ex06.rs"), "mine").unwrap();
        assert_eq!(read_plain(&fork, "exercises/ex06.rs").unwrap(), b"mine");
        assert_eq!(
            read_plain(&fork, "exercises/ex07.rs"),
            Err(Refused::Missing)
        );
    }

    #[test]
    fn a_linked_folder_or_file_is_refused() {
        let (base, fork) = fork_with_solutions();
        symlink(base.path().join("solutions"), fork.join("exercises")).unwrap();
        let refused = read_plain(&fork, "exercises/ex06.rs").unwrap_err();
        assert_eq!(refused, Refused::Link("exercises".into()));
        assert!(refused
            .describe("exercises/ex06.rs")
            .contains("beneath exercises, which is a symbolic link"));

        std::fs::remove_file(fork.join("exercises")).unwrap();
        std::fs::create_dir_all(fork.join("exercises")).unwrap();
        symlink(
            "/proc/self/cwd/solutions/ex06.rs",
            fork.join("exercises/ex06.rs"),
        )
        .unwrap();
        assert_eq!(
            read_plain(&fork, "exercises/ex06.rs"),
            Err(Refused::Link("exercises/ex06.rs".into()))
        );
    }

    #[test]
    fn folders_large_files_and_escaping_paths_are_refused() {
        let (_base, fork) = fork_with_solutions();
        std::fs::create_dir_all(fork.join("exercises/ex06.rs")).unwrap();
        assert_eq!(
            read_plain(&fork, "exercises/ex06.rs"),
            Err(Refused::NotPlain("exercises/ex06.rs".into()))
        );
        std::fs::write(fork.join("big.rs"), vec![b' '; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            read_plain(&fork, "big.rs"),
            Err(Refused::TooLarge(_))
        ));
        assert_eq!(
            read_plain(&fork, "../solutions/ex06.rs"),
            Err(Refused::Outside)
        );
        assert_eq!(read_plain(&fork, "/etc/passwd"), Err(Refused::Outside));
    }
}
