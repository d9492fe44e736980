//! `--format classroom`: the result of a GitHub Classroom autograding runner, as
//! the `autograding-grading-reporter` action reads it (base64-encoded, from the
//! environment variable `<RUNNER ID>_RESULTS`):
//!
//! ```text
//! {"version": 1, "status": "pass" | "fail" | "error", "max_score": 10,
//!  "tests": [{"name", "status", "score", "max_score", "message",
//!             "test_code", "filename", "line_no", "duration"}]}
//! ```
//!
//! The reporter adds up the tests' `score` and the runners' `max_score` for the grade
//! it sends to Classroom, so every check is one test worth its points: partial credit
//! counts. `duration` is in milliseconds, as the Classroom graders write it;
//! `max_score` on a test is ours (the reporter ignores it).
use crate::runner::ExerciseResult;
use se05::grading::Status;
use serde::Serialize;
use std::path::Path;

/// One runner's result.
#[derive(Debug, Clone, Serialize)]
pub struct RunnerResult {
    pub version: u32,
    pub status: &'static str,
    pub max_score: u32,
    pub tests: Vec<TestResult>,
}

/// One test of a runner: a check of an exercise, or the whole exercise when none of
/// its checks could run (compile error, blocked).
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub status: &'static str,
    pub score: u32,
    pub max_score: u32,
    pub message: String,
    pub test_code: String,
    pub filename: String,
    pub line_no: u32,
    pub duration: u64,
}

fn test_status(status: Status) -> &'static str {
    match status {
        Status::Passed => "pass",
        Status::Crashed | Status::CompileError => "error",
        Status::Failed | Status::NotImplemented | Status::TimedOut | Status::Blocked => "fail",
    }
}

/// The line of `file` that `message` points at ("exercises/ex10_dice_loss.rs:12"), else 0.
fn line_in(message: &str, file: &str) -> u32 {
    crate::ui::line_of(message, file).unwrap_or(0)
}

fn command(number: u32, solutions: bool) -> String {
    let flag = if solutions { " --solutions" } else { "" };
    format!("cargo run --bin checker --{flag} {number}")
}

/// The runner result for the exercises in `selected` (their dependencies, graded too,
/// are left out: each exercise's points count once, in its own runner).
pub fn from_results(results: &[ExerciseResult], selected: &[u32], solutions: bool) -> RunnerResult {
    let mut tests = Vec::new();
    let mut max_score = 0;
    let mut compile_error = false;
    for r in results.iter().filter(|r| selected.contains(&r.number)) {
        max_score += r.points_possible;
        compile_error |= r.status == Status::CompileError;
        let test_code = command(r.number, solutions);
        if r.checks.is_empty() {
            tests.push(TestResult {
                name: format!("Exercise {} ({})", r.number, r.title),
                status: test_status(r.status),
                score: r.points_earned,
                max_score: r.points_possible,
                message: match crate::ui::explain(r) {
                    Some((what, look)) => format!(
                        "{}: {}\nwhat happened: {what}\nwhere to look: {look}",
                        r.status.label(),
                        r.message
                    ),
                    None => format!("{}: {}", r.status.label(), r.message),
                },
                test_code,
                filename: r.file.clone(),
                line_no: line_in(&r.message, &r.file),
                duration: r.duration_ms,
            });
            continue;
        }
        for c in &r.checks {
            let message = if c.status == Status::Passed {
                String::new()
            } else if c.message.is_empty() {
                format!("{}\nhint: {}", c.status.label(), c.hint)
            } else {
                format!("{}: {}\nhint: {}", c.status.label(), c.message, c.hint)
            };
            tests.push(TestResult {
                name: format!("Exercise {} ({}): {}", r.number, r.title, c.name),
                status: test_status(c.status),
                score: c.points_earned,
                max_score: c.points_possible,
                line_no: line_in(&c.message, &r.file),
                message,
                test_code: test_code.clone(),
                filename: r.file.clone(),
                duration: c.duration_ms,
            });
        }
    }
    let status = if compile_error {
        "error"
    } else if !tests.is_empty() && tests.iter().all(|t| t.status == "pass") {
        "pass"
    } else {
        "fail"
    };
    RunnerResult {
        version: 1,
        status,
        max_score,
        tests,
    }
}

/// A runner result saying that nothing could be graded, and why.
pub fn error(why: &str, max_score: u32) -> RunnerResult {
    RunnerResult {
        version: 1,
        status: "error",
        max_score,
        tests: vec![TestResult {
            name: "grading".to_string(),
            status: "error",
            score: 0,
            max_score,
            message: why.to_string(),
            test_code: "cargo run --bin checker -- all".to_string(),
            filename: String::new(),
            line_no: 0,
            duration: 0,
        }],
    }
}

impl RunnerResult {
    /// Writes the result to `path`, or to standard output when there is none.
    pub fn write(&self, path: Option<&Path>) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        match path {
            Some(p) => se05::io::fsutil::write_atomic(p, &json),
            None => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(&json)?;
                out.write_all(b"\n")?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::CheckResult;

    fn check(name: &str, status: Status, earned: u32, possible: u32, message: &str) -> CheckResult {
        CheckResult {
            name: name.into(),
            status,
            points_earned: earned,
            points_possible: possible,
            message: message.into(),
            hint: "look here".into(),
            duration_ms: 3,
        }
    }

    fn exercise(
        number: u32,
        status: Status,
        checks: Vec<CheckResult>,
        message: &str,
    ) -> ExerciseResult {
        let ex = se05::grading::registry::get(number).unwrap();
        ExerciseResult {
            number,
            slug: ex.slug.into(),
            title: ex.title.into(),
            file: ex.exercise_file(),
            status,
            points_earned: checks.iter().map(|c| c.points_earned).sum(),
            points_possible: ex.points,
            message: message.into(),
            duration_ms: 9,
            seed: None,
            checks,
        }
    }

    #[test]
    fn partial_credit_per_check_and_dependencies_left_out() {
        let results = vec![
            exercise(
                6,
                Status::Passed,
                vec![check("a", Status::Passed, 10, 10, "")],
                "",
            ),
            exercise(
                10,
                Status::Crashed,
                vec![
                    check("x", Status::Passed, 4, 4, ""),
                    check(
                        "y",
                        Status::Crashed,
                        0,
                        6,
                        "index out of bounds\n  (at exercises/ex10_dice_loss.rs:31)",
                    ),
                ],
                "",
            ),
        ];
        let r = from_results(&results, &[10], false);
        assert_eq!((r.version, r.status, r.max_score), (1, "fail", 10));
        assert_eq!(r.tests.len(), 2);
        assert_eq!(r.tests.iter().map(|t| t.score).sum::<u32>(), 4);
        let y = &r.tests[1];
        assert_eq!((y.status, y.line_no), ("error", 31));
        assert!(y.message.contains("hint: look here"), "{}", y.message);
        assert_eq!(y.test_code, "cargo run --bin checker -- 10");
    }

    #[test]
    fn compile_error_is_an_error_with_its_line() {
        let results = vec![exercise(
            8,
            Status::CompileError,
            vec![],
            "error[E0308]: mismatched types\n  --> exercises/ex08_up.rs:23:30",
        )];
        let r = from_results(&results, &[8], false);
        assert_eq!((r.status, r.max_score), ("error", 12));
        assert_eq!(r.tests[0].line_no, 23);
        assert_eq!(r.tests[0].score, 0);
        let all_pass = from_results(
            &[exercise(
                6,
                Status::Passed,
                vec![check("a", Status::Passed, 10, 10, "")],
                "",
            )],
            &[6],
            true,
        );
        assert_eq!(all_pass.status, "pass");
        assert!(all_pass.tests[0].test_code.contains("--solutions 6"));
    }
}
