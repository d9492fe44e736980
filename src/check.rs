//! The harness every check target (tests/exNN_*.rs) runs on.
//!
//! A check is a named, pointed function with a hint. The harness runs each in its own
//! thread under a time limit, sorts the outcome into a [`Status`] (a `todo!()` is
//! "not implemented", any other panic or libtorch error is "crashed"), prints
//! libtest's usual output so `cargo test` works as anywhere, and, when the checker
//! asks through `SE05_CHECK_REPORT`, appends one JSON line per check to a report file
//! as it goes: if the process dies half-way, the checker still knows what finished.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// Environment variable naming the JSON-lines report file the harness appends to.
pub const REPORT_ENV: &str = "SE05_CHECK_REPORT";
/// Environment variable overriding the per-check time limit, in seconds.
pub const TIMEOUT_ENV: &str = "SE05_CHECK_TIMEOUT_S";

pub use crate::grading::Status;

/// What the checker knows of a check before running it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInfo {
    pub name: String,
    pub points: u32,
    pub hint: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub name: String,
    pub status: Status,
    pub message: String,
    pub duration_ms: u64,
}

/// One line of the report file, stamped with the token the checker gave this run.
///
/// Student code runs in the same process and could append lines of its own; it cannot
/// stamp them: the harness reads the token from standard input before any check
/// starts, and nothing else can read it from there again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StampedLine {
    pub token: String,
    #[serde(flatten)]
    pub line: ReportLine,
}

/// What a report line says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportLine {
    /// Written first: the exercise and every check it will run.
    Plan {
        exercise: u32,
        checks: Vec<CheckInfo>,
    },
    /// Written as each check finishes.
    Outcome(CheckOutcome),
}

type CheckFn = Box<dyn FnOnce() -> anyhow::Result<()> + Send + 'static>;

/// A named check worth `points`, with a hint shown when it does not pass.
pub struct Check {
    info: CheckInfo,
    run: CheckFn,
}

/// Builds a check. The body returns `Err` (e.g. through `anyhow::ensure!`) to fail
/// with a message; a panic counts as a crash, a `todo!()` as not implemented.
pub fn check(
    name: &str,
    points: u32,
    hint: &str,
    body: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> Check {
    Check {
        info: CheckInfo {
            name: name.to_string(),
            points,
            hint: hint.to_string(),
        },
        run: Box::new(body),
    }
}

fn panic_messages() -> &'static Mutex<HashMap<ThreadId, String>> {
    static MESSAGES: OnceLock<Mutex<HashMap<ThreadId, String>>> = OnceLock::new();
    MESSAGES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Records each panic's message and location for the thread it happened on, instead
/// of printing it: the harness reports it as the check's message.
fn install_panic_recorder() {
    panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-text payload".to_string());
        let located = match info.location() {
            Some(loc) => format!(
                "{message}\n  (at {}:{})",
                crate::fsutil::display_source_path(loc.file()),
                loc.line()
            ),
            None => message,
        };
        if let Ok(mut map) = panic_messages().lock() {
            map.insert(std::thread::current().id(), located);
        }
    }));
}

/// Sorts a panic message: `todo!()`/`unimplemented!()` mean not implemented.
pub fn classify_panic(message: &str) -> Status {
    if message.starts_with("not yet implemented") || message.starts_with("not implemented") {
        Status::NotImplemented
    } else {
        Status::Crashed
    }
}

/// Sorts a check's error: a property test (proptest) reports a `todo!()` it caught as
/// a failure whose reason is the panic's message; that is still "not implemented".
pub fn failure_status(message: &str) -> Status {
    match message.strip_prefix("Test failed: ") {
        Some(reason) if classify_panic(reason) == Status::NotImplemented => Status::NotImplemented,
        _ => Status::Failed,
    }
}

/// Keeps the first `max_lines` lines of a long message (libtorch errors carry C++
/// backtraces that help nobody here).
pub fn first_lines(message: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = message.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = lines
        .iter()
        .take(max_lines)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > max_lines {
        out.push_str("\n  …");
    }
    out
}

fn run_one(body: CheckFn, limit: Duration) -> (Status, String) {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(body));
            let outcome = match result {
                Ok(Ok(())) => (Status::Passed, String::new()),
                Ok(Err(e)) => {
                    let message = format!("{e:#}");
                    (failure_status(&message), first_lines(&message, 8))
                }
                Err(_) => {
                    let id = std::thread::current().id();
                    let message = panic_messages()
                        .lock()
                        .ok()
                        .and_then(|mut m| m.remove(&id))
                        .unwrap_or_default();
                    let status = classify_panic(&message);
                    // libtorch errors arrive Debug-quoted, their C++ backtrace
                    // joined by escaped newlines.
                    let mut message = message.replace("\\n", "\n");
                    if let Some(cut) = message.find("\nException raised from") {
                        let location = message
                            .rfind("\n  (at ")
                            .map(|i| message[i..].to_string())
                            .unwrap_or_default();
                        message.truncate(cut);
                        message.push_str(&location);
                    }
                    (status, first_lines(&message, 6))
                }
            };
            let _ = tx.send(outcome);
        });
    if let Err(e) = spawned {
        return (
            Status::Crashed,
            format!("could not start the check's thread: {e}"),
        );
    }
    match rx.recv_timeout(limit) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => (
            Status::TimedOut,
            format!(
                "still running after {} s: look for a loop that never ends",
                limit.as_secs()
            ),
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => (
            Status::Crashed,
            "the check's thread ended without a result".into(),
        ),
    }
}

struct Reporter {
    file: Option<std::fs::File>,
    token: String,
}

impl Reporter {
    /// Opens the report file the checker named; the checker then writes this run's
    /// token as the first line of standard input.
    fn from_env() -> Reporter {
        let file = std::env::var_os(REPORT_ENV)
            .map(PathBuf::from)
            .and_then(|p| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .ok()
            });
        let mut token = String::new();
        if file.is_some() {
            let _ = std::io::stdin().read_line(&mut token);
        }
        Reporter {
            file,
            token: token.trim().to_string(),
        }
    }

    fn write(&mut self, line: &ReportLine) {
        if let Some(f) = self.file.as_mut() {
            let stamped = StampedLine {
                token: self.token.clone(),
                line: line.clone(),
            };
            if let Ok(json) = serde_json::to_string(&stamped) {
                let _ = writeln!(f, "{json}");
                let _ = f.flush();
            }
        }
    }
}

/// Runs the checks of exercise `number` and exits with libtest's exit code.
///
/// Panics at once if the checks' points do not add up to the registry's points for the
/// exercise: that is a mistake in the workshop, not in the student's code.
pub fn run(number: u32, checks: Vec<Check>) -> ! {
    let exercise = crate::registry::get(number)
        .unwrap_or_else(|| panic!("exercise {number} is not in the registry"));
    let sum: u32 = checks.iter().map(|c| c.info.points).sum();
    assert_eq!(
        sum, exercise.points,
        "checks of exercise {number} are worth {sum} points, the registry says {}",
        exercise.points
    );
    let limit = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(exercise.timeout_s));

    install_panic_recorder();
    let reporter = std::sync::Arc::new(Mutex::new(Reporter::from_env()));
    let infos: Vec<CheckInfo> = checks.iter().map(|c| c.info.clone()).collect();
    if let Ok(mut r) = reporter.lock() {
        r.write(&ReportLine::Plan {
            exercise: number,
            checks: infos,
        });
    }

    let earlier_timeout: std::sync::Arc<Mutex<Option<String>>> = Default::default();
    let trials = checks
        .into_iter()
        .map(|c| {
            let reporter = reporter.clone();
            let earlier_timeout = earlier_timeout.clone();
            let Check { info, run: body } = c;
            libtest_mimic::Trial::test(info.name.clone(), move || {
                let start = Instant::now();
                let (status, message) = match earlier_timeout.lock().ok().and_then(|g| g.clone()) {
                    // A check that timed out is still running in its thread and eating
                    // a core; later checks would only be slowed down by it.
                    Some(name) => (
                        Status::TimedOut,
                        format!("not run: check `{name}` timed out before it"),
                    ),
                    None => run_one(body, limit),
                };
                if status == Status::TimedOut {
                    if let Ok(mut g) = earlier_timeout.lock() {
                        g.get_or_insert_with(|| info.name.clone());
                    }
                }
                let outcome = CheckOutcome {
                    name: info.name.clone(),
                    status,
                    message: message.clone(),
                    duration_ms: start.elapsed().as_millis() as u64,
                };
                if let Ok(mut r) = reporter.lock() {
                    r.write(&ReportLine::Outcome(outcome));
                }
                match status {
                    Status::Passed => Ok(()),
                    _ => Err(format!("{}: {message}\nhint: {}", status.label(), info.hint).into()),
                }
            })
        })
        .collect();
    let mut args = libtest_mimic::Arguments::from_args();
    // Checks share libtorch's global RNG seed; running them one after another keeps
    // each one reproducible.
    args.test_threads = Some(1);
    libtest_mimic::run(&args, trials).exit()
}

/// Fails with a clear message unless `t` has exactly the shape `expected`.
pub fn expect_shape(what: &str, t: &tch::Tensor, expected: &[i64]) -> anyhow::Result<()> {
    let got = t.size();
    anyhow::ensure!(
        got == expected,
        "{what}: expected shape {expected:?}, got {got:?}"
    );
    Ok(())
}

/// Path of an insta snapshot of a check target (tests/snapshots/<target>__<name>.snap).
pub fn snapshot_path(target: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("checks/snapshots")
        .join(format!("{target}__{name}.snap"))
}

/// The content of an insta snapshot file: what follows its metadata header.
pub fn read_snapshot(target: &str, name: &str) -> anyhow::Result<String> {
    let path = snapshot_path(target, name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the expected values {}: {e}. Restore it with `git checkout -- tests/snapshots`, \
             or (instructors) regenerate it with `SE05_BLESS=1 INSTA_UPDATE=always cargo test --features solutions`",
            path.display()
        )
    })?;
    let body = match text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
    {
        Some((_, body)) => body,
        None => text.as_str(),
    };
    Ok(body.trim_end().to_string() + "\n")
}

/// Compares `actual` with the reference's snapshot line by line and explains the
/// first lines that differ. With `numeric`, numbers may differ by a relative 1e-3.
pub fn matches_snapshot(
    target: &str,
    name: &str,
    actual: &str,
    numeric: bool,
) -> anyhow::Result<()> {
    let expected = read_snapshot(target, name)?;
    let actual = actual.trim_end().to_string() + "\n";
    if numeric {
        return crate::summary::compare_numeric_text(&expected, &actual, 1e-3, 1e-5)
            .map_err(|d| anyhow::anyhow!("differs from the reference:\n{d}"));
    }
    if expected == actual {
        return Ok(());
    }
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let mut lines = Vec::new();
    for e in exp.iter().filter(|l| !act.contains(l)).take(6) {
        lines.push(format!("  expected, missing: {e}"));
    }
    for a in act.iter().filter(|l| !exp.contains(l)).take(6) {
        lines.push(format!("  yours, unexpected: {a}"));
    }
    if lines.is_empty() {
        lines.push("  the same lines in a different order".to_string());
    }
    anyhow::bail!(
        "does not match the reference ({name}):\n{}",
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todo_is_not_implemented_other_panics_crash() {
        assert_eq!(
            classify_panic("not yet implemented: Exercise 6"),
            Status::NotImplemented
        );
        assert_eq!(classify_panic("not implemented"), Status::NotImplemented);
        assert_eq!(classify_panic("index out of bounds"), Status::Crashed);
    }

    #[test]
    fn run_one_sorts_outcomes() {
        install_panic_recorder();
        let t = Duration::from_secs(5);
        assert_eq!(run_one(Box::new(|| Ok(())), t).0, Status::Passed);
        assert_eq!(
            run_one(Box::new(|| anyhow::bail!("wrong")), t),
            (Status::Failed, "wrong".to_string())
        );
        let (status, message) = run_one(Box::new(|| todo!("Exercise 99")), t);
        assert_eq!(status, Status::NotImplemented);
        assert!(
            message.contains("Exercise 99") && message.contains("check.rs"),
            "{message}"
        );
        assert_eq!(run_one(Box::new(|| panic!("boom")), t).0, Status::Crashed);
        let (status, _) = run_one(
            Box::new(|| loop {
                std::thread::sleep(Duration::from_millis(10));
            }),
            Duration::from_millis(200),
        );
        assert_eq!(status, Status::TimedOut);
    }

    #[test]
    fn a_todo_caught_by_proptest_is_not_implemented() {
        assert_eq!(
            failure_status(
                "Test failed: not yet implemented: Exercise 10; minimal failing input: x = 1"
            ),
            Status::NotImplemented
        );
        assert_eq!(
            failure_status("Test failed: assertion failed; minimal failing input: x = 1"),
            Status::Failed
        );
        assert_eq!(failure_status("not yet implemented"), Status::Failed);
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(first_lines("a\n\nb\nc\nd", 2), "a\nb\n  …");
    }
}
