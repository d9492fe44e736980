//! `checker --hint N` and `checker --list`: help and progress for students.
use crate::ui;
use colored::Colorize;
use se05::grading::progress::Progress;
use se05::grading::registry::{self, EXERCISES};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How many hints of each exercise the student has seen, next to the progress file.
fn hints_path() -> PathBuf {
    Progress::default_path().with_file_name("hints_seen.json")
}

fn load_seen() -> BTreeMap<u32, usize> {
    std::fs::read_to_string(hints_path())
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Shows the hints of exercise `n` seen so far plus one more, most general first.
pub fn show_next(n: u32) -> anyhow::Result<()> {
    let ex = registry::get(n).ok_or_else(|| {
        let all: Vec<String> = EXERCISES.iter().map(|e| e.number.to_string()).collect();
        anyhow::anyhow!(
            "there is no exercise {n}; the exercises are {}",
            all.join(", ")
        )
    })?;
    let mut seen = load_seen();
    let shown = (seen.get(&n).copied().unwrap_or(0) + 1).min(ex.hints.len());
    println!(
        "{}",
        format!(
            "Hints for exercise {} · {} ({})",
            n,
            ex.title,
            ex.exercise_file()
        )
        .bold()
    );
    for (i, hint) in ex.hints.iter().take(shown).enumerate() {
        println!(
            "  {} {hint}",
            format!("{}/{}", i + 1, ex.hints.len()).cyan().bold()
        );
    }
    if shown < ex.hints.len() {
        println!(
            "{}",
            format!(
                "Run the same command again for the next hint ({} more).",
                ex.hints.len() - shown
            )
            .dimmed()
        );
    } else {
        println!("{}", "That was the last hint: the reference's behaviour is described in each failing check's message.".dimmed());
    }
    seen.insert(n, shown);
    if let Err(e) =
        se05::io::fsutil::write_atomic(&hints_path(), serde_json::to_string(&seen)?.as_bytes())
    {
        eprintln!("warning: could not remember which hints you saw: {e:#}");
    }
    Ok(())
}

fn ago(unix: u64) -> String {
    let now = crate::now_unix();
    match now.saturating_sub(unix) {
        _ if unix == 0 => "never".to_string(),
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// The exercise table with the student's latest results, then quiz scores.
pub fn print_list() -> anyhow::Result<()> {
    let path = Progress::default_path();
    let progress = Progress::load(&path)?;
    println!(
        "{}",
        format!(
            "{:>3}  {:<22} {:<9} {:<17} {:>7}  {}",
            "#", "exercise", "notebook", "status", "points", "last run"
        )
        .bold()
    );
    for ex in EXERCISES {
        let record = progress.exercises.get(&ex.number);
        let painted = match record {
            Some(r) => ui::paint(r.status, r.status.label()),
            None => "not run".dimmed(),
        };
        let points = record
            .map(|r| format!("{}/{}", r.points, r.max_points))
            .unwrap_or_else(|| format!("–/{}", ex.points));
        let last = record
            .map(|r| ago(r.last_run_unix))
            .unwrap_or_else(|| "never".into());
        println!(
            "{:>3}  {:<22} §{:<8} {:<17} {:>7}  {}",
            ex.number, ex.title, ex.section, painted, points, last
        );
    }
    let stage = match &progress.stage {
        Some(r) => {
            let verdict = if r.passed {
                "passed".green()
            } else {
                "not passed".red()
            };
            let dice = match (r.unet_dice, r.efficient_dice) {
                (Some(u), Some(e)) => {
                    format!(" (test Dice: U-Net {u:.3}, EfficientNet U-Net {e:.3})")
                }
                _ => String::new(),
            };
            format!("{verdict}{dice}, {}", ago(r.last_run_unix))
        }
        None => format!(
            "{}",
            "not run yet (cargo run --bin checker -- train)".dimmed()
        ),
    };
    println!("\n{} {stage}", "Final training stage:".bold());
    println!("\n{}", "Quizzes (cargo run --bin quiz -- N)".bold());
    for q in 1..=5u32 {
        match progress.quizzes.get(&q) {
            Some(r) => println!(
                "  quiz {q}: last {}/{}, best {}/{}, {} attempt(s), {}",
                r.last_score,
                r.max_score,
                r.best_score,
                r.max_score,
                r.attempts,
                ago(r.last_run_unix)
            ),
            None => println!("  quiz {q}: {}", "not taken".dimmed()),
        }
    }
    Ok(())
}
