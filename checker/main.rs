//! `checker`: grades the workshop's exercises and runs its final training stage.
//!
//! `cargo run --bin checker -- 6` grades exercise 6; see `--help` for the rest.
mod cargo_env;
mod classroom;
mod compile_error;
mod confined_build;
mod course;
mod data_cmd;
mod fork;
mod github;
mod grading_copy;
mod hints;
mod mistakes;
mod release;
mod report;
mod reset;
mod runner;
mod selection;
mod show_cmd;
mod submissions;
mod train_cmd;
mod tree_guard;
mod ui;
mod validate;
mod watch;
mod weights_cmd;

use clap::{Parser, Subcommand};
use runner::RunConfig;
use se05::grading::Status;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser, Debug)]
#[command(
    name = "checker",
    version,
    about = "Grades the SE05 Transfer Learning workshop exercises",
    after_help = "Examples:\n  checker 6          grade exercise 6\n  checker 6-9        grade exercises 6 to 9\n  checker all        grade everything\n  checker --list     show your progress\n  checker --hint 6   show the next hint for exercise 6\n  checker show 5     draw a training batch of your split into results/"
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
    /// Also print GitHub Actions annotations for failing checks and append a Markdown
    /// summary to `$GITHUB_STEP_SUMMARY` (the Classroom workflow uses it).
    #[arg(long)]
    github: bool,
    /// With `all`: skip the final training stage that runs once every exercise passes.
    #[arg(long)]
    no_train: bool,
    /// Report format: `se05` (schema in the README) or `classroom` (a GitHub Classroom
    /// autograding runner result; printed on standard output when --json is not given).
    #[arg(long, value_enum, default_value_t = ReportFormat::Se05)]
    format: ReportFormat,
    /// Repository to grade (default: the one this checker was built from).
    #[arg(long, value_name = "DIR", global = true)]
    root: Option<PathBuf>,
    /// Cargo target folder to build in (default: the repository's own `target/`).
    #[arg(long, value_name = "DIR", global = true)]
    target_dir: Option<PathBuf>,
    /// Seconds each check may run before it counts as timed out (default: per exercise).
    #[arg(long, value_name = "SECONDS", global = true)]
    check_timeout: Option<u64>,
    /// Grade without the policy check of exercise files (tests of the sandbox only).
    #[arg(long, global = true, hide = true)]
    no_policy: bool,
    /// Seed of the checks' inputs, to replay a run (printed with every verdict).
    #[arg(long, value_name = "N", global = true)]
    seed: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Instructors: prove every solution passes, every untouched stub fails and every
    /// catalogued mistake is caught and named.
    Validate,
    /// Instructors: list the catalogued mistakes, or with --bless record what each
    /// mistake's variant gives in the reference comparisons (checks/snapshots/*@*.snap).
    Mistakes {
        /// Record the variants' snapshots (replaces the old ones of these exercises).
        #[arg(long)]
        bless: bool,
        /// Exercises (as for `checker 6-9`; default: all).
        exercises: Vec<String>,
    },
    /// Instructors: grade students' forks (only their exercises/ files count) into a
    /// gradebook CSV and one JSON report per submission.
    Grade {
        /// Checkouts of students' forks.
        #[arg(required = true, value_name = "SUBMISSION_DIR")]
        submissions: Vec<PathBuf>,
        /// Folder for gradebook.csv and the reports.
        #[arg(long, value_name = "DIR", default_value = "gradebook")]
        out: PathBuf,
        /// Exercises to grade (as for `checker 6-9`; default: all).
        #[arg(long, value_name = "LIST", default_value = "all")]
        exercises: String,
        /// Keep the points of an exercise whose checks changed files of the grading
        /// copy (after reviewing the submission); they are withheld by default.
        #[arg(long)]
        trust_flagged: bool,
    },
    /// Instructors: write the student repository (no solutions, no hidden checks,
    /// a README generated from the registry) into DIR.
    Release {
        /// A new or empty folder.
        dir: PathBuf,
        /// Replace what DIR holds (its .git folder is kept).
        #[arg(long)]
        force: bool,
    },
    /// Instructors: a course's gradebooks (`merge`) and roster (`slice`).
    Gradebook {
        #[command(subcommand)]
        action: GradebookAction,
    },
    /// Put back the original stub of an exercise (your file is backed up first).
    Reset {
        /// Exercise(s) to reset: 6, 6-9, all.
        #[arg(required = true)]
        exercises: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Instructors: check (or with --sync, refresh) the pristine stubs in
    /// checker/stubs/ against exercises/ as committed.
    Stubs {
        /// Copy exercises/ over the pristine stubs instead of only comparing.
        #[arg(long)]
        sync: bool,
        /// Compare only (the default; for scripts that want to say so).
        #[arg(long, conflicts_with = "sync")]
        check: bool,
    },
    /// Grade the current exercise again whenever you save it (Ctrl-C to stop).
    Watch {
        /// Exercise to start with (default: the first one not passed yet).
        exercise: Option<u32>,
        /// Compare the files regularly instead of waiting for file events.
        #[arg(long)]
        poll: bool,
    },
    /// The final stage: train your U-Net and EfficientNet U-Net, evaluate, plot.
    Train(se05::train::stage::StageOptions),
    /// Show the data set in use; `regenerate` or `fetch isic2016` to change it.
    Data {
        #[command(subcommand)]
        action: Option<DataAction>,
    },
    /// Draw the data of exercise 1 (raw pairs), 4 (augmented pairs) or 5 (a training
    /// batch) into results/, with the mask's outline over each image.
    Show {
        /// 1, 4 or 5.
        exercise: u32,
        /// Do not print the picture in the terminal, even where it could be shown.
        #[arg(long)]
        no_inline: bool,
    },
    /// Show which pretrained encoder weights the stage uses; `fetch` or `use FILE` for B0.
    Weights {
        #[command(subcommand)]
        action: Option<WeightsAction>,
    },
}

#[derive(Subcommand, Debug)]
enum DataAction {
    /// Generate the synthetic data set again (ISIC-like resolution with --isic-like).
    Regenerate {
        #[arg(long)]
        isic_like: bool,
    },
    /// Download the real ISIC 2016 Part 1 data (about 880 MB) into datasets/.
    Fetch {
        /// Only `isic2016` is known.
        name: String,
        #[arg(long, default_value = se05::io::isic_fetch::ISIC2016_BASE_URL)]
        base_url: String,
    },
}

#[derive(Subcommand, Debug)]
enum GradebookAction {
    /// Print one CSV from the gradebooks of several `checker grade` runs (the same
    /// exercises and exercise set in each): `merge a.csv b.csv > course.csv`.
    Merge {
        #[arg(required = true, value_name = "GRADEBOOK_CSV")]
        files: Vec<PathBuf>,
    },
    /// Print slice K of N of a roster (one entry a line, `#` comments): entries
    /// K, K+N, K+2N, … — what one job of a matrix grades.
    Slice {
        roster: PathBuf,
        /// K/N, e.g. 2/4.
        slice: String,
    },
}

#[derive(Subcommand, Debug)]
enum WeightsAction {
    /// Download torchvision's EfficientNet-B0 ImageNet weights (hash checked).
    Fetch {
        #[arg(long, default_value = se05::models::weights::B0_URL)]
        url: String,
    },
    /// Use a local copy of efficientnet_b0_rwightman-7f5810bc.pth (hash checked).
    Use { file: PathBuf },
}

/// Formats of the machine-readable report.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ReportFormat {
    /// se05-report/1, documented in the README.
    Se05,
    /// GitHub Classroom's autograding runner result.
    Classroom,
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
    // Absolute: cargo runs in the root with --manifest-path, a relative one would miss.
    let root = cli
        .root
        .clone()
        .map(|r| r.canonicalize().unwrap_or(r))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let cfg = RunConfig {
        root,
        solutions: cli.solutions,
        // Absolute too: grading builds in a copy elsewhere, where `target` would be
        // another folder (and a cold build).
        target_dir: cli
            .target_dir
            .clone()
            .map(|d| std::path::absolute(&d).unwrap_or(d)),
        check_timeout_s: cli.check_timeout,
        seed: cli.seed,
        trust_flagged: false,
        policy: !cli.no_policy,
        confine_build: false,
    };
    // The student release has no solutions/: say so instead of a compile error.
    let needs_solutions = cli.solutions || matches!(cli.command, Some(Command::Validate));
    if needs_solutions && !cfg.root.join("solutions").is_dir() {
        eprintln!(
            "{} {} has no solutions/ folder (a student release): --solutions and `validate` \
             work in the instructor's repository only",
            colored::Colorize::bold(colored::Colorize::red("error:")),
            cfg.root.display()
        );
        return ExitCode::from(2);
    }
    let outcome = match &cli.command {
        Some(Command::Release { dir, force }) => release::run(&cfg.root, dir, *force),
        Some(Command::Gradebook { action }) => match action {
            GradebookAction::Merge { files } => course::merge(files).map(|csv| {
                print!("{csv}");
                true
            }),
            GradebookAction::Slice { roster, slice } => course::print_slice(roster, slice),
        },
        Some(Command::Validate) => validate::run(&cfg),
        Some(Command::Mistakes { bless, exercises }) => {
            let list = if exercises.is_empty() {
                vec!["all".to_string()]
            } else {
                exercises.clone()
            };
            selection::parse(&list)
                .map_err(anyhow::Error::msg)
                .and_then(|numbers| {
                    if *bless {
                        mistakes::bless(&cfg, &numbers)
                    } else {
                        mistakes::list(&numbers)
                    }
                })
        }
        Some(Command::Grade {
            submissions,
            out,
            exercises,
            trust_flagged,
        }) => selection::parse(std::slice::from_ref(exercises))
            .map_err(anyhow::Error::msg)
            .and_then(|numbers| {
                let args = submissions::GradeArgs {
                    submissions: submissions.clone(),
                    out: out.clone(),
                    numbers,
                    trust_flagged: *trust_flagged,
                };
                submissions::run(&cfg, &args)
            }),
        Some(Command::Reset { exercises, yes }) => selection::parse(exercises)
            .map_err(anyhow::Error::msg)
            .and_then(|numbers| reset::run(&cfg.root, &numbers, *yes)),
        Some(Command::Stubs { sync, .. }) => reset::check_stubs(&cfg.root, *sync),
        Some(Command::Watch { exercise, poll }) => watch::run(&cfg, *exercise, *poll),
        Some(Command::Train(options)) => {
            // `checker --seed N train` sets the global option, not the stage's.
            let seed = cli.seed.unwrap_or(options.seed);
            train_cmd::run(
                &cfg,
                &se05::train::stage::StageOptions {
                    seed,
                    ..options.clone()
                },
            )
        }
        Some(Command::Show {
            exercise,
            no_inline,
        }) => show_cmd::run(&cfg, *exercise, !*no_inline),
        Some(Command::Data { action }) => data_cmd::run(action.as_ref()).map(|_| true),
        Some(Command::Weights { action }) => match action {
            None => weights_cmd::show(),
            Some(WeightsAction::Fetch { url }) => weights_cmd::fetch(url),
            Some(WeightsAction::Use { file }) => weights_cmd::use_file(file),
        }
        .map(|_| true),
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
            // An error may name a fork's file: inert like every student-controlled text.
            eprintln!(
                "{} {}",
                colored::Colorize::bold(colored::Colorize::red("error:")),
                se05::grading::text::inert(&format!("{e:#}"))
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
            if cli.format == ReportFormat::Classroom {
                classroom::error(&why, 0).write(cli.json.as_deref())?;
            } else if let Some(path) = &cli.json {
                report::Report::error(cfg.solutions, why.clone(), started).write(path)?;
            }
            anyhow::bail!(why);
        }
    };
    // Classroom JSON on standard output: the verdicts it holds are not printed there.
    let quiet = cli.format == ReportFormat::Classroom && cli.json.is_none();
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
    let results = runner::grade_all(&numbers, cfg, true, |r| {
        if !quiet {
            ui::print_exercise(r)
        }
    });
    if !quiet {
        ui::print_summary(&results);
    }
    if !cfg.solutions {
        record_progress(&results);
    }
    // Once the split works there is a training batch to look at (said once per run).
    let split_passed = results
        .iter()
        .any(|r| r.number == 5 && r.status == Status::Passed);
    if !quiet && split_passed {
        println!(
            "{}",
            colored::Colorize::dimmed(
                "See a training batch from your split: cargo run --bin checker -- show 5 (also `show 1`, `show 4`)"
            )
        );
    }
    if cli.github {
        github::report(&results, &numbers)?;
    }
    if cli.format == ReportFormat::Classroom {
        classroom::from_results(&results, &numbers, cfg.solutions).write(cli.json.as_deref())?;
        if let Some(path) = &cli.json {
            eprintln!("classroom result written to {}", path.display());
        }
    } else if let Some(path) = &cli.json {
        report::Report::new(
            cfg.solutions,
            results.clone(),
            started,
            clock.elapsed().as_millis() as u64,
        )
        .write(path)?;
        eprintln!("report written to {}", path.display());
    }
    let all_passed = results.iter().all(|r| r.status == Status::Passed);
    let everything = numbers.len() == se05::grading::registry::EXERCISES.len();
    if all_passed && everything && !quiet {
        if cli.no_train {
            println!("Every exercise passes; the final stage was skipped (--no-train). Run it with `checker train`.");
        } else {
            println!(
                "Every exercise passes: on to the final training stage (skip it with --no-train)."
            );
            return train_cmd::run(cfg, &se05::train::stage::StageOptions::default());
        }
    }
    Ok(all_passed)
}

/// Remembers each exercise's latest verdict for `checker --list`; a failure to write
/// it is reported but does not change the verdict.
fn record_progress(results: &[runner::ExerciseResult]) {
    let path = se05::grading::progress::Progress::default_path();
    let update = se05::grading::progress::Progress::update(&path, |p| {
        for r in results {
            p.record_exercise(
                r.number,
                r.status,
                r.points_earned as f64,
                r.points_possible as f64,
            );
        }
    });
    if let Err(e) = update {
        eprintln!("warning: progress not saved: {e:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_may_come_before_a_subcommand() {
        let cli = Cli::try_parse_from(["checker", "--solutions", "train", "--full"]).unwrap();
        assert!(cli.solutions);
        assert!(matches!(cli.command, Some(Command::Train(ref a)) if a.full));
        let cli = Cli::try_parse_from(["checker", "--root", "x", "reset", "10", "-y"]).unwrap();
        assert_eq!(cli.root, Some(PathBuf::from("x")));
        assert!(matches!(
            cli.command,
            Some(Command::Reset { yes: true, .. })
        ));
        let cli = Cli::try_parse_from(["checker", "6-9", "--json", "r.json"]).unwrap();
        assert_eq!(cli.exercises, ["6-9"]);
        assert!(cli.command.is_none());
    }

    #[test]
    fn train_takes_the_stage_options_and_either_seed() {
        let cli =
            Cli::try_parse_from(["checker", "train", "--seed", "7", "--models", "m"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Train(ref o)) if o.seed == 7 && o.models.as_os_str() == "m"
        ));
        let cli = Cli::try_parse_from(["checker", "--seed", "5", "train"]).unwrap();
        assert_eq!(cli.seed, Some(5));
        // The global --seed reaches the stage too: `checker --seed 5 train` trains
        // with seed 5, whichever side of `train` it is written on.
        let expected = se05::train::stage::StageOptions {
            seed: 5,
            ..Default::default()
        };
        assert!(matches!(
            cli.command,
            Some(Command::Train(ref o)) if *o == expected
        ));
    }
}
