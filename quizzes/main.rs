//! `quiz`: the five transfer-learning quizzes of the SE05 workshop.
//!
//! ```text
//! cargo run --bin quiz -- 2                 # quiz 2, interactively
//! cargo run --bin quiz -- all               # all five in a row
//! cargo run --bin quiz -- --list            # titles, sizes and your best scores
//! cargo run --bin quiz -- 1 --answers B,ABC,D,A,BCD,C [--json]   # scripted (CI)
//! ```
//!
//! Scores go to the progress file shared with the checker (`SE05_PROGRESS` overrides
//! its location). Exit status: 0 when the quiz ran to the end (whatever the score),
//! 1 when it stopped early or the progress file failed, 2 for bad arguments,
//! 130 after Ctrl-C.

mod bank;
mod render;
mod session;

use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use colored::Colorize;
use serde::Serialize;

use bank::Quiz;
use se05::grading::progress::Progress;
use session::{Console, QuizResult};

/// Which quizzes to run.
#[derive(Debug, Clone, Copy)]
enum Selection {
    One(u32),
    All,
}

fn parse_selection(s: &str) -> Result<Selection, String> {
    let count = bank::SOURCES.len();
    if s.eq_ignore_ascii_case("all") {
        return Ok(Selection::All);
    }
    match s.parse::<u32>() {
        Ok(n) if (1..=count as u32).contains(&n) => Ok(Selection::One(n)),
        _ => Err(format!(
            "unknown quiz '{s}': choose a number from 1 to {count}, or 'all'"
        )),
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "quiz",
    about = "The SE05 transfer-learning quizzes",
    after_help = "Quizzes: 1 transfer-learning applications, 2 feature extraction vs fine-tuning, \
                  3 selecting pre-trained models, 4 transfer-learning techniques, \
                  5 learning-rate selection for fine-tuning.\n\
                  Colour is off when NO_COLOR is set or output is not a terminal."
)]
struct Cli {
    /// Quiz number (1-5) or "all"
    #[arg(value_parser = parse_selection, required_unless_present = "list")]
    quiz: Option<Selection>,

    /// List the quizzes with their sizes and your recorded scores
    #[arg(long, conflicts_with_all = ["answers", "json"])]
    list: bool,

    /// Answer without prompts: one entry per question, comma-separated, e.g. B,AC,D
    #[arg(long, value_name = "LETTERS")]
    answers: Option<String>,

    /// With --answers: print the result as JSON on stdout
    #[arg(long, requires = "answers")]
    json: bool,

    /// Do not write the result to the progress file
    #[arg(long)]
    no_record: bool,
}

/// Failures, each with its exit status.
enum Failure {
    Usage(String),
    Runtime(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let plain = cli.json
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !io::stdout().is_terminal();
    colored::control::set_override(!plain);

    // Ctrl-C: say what happened instead of vanishing silently. Recorded quizzes stay.
    let _ = ctrlc::set_handler(|| {
        eprintln!(
            "\n{} quiz interrupted (Ctrl-C); the unfinished quiz was not recorded.",
            "stopped:".yellow().bold()
        );
        std::process::exit(130);
    });

    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("{} {msg}", "error:".red().bold());
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("{} {msg}", "error:".red().bold());
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> Result<(), Failure> {
    let quizzes = bank::load();
    let path = Progress::default_path();
    if cli.list {
        list(&quizzes, &path);
        return Ok(());
    }
    let selected: Vec<&Quiz> = match cli.quiz {
        Some(Selection::One(n)) => quizzes.iter().filter(|q| q.number == n).collect(),
        Some(Selection::All) | None => quizzes.iter().collect(),
    };

    // Refuse a corrupt progress file before the student spends time on the quiz.
    if !cli.no_record {
        Progress::load(&path).map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    }
    let mut record = |r: &QuizResult| -> anyhow::Result<String> {
        if cli.no_record {
            return Ok(String::new());
        }
        let p = Progress::update(&path, |p| p.record_quiz(r.quiz, r.score, r.max_score))?;
        let rec = &p.quizzes[&r.quiz];
        Ok(format!(
            "Recorded in {} (best {}/{}, {} attempt{}).",
            path.display(),
            rec.best_score,
            rec.max_score,
            rec.attempts,
            if rec.attempts == 1 { "" } else { "s" }
        ))
    };

    match &cli.answers {
        Some(script) => {
            let answers = session::parse_script(&selected, script).map_err(Failure::Usage)?;
            scripted(&selected, &answers, cli.json, &mut record)
        }
        None => interactive(&selected, &mut record),
    }
}

fn interactive(
    selected: &[&Quiz],
    record: &mut dyn FnMut(&QuizResult) -> anyhow::Result<String>,
) -> Result<(), Failure> {
    let stdin = io::stdin();
    let mut console = Console {
        echo: !stdin.is_terminal(),
        input: stdin.lock(),
        out: io::stdout().lock(),
    };
    let mut results = Vec::new();
    for quiz in selected {
        let r = console
            .run(quiz, record)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        results.push(r);
    }
    if results.len() > 1 {
        let (s, m) = totals(&results);
        println!("{}", render::score_line("All quizzes", s, m));
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    quizzes: &'a [QuizResult],
    score: u32,
    max_score: u32,
    recorded: bool,
}

fn scripted(
    selected: &[&Quiz],
    answers: &[Vec<usize>],
    json: bool,
    record: &mut dyn FnMut(&QuizResult) -> anyhow::Result<String>,
) -> Result<(), Failure> {
    let mut results = Vec::new();
    let mut saved = Vec::new();
    let mut rest = answers;
    for quiz in selected {
        let (mine, tail) = rest.split_at(quiz.questions.len());
        rest = tail;
        let r = session::score_script(quiz, mine);
        saved.push(record(&r).map_err(|e| Failure::Runtime(format!("{e:#}")))?);
        results.push(r);
    }
    let (score, max_score) = totals(&results);
    if json {
        let report = JsonReport {
            quizzes: &results,
            score,
            max_score,
            recorded: saved.iter().any(|s| !s.is_empty()),
        };
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Runtime(format!("cannot serialise the result: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    for (r, line) in results.iter().zip(&saved) {
        println!("{}", format!("Quiz {}: {}", r.quiz, r.title).bold());
        for (i, a) in r.questions.iter().enumerate() {
            let verdict = if a.is_correct {
                "✓".green().to_string()
            } else {
                format!("{} (answer: {})", "✗".red(), a.correct)
            };
            println!("  {:>2}. {:<32} {:<4} {verdict}", i + 1, a.id, a.given);
        }
        println!("{}", render::score_line("Score", r.score, r.max_score));
        if !line.is_empty() {
            println!("{line}");
        }
    }
    if results.len() > 1 {
        println!("{}", render::score_line("All quizzes", score, max_score));
    }
    Ok(())
}

fn totals(results: &[QuizResult]) -> (u32, u32) {
    results
        .iter()
        .fold((0, 0), |(s, m), r| (s + r.score, m + r.max_score))
}

fn list(quizzes: &[Quiz], path: &Path) {
    let progress = match Progress::load(path) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("{} {e:#}", "warning:".yellow().bold());
            None
        }
    };
    println!("{}", "SE05 quizzes".bold());
    for q in quizzes {
        let rec = progress.as_ref().and_then(|p| p.quizzes.get(&q.number));
        let status = match rec {
            None => "not taken yet".dimmed().to_string(),
            Some(r) => {
                let text = format!(
                    "best {}/{}, last {}/{}, {} attempt{}",
                    r.best_score,
                    r.max_score,
                    r.last_score,
                    r.max_score,
                    r.attempts,
                    if r.attempts == 1 { "" } else { "s" }
                );
                if r.best_score == r.max_score {
                    text.green().to_string()
                } else {
                    text.yellow().to_string()
                }
            }
        };
        println!(
            "  {}  {:<42} {:>2} questions   {status}",
            q.number,
            q.title,
            q.questions.len()
        );
    }
    println!(
        "\nRun one with `cargo run --bin quiz -- N`, or all five with `cargo run --bin quiz -- all`."
    );
}
