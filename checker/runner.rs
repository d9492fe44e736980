//! Grades one exercise: the policy check of its files, compiling its check target with
//! cargo, running that target's observers in the sandbox, and judging what they
//! observed (the judge of `se05::grading`; this process never calls exercise code).
use anyhow::Context;
use se05::grading::registry::Exercise;
use se05::grading::Status;
use serde::Serialize;
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
    /// Compile in the sandbox with reads limited to the copy, the toolchain and the
    /// system (`checker grade`: the grade that counts).
    pub confine_build: bool,
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
    /// Points this build's checks can award (the student release's lack the hidden
    /// checks' points).
    pub points_possible: u32,
    /// Points of hidden checks this build does not have: kept for the instructor's
    /// grading (`checker grade`). Zero in the instructor's repository.
    #[serde(skip_serializing_if = "is_zero")]
    pub points_held_back: u32,
    /// Why the exercise did not run (compile error, blocked, ...), else empty.
    pub message: String,
    pub duration_ms: u64,
    /// Seed the checks drew their inputs from (`checker --seed N` replays it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub checks: Vec<CheckResult>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Hidden checks' points of `ex` that this build cannot award.
pub fn held_back(ex: &Exercise) -> u32 {
    ex.points - se05::grading::exercises::points_here(ex)
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
            points_possible: se05::grading::exercises::points_here(ex),
            points_held_back: held_back(ex),
            message,
            duration_ms: elapsed.as_millis() as u64,
            seed: None,
            checks: Vec::new(),
        }
    }

    /// The result with every control character of its texts written visibly.
    fn made_inert(mut self) -> ExerciseResult {
        use se05::grading::text::make_inert;
        for text in [
            &mut self.slug,
            &mut self.title,
            &mut self.file,
            &mut self.message,
        ] {
            make_inert(text);
        }
        for c in &mut self.checks {
            for text in [&mut c.name, &mut c.message, &mut c.hint] {
                make_inert(text);
            }
        }
        self
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

/// The cargo to call: the one running us when started by `cargo run`.
fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Downloads every package the lock of `root` names (a no-op when all are there):
/// a confined build is offline, and a checker built alone fetched no test-only
/// dependency. A failure is for the build to report, so it is only a warning.
pub fn fetch_dependencies(root: &Path) {
    let fetched = Command::new(cargo_program())
        .arg("fetch")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .env_clear()
        .envs(crate::cargo_env::allowed())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output();
    match fetched {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!(
            "warning: `cargo fetch` failed; grading builds offline and may miss a package:\n{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        ),
        Err(e) => eprintln!("warning: cannot run `cargo fetch`: {e}"),
    }
}

/// What compiling a check target produced.
pub enum Build {
    Executable(PathBuf),
    CompileError(String),
}

/// Compiles the check target `target` (an exercise's slug, or `final_stage`). Cargo
/// gets only the allowed part of our environment ([`crate::cargo_env`]); with
/// `cfg.confine_build` it runs in the sandbox ([`crate::confined_build`]).
pub fn build(target: &str, cfg: &RunConfig) -> anyhow::Result<Build> {
    let mut args: Vec<std::ffi::OsString> = vec!["test".into(), "--manifest-path".into()];
    args.push(cfg.root.join("Cargo.toml").into());
    for a in ["--test", target, "--no-run", "--message-format=json"] {
        args.push(a.into());
    }
    if cfg.solutions {
        args.extend(["--features".into(), "solutions".into()]);
    }
    if let Some(dir) = &cfg.target_dir {
        args.extend(["--target-dir".into(), dir.clone().into()]);
    }
    let target_dir = cfg.target_dir.clone().unwrap_or_else(|| {
        let from_env = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
        cfg.root.join(from_env.unwrap_or_else(|| "target".into()))
    });
    let env = crate::cargo_env::allowed();
    let (success, stdout, stderr) = if cfg.confine_build {
        args.push("--offline".into());
        let ran = crate::confined_build::run(&cargo_program(), &args, env, &cfg.root, &target_dir)?;
        (ran.success, ran.stdout, ran.stderr_tail)
    } else {
        let out = Command::new(cargo_program())
            .args(&args)
            .env_clear()
            .envs(env)
            .current_dir(&cfg.root)
            .stdin(Stdio::null())
            .output()
            .context("cannot start cargo: is the Rust toolchain installed and on PATH?")?;
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut executable = None;
    let mut first_error = None;
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-message")
                if msg["message"]["level"] == "error" && first_error.is_none() =>
            {
                first_error = Some(crate::compile_error::describe(
                    &msg["message"],
                    cfg.solutions,
                ));
            }
            Some("compiler-artifact") if msg["target"]["name"] == target => {
                if let Some(exe) = msg["executable"].as_str() {
                    executable = Some(PathBuf::from(exe));
                }
            }
            _ => {}
        }
    }
    match (success, executable, first_error) {
        (true, Some(exe), _) => Ok(Build::Executable(exe)),
        // Compiler excerpts quote the student's lines: made inert for every printer.
        (_, _, Some(err)) => Ok(Build::CompileError(
            se05::grading::text::inert(&err).into_owned(),
        )),
        _ => {
            let tail: Vec<&str> = stderr
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            // Paths relative to the tree: never the build machine's own.
            let root = cfg.root.display().to_string();
            let text = format!(
                "cargo failed before compiling the exercise:\n{}",
                tail.join("\n").replace(&root, ".")
            );
            Ok(Build::CompileError(
                se05::grading::text::inert(&text).into_owned(),
            ))
        }
    }
}

/// Compiles and runs the checks of `ex`. Every text of the result is made inert
/// (`se05::grading::text`): panic messages, output excerpts and compiler excerpts
/// quote student code, and each printer, report and gradebook gets them from here.
pub fn grade(ex: &Exercise, cfg: &RunConfig) -> ExerciseResult {
    grade_untrusted(ex, cfg).made_inert()
}

fn grade_untrusted(ex: &Exercise, cfg: &RunConfig) -> ExerciseResult {
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
    /// The run's scratch-space budget, for the message when it was reached.
    scratch_bytes: Option<u64>,
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
        scratch_bytes: spec.limits.scratch_bytes,
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
    if let Some(running) = running {
        let why = match ended.limit {
            Some(LimitHit::ScratchSpace) => {
                format!("not run: the scratch space limit was reached during `{running}`")
            }
            _ => "not run: the check process had already ended".to_string(),
        };
        return (Status::Crashed, why);
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
        (Some(LimitHit::ScratchSpace), _, _) => format!(
            "stopped at the sandbox's scratch space limit while this check was running: \
             the files it wrote grew past {} MiB (SE05_SANDBOX_SCRATCH_MB) or past {} \
             files; look for a loop that writes files or saves tensors without end{tail}",
            ended.scratch_bytes.unwrap_or(0) >> 20,
            se05::grading::sandbox::MAX_SCRATCH_ENTRIES
        ),
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
        points_possible: checks.iter().map(|c| c.points_possible).sum(),
        points_held_back: held_back(ex),
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
    fn results_leave_with_their_control_characters_visible() {
        let ex = se05::grading::registry::get(6).unwrap();
        let mut result = ExerciseResult::without_checks(
            ex,
            "exercises/ex06_double_conv.rs".into(),
            Status::Crashed,
            "error: \u{1b}[2Jpassed".into(),
            Duration::ZERO,
        );
        result.checks.push(CheckResult {
            name: "output_shape".into(),
            status: Status::Crashed,
            points_earned: 0,
            points_possible: 1,
            message: "panicked: \u{1b}[H\rpassed 12/12\n\tnext line".into(),
            hint: "a hint".into(),
            duration_ms: 0,
        });
        let result = result.made_inert();
        assert_eq!(result.message, "error: \\u{1b}[2Jpassed");
        assert_eq!(
            result.checks[0].message,
            "panicked: \\u{1b}[H\\u{d}passed 12/12\n\tnext line"
        );
        assert_eq!(result.file, "exercises/ex06_double_conv.rs");
    }
}
