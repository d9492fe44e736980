//! `checker`: grades the workshop's exercises and runs its final training stage.
//!
//! `cargo run --bin checker -- 6` grades exercise 6; see `--help` for the rest.
mod hints;
mod report;
mod runner;
mod selection;
mod ui;
mod validate;

use clap::{Parser, Subcommand};
use runner::RunConfig;
use se05::check::Status;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser, Debug)]
#[command(
    name = "checker",
    version,
    about = "Grades the SE05 Transfer Learning workshop exercises",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  checker 6          grade exercise 6\n  checker 6-9        grade exercises 6 to 9\n  checker all        grade everything\n  checker --list     show your progress\n  checker --hint 6   show the next hint for exercise 6"
)]
struct Cli {
    /// Exercises to grade: a number (6), a range (6-9), several (6 8 10) or `all`.
    exercises: Vec<String>,
    /// Grade the reference solutions instead of your exercises (instructors).
    #[arg(long, global = true)]
    solutions: bool,
    /// List the exercises with your status, points and quiz scores.
    #[arg(long)]
    list: bool,
    /// Show the next hint for an exercise (one more each time).
    #[arg(long, value_name = "N")]
    hint: Option<u32>,
    /// Also write a machine-readable report to FILE (schema in the README).
    #[arg(long, value_name = "FILE", global = true)]
    json: Option<PathBuf>,
    /// Repository to grade (default: the one this checker was built from).
    #[arg(long, value_name = "DIR", global = true)]
    root: Option<PathBuf>,
    /// Cargo target folder to build in (default: the repository's own `target/`).
    #[arg(long, value_name = "DIR", global = true)]
    target_dir: Option<PathBuf>,
    /// Seconds each check may run before it counts as timed out (default: per exercise).
    #[arg(long, value_name = "SECONDS", global = true)]
    check_timeout: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Instructors: prove every solution passes and every untouched stub fails.
    Validate,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ui::configure_colors();
    let root = cli
        .root
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let cfg = RunConfig {
        root,
        solutions: cli.solutions,
        target_dir: cli.target_dir.clone(),
        check_timeout_s: cli.check_timeout,
    };
    let outcome = match &cli.command {
        Some(Command::Validate) => validate::run(&cfg),
        None if cli.list => hints::print_list().map(|_| true),
        None => match cli.hint {
            Some(n) => hints::show_next(n).map(|_| true),
            None => grade(&cli, &cfg),
        },
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!(
                "{} {e:#}",
                colored::Colorize::bold(colored::Colorize::red("error:"))
            );
            ExitCode::from(2)
        }
    }
}

/// Grades the selected exercises; Ok(true) when all passed.
fn grade(cli: &Cli, cfg: &RunConfig) -> anyhow::Result<bool> {
    let started = now_unix();
    if cli.exercises.is_empty() {
        anyhow::bail!("name the exercise to grade, e.g. `cargo run --bin checker -- 6` (or `all`, or `--list`)");
    }
    let numbers = match selection::parse(&cli.exercises) {
        Ok(n) => n,
        Err(why) => {
            if let Some(path) = &cli.json {
                report::Report::error(cfg.solutions, why.clone(), started).write(path)?;
            }
            anyhow::bail!(why);
        }
    };
    let clock = Instant::now();
    let mode = if cfg.solutions {
        " (reference solutions)"
    } else {
        ""
    };
    eprintln!(
        "{}",
        colored::Colorize::dimmed(
            format!("Grading exercise(s) {numbers:?}{mode}: compiling and running checks…")
                .as_str()
        )
    );
    let results = runner::grade_all(&numbers, cfg, true, ui::print_exercise);
    ui::print_summary(&results);
    if !cfg.solutions {
        record_progress(&results);
    }
    if let Some(path) = &cli.json {
        report::Report::new(
            cfg.solutions,
            results.clone(),
            started,
            clock.elapsed().as_millis() as u64,
        )
        .write(path)?;
        eprintln!("report written to {}", path.display());
    }
    Ok(results.iter().all(|r| r.status == Status::Passed))
}

/// Remembers each exercise's latest verdict for `checker --list`; a failure to write
/// it is reported but does not change the verdict.
fn record_progress(results: &[runner::ExerciseResult]) {
    let path = se05::progress::Progress::default_path();
    let update = se05::progress::Progress::update(&path, |p| {
        for r in results {
            p.record_exercise(
                r.number,
                r.status.label(),
                r.points_earned as f64,
                r.points_possible as f64,
            );
        }
    });
    if let Err(e) = update {
        eprintln!("warning: progress not saved: {e:#}");
    }
}
