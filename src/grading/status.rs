//! Statuses of a check and of an exercise.
use serde::{Deserialize, Serialize};

/// Outcome of a check, or of a whole exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    NotImplemented,
    CompileError,
    TimedOut,
    Crashed,
    Blocked,
}

impl Status {
    /// Words shown to the student.
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::NotImplemented => "not implemented",
            Status::CompileError => "compile error",
            Status::TimedOut => "timed out",
            Status::Crashed => "crashed",
            Status::Blocked => "blocked",
        }
    }

    /// Reads a label back (`"not implemented"` or `"not_implemented"`).
    pub fn from_label(label: &str) -> Option<Status> {
        let all = [
            Status::Passed,
            Status::Failed,
            Status::NotImplemented,
            Status::CompileError,
            Status::TimedOut,
            Status::Crashed,
            Status::Blocked,
        ];
        let wanted = label.replace('_', " ");
        all.into_iter().find(|s| s.label() == wanted)
    }

    /// The status of an exercise from those of its checks: passed only if all passed;
    /// not implemented if nothing was attempted; otherwise the most serious outcome.
    pub fn summarise(statuses: &[Status]) -> Status {
        if statuses.is_empty() {
            return Status::Crashed;
        }
        if statuses.iter().all(|s| *s == Status::Passed) {
            Status::Passed
        } else if statuses.iter().all(|s| *s == Status::NotImplemented) {
            Status::NotImplemented
        } else if statuses.contains(&Status::TimedOut) {
            Status::TimedOut
        } else if statuses.contains(&Status::Crashed) {
            Status::Crashed
        } else {
            Status::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_statuses() {
        use Status::*;
        assert_eq!(Status::summarise(&[Passed, Passed]), Passed);
        assert_eq!(
            Status::summarise(&[NotImplemented, NotImplemented]),
            NotImplemented
        );
        assert_eq!(Status::summarise(&[Passed, NotImplemented]), Failed);
        assert_eq!(Status::summarise(&[Failed, TimedOut]), TimedOut);
        assert_eq!(Status::summarise(&[Failed, Crashed]), Crashed);
        assert_eq!(Status::summarise(&[]), Crashed);
    }

    #[test]
    fn labels_read_back() {
        for s in [Status::NotImplemented, Status::CompileError, Status::Passed] {
            assert_eq!(Status::from_label(s.label()), Some(s));
        }
        assert_eq!(Status::from_label("timed_out"), Some(Status::TimedOut));
        assert_eq!(Status::from_label("great"), None);
    }
}
