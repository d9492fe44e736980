//! The machine-readable report (`--json FILE`), schema `se05-report/1`, documented
//! in the README.
use crate::runner::ExerciseResult;
use se05::grading::Status;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub crate_version: &'static str,
    pub exercise_set_version: &'static str,
    /// "exercises" (the student's code) or "solutions" (the reference).
    pub mode: &'static str,
    /// "passed" when every graded exercise passed; "error" when grading itself failed.
    pub status: String,
    /// Why grading could not run, when status is "error".
    pub error: Option<String>,
    pub points_earned: u32,
    pub points_possible: u32,
    pub started_unix: u64,
    pub duration_ms: u64,
    pub exercises: Vec<ExerciseResult>,
}

impl Report {
    pub fn new(
        solutions: bool,
        results: Vec<ExerciseResult>,
        started_unix: u64,
        duration_ms: u64,
    ) -> Report {
        let statuses: Vec<Status> = results.iter().map(|r| r.status).collect();
        let overall = if statuses.iter().all(|s| *s == Status::Passed) {
            Status::Passed
        } else {
            Status::Failed
        };
        Report {
            schema: "se05-report/1",
            crate_version: env!("CARGO_PKG_VERSION"),
            exercise_set_version: se05::grading::registry::EXERCISE_SET_VERSION,
            mode: if solutions { "solutions" } else { "exercises" },
            status: serde_json::to_value(overall)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            error: None,
            points_earned: results.iter().map(|r| r.points_earned).sum(),
            points_possible: results.iter().map(|r| r.points_possible).sum(),
            started_unix,
            duration_ms,
            exercises: results,
        }
    }

    /// A report saying that nothing could be graded, and why.
    pub fn error(solutions: bool, why: String, started_unix: u64) -> Report {
        let mut r = Report::new(solutions, Vec::new(), started_unix, 0);
        r.status = "error".to_string();
        r.error = Some(why);
        r
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        se05::io::fsutil::write_atomic(path, &json)
    }
}
