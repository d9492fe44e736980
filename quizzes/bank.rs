//! The question bank: five JSON files compiled into the binary, so `quiz` works from
//! any directory. Each option carries its own explanation, and answers are 0-based
//! option indices (shown to students as letters A, B, ...).

use std::collections::{BTreeSet, HashSet};

use serde::Deserialize;

/// The bank's source files, in quiz order.
pub const SOURCES: [(&str, &str); 5] = [
    ("quizzes/bank/quiz1.json", include_str!("bank/quiz1.json")),
    ("quizzes/bank/quiz2.json", include_str!("bank/quiz2.json")),
    ("quizzes/bank/quiz3.json", include_str!("bank/quiz3.json")),
    ("quizzes/bank/quiz4.json", include_str!("bank/quiz4.json")),
    ("quizzes/bank/quiz5.json", include_str!("bank/quiz5.json")),
];

/// Fewest questions a quiz may have.
#[allow(dead_code)] // used by the bank tests (tests/quiz_bank.rs)
pub const MIN_QUESTIONS: usize = 7;

/// Test-taking cue: across the bank, the right option of a single-answer question may
/// be the strictly longest option in at most this share of those questions.
#[allow(dead_code)] // used by the bank tests (tests/quiz_bank.rs)
pub const MAX_LONGEST_RIGHT_SHARE: f64 = 1.0 / 3.0;

/// The right option of a single-answer question may be at most this many times as
/// long as the longest wrong one (in characters): a right answer that is twice as long
/// as the rest gives itself away.
#[allow(dead_code)] // used by the bank tests (tests/quiz_bank.rs)
pub const MAX_RIGHT_LENGTH_RATIO: f64 = 1.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Exactly one option is right; the answer is one letter.
    Single,
    /// One or more options are right; the answer is every right letter, e.g. "AC".
    Multiple,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub text: String,
    /// Why this option is right, or why it is wrong.
    pub why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable identifier, `q<quiz>-<topic>`; never reuse or renumber.
    pub id: String,
    pub kind: Kind,
    pub prompt: String,
    pub options: Vec<Choice>,
    /// 0-based indices of the right options, ascending.
    pub answer: Vec<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quiz {
    pub number: u32,
    pub title: String,
    pub questions: Vec<Question>,
}

/// Loads the five embedded quizzes. Panics only if an embedded file is not valid
/// JSON, which the bank tests rule out before anything ships.
pub fn load() -> Vec<Quiz> {
    SOURCES
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not a valid quiz: {e}"))
        })
        .collect()
}

/// The letter of option `i`: 0 -> 'A'.
pub fn letter(i: usize) -> char {
    (b'A' + i as u8) as char
}

/// Letters of a set of option indices, e.g. [0, 2] -> "AC".
pub fn letters(indices: &[usize]) -> String {
    indices.iter().map(|&i| letter(i)).collect()
}

impl Question {
    /// Length of option `i` in characters.
    #[allow(dead_code)] // used by the bank tests (tests/quiz_bank.rs)
    fn option_len(&self, i: usize) -> usize {
        self.options[i].text.trim().chars().count()
    }

    /// Length of the longest wrong option in characters (0 when every option is right).
    #[allow(dead_code)] // used by the bank tests (tests/quiz_bank.rs)
    pub fn longest_wrong_len(&self) -> usize {
        (0..self.options.len())
            .filter(|i| !self.answer.contains(i))
            .map(|i| self.option_len(i))
            .max()
            .unwrap_or(0)
    }

    /// True for a single-answer question whose right option is longer than every
    /// wrong one: picking the longest option would score it.
    #[allow(dead_code)] // used by the bank tests (tests/quiz_bank.rs)
    pub fn right_is_strictly_longest(&self) -> bool {
        self.kind == Kind::Single
            && self.answer.len() == 1
            && self.answer[0] < self.options.len()
            && self.option_len(self.answer[0]) > self.longest_wrong_len()
    }

    /// "A-D" for a four-option question.
    pub fn range(&self) -> String {
        format!("A-{}", letter(self.options.len().saturating_sub(1)))
    }

    pub fn is_correct(&self, given: &[usize]) -> bool {
        let mut want = self.answer.clone();
        want.sort_unstable();
        given == want.as_slice()
    }

    /// Parses an answer such as "b", "AC", "a, c" or "C A" into sorted option indices.
    /// The error says what was wrong with the value, in words for the student.
    pub fn parse_answer(&self, input: &str) -> Result<Vec<usize>, String> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(format!(
                "no answer given: type a letter from {}",
                self.range()
            ));
        }
        let mut picked = BTreeSet::new();
        for c in raw.chars() {
            if c.is_whitespace() || c == ',' {
                continue;
            }
            let up = c.to_ascii_uppercase();
            if !up.is_ascii_uppercase() {
                return Err(format!(
                    "'{raw}' is not an answer: use letters from {}",
                    self.range()
                ));
            }
            let i = (up as u8 - b'A') as usize;
            if i >= self.options.len() {
                return Err(format!(
                    "'{up}' is out of range: this question has options {}",
                    self.range()
                ));
            }
            picked.insert(i);
        }
        if picked.is_empty() {
            return Err(format!(
                "no answer given: type a letter from {}",
                self.range()
            ));
        }
        if self.kind == Kind::Single && picked.len() > 1 {
            return Err(format!(
                "'{raw}' gives {} letters, but this question has exactly one answer",
                picked.len()
            ));
        }
        Ok(picked.into_iter().collect())
    }
}

/// Checks the bank's invariants; returns one line per problem (empty when sound).
#[allow(dead_code)] // used by the bank tests (tests/quiz_bank.rs)
pub fn problems(quizzes: &[Quiz]) -> Vec<String> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    if quizzes.len() != 5 {
        out.push(format!("expected 5 quizzes, found {}", quizzes.len()));
    }
    for (pos, quiz) in quizzes.iter().enumerate() {
        let n = quiz.number;
        if n as usize != pos + 1 {
            out.push(format!("quiz at position {} is numbered {n}", pos + 1));
        }
        if quiz.title.trim().is_empty() {
            out.push(format!("quiz {n} has no title"));
        }
        if quiz.questions.len() < MIN_QUESTIONS {
            out.push(format!(
                "quiz {n} has {} questions, at least {MIN_QUESTIONS} are required",
                quiz.questions.len()
            ));
        }
        for q in &quiz.questions {
            let id = &q.id;
            if !ids.insert(id.clone()) {
                out.push(format!("duplicate question id {id}"));
            }
            if !id.starts_with(&format!("q{n}-"))
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                out.push(format!(
                    "{id}: ids must look like q{n}-some-topic (lowercase, digits, dashes)"
                ));
            }
            if q.prompt.trim().is_empty() {
                out.push(format!("{id}: empty prompt"));
            }
            if !(2..=26).contains(&q.options.len()) {
                out.push(format!("{id}: {} options (2-26 allowed)", q.options.len()));
            }
            let mut seen = HashSet::new();
            for (i, o) in q.options.iter().enumerate() {
                let norm = o.text.trim().to_lowercase();
                if norm.is_empty() {
                    out.push(format!("{id}: option {} has no text", letter(i)));
                }
                if !seen.insert(norm) {
                    out.push(format!(
                        "{id}: option {} repeats an earlier option",
                        letter(i)
                    ));
                }
                if o.why.trim().is_empty() {
                    out.push(format!("{id}: option {} has no explanation", letter(i)));
                }
            }
            if q.answer.is_empty() {
                out.push(format!("{id}: no correct answer"));
            }
            let unique: BTreeSet<_> = q.answer.iter().collect();
            if unique.len() != q.answer.len() {
                out.push(format!("{id}: answer lists an option twice"));
            }
            for &a in &q.answer {
                if a >= q.options.len() {
                    out.push(format!(
                        "{id}: answer index {a} is out of range (0..{})",
                        q.options.len()
                    ));
                }
            }
            match q.kind {
                Kind::Single if q.answer.len() != 1 => out.push(format!(
                    "{id}: single-choice question with {} answers",
                    q.answer.len()
                )),
                Kind::Multiple if q.answer.len() == q.options.len() => out.push(format!(
                    "{id}: every option is right, which makes a poor question"
                )),
                _ => {}
            }
            if q.kind == Kind::Single && q.answer.len() == 1 && q.answer[0] < q.options.len() {
                let right = q.option_len(q.answer[0]) as f64;
                let wrong = q.longest_wrong_len().max(1) as f64;
                if right > MAX_RIGHT_LENGTH_RATIO * wrong {
                    out.push(format!(
                        "{id}: the right option is {:.2} times as long as the longest wrong one (at most {MAX_RIGHT_LENGTH_RATIO}): it gives itself away",
                        right / wrong
                    ));
                }
            }
        }
    }
    out.extend(cue_problems(quizzes));
    out
}

/// Cues that only show across the bank: the right option being the longest too often,
/// and multiple-answer questions that always have the same number of right options.
#[allow(dead_code)] // used by problems()
fn cue_problems(quizzes: &[Quiz]) -> Vec<String> {
    let mut out = Vec::new();
    let questions: Vec<&Question> = quizzes.iter().flat_map(|q| &q.questions).collect();
    let singles: Vec<&&Question> = questions
        .iter()
        .filter(|q| q.kind == Kind::Single)
        .collect();
    let longest: Vec<&str> = singles
        .iter()
        .filter(|q| q.right_is_strictly_longest())
        .map(|q| q.id.as_str())
        .collect();
    if longest.len() as f64 > MAX_LONGEST_RIGHT_SHARE * singles.len() as f64 {
        out.push(format!(
            "the right option is the strictly longest in {} of {} single-answer questions (at most a third may be): {}",
            longest.len(),
            singles.len(),
            longest.join(", ")
        ));
    }
    let right_counts: BTreeSet<usize> = questions
        .iter()
        .filter(|q| q.kind == Kind::Multiple)
        .map(|q| q.answer.len())
        .collect();
    let multiples = questions
        .iter()
        .filter(|q| q.kind == Kind::Multiple)
        .count();
    if multiples >= 2 && right_counts.len() < 2 {
        out.push(format!(
            "all {multiples} multiple-answer questions have exactly {} right options: vary the count so it is no cue",
            right_counts.first().copied().unwrap_or(0)
        ));
    }
    out
}
