//! `checker validate`: the instructor's proof that the workshop is sound — every
//! reference solution passes every check, every untouched stub fails every check, and
//! every check carries a hint.
use crate::runner::{self, ExerciseResult, RunConfig};
use crate::ui;
use colored::Colorize;
use se05::grading::registry::EXERCISES;
use se05::grading::Status;
use std::process::Command;

/// Fails when exercises/ differs from the committed stubs (a student's work in
/// progress would make "every stub fails" meaningless).
fn ensure_pristine_stubs(cfg: &RunConfig) -> anyhow::Result<()> {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--", "exercises"])
        .current_dir(&cfg.root)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let changed = String::from_utf8_lossy(&o.stdout).trim().to_string();
            anyhow::ensure!(
                changed.is_empty(),
                "validate needs the untouched stubs, but exercises/ has changes:\n{changed}\nCommit or stash them (git stash) and run it again."
            );
            Ok(())
        }
        _ => {
            eprintln!("warning: not a git checkout; assuming exercises/ holds the untouched stubs");
            Ok(())
        }
    }
}

fn problems(results: &[ExerciseResult], solutions: bool) -> Vec<String> {
    let mut out = Vec::new();
    for r in results {
        if r.checks.is_empty() {
            out.push(format!(
                "exercise {} ({}): {} — {}",
                r.number,
                r.file,
                r.status.label(),
                se05::grading::judge::first_lines(&r.message, 3)
            ));
        }
        for c in &r.checks {
            if c.hint.trim().is_empty() {
                out.push(format!(
                    "exercise {} check {}: has no hint",
                    r.number, c.name
                ));
            }
            if solutions && c.status != Status::Passed {
                out.push(format!(
                    "exercise {} check {}: the reference {} — {}",
                    r.number,
                    c.name,
                    c.status.label(),
                    se05::grading::judge::first_lines(&c.message, 2)
                ));
            }
            if !solutions && c.status == Status::Passed {
                out.push(format!("exercise {} check {}: passes on the untouched stub, so it cannot tell a solved exercise from an unsolved one", r.number, c.name));
            }
        }
    }
    out
}

/// Ok(true) when the suite is sound.
pub fn run(base: &RunConfig) -> anyhow::Result<bool> {
    ensure_pristine_stubs(base)?;
    let numbers: Vec<u32> = EXERCISES.iter().map(|e| e.number).collect();
    let mut all_problems = Vec::new();
    for solutions in [true, false] {
        let cfg = RunConfig {
            solutions,
            ..base.clone()
        };
        let what = if solutions {
            "reference solutions (every check must pass)"
        } else {
            "untouched stubs (every check must fail)"
        };
        println!("{}", format!("Validating the {what}…").bold());
        // Stubs are graded one by one, not blocked by their dependencies: every
        // check must be seen failing.
        let results = runner::grade_all(&numbers, &cfg, solutions, |r| {
            let checks = r.checks.len();
            let passed = r
                .checks
                .iter()
                .filter(|c| c.status == Status::Passed)
                .count();
            println!(
                "  {:>2} {:<22} {} ({passed}/{checks} checks passed)",
                r.number,
                r.title,
                ui::paint(r.status, r.status.label())
            );
        });
        all_problems.extend(problems(&results, solutions));
    }
    if all_problems.is_empty() {
        println!(
            "{}",
            "validate: every solution passes, every untouched stub fails, every check has a hint."
                .green()
                .bold()
        );
        Ok(true)
    } else {
        println!("{}", "validate found problems:".red().bold());
        for p in &all_problems {
            println!("  - {p}");
        }
        Ok(false)
    }
}
