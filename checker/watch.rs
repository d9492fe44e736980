//! `checker watch [N]`: grades the current exercise again each time its file is
//! saved, and moves on to the next one when it passes.
//!
//! File events come from the `notify` crate (inotify, FSEvents, ...). Where they do
//! not arrive (some network or container file systems) the files are also compared
//! four times a second, so a save is never missed; `--poll` uses only that. Several events
//! from one save (editors write a temporary file, then rename it) are merged, and a
//! save that changes nothing does not start a run. Ctrl-C stops watching.
use crate::runner::{self, RunConfig};
use crate::ui;
use colored::Colorize;
use se05::grading::progress::Progress;
use se05::grading::registry::{self, EXERCISES};
use se05::grading::Status;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How long a file must stay unchanged after an event before it is graded.
const SETTLE: Duration = Duration::from_millis(300);
/// How often the files are compared when no event arrives (they are small).
const POLL: Duration = Duration::from_millis(250);

/// The first exercise without a passing verdict in the progress file.
fn first_not_passed(after: Option<u32>) -> Option<u32> {
    let progress = Progress::load(&Progress::default_path()).unwrap_or_default();
    let not_passed = |n: u32| {
        progress
            .exercises
            .get(&n)
            .map(|r| r.status != Status::Passed)
            .unwrap_or(true)
    };
    let numbers: Vec<u32> = EXERCISES.iter().map(|e| e.number).collect();
    let start = after
        .and_then(|a| numbers.iter().position(|n| *n == a).map(|i| i + 1))
        .unwrap_or(0);
    // Later exercises first, then the ones skipped before.
    numbers[start..]
        .iter()
        .chain(numbers[..start].iter())
        .copied()
        .find(|n| Some(*n) != after && not_passed(*n))
}

/// The files whose content decides the verdict of exercise `n`: its own and those of
/// the exercises it uses.
fn watched_files(root: &Path, n: u32) -> Vec<PathBuf> {
    let ex = registry::get(n).expect("a registry exercise");
    let mut numbers = ex.all_dependencies();
    numbers.push(n);
    numbers
        .iter()
        .filter_map(|d| registry::get(*d))
        .map(|e| root.join(e.exercise_file()))
        .collect()
}

/// The files' contents, to tell a real change from an event that changed nothing.
fn snapshot(files: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    files.iter().map(|f| std::fs::read(f).ok()).collect()
}

/// Waits until a change to `files` has settled; false when Ctrl-C came first.
fn wait_for_change(
    files: &[PathBuf],
    graded: &[Option<Vec<u8>>],
    events: Option<&mpsc::Receiver<()>>,
    stop: &AtomicBool,
) -> bool {
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        match events {
            Some(rx) => {
                if let Err(mpsc::RecvTimeoutError::Disconnected) = rx.recv_timeout(POLL) {
                    std::thread::sleep(POLL);
                }
            }
            None => std::thread::sleep(POLL),
        }
        let now = snapshot(files);
        if now.as_slice() == graded {
            continue;
        }
        // Debounce: wait until the files stay the same for SETTLE (bounded, so a
        // file rewritten all the time still gets graded).
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut last = now;
        loop {
            if stop.load(Ordering::SeqCst) {
                return false;
            }
            if let Some(rx) = events {
                while rx.try_recv().is_ok() {}
            }
            std::thread::sleep(SETTLE);
            let again = snapshot(files);
            if again == last || Instant::now() > deadline {
                break;
            }
            last = again;
        }
        if snapshot(files).as_slice() != graded {
            return true;
        }
    }
}

/// File events on `exercises/`, or None (polling only) when they are unavailable.
fn start_events(
    root: &Path,
    force_poll: bool,
) -> Option<(notify::RecommendedWatcher, mpsc::Receiver<()>)> {
    use notify::Watcher;
    if force_poll {
        return None;
    }
    let (tx, rx) = mpsc::channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            eprintln!(
                "file events unavailable ({e}); comparing the files four times a second instead"
            );
            return None;
        }
    };
    if let Err(e) = watcher.watch(&root.join("exercises"), notify::RecursiveMode::NonRecursive) {
        eprintln!("cannot watch exercises/ ({e}); comparing the files four times a second instead");
        return None;
    }
    Some((watcher, rx))
}

/// Runs until Ctrl-C, or until every exercise passes.
pub fn run(cfg: &RunConfig, start: Option<u32>, force_poll: bool) -> anyhow::Result<bool> {
    if let Some(n) = start {
        anyhow::ensure!(
            registry::get(n).is_some(),
            "there is no exercise {n}; the exercises are {}",
            EXERCISES
                .iter()
                .map(|e| e.number.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| anyhow::anyhow!("cannot catch Ctrl-C: {e}"))?;
    }
    let events = start_events(&cfg.root, force_poll);
    let receiver = events.as_ref().map(|(_, rx)| rx);
    let mut current = match start.or_else(|| first_not_passed(None)) {
        Some(n) => n,
        None => {
            println!(
                "{}",
                "Every exercise passes already. Name one to watch it anyway: checker watch 6"
                    .green()
                    .bold()
            );
            return Ok(true);
        }
    };
    loop {
        let ex = registry::get(current).expect("checked");
        let files = watched_files(&cfg.root, current);
        let graded = snapshot(&files);
        println!(
            "\n{}",
            format!(
                "── watch: exercise {} · {} ({}) ──",
                ex.number,
                ex.title,
                ex.exercise_file()
            )
            .bold()
        );
        let results = runner::grade_all(&[current], cfg, true, |r| {
            if !stop.load(Ordering::SeqCst) {
                ui::print_exercise(r)
            }
        });
        if stop.load(Ordering::SeqCst) {
            break;
        }
        crate::record_progress(&results);
        let passed = results
            .iter()
            .find(|r| r.number == current)
            .map(|r| r.status == Status::Passed)
            .unwrap_or(false);
        if passed {
            match first_not_passed(Some(current)) {
                Some(next) => {
                    println!(
                        "{}",
                        format!("Exercise {current} passes. On to exercise {next}!")
                            .green()
                            .bold()
                    );
                    current = next;
                    continue;
                }
                None => {
                    println!("{}", "Every exercise passes. Well done!".green().bold());
                    return Ok(true);
                }
            }
        }
        let mode = if receiver.is_some() {
            "file events"
        } else {
            "polling"
        };
        println!(
            "{}",
            format!(
                "Watching {} for changes ({mode}): save the file to check again · Ctrl-C to stop",
                ex.exercise_file()
            )
            .dimmed()
        );
        if !wait_for_change(&files, &graded, receiver, &stop) {
            break;
        }
    }
    println!("\nwatch stopped.");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_seen_by_polling_and_ctrl_c_ends_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ex.rs");
        std::fs::write(&file, "one").unwrap();
        let files = vec![file.clone()];
        let graded = snapshot(&files);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(&file, "two").unwrap();
        });
        let t = Instant::now();
        assert!(wait_for_change(&files, &graded, None, &stop));
        assert!(t.elapsed() < Duration::from_secs(5));
        writer.join().unwrap();

        // Nothing changes: only the stop flag ends the wait.
        let graded = snapshot(&files);
        let flag = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            flag.store(true, Ordering::SeqCst);
        });
        assert!(!wait_for_change(&files, &graded, None, &stop));
    }

    #[test]
    fn dependencies_are_watched_too() {
        let files = watched_files(Path::new("/r"), 9);
        assert_eq!(files.len(), 4);
        assert!(files[3].ends_with("exercises/ex09_unet.rs"));
    }
}
