//! Running a quiz: interactively over any reader and writer (a terminal or a pipe),
//! or from a scripted list of answers.

use std::fmt;
use std::io::{self, BufRead, Write};

use colored::Colorize;
use serde::Serialize;

use crate::bank::{letters, Question, Quiz};
use crate::render;

/// The outcome of one question.
#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    pub id: String,
    /// The student's letters, e.g. "AC".
    pub given: String,
    /// The right letters.
    pub correct: String,
    pub is_correct: bool,
}

impl Answered {
    pub fn new(q: &Question, given: &[usize]) -> Answered {
        Answered {
            id: q.id.clone(),
            given: letters(given),
            correct: letters(&q.answer),
            is_correct: q.is_correct(given),
        }
    }
}

/// One pass through a quiz (the first pass is the one that is recorded).
#[derive(Debug, Clone, Serialize)]
pub struct QuizResult {
    pub quiz: u32,
    pub title: String,
    pub score: u32,
    pub max_score: u32,
    pub questions: Vec<Answered>,
}

impl QuizResult {
    pub fn new(quiz: &Quiz, questions: Vec<Answered>) -> QuizResult {
        QuizResult {
            quiz: quiz.number,
            title: quiz.title.clone(),
            score: questions.iter().filter(|a| a.is_correct).count() as u32,
            max_score: questions.len() as u32,
            questions,
        }
    }
}

/// Why an interactive quiz stopped before its end.
#[derive(Debug)]
pub enum Stop {
    /// Standard input ended while a question was waiting for an answer.
    EndOfInput {
        quiz: u32,
        question: usize,
    },
    /// The student typed q.
    Quit {
        quiz: u32,
        question: usize,
    },
    Io(io::Error),
    /// The result could not be written to the progress file.
    Record(anyhow::Error),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::EndOfInput { quiz, question } => write!(
                f,
                "input ended while question {question} of quiz {quiz} was waiting for an answer; \
                 the unfinished quiz was not recorded"
            ),
            Stop::Quit { quiz, question } => write!(
                f,
                "stopped at question {question} of quiz {quiz}; the unfinished quiz was not recorded"
            ),
            Stop::Io(e) => write!(f, "cannot read or write the terminal: {e}"),
            Stop::Record(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Io(e)
    }
}

/// Standard input and output, or test doubles.
pub struct Console<R, W> {
    pub input: R,
    pub out: W,
    /// Repeat each line read after its prompt (for piped input, which a terminal
    /// does not echo), so a transcript shows the answers.
    pub echo: bool,
}

impl<R: BufRead, W: Write> Console<R, W> {
    /// Prints `prompt` and reads one line; `None` at end of input.
    fn read_line(&mut self, prompt: &str) -> io::Result<Option<String>> {
        write!(self.out, "{prompt}")?;
        self.out.flush()?;
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            writeln!(self.out)?;
            return Ok(None);
        }
        let line = line.trim().to_string();
        if self.echo {
            writeln!(self.out, "{line}")?;
        }
        Ok(Some(line))
    }

    /// Asks one question until a valid answer arrives, then shows the feedback.
    fn ask(
        &mut self,
        quiz: &Quiz,
        q: &Question,
        pos: usize,
        total: usize,
    ) -> Result<Vec<usize>, Stop> {
        writeln!(self.out, "{}", render::question(q, pos, total))?;
        let prompt = render::answer_prompt(q);
        loop {
            let stop_at = (quiz.number, pos);
            let Some(line) = self.read_line(&prompt)? else {
                return Err(Stop::EndOfInput {
                    quiz: stop_at.0,
                    question: stop_at.1,
                });
            };
            if line.eq_ignore_ascii_case("q") || line.eq_ignore_ascii_case("quit") {
                return Err(Stop::Quit {
                    quiz: stop_at.0,
                    question: stop_at.1,
                });
            }
            match q.parse_answer(&line) {
                Ok(given) => {
                    writeln!(self.out, "\n{}", render::feedback(q, &given))?;
                    return Ok(given);
                }
                Err(msg) => writeln!(self.out, "{} {msg}. Try again.", "!".yellow().bold())?,
            }
        }
    }

    /// Asks the questions at `which` (indices into the quiz); returns their outcomes.
    fn ask_all(&mut self, quiz: &Quiz, which: &[usize]) -> Result<Vec<Answered>, Stop> {
        let mut out = Vec::with_capacity(which.len());
        for (n, &i) in which.iter().enumerate() {
            let q = &quiz.questions[i];
            let given = self.ask(quiz, q, n + 1, which.len())?;
            out.push(Answered::new(q, &given));
        }
        Ok(out)
    }

    /// A yes/no question; end of input counts as no.
    fn confirm(&mut self, prompt: &str) -> Result<bool, Stop> {
        loop {
            match self.read_line(prompt)? {
                None => return Ok(false),
                Some(s) => match s.to_ascii_lowercase().as_str() {
                    "y" | "yes" => return Ok(true),
                    "" | "n" | "no" | "q" => return Ok(false),
                    other => writeln!(
                        self.out,
                        "{} '{other}': answer y or n.",
                        "!".yellow().bold()
                    )?,
                },
            }
        }
    }

    /// Runs a whole quiz: every question, the score, `record` on the first pass, then
    /// offers to retry the missed questions until all are right or the student declines.
    /// `record` returns a line to show (where the result was saved).
    pub fn run(
        &mut self,
        quiz: &Quiz,
        record: &mut dyn FnMut(&QuizResult) -> anyhow::Result<String>,
    ) -> Result<QuizResult, Stop> {
        writeln!(self.out, "{}", render::quiz_header(quiz))?;
        let all: Vec<usize> = (0..quiz.questions.len()).collect();
        let result = QuizResult::new(quiz, self.ask_all(quiz, &all)?);
        writeln!(
            self.out,
            "{}",
            render::score_line(
                &format!("Quiz {} score", quiz.number),
                result.score,
                result.max_score
            )
        )?;
        let saved = record(&result).map_err(Stop::Record)?;
        if !saved.is_empty() {
            writeln!(self.out, "{saved}")?;
        }

        let mut missed: Vec<usize> = missed_indices(&result);
        while !missed.is_empty() {
            let ids: Vec<&str> = missed
                .iter()
                .map(|&i| quiz.questions[i].id.as_str())
                .collect();
            writeln!(self.out, "Missed: {}", ids.join(", "))?;
            let n = missed.len();
            let prompt = format!(
                "Retry the {n} missed question{} for practice? [y/N] ",
                if n == 1 { "" } else { "s" }
            );
            if !self.confirm(&prompt)? {
                break;
            }
            writeln!(self.out)?;
            let again = self.ask_all(quiz, &missed)?;
            let right = again.iter().filter(|a| a.is_correct).count() as u32;
            writeln!(self.out, "{}", render::score_line("Retry", right, n as u32))?;
            missed = missed
                .iter()
                .zip(&again)
                .filter(|(_, a)| !a.is_correct)
                .map(|(&i, _)| i)
                .collect();
        }
        if result.score < result.max_score && missed.is_empty() {
            writeln!(
                self.out,
                "{}",
                "All missed questions answered correctly on retry.".green()
            )?;
        }
        writeln!(self.out)?;
        Ok(result)
    }
}

fn missed_indices(result: &QuizResult) -> Vec<usize> {
    result
        .questions
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.is_correct)
        .map(|(i, _)| i)
        .collect()
}

/// Parses `--answers` ("B,AC,D,...") for the selected quizzes, in order: one entry per
/// question. The error names the offending entry and its value.
pub fn parse_script(quizzes: &[&Quiz], script: &str) -> Result<Vec<Vec<usize>>, String> {
    let entries: Vec<&str> = script.split(',').map(str::trim).collect();
    let questions: Vec<&Question> = quizzes.iter().flat_map(|q| &q.questions).collect();
    if entries.len() != questions.len() {
        let what = match quizzes {
            [one] => format!("quiz {} has {} questions", one.number, questions.len()),
            _ => format!("the selected quizzes have {} questions", questions.len()),
        };
        return Err(format!(
            "--answers '{script}' has {} entr{}, but {what}: give one entry per question, \
             separated by commas (e.g. B,AC,D)",
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" }
        ));
    }
    entries
        .iter()
        .zip(&questions)
        .enumerate()
        .map(|(i, (entry, q))| {
            q.parse_answer(entry)
                .map_err(|e| format!("--answers entry {} ('{entry}') for {}: {e}", i + 1, q.id))
        })
        .collect()
}

/// Scores pre-parsed answers (from `parse_script`) for one quiz.
pub fn score_script(quiz: &Quiz, answers: &[Vec<usize>]) -> QuizResult {
    let answered = quiz
        .questions
        .iter()
        .zip(answers)
        .map(|(q, a)| Answered::new(q, a))
        .collect();
    QuizResult::new(quiz, answered)
}
