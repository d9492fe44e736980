//! The rendered text of questions and feedback, without colour.
#![allow(dead_code)]

#[path = "../quizzes/bank.rs"]
mod bank;
#[path = "../quizzes/render.rs"]
mod render;

fn plain() {
    colored::control::set_override(false);
}

fn question(id: &str) -> bank::Question {
    bank::load()
        .into_iter()
        .flat_map(|q| q.questions)
        .find(|q| q.id == id)
        .unwrap_or_else(|| panic!("no question {id}"))
}

#[test]
fn rendered_question_snapshot() {
    plain();
    let q = question("q2-bn-freeze");
    insta::assert_snapshot!(render::question(&q, 5, 6));
}

#[test]
fn rendered_feedback_snapshot() {
    plain();
    let q = question("q3-gap");
    insta::assert_snapshot!(render::feedback(&q, &[0, 2]));
}

#[test]
fn plain_output_has_no_escape_codes() {
    plain();
    for quiz in bank::load() {
        for (i, q) in quiz.questions.iter().enumerate() {
            let text =
                render::question(q, i + 1, quiz.questions.len()) + &render::feedback(q, &q.answer);
            assert!(!text.contains('\u{1b}'), "{}", q.id);
        }
    }
}

#[test]
fn lines_fit_the_width() {
    plain();
    for quiz in bank::load() {
        for q in &quiz.questions {
            let text = render::question(q, 1, 1) + &render::feedback(q, &[0]);
            for line in text.lines() {
                assert!(line.chars().count() <= render::WIDTH, "{}: {line}", q.id);
            }
        }
    }
}

#[test]
fn wrap_keeps_every_word_and_indents() {
    let text = "one two three four five six seven eight nine ten ".repeat(8);
    let out = render::wrap(&text, "  A) ", "     ");
    assert!(out.starts_with("  A) one"));
    assert!(out
        .lines()
        .skip(1)
        .all(|l| l.starts_with("     ") && !l.starts_with("      ")));
    let words: Vec<&str> = out.split_whitespace().filter(|w| *w != "A)").collect();
    assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
}

#[test]
fn score_line_text() {
    plain();
    assert_eq!(render::score_line("Score", 4, 6), "Score: 4/6 (67%)");
    assert_eq!(render::score_line("Score", 0, 0), "Score: 0/0 (0%)");
}
