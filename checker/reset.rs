//! `checker reset N`: puts back the stub of an exercise as the workshop shipped it,
//! after a confirmation, keeping the student's file in `.se05/backups/`.
//!
//! "Untouched" means the stub the instructor shipped, not the last committed version
//! (a student may have committed work): pristine copies live in `checker/stubs/`, and
//! a test of the instructors' suite keeps them equal to `exercises/`.
use colored::Colorize;
use se05::grading::registry::{self, Exercise};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

/// Folder of the pristine stubs, relative to the repository root.
pub const STUBS_DIR: &str = "checker/stubs";

/// Where the pristine stub of `ex` lives under `root`.
pub fn stub_path(root: &Path, ex: &Exercise) -> PathBuf {
    root.join(STUBS_DIR).join(format!("{}.rs", ex.slug))
}

/// The stub of `ex` as shipped.
pub fn stub(root: &Path, ex: &Exercise) -> anyhow::Result<Vec<u8>> {
    let path = stub_path(root, ex);
    std::fs::read(&path).map_err(|e| {
        anyhow::anyhow!(
            "the original stub of exercise {} ({}) cannot be read: {e}. \
             Restore the folder with `git checkout -- {STUBS_DIR}`",
            ex.number,
            path.display()
        )
    })
}

/// `checker stubs --check` / `--sync` (instructors): the pristine copies must equal
/// `exercises/` as the instructor commits it. Returns Ok(true) when they are equal
/// (after `--sync`, always).
pub fn check_stubs(root: &Path, sync: bool) -> anyhow::Result<bool> {
    let mut differing = Vec::new();
    for ex in registry::EXERCISES {
        let shipped = root.join(ex.exercise_file());
        let bytes = std::fs::read(&shipped)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", shipped.display()))?;
        if !String::from_utf8_lossy(&bytes).contains("todo!(") {
            anyhow::bail!(
                "{} has no todo!(): it is not an untouched stub (run this in the instructor's \
                 repository, with exercises/ as committed)",
                ex.exercise_file()
            );
        }
        if std::fs::read(stub_path(root, ex)).ok().as_deref() != Some(bytes.as_slice()) {
            if sync {
                se05::io::fsutil::write_atomic(&stub_path(root, ex), &bytes)?;
            }
            differing.push(ex.exercise_file());
        }
    }
    match (differing.is_empty(), sync) {
        (true, _) => println!("{STUBS_DIR}/ equals exercises/ ({} stubs)", registry::EXERCISES.len()),
        (false, true) => println!("copied to {STUBS_DIR}/: {}", differing.join(", ")),
        (false, false) => println!(
            "{STUBS_DIR}/ differs from exercises/ for: {}\nrun `cargo run --bin checker -- stubs --sync` after changing a stub",
            differing.join(", ")
        ),
    }
    Ok(differing.is_empty() || sync)
}

/// Where the student's file goes before it is replaced: a name that is not taken yet.
fn backup_path(root: &Path, ex: &Exercise, unix: u64) -> PathBuf {
    let dir = root.join(".se05").join("backups");
    let mut path = dir.join(format!("{}.{unix}.rs", ex.slug));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{}.{unix}-{n}.rs", ex.slug));
        n += 1;
    }
    path
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// How many lines of `mine` are not in `stub` (a rough measure of the work at stake).
fn changed_lines(mine: &[u8], stub: &[u8]) -> usize {
    let stub = String::from_utf8_lossy(stub);
    let stub_lines: std::collections::HashSet<&str> = stub.lines().collect();
    String::from_utf8_lossy(mine)
        .lines()
        .filter(|l| !stub_lines.contains(l))
        .count()
}

/// Asks a yes/no question on the terminal; anything but y/yes, and end of input, is no.
fn confirm(question: &str) -> bool {
    use std::io::Write;
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let read = std::io::stdin().lock().read_line(&mut answer);
    if !std::io::stdin().is_terminal() {
        println!("{}", answer.trim_end()); // what a terminal would have echoed
    }
    match read {
        Ok(0) | Err(_) => false,
        Ok(_) => matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
    }
}

/// Resets the exercises in `numbers`; Ok(false) when the student said no.
pub fn run(root: &Path, numbers: &[u32], yes: bool) -> anyhow::Result<bool> {
    struct Pending {
        ex: &'static Exercise,
        path: PathBuf,
        current: Option<Vec<u8>>,
        stub: Vec<u8>,
    }
    let mut pending = Vec::new();
    for &n in numbers {
        let ex = registry::get(n).ok_or_else(|| anyhow::anyhow!("there is no exercise {n}"))?;
        let stub = stub(root, ex)?;
        let path = root.join(ex.exercise_file());
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        if current.as_deref() == Some(stub.as_slice()) {
            println!(
                "Exercise {n}: {} is already the untouched stub; nothing to do.",
                ex.exercise_file()
            );
            continue;
        }
        pending.push(Pending {
            ex,
            path,
            current,
            stub,
        });
    }
    if pending.is_empty() {
        return Ok(true);
    }

    println!("{}", "checker reset puts back the original stub of:".bold());
    for p in &pending {
        let what = match &p.current {
            Some(bytes) => format!(
                "{} line(s) of yours differ from the stub",
                changed_lines(bytes, &p.stub)
            ),
            None => "the file is missing".to_string(),
        };
        println!(
            "  exercise {} · {}  {}  ({what})",
            p.ex.number,
            p.ex.title,
            p.ex.exercise_file()
        );
    }
    if pending.iter().any(|p| p.current.is_some()) {
        println!("Your current version is kept in .se05/backups/, so nothing is lost.");
    }
    if !yes && !confirm("Put the stub back?") {
        println!("Nothing changed.");
        return Ok(false);
    }

    let unix = crate::now_unix();
    for p in &pending {
        if let Some(bytes) = &p.current {
            let backup = backup_path(root, p.ex, unix);
            se05::io::fsutil::write_atomic(&backup, bytes)?;
            println!(
                "  saved your {} as {}",
                p.ex.exercise_file(),
                relative(root, &backup)
            );
        }
        se05::io::fsutil::write_atomic(&p.path, &p.stub)?;
        println!(
            "  {} {} is the untouched stub again",
            "✓".green().bold(),
            p.ex.exercise_file()
        );
    }
    // The last verdicts belong to the replaced files.
    let progress = se05::grading::progress::Progress::default_path();
    if let Err(e) = se05::grading::progress::Progress::update(&progress, |pr| {
        for p in &pending {
            pr.exercises.remove(&p.ex.number);
        }
    }) {
        eprintln!("warning: progress not updated: {e:#}");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let ex = registry::get(10).unwrap();
        let first = backup_path(dir.path(), ex, 42);
        assert!(first.ends_with(".se05/backups/ex10_dice_loss.42.rs"));
        se05::io::fsutil::write_atomic(&first, b"x").unwrap();
        let second = backup_path(dir.path(), ex, 42);
        assert!(second.ends_with("ex10_dice_loss.42-1.rs"), "{second:?}");
    }

    #[test]
    fn counts_lines_that_are_not_the_stub() {
        assert_eq!(changed_lines(b"a\nb\nc\n", b"a\nc\n"), 1);
        assert_eq!(changed_lines(b"a\n", b"a\n"), 0);
    }
}
