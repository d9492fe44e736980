//! `--github`: what a student sees on GitHub's pages when the Classroom workflow
//! grades a push. The reporter action shows a pass-fraction table and none of the
//! checker's messages, so the checker speaks for itself: an error annotation per
//! failing check (shown on the Actions page and beside the exercise file in a pull
//! request's "Files changed"), and a Markdown section in the job's step summary
//! (`$GITHUB_STEP_SUMMARY`) with the real points per exercise and per check, and the
//! first failing check's message and hint.
use crate::runner::ExerciseResult;
use se05::grading::Status;
use std::fmt::Write as _;

/// A workflow command's message: `%`, CR and LF written as GitHub's escapes.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` line per check that did not pass (one per exercise when it has no
/// checks: compile error, blocked), pointing at the exercise file and, when the
/// message names one, its line.
pub fn annotations(results: &[ExerciseResult], selected: &[u32]) -> Vec<String> {
    let mut out = Vec::new();
    for r in results.iter().filter(|r| selected.contains(&r.number)) {
        let mut push = |title: String, message: String, hint: &str| {
            let line = crate::ui::line_of(&message, &r.file).unwrap_or(1);
            let text = if hint.is_empty() {
                message
            } else {
                format!("{message}\nhint: {hint}")
            };
            out.push(format!(
                "::error file={},line={line},title={}::{}",
                escape_property(&r.file),
                escape_property(&title),
                escape_data(&text)
            ));
        };
        if r.checks.is_empty() && r.status != Status::Passed {
            push(
                format!("Exercise {}: {}", r.number, r.status.label()),
                r.message.clone(),
                "",
            );
        }
        for c in r.checks.iter().filter(|c| c.status != Status::Passed) {
            push(
                format!("Exercise {} {}: {}", r.number, c.name, c.status.label()),
                if c.message.is_empty() {
                    c.status.label().to_string()
                } else {
                    c.message.clone()
                },
                &c.hint,
            );
        }
    }
    out
}

/// Text inside a Markdown code block: a fence longer than any run of backticks in it.
fn code_block(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

/// A table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('|', "\\|")
}

/// The step summary's Markdown for the graded exercises.
pub fn summary(results: &[ExerciseResult], selected: &[u32]) -> String {
    let mut md = String::new();
    for r in results.iter().filter(|r| selected.contains(&r.number)) {
        let _ = writeln!(
            md,
            "### Exercise {}: {} — {}/{} points ({})\n",
            r.number,
            cell(&r.title),
            r.points_earned,
            r.points_possible,
            r.status.label()
        );
        if r.checks.is_empty() {
            if !r.message.is_empty() {
                md.push_str(&code_block(&r.message));
            }
            md.push('\n');
            continue;
        }
        md.push_str("| check | status | points |\n|---|---|---|\n");
        for c in &r.checks {
            let _ = writeln!(
                md,
                "| `{}` | {} | {}/{} |",
                cell(&c.name),
                c.status.label(),
                c.points_earned,
                c.points_possible
            );
        }
        md.push('\n');
        if let Some(c) = r.checks.iter().find(|c| c.status != Status::Passed) {
            let _ = writeln!(md, "First check to fix, `{}`:\n", cell(&c.name));
            if !c.message.is_empty() {
                md.push_str(&code_block(&c.message));
            }
            let _ = writeln!(md, "\n**Hint:** {}\n", cell(&c.hint));
            let _ = writeln!(
                md,
                "Run `cargo run --bin checker -- {}` on your machine for the same verdict.\n",
                r.number
            );
        }
    }
    md
}

/// Prints the annotations and appends the summary to `$GITHUB_STEP_SUMMARY` (when
/// set; outside GitHub Actions only the annotations are printed).
pub fn report(results: &[ExerciseResult], selected: &[u32]) -> anyhow::Result<()> {
    for line in annotations(results, selected) {
        println!("{line}");
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open GITHUB_STEP_SUMMARY: {e}"))?;
        file.write_all(summary(results, selected).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::CheckResult;

    fn result(checks: Vec<CheckResult>) -> ExerciseResult {
        let ex = se05::grading::registry::get(10).unwrap();
        ExerciseResult {
            number: 10,
            slug: ex.slug.into(),
            title: ex.title.into(),
            file: ex.exercise_file(),
            status: Status::Failed,
            points_earned: checks.iter().map(|c| c.points_earned).sum(),
            points_possible: 10,
            points_held_back: 0,
            message: String::new(),
            duration_ms: 1,
            seed: None,
            checks,
        }
    }

    fn check(name: &str, status: Status, points: u32, message: &str) -> CheckResult {
        CheckResult {
            name: name.into(),
            status,
            points_earned: if status == Status::Passed { points } else { 0 },
            points_possible: points,
            message: message.into(),
            hint: "compare with the formula in the notebook".into(),
            duration_ms: 1,
        }
    }

    #[test]
    fn failing_checks_become_annotations_on_their_line() {
        let r = result(vec![
            check("shape", Status::Passed, 4, ""),
            check(
                "matches_reference",
                Status::Failed,
                6,
                "expected 0.25, got 0.5: 100% off\n  (at exercises/ex10_dice_loss.rs:31)",
            ),
        ]);
        let lines = annotations(&[r], &[10]);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let l = &lines[0];
        assert!(l.starts_with("::error file=exercises/ex10_dice_loss.rs,line=31,title=Exercise 10 matches_reference%3A failed::"), "{l}");
        assert!(l.contains("100%25 off%0A") && !l.contains('\n'), "{l}");
        assert!(l.contains("hint: compare"), "{l}");
        assert!(annotations(&[result(vec![])], &[9]).is_empty());
    }

    #[test]
    fn the_summary_has_the_points_and_the_first_failure() {
        let r = result(vec![
            check("shape", Status::Passed, 4, ""),
            check("value", Status::Failed, 6, "got ``` a fence | and a bar"),
        ]);
        let md = summary(&[r], &[10]);
        assert!(
            md.contains("### Exercise 10: Dice loss — 4/10 points (failed)"),
            "{md}"
        );
        assert!(md.contains("| `shape` | passed | 4/4 |"), "{md}");
        assert!(md.contains("| `value` | failed | 0/6 |"), "{md}");
        // The student's text cannot close the code block it is shown in.
        assert!(
            md.contains("````text\ngot ``` a fence | and a bar\n````"),
            "{md}"
        );
        assert!(md.contains("**Hint:** compare with the formula"), "{md}");
    }
}
