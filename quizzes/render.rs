//! Text shown to the student. Colour comes from `colored`; the caller decides once,
//! with `colored::control::set_override`, whether it is on.

use colored::Colorize;

use crate::bank::{letter, letters, Kind, Question, Quiz};

/// Lines are wrapped to this many columns.
pub const WIDTH: usize = 80;

/// Greedy word wrap: the first line starts with `first`, the others with `rest`.
pub fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(first);
    let mut line_len = first.chars().count();
    let mut empty = true;
    for word in text.split_whitespace() {
        let wlen = word.chars().count();
        if !empty && line_len + 1 + wlen > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            line_len = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            line_len += 1;
        }
        line.push_str(word);
        line_len += wlen;
        empty = false;
    }
    out.push_str(&line);
    out
}

/// Banner printed when a quiz starts.
pub fn quiz_header(quiz: &Quiz) -> String {
    let title = format!("Quiz {}: {}", quiz.number, quiz.title);
    let rule = "=".repeat(title.chars().count());
    format!(
        "{}\n{}\n{} questions. Answer with the option letters; type q to stop.\n",
        title.bold(),
        rule,
        quiz.questions.len()
    )
}

/// One question with its lettered options. `pos` counts from 1.
pub fn question(q: &Question, pos: usize, total: usize) -> String {
    let mut s = format!(
        "{} {}\n",
        format!("Question {pos}/{total}").bold(),
        format!("[{}]", q.id).dimmed()
    );
    s.push_str(&wrap(&q.prompt, "", ""));
    s.push('\n');
    let hint = match q.kind {
        Kind::Single => "(one answer)".to_string(),
        Kind::Multiple => "(select all that apply: type every right letter, e.g. AC)".to_string(),
    };
    s.push_str(&format!("{}\n", hint.italic()));
    for (i, o) in q.options.iter().enumerate() {
        s.push_str(&wrap(&o.text, &format!("  {}) ", letter(i)), "     "));
        s.push('\n');
    }
    s
}

/// The prompt after a question's options.
pub fn answer_prompt(q: &Question) -> String {
    match q.kind {
        Kind::Single => format!("Your answer ({}): ", q.range()),
        Kind::Multiple => format!("Your answers ({}, all that apply): ", q.range()),
    }
}

/// Verdict and an explanation of every option, marking the student's choices.
pub fn feedback(q: &Question, given: &[usize]) -> String {
    let mut s = String::new();
    if q.is_correct(given) {
        s.push_str(&format!("{}\n", "✓ Correct!".green().bold()));
    } else {
        s.push_str(&format!(
            "{} you answered {}, the answer is {}.\n",
            "✗ Not quite:".red().bold(),
            letters(given),
            letters(&q.answer).green().bold()
        ));
    }
    for (i, o) in q.options.iter().enumerate() {
        let right = q.answer.contains(&i);
        let mark = if right {
            "✓".green().to_string()
        } else {
            "✗".red().to_string()
        };
        let yours = if given.contains(&i) {
            " (your choice)"
        } else {
            ""
        };
        let head = format!("  {} {}{}: ", mark, letter(i), yours);
        // Wrap with plain-width prefixes, then put the coloured mark back.
        let plain_head = format!(
            "  {} {}{}: ",
            if right { "✓" } else { "✗" },
            letter(i),
            yours
        );
        let wrapped = wrap(&o.why, &plain_head, "       ");
        s.push_str(&wrapped.replacen(&plain_head, &head, 1));
        s.push('\n');
    }
    s
}

/// "Score: 4/6 (67%)", green when perfect, yellow from half, red below.
pub fn score_line(label: &str, score: u32, max: u32) -> String {
    let pct = (score * 100 + max / 2).checked_div(max).unwrap_or(0);
    let text = format!("{label}: {score}/{max} ({pct}%)");
    let coloured = if score == max {
        text.green().bold()
    } else if score * 2 >= max {
        text.yellow().bold()
    } else {
        text.red().bold()
    };
    coloured.to_string()
}
