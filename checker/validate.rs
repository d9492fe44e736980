//! `checker validate`: the instructor's proof that the workshop is sound — every
//! reference solution passes every check, every stub as shipped (checker/stubs/,
//! graded in a scratch copy of the tree) fails every check, every check carries a
//! hint, and every catalogued mistake is caught and named.
use crate::runner::{self, ExerciseResult, RunConfig};
use crate::ui;
use colored::Colorize;
use se05::grading::registry::EXERCISES;
use se05::grading::Status;

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
    let numbers: Vec<u32> = EXERCISES.iter().map(|e| e.number).collect();
    let mut all_problems = Vec::new();
    let print = |r: &ExerciseResult| {
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
    };
    println!(
        "{}",
        "Validating the reference solutions (every check must pass)…".bold()
    );
    let cfg = RunConfig {
        solutions: true,
        ..base.clone()
    };
    let results = runner::grade_all(&numbers, &cfg, true, print);
    all_problems.extend(problems(&results, true));

    // The stubs as shipped, in a copy of the tree: whatever exercises/ holds here.
    let scratch = crate::mistakes::Scratch::new(base)?;
    println!(
        "{}",
        "Validating the stubs of checker/stubs (every check must fail)…".bold()
    );
    for ex in EXERCISES {
        let stub = base
            .root
            .join("checker/stubs")
            .join(format!("{}.rs", ex.slug));
        let text = std::fs::read_to_string(&stub)
            .map_err(|e| anyhow::anyhow!("cannot read the stub {}: {e}", stub.display()))?;
        scratch.put(ex, &text)?;
    }
    // Stubs are graded one by one, not blocked by their dependencies: every check
    // must be seen failing.
    let results = runner::grade_all(&numbers, &scratch.cfg, false, print);
    all_problems.extend(problems(&results, false));

    println!(
        "{}",
        "Validating the catalogued mistakes (each must be caught and named)…".bold()
    );
    for ex in EXERCISES {
        scratch.put(
            ex,
            &std::fs::read_to_string(base.root.join(ex.solution_file()))?,
        )?;
    }
    let started = std::time::Instant::now();
    let caught = crate::mistakes::grade_variants(base, &scratch, |c| {
        let verdict = match (c.caught, c.named) {
            (true, true) => "caught, named".green(),
            (true, false) => "caught, NOT NAMED".yellow(),
            _ => "NOT CAUGHT".red(),
        };
        println!("  {:>2} {:<30} {verdict}", c.exercise, c.id);
    })?;
    for c in caught.iter().filter(|c| !(c.caught && c.named)) {
        all_problems.push(format!(
            "exercise {} mistake {}: {} — {}",
            c.exercise,
            c.id,
            if c.caught {
                "caught but not named"
            } else {
                "passes"
            },
            c.seen
        ));
    }
    let n = caught.len().max(1) as f64;
    println!(
        "catalogue: {} mistakes; caught {} ({:.0} %), named {} ({:.0} %); {:.0} s",
        caught.len(),
        caught.iter().filter(|c| c.caught).count(),
        100.0 * caught.iter().filter(|c| c.caught).count() as f64 / n,
        caught.iter().filter(|c| c.named).count(),
        100.0 * caught.iter().filter(|c| c.caught && c.named).count() as f64 / n,
        started.elapsed().as_secs_f64()
    );
    if all_problems.is_empty() {
        println!(
            "{}",
            "validate: every solution passes, every stub fails, every check has a hint, \
             every catalogued mistake is caught and named."
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
