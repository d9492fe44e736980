//! What the student reads: one block per exercise, a line per check, hints for what
//! did not pass, and a summary table.
use crate::runner::{CheckResult, ExerciseResult};
use colored::{ColoredString, Colorize};
use se05::grading::registry;
use se05::grading::Status;
use std::io::IsTerminal;

/// Colours only on a terminal, and never when NO_COLOR is set.
pub fn configure_colors() {
    let wanted = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    colored::control::set_override(wanted);
}

pub fn paint(status: Status, text: &str) -> ColoredString {
    match status {
        Status::Passed => text.green().bold(),
        Status::Failed | Status::Crashed | Status::CompileError => text.red().bold(),
        Status::NotImplemented => text.yellow().bold(),
        Status::TimedOut => text.magenta().bold(),
        Status::Blocked => text.blue().bold(),
    }
}

pub fn icon(status: Status) -> &'static str {
    match status {
        Status::Passed => "✓",
        Status::NotImplemented => "…",
        Status::Blocked => "⊘",
        Status::TimedOut => "⏱",
        _ => "✗",
    }
}

fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn print_check(c: &CheckResult) {
    let points = format!("{}/{}", c.points_earned, c.points_possible);
    println!(
        "  {} {:<40} {:>5}  {}",
        paint(c.status, icon(c.status)),
        c.name,
        points,
        paint(c.status, c.status.label())
    );
    if c.status != Status::Passed {
        if !c.message.is_empty() {
            println!("{}", indent(&c.message, "      "));
        }
        println!("      {} {}", "hint:".cyan().bold(), c.hint);
    }
}

/// Prints one exercise's verdict.
pub fn print_exercise(r: &ExerciseResult) {
    println!();
    let header = format!("Exercise {} · {}", r.number, r.title);
    let section = registry::get(r.number)
        .map(|e| format!("notebook §{}", e.section))
        .unwrap_or_default();
    println!(
        "{}  {}  {}",
        header.bold(),
        section.dimmed(),
        r.file.dimmed()
    );
    match r.status {
        Status::CompileError | Status::Blocked => {
            println!(
                "  {} {}",
                paint(r.status, icon(r.status)),
                paint(r.status, r.status.label())
            );
            println!("{}", indent(&r.message, "    "));
        }
        Status::NotImplemented if r.checks.len() > 1 => {
            let first = &r.checks[0];
            println!(
                "  {} {} ({} checks waiting)",
                paint(r.status, icon(r.status)),
                paint(r.status, "not implemented yet"),
                r.checks.len()
            );
            println!("{}", indent(&first.message, "      "));
            if let Some(hint) = registry::get(r.number).and_then(|e| e.hints.first()) {
                println!("      {} {}", "start here:".cyan().bold(), hint);
            }
        }
        _ => r.checks.iter().for_each(print_check),
    }
    if !r.message.is_empty() && !matches!(r.status, Status::CompileError | Status::Blocked) {
        println!("  {} {}", "note:".yellow().bold(), r.message);
    }
    if let Some((what, look)) = explain(r) {
        println!("  {} {what}", "what happened:".cyan().bold());
        println!("  {} {look}", "where to look:".cyan().bold());
    }
    let verdict = format!(
        "{} — {}/{} points",
        r.status.label(),
        r.points_earned,
        r.points_possible
    );
    println!("  {} {}", "→".bold(), paint(r.status, &verdict));
    if r.points_held_back > 0 {
        println!(
            "  {}",
            held_back_line(r.points_held_back, r.points_possible)
        );
    }
    if r.status != Status::Passed && r.status != Status::Blocked {
        println!(
            "  {}",
            format!("More help: cargo run --bin checker -- --hint {}", r.number).dimmed()
        );
        if let Some(seed) = r.seed {
            println!(
                "  {}",
                format!(
                    "Same inputs again: cargo run --bin checker -- --seed {seed} {}",
                    r.number
                )
                .dimmed()
            );
        }
    }
}

/// The first `file:line` that `text` mentions for `file` (a compiler error's
/// `--> exercises/ex08_up.rs:23:30`, a panic's `(at exercises/ex10_dice_loss.rs:31)`).
pub fn line_of(text: &str, file: &str) -> Option<u32> {
    let needle = format!("{file}:");
    text.match_indices(&needle).find_map(|(at, _)| {
        let digits: String = text[at + needle.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    })
}

/// For a student new to Rust: what a verdict means and where to look next.
pub fn explain(r: &ExerciseResult) -> Option<(String, String)> {
    let file = &r.file;
    let messages: Vec<&str> = std::iter::once(r.message.as_str())
        .chain(r.checks.iter().map(|c| c.message.as_str()))
        .collect();
    let place = match messages.iter().find_map(|m| line_of(m, file)) {
        Some(line) => format!("{file}, line {line}"),
        None => file.clone(),
    };
    let text = match r.status {
        Status::Passed => return None,
        Status::Failed => (
            format!(
                "your code ran, but some of its results differ from the reference{}. Each ✗ \
                 above says what was expected and what your code gave; the hint under it says \
                 what to check.",
                if r.checks.iter().any(|c| {
                    c.status == Status::NotImplemented || c.message.contains("not yet implemented")
                }) {
                    ", and some checks (marked …) reached a `todo!()` you have not replaced yet"
                } else {
                    ""
                }
            ),
            format!("{place}: fix the first failing check first, then run the checker again."),
        ),
        Status::NotImplemented => (
            "the checks reached a `todo!()`: the placeholder the stub starts with. Nothing is \
             wrong yet, there is just no code there."
                .to_string(),
            format!(
                "{place}: replace each `todo!(...)` with your code, guided by the comments at the \
                 top of the file."
            ),
        ),
        Status::CompileError if r.message.starts_with("cargo failed before compiling") => (
            "cargo could not build the checks at all; this is not about your code.".to_string(),
            "the message above (a missing file, a broken Cargo.toml or a set-up step not run: \
             ./setup.sh)."
                .to_string(),
        ),
        Status::CompileError if r.message.starts_with("not compiled:") => (
            "the workshop's policy check refused the file before compiling it: exercise files \
             use only the workshop's library, tch and std's data types, are written in ASCII \
             outside comments and strings, and never start programs, touch files, use \
             `unsafe` or borrow code through `#[path]`."
                .to_string(),
            format!("{place}: remove what the message names, then run the checker again."),
        ),
        Status::CompileError => (
            "Rust checks the whole program (types, names, borrowing) before running anything, \
             and your file does not pass that check yet, so no check could run."
                .to_string(),
            format!(
                "{place}: fix the first error first (its position follows `-->`); the errors after \
                 it are often caused by it. To see them all: cargo test --test {} --no-run",
                r.slug
            ),
        ),
        Status::TimedOut => (
            "the checks ran longer than the exercise's time limit, so they were stopped (and \
             the checks not reached yet were skipped)."
                .to_string(),
            format!(
                "{place}: look for a loop whose exit condition never becomes true, or a recursion \
                 that never reaches its end."
            ),
        ),
        Status::Crashed
            if messages
                .iter()
                .any(|m| m.starts_with("the check process exited with code 0")) =>
        {
            (
                "the process running your code ended before the checks finished, without an \
                 error: something in it ended the process on purpose."
                    .to_string(),
                format!("{place}: remove the call that ends the program (std::process::exit)."),
            )
        }
        Status::Crashed if messages.iter().any(|m| m.contains("ran out of memory")) => (
            "your code asked for more memory than the checks allow, so it was stopped."
                .to_string(),
            format!("{place}: look for a tensor or a Vec that keeps growing, or a size computed wrongly."),
        ),
        Status::Crashed if messages.iter().any(|m| m.contains("scratch space limit")) => (
            "your code wrote more into its scratch folder than the checks allow (they need \
             hardly any), so it was stopped."
                .to_string(),
            format!(
                "{place}: look for a loop that saves tensors or writes files again and again."
            ),
        ),
        Status::Crashed => (
            "your code stopped with an error while a check ran it: a panic (for example an index \
             out of range, or `unwrap()` on an error) or a libtorch error (for example tensors \
             whose shapes do not fit). The first lines of the error are above."
                .to_string(),
            format!(
                "{place}: the `(at file:line)` above is where it stopped; check the shapes and \
                 values at that point."
            ),
        ),
        Status::Blocked => {
            let dependency = r
                .message
                .strip_prefix("blocked by exercise ")
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .unwrap_or("");
            (
                "this exercise uses the code of an earlier one that does not pass yet, so its \
                 checks were not run."
                    .to_string(),
                format!("finish that exercise first: cargo run --bin checker -- {dependency}"),
            )
        }
    };
    Some(text)
}

/// A table of every graded exercise, then the total.
pub fn print_summary(results: &[ExerciseResult]) {
    if results.len() < 2 {
        return;
    }
    println!("\n{}", "Summary".bold());
    for r in results {
        println!(
            "  {:>2}  {:<22} {:<17} {:>3}/{:<3}",
            r.number,
            r.title,
            paint(r.status, r.status.label()),
            r.points_earned,
            r.points_possible
        );
    }
    let earned: u32 = results.iter().map(|r| r.points_earned).sum();
    let possible: u32 = results.iter().map(|r| r.points_possible).sum();
    let passed = results
        .iter()
        .filter(|r| r.status == Status::Passed)
        .count();
    println!(
        "  {} {passed}/{} exercises passed, {earned}/{possible} points",
        "→".bold(),
        results.len()
    );
    let held: u32 = results.iter().map(|r| r.points_held_back).sum();
    if held > 0 {
        println!("  {}", held_back_line(held, possible));
    }
}

/// What a student's local verdict says about the hidden checks it could not run.
pub fn held_back_line(held: u32, here: u32) -> String {
    format!(
        "+ {held} more point(s) from hidden checks, kept for the instructor's grading \
         (`checker grade`): this copy's checks award {here} of {}",
        here + held
    )
    .dimmed()
    .to_string()
}
