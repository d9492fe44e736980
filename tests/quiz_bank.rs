//! Checks on the question bank itself (quizzes/bank/quiz*.json).
#![allow(dead_code)]

#[path = "../quizzes/bank.rs"]
mod bank;

use std::collections::HashSet;

use bank::{Kind, Quiz};

fn quizzes() -> Vec<Quiz> {
    bank::load()
}

#[test]
fn bank_has_no_problems() {
    let problems = bank::problems(&quizzes());
    assert!(
        problems.is_empty(),
        "bank problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn five_quizzes_numbered_in_order_with_enough_questions() {
    let qs = quizzes();
    assert_eq!(qs.len(), 5);
    for (i, q) in qs.iter().enumerate() {
        assert_eq!(q.number as usize, i + 1);
        assert!(
            q.questions.len() >= bank::MIN_QUESTIONS,
            "quiz {} has only {} questions",
            q.number,
            q.questions.len()
        );
    }
}

#[test]
fn ids_are_unique_across_the_bank() {
    let mut seen = HashSet::new();
    for q in quizzes().iter().flat_map(|q| &q.questions) {
        assert!(seen.insert(q.id.clone()), "duplicate id {}", q.id);
    }
}

#[test]
fn answers_in_range_and_match_the_kind() {
    for q in quizzes().iter().flat_map(|q| &q.questions) {
        assert!(!q.answer.is_empty(), "{}", q.id);
        assert!(q.answer.iter().all(|&a| a < q.options.len()), "{}", q.id);
        if q.kind == Kind::Single {
            assert_eq!(q.answer.len(), 1, "{} is single choice", q.id);
        }
    }
}

#[test]
fn every_option_is_explained_and_distinct() {
    for q in quizzes().iter().flat_map(|q| &q.questions) {
        let mut texts = HashSet::new();
        for o in &q.options {
            assert!(
                !o.why.trim().is_empty(),
                "{}: '{}' unexplained",
                q.id,
                o.text
            );
            assert!(
                texts.insert(o.text.trim().to_lowercase()),
                "{}: repeated option",
                q.id
            );
        }
    }
}

#[test]
fn both_kinds_appear_and_answer_positions_vary() {
    let all: Vec<_> = quizzes().into_iter().flat_map(|q| q.questions).collect();
    assert!(all.iter().any(|q| q.kind == Kind::Multiple));
    let firsts: HashSet<usize> = all
        .iter()
        .filter(|q| q.kind == Kind::Single)
        .map(|q| q.answer[0])
        .collect();
    assert!(
        firsts.len() >= 3,
        "the right answer is nearly always in the same place"
    );
}

#[test]
fn the_issue_topics_are_covered() {
    let text: String = quizzes()
        .iter()
        .flat_map(|q| &q.questions)
        .map(|q| {
            let opts: Vec<&str> = q.options.iter().map(|o| o.text.as_str()).collect();
            format!("{} {} {}", q.id, q.prompt, opts.join(" ")).to_lowercase()
        })
        .collect();
    for topic in [
        "batchnorm",
        "catastrophic forgetting",
        "dice",
        "squeeze-and-excitation",
        "global average pooling",
        "vision transformer",
        "mobilenet",
        "vgg",
        "efficientnet",
        "resnet",
        "discriminative",
        "unfreeze",
    ] {
        assert!(text.contains(topic), "no question mentions {topic}");
    }
}

#[test]
fn problems_are_reported_for_a_broken_bank() {
    let mut qs = quizzes();
    let q = &mut qs[0].questions[0];
    q.answer = vec![9];
    q.options[1].why = " ".into();
    q.options[2].text = q.options[0].text.to_uppercase();
    qs[1].questions[1].id = qs[1].questions[0].id.clone();
    qs[2].questions.truncate(3);
    let p = bank::problems(&qs).join("\n");
    for needle in [
        "out of range",
        "no explanation",
        "repeats",
        "duplicate question id",
        "at least 4",
    ] {
        assert!(p.contains(needle), "missing '{needle}' in:\n{p}");
    }
}

#[test]
fn parse_answer_accepts_common_spellings() {
    let qs = quizzes();
    let single = qs[0]
        .questions
        .iter()
        .find(|q| q.kind == Kind::Single)
        .unwrap();
    let multi = qs[0]
        .questions
        .iter()
        .find(|q| q.kind == Kind::Multiple)
        .unwrap();
    assert_eq!(single.parse_answer("b").unwrap(), vec![1]);
    assert_eq!(single.parse_answer("  D \n").unwrap(), vec![3]);
    assert_eq!(multi.parse_answer("CA").unwrap(), vec![0, 2]);
    assert_eq!(multi.parse_answer("a, c").unwrap(), vec![0, 2]);
    assert_eq!(multi.parse_answer("a c a").unwrap(), vec![0, 2]);
}

#[test]
fn parse_answer_errors_name_the_value() {
    let qs = quizzes();
    let single = qs[0]
        .questions
        .iter()
        .find(|q| q.kind == Kind::Single)
        .unwrap();
    let e = single.parse_answer("E").unwrap_err();
    assert!(e.contains("'E'") && e.contains("A-D"), "{e}");
    let e = single.parse_answer("AB").unwrap_err();
    assert!(e.contains("'AB'") && e.contains("one answer"), "{e}");
    let e = single.parse_answer("1").unwrap_err();
    assert!(e.contains("'1'"), "{e}");
    assert!(single.parse_answer("").is_err());
    assert!(single.parse_answer(" , ").is_err());
}
