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
        "at least 7",
    ] {
        assert!(p.contains(needle), "missing '{needle}' in:\n{p}");
    }
}

#[test]
fn at_least_seven_questions_per_quiz() {
    assert_eq!(bank::MIN_QUESTIONS, 7);
    for quiz in quizzes() {
        assert!(
            quiz.questions.len() >= 7,
            "quiz {} has {} questions",
            quiz.number,
            quiz.questions.len()
        );
    }
}

#[test]
fn the_right_option_is_the_longest_in_at_most_a_third_of_single_answer_questions() {
    let all: Vec<_> = quizzes().into_iter().flat_map(|q| q.questions).collect();
    let singles: Vec<_> = all.iter().filter(|q| q.kind == Kind::Single).collect();
    let longest: Vec<&str> = singles
        .iter()
        .filter(|q| q.right_is_strictly_longest())
        .map(|q| q.id.as_str())
        .collect();
    assert!(
        longest.len() * 3 <= singles.len(),
        "right option strictly longest in {} of {}: {longest:?}",
        longest.len(),
        singles.len()
    );
    for q in &singles {
        let right = q.options[q.answer[0]].text.trim().chars().count() as f64;
        assert!(
            right <= bank::MAX_RIGHT_LENGTH_RATIO * q.longest_wrong_len() as f64,
            "{}: the right option stands out by its length",
            q.id
        );
    }
}

#[test]
fn multiple_answer_questions_vary_in_how_many_options_are_right() {
    let counts: HashSet<usize> = quizzes()
        .iter()
        .flat_map(|q| &q.questions)
        .filter(|q| q.kind == Kind::Multiple)
        .map(|q| q.answer.len())
        .collect();
    assert!(
        counts.len() >= 2,
        "every multiple-answer question has {counts:?} right options"
    );
}

#[test]
fn right_answers_are_spread_over_the_letters() {
    let mut per_letter = [0usize; 4];
    let mut singles = 0;
    for q in quizzes().iter().flat_map(|q| &q.questions) {
        if q.kind == Kind::Single && q.options.len() == 4 {
            per_letter[q.answer[0]] += 1;
            singles += 1;
        }
    }
    // No letter may be right much more often than chance (a quarter).
    for (i, n) in per_letter.iter().enumerate() {
        assert!(
            *n * 3 <= singles,
            "option {} is right in {n} of {singles} four-option questions",
            bank::letter(i)
        );
    }
}

#[test]
fn cue_problems_are_reported_for_a_biased_bank() {
    let mut qs = quizzes();
    for q in qs.iter_mut().flat_map(|q| q.questions.iter_mut()) {
        match q.kind {
            Kind::Single => {
                let a = q.answer[0];
                q.options[a].text = q.options[a].text.repeat(3);
            }
            Kind::Multiple => {
                q.answer = vec![0, 1];
            }
        }
    }
    let p = bank::problems(&qs).join("\n");
    for needle in ["strictly longest", "gives itself away", "vary the count"] {
        assert!(p.contains(needle), "missing '{needle}' in:\n{p}");
    }
}

/// Every run of seven words in the bank's prompts, options and explanations, lowercase,
/// split on anything that is not a letter or a digit.
fn seven_word_runs(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    words.windows(7).map(|w| w.join(" ")).collect()
}

/// The bank is written in its own words: no seven-word phrase of it appears in the
/// source material in ../shared/seeds (the notebook, slides and background notes).
#[test]
fn no_seven_word_phrase_is_shared_with_the_source_material() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds");
    let Ok(entries) = std::fs::read_dir(&seeds) else {
        eprintln!(
            "skipped: {} is not here, so the bank cannot be compared with the source material",
            seeds.display()
        );
        return;
    };
    let mut source = std::collections::HashMap::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for run in seven_word_runs(&text) {
            source.entry(run).or_insert_with(|| path.clone());
        }
    }
    assert!(!source.is_empty(), "no text in {}", seeds.display());
    let mut shared = Vec::new();
    for q in quizzes().iter().flat_map(|q| &q.questions) {
        let mut parts = vec![q.prompt.clone()];
        for o in &q.options {
            parts.push(o.text.clone());
            parts.push(o.why.clone());
        }
        for part in parts {
            for run in seven_word_runs(&part) {
                if let Some(file) = source.get(&run) {
                    shared.push(format!("{}: '{run}' ({})", q.id, file.display()));
                }
            }
        }
    }
    assert!(
        shared.is_empty(),
        "phrases taken from the source material:\n{}",
        shared.join("\n")
    );
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
