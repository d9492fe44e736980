//! What the student reads: one block per exercise, a line per check, hints for what
//! did not pass, and a summary table.
use crate::runner::{CheckResult, ExerciseResult};
use colored::{ColoredString, Colorize};
use se05::check::Status;
use se05::registry;
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
            if r.status == Status::CompileError {
                println!(
                    "    {} read the first error above; `cargo build --tests` shows them all.",
                    "hint:".cyan().bold()
                );
            }
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
    let verdict = format!(
        "{} — {}/{} points",
        r.status.label(),
        r.points_earned,
        r.points_possible
    );
    println!("  {} {}", "→".bold(), paint(r.status, &verdict));
    if r.status != Status::Passed && r.status != Status::Blocked {
        println!(
            "  {}",
            format!("More help: cargo run --bin checker -- --hint {}", r.number).dimmed()
        );
    }
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
}
