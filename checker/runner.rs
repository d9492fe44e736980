//! Grades one exercise: the policy check of its files, compiling its check target with
//! cargo, running that target's observers in the sandbox, and judging what they
//! observed (the judge of `se05::grading`; this process never calls exercise code).
use anyhow::Context;
use se05::grading::registry::Exercise;
use se05::grading::Status;
use serde::Serialize;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where and how to grade.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Repository root holding Cargo.toml.
    pub root: PathBuf,
    /// Grade solutions/ instead of exercises/.
    pub solutions: bool,
    /// Cargo's target folder; None keeps the root's own.
    pub target_dir: Option<PathBuf>,
    /// Replaces every exercise's time limit (seconds).
    pub check_timeout_s: Option<u64>,
    /// Seed of the checks' inputs; a fresh one per exercise when `None`.
    pub seed: Option<u64>,
    /// Keep the points of an exercise whose run changed files of the tree (after an
    /// instructor's review); by default they are withheld.
    pub trust_flagged: bool,
    /// Refuse exercise files that use what exercises never need (`#[path]`, process or
    /// file APIs, `unsafe`, ...) before compiling them. Off only to test the sandbox.
    pub policy: bool,
}

/// The policy check of the exercise files a check target includes: the first
/// violation, with file and line, or `None`.
fn policy_violation(ex: &Exercise, cfg: &RunConfig) -> Option<String> {
    if !cfg.policy || cfg.solutions {
        return None;
    }
    let mut numbers = ex.all_dependencies();
    numbers.push(ex.number);
    for n in numbers {
        let dep = se05::grading::registry::get(n)?;
        let rel = dep.exercise_file();
        let text = std::fs::read_to_string(cfg.root.join(&rel)).unwrap_or_default();
        let found = se05::grading::policy::check_source(&rel, &text);
        if let Some(first) = found.first() {
            let more = match found.len() {
                1 => String::new(),
                n => format!("\n  (and {} more place(s) of the same kind)", n - 1),
            };
            return Some(format!("{}{more}", first.message));
        }
    }
    None
}

/// The result of one check, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub status: Status,
    pub points_earned: u32,
    pub points_possible: u32,
    pub message: String,
    pub hint: String,
    pub duration_ms: u64,
}

/// The result of one exercise, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseResult {
    pub number: u32,
    pub slug: String,
    pub title: String,
    pub file: String,
    pub status: Status,
    pub points_earned: u32,
    pub points_possible: u32,
    /// Why the exercise did not run (compile error, blocked, ...), else empty.
    pub message: String,
    pub duration_ms: u64,
    /// Seed the checks drew their inputs from (`checker --seed N` replays it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub checks: Vec<CheckResult>,
}

impl ExerciseResult {
    fn without_checks(
        ex: &Exercise,
        file: String,
        status: Status,
        message: String,
        elapsed: Duration,
    ) -> ExerciseResult {
        ExerciseResult {
            number: ex.number,
            slug: ex.slug.to_string(),
            title: ex.title.to_string(),
            file,
            status,
            points_earned: 0,
            points_possible: ex.points,
            message,
            duration_ms: elapsed.as_millis() as u64,
            seed: None,
            checks: Vec::new(),
        }
    }

    /// A result for an exercise that was not run because `dependency` did not pass.
    pub fn blocked(ex: &Exercise, cfg: &RunConfig, dependency: &ExerciseResult) -> ExerciseResult {
        let message = format!(
            "blocked by exercise {} ({}, {}): fix it first, this exercise uses its code",
            dependency.number,
            dependency.title,
            dependency.status.label()
        );
        ExerciseResult::without_checks(
            ex,
            file_of(ex, cfg),
            Status::Blocked,
            message,
            Duration::ZERO,
        )
    }
}

fn file_of(ex: &Exercise, cfg: &RunConfig) -> String {
    if cfg.solutions {
        ex.solution_file()
    } else {
        ex.exercise_file()
    }
}

/// Variables cargo sets for the program it runs (`cargo run --bin checker`). Passed on
/// to our own cargo, some of them reach build scripts that watch them (ring's watches
/// CARGO_MANIFEST_DIR and OUT_DIR), so the dependency would be rebuilt each time one goes from
/// `cargo run` to a plain `cargo` call and back: a minute per verdict instead of
/// seconds.
fn set_by_cargo_run(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CFG_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// The cargo to call (the one running us when started by `cargo run`), with the
/// variables `cargo run` set for us removed.
fn cargo_command() -> Command {
    let program = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"));
    let mut cmd = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// What compiling a check target produced.
pub enum Build {
    Executable(PathBuf),
    CompileError(String),
}

/// The first compiler error, with file:line, shortened for a terminal.
fn describe_compiler_error(message: &serde_json::Value) -> String {
    let text = message["message"].as_str().unwrap_or("error");
    let code = message["code"]["code"]
        .as_str()
        .map(|c| format!("[{c}] "))
        .unwrap_or_default();
    let span = message["spans"].as_array().and_then(|spans| {
        spans
            .iter()
            .find(|s| s["is_primary"].as_bool() == Some(true))
            .or_else(|| spans.first())
    });
    let location = span
        .map(|s| {
            let file =
                se05::io::fsutil::display_source_path(s["file_name"].as_str().unwrap_or("?"));
            format!("{file}:{}:{}", s["line_start"], s["column_start"])
        })
        .unwrap_or_default();
    let rendered = message["rendered"].as_str().unwrap_or("");
    let excerpt: Vec<&str> = rendered.lines().skip(1).take(12).collect();
    format!(
        "error{code}: {text}\n  --> {location}\n{}",
        excerpt.join("\n")
    )
}

/// Compiles the check target `target` (an exercise's slug, or `final_stage`).
pub fn build(target: &str, cfg: &RunConfig) -> anyhow::Result<Build> {
    let mut cmd = cargo_command();
    cmd.arg("test")
        .arg("--manifest-path")
        .arg(cfg.root.join("Cargo.toml"))
        .args(["--test", target, "--no-run", "--message-format=json"])
        .current_dir(&cfg.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if cfg.solutions {
        cmd.args(["--features", "solutions"]);
    }
    if let Some(dir) = &cfg.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    let mut child = cmd
        .spawn()
        .context("cannot start cargo: is the Rust toolchain installed and on PATH?")?;
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut executable = None;
    let mut first_error = None;
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.unwrap_or_default();
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-message")
                if msg["message"]["level"] == "error" && first_error.is_none() =>
            {
                first_error = Some(describe_compiler_error(&msg["message"]));
            }
            Some("compiler-artifact") if msg["target"]["name"] == target => {
                if let Some(exe) = msg["executable"].as_str() {
                    executable = Some(PathBuf::from(exe));
                }
            }
            _ => {}
        }
    }
    let status = child.wait().context("cargo did not finish")?;
    let stderr_text = stderr_thread.join().unwrap_or_default();
    match (status.success(), executable, first_error) {
        (true, Some(exe), _) => Ok(Build::Executable(exe)),
        (_, _, Some(err)) => Ok(Build::CompileError(err)),
        _ => {
            let tail: Vec<&str> = stderr_text
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Ok(Build::CompileError(format!(
                "cargo failed before compiling the exercise:\n{}",
                tail.join("\n")
            )))
        }
    }
}

/// Compiles and runs the checks of `ex`.
pub fn grade(ex: &Exercise, cfg: &RunConfig) -> ExerciseResult {
    let start = Instant::now();
    let file = file_of(ex, cfg);
    if let Some(refusal) = policy_violation(ex, cfg) {
        return ExerciseResult::without_checks(
            ex,
            file,
            Status::CompileError,
            format!("not compiled: {refusal}"),
            start.elapsed(),
        );
    }
    let exe = match build(ex.slug, cfg) {
        Ok(Build::Executable(exe)) => exe,
        Ok(Build::CompileError(msg)) => {
            return ExerciseResult::without_checks(
                ex,
                file,
                Status::CompileError,
                msg,
                start.elapsed(),
            );
        }
        Err(e) => {
            return ExerciseResult::without_checks(
                ex,
                file,
                Status::CompileError,
                format!("{e:#}"),
                start.elapsed(),
            )
        }
    };
    let ran = match se05::grading::exercises::specs(ex.number) {
        Some(specs) => observe_and_judge(ex, cfg, &exe, &specs),
        None => Err(anyhow::anyhow!(
            "exercise {} has no judge in se05::grading::exercises",
            ex.number
        )),
    };
    match ran {
        Ok(mut result) => {
            result.file = file;
            result.duration_ms = start.elapsed().as_millis() as u64;
            result
        }
        Err(e) => ExerciseResult::without_checks(
            ex,
            file,
            Status::Crashed,
            format!("{e:#}"),
            start.elapsed(),
        ),
    }
}

/// How the process that ran the observers ended.
struct Ended {
    /// Exit code, or `None` when a signal ended it.
    code: Option<i32>,
    /// The signal that ended it, if one did.
    signal: Option<i32>,
    /// The sandbox limit that ended or broke the run, if one did.
    limit: Option<se05::grading::sandbox::LimitHit>,
    /// The last lines of its output (capped).
    output_tail: String,
}

/// Runs the check target in observe mode, in the sandbox: it may write only in
/// `scratch`, it reads the run's terms (seed, key, file) on standard input, and it
/// writes observations to `observations`; nothing else counts. One wall-clock limit.
fn run_observer_process(
    exe: &Path,
    cfg: &RunConfig,
    scratch: &Path,
    observations: &Path,
    seed: u64,
    key: &str,
    wall: Duration,
) -> anyhow::Result<Ended> {
    use se05::grading::observe::{RunTerms, OBSERVE_ENV, SEED_ENV};
    use se05::grading::sandbox::{self, Exit};
    let terms = RunTerms {
        seed,
        key: key.to_string(),
        observe_to: observations.to_path_buf(),
    };
    let mut spec = sandbox::Spec::new(exe, &cfg.root);
    spec.writable = vec![scratch.to_path_buf()];
    spec.env = vec![
        (OBSERVE_ENV.into(), "1".into()),
        (SEED_ENV.into(), String::new().into()),
        ("RUST_BACKTRACE".into(), "0".into()),
    ];
    spec.stdin = Some(format!("{}\n", serde_json::to_string(&terms)?).into_bytes());
    spec.limits = sandbox::limits_from_env(sandbox::Limits {
        wall,
        ..sandbox::Limits::default()
    })?;
    let finished = sandbox::run(&spec)
        .with_context(|| format!("cannot start {} in the sandbox", exe.display()))?;
    for warning in &finished.warnings {
        warn_once(warning);
    }
    let rendered = finished.output.render();
    let tail: Vec<&str> = rendered
        .lines()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let (code, signal) = match finished.exit {
        Exit::Code(c) => (Some(c), None),
        Exit::Signal(s) => (None, Some(s)),
    };
    Ok(Ended {
        code,
        signal,
        limit: finished.limit_hit,
        output_tail: tail.join("\n"),
    })
}

/// Prints a sandbox warning (weaker isolation than intended) once per process.
fn warn_once(warning: &str) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if let Ok(mut seen) = SEEN.lock() {
        if !seen.iter().any(|w| w == warning) {
            eprintln!("warning: {warning}");
            seen.push(warning.to_string());
        }
    }
}

/// Why a check has no observation, from how the process ended. `running` is the
/// first check without one, once known (the check that was running).
fn missing_reason(ended: &Ended, wall: Duration, running: Option<&str>) -> (Status, String) {
    use se05::grading::sandbox::LimitHit;
    if ended.limit == Some(LimitHit::WallClock) {
        return match running {
            None => (
                Status::TimedOut,
                format!(
                    "stopped at the exercise's limit of {} s while this check was running: \
                     look for a loop that never ends, or a lock that is never released",
                    wall.as_secs()
                ),
            ),
            Some(running) => (
                Status::TimedOut,
                format!("not run: the time ran out during `{running}`"),
            ),
        };
    }
    if running.is_some() {
        return (
            Status::Crashed,
            "not run: the check process had already ended".to_string(),
        );
    }
    let tail = if ended.output_tail.trim().is_empty() {
        String::new()
    } else {
        format!("; its last output:\n{}", ended.output_tail)
    };
    let message = match (ended.limit, ended.code, ended.signal) {
        (Some(LimitHit::Memory), _, _) => format!(
            "the check process ran out of memory: it reached the sandbox's memory limit \
             ({} MiB unless SE05_SANDBOX_MEMORY_MB says otherwise); look for a tensor or \
             a Vec that grows without bound{tail}",
            se05::grading::sandbox::Limits::default()
                .memory
                .unwrap_or(0)
                >> 20
        ),
        (Some(LimitHit::FileSize), _, _) => {
            format!("the check process wrote a file larger than the sandbox allows{tail}")
        }
        (Some(LimitHit::Processes), _, _) => format!(
            "the check process could not start another process or thread: the sandbox's \
             process limit{tail}"
        ),
        (_, Some(0), _) => "the check process exited with code 0 before this check reported: \
             something in the exercise's code ended the process (std::process::exit?)"
            .to_string(),
        (_, Some(code), _) => {
            format!("the check process exited with code {code} before this check reported{tail}")
        }
        (_, None, Some(signal)) => format!(
            "the check process was killed by signal {signal} before this check reported{tail}"
        ),
        _ => "the check process ended before this check reported".to_string(),
    };
    (Status::Crashed, message)
}

/// Runs the observers of `ex` in their own process and judges what they saw here,
/// without ever calling the exercise's code in this process.
fn observe_and_judge(
    ex: &Exercise,
    cfg: &RunConfig,
    exe: &Path,
    specs: &[se05::grading::judge::CheckSpec],
) -> anyhow::Result<ExerciseResult> {
    use se05::grading::judge::{self, JudgeCtx};
    let scratch = tempfile::tempdir().context("cannot create a temporary folder")?;
    // Names nobody can guess without listing the folder (which exercise code may not).
    let observations = scratch
        .path()
        .join(format!("observations-{:016x}.jsonl", rand::random::<u64>()));
    let seed = cfg.seed.unwrap_or_else(rand::random);
    let key: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let wall = Duration::from_secs(cfg.check_timeout_s.unwrap_or(ex.timeout_s));
    let guard = crate::tree_guard::TreeGuard::capture(&cfg.root)?;
    let ended = run_observer_process(exe, cfg, scratch.path(), &observations, seed, &key, wall)?;
    let mut tampered = guard.restore_changes()?;
    let ctx = JudgeCtx::for_grading(seed);
    let key_bytes = se05::grading::observe::key_bytes(&key).expect("hexadecimal");
    let (observed, unreadable) = match judge::read_observations(&observations, &key_bytes) {
        Ok(file) => {
            if file.forged > 0 {
                tampered.push(format!(
                    "{} line(s) of the observations file that the harness did not write (forged)",
                    file.forged
                ));
            }
            (file.observations, None)
        }
        Err(why) => (Vec::new(), Some(why)),
    };
    let mut first_missing: Option<&str> = None;
    let checks: Vec<CheckResult> = specs
        .iter()
        .map(|spec| {
            let (status, message) = match (&unreadable, judge::first_for(&observed, spec.name)) {
                (Some(why), _) => (Status::Crashed, why.clone()),
                (None, Some(o)) => judge::decide(spec, Some(o), &ctx, ""),
                (None, None) => {
                    let reason = missing_reason(&ended, wall, first_missing);
                    first_missing.get_or_insert(spec.name);
                    reason
                }
            };
            let duration_ms = judge::first_for(&observed, spec.name).map_or(0, |o| o.duration_ms);
            CheckResult {
                name: spec.name.to_string(),
                status,
                points_earned: if status == Status::Passed {
                    spec.points
                } else {
                    0
                },
                points_possible: spec.points,
                message,
                hint: spec.hint.to_string(),
                duration_ms,
            }
        })
        .collect();
    let mut checks = checks;
    let mut message = String::new();
    if !tampered.is_empty() {
        message = format!(
            "SUSPICIOUS: while this exercise's checks ran, its code changed what grading \
             relies on (files are restored): {}. {}",
            tampered.join(", "),
            if cfg.trust_flagged {
                "Points kept (--trust-flagged)."
            } else {
                "Its points are withheld pending an instructor's review (--trust-flagged keeps them)."
            }
        );
        if !cfg.trust_flagged {
            checks.iter_mut().for_each(|c| c.points_earned = 0);
        }
    }
    let statuses: Vec<Status> = checks.iter().map(|c| c.status).collect();
    Ok(ExerciseResult {
        number: ex.number,
        slug: ex.slug.to_string(),
        title: ex.title.to_string(),
        file: String::new(),
        status: Status::summarise(&statuses),
        points_earned: checks.iter().map(|c| c.points_earned).sum(),
        points_possible: ex.points,
        message,
        duration_ms: 0,
        seed: Some(seed),
        checks,
    })
}

/// Grades the exercises in `numbers` (ascending) and whatever they depend on,
/// marking an exercise blocked when one of its dependencies did not pass (unless
/// `respect_dependencies` is false).
pub fn grade_all(
    numbers: &[u32],
    cfg: &RunConfig,
    respect_dependencies: bool,
    mut on_result: impl FnMut(&ExerciseResult),
) -> Vec<ExerciseResult> {
    let mut wanted: Vec<u32> = Vec::new();
    for &n in numbers {
        if let Some(ex) = se05::grading::registry::get(n) {
            wanted.extend(ex.all_dependencies());
            wanted.push(n);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut results: Vec<ExerciseResult> = Vec::new();
    for n in wanted {
        let ex = se05::grading::registry::get(n).expect("checked above");
        let failed_dep = ex
            .all_dependencies()
            .into_iter()
            .filter(|_| respect_dependencies)
            .filter_map(|d| results.iter().find(|r| r.number == d))
            .find(|r| r.status != Status::Passed)
            .cloned();
        let result = match failed_dep {
            Some(dep) => ExerciseResult::blocked(ex, cfg, &dep),
            None => grade(ex, cfg),
        };
        on_result(&result);
        results.push(result);
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_of_cargo_run_are_not_passed_on() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_VERSION",
            "OUT_DIR",
            "CARGO_CFG_TARGET_OS",
        ] {
            assert!(set_by_cargo_run(name), "{name}");
        }
        // What the user set for cargo itself stays.
        for name in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "LIBTORCH",
        ] {
            assert!(!set_by_cargo_run(name), "{name}");
        }
    }
}
