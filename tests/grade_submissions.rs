//! `checker grade` on fixture submissions (see tests/fixtures/submissions/README.md):
//! only exercise files count, tampering outside exercises/ gains nothing and is
//! listed, broken submissions do not stop the others.
//!
//! Grades exercises 6 and 10 only, with a short check time limit: each changed
//! exercise file means one more build of its check target.
#[path = "fixtures/submissions/tree.rs"]
mod tree;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tree::{put, put_bytes, ROOT};

const FIX: &str = "tests/fixtures/submissions";

/// A fork: a copy of the instructor's tree, changed by `edit`.
fn submission(base: &Path, instructor: &Path, name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let dir = base.join(name);
    tree::copy_all(instructor, &dir);
    edit(&dir);
    dir
}

/// Minimal CSV reading (quoted fields with commas and doubled quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => row.push(std::mem::take(&mut field)),
                _ => field.push(c),
            }
        }
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Exercise 10's entry in a report.
fn exercise_10(report: &Value) -> Value {
    report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["number"] == 10)
        .cloned()
        .unwrap_or_else(|| panic!("no exercise 10 in {report:#}"))
}

#[test]
fn forks_are_graded_on_their_exercise_files_only() {
    // The instructor's tree: this repository as shipped (stubs in exercises/).
    let instructor = tree::stable_copy("grade-instructor");
    let base = tempfile::tempdir().unwrap();
    let b = base.path();
    let sol6 = |d: &Path| {
        put(
            d,
            "exercises/ex06_double_conv.rs",
            "solutions/ex06_double_conv.rs",
        )
    };

    let correct = submission(b, &instructor, "correct", |d| {
        sol6(d);
        put(
            d,
            "exercises/ex10_dice_loss.rs",
            "solutions/ex10_dice_loss.rs",
        );
        put(d, ".se05/progress.json", &format!("{FIX}/progress.json"));
    });
    let partly = submission(b, &instructor, "partly_correct", |d| {
        sol6(d);
        put(
            d,
            "exercises/ex10_dice_loss.rs",
            "tests/fixtures/checker/ex10_wrong_formula.rs",
        );
    });
    let broken = submission(b, &instructor, "does_not_compile", |d| {
        sol6(d);
        put(
            d,
            "exercises/ex10_dice_loss.rs",
            &format!("{FIX}/ex10_does_not_compile.rs"),
        );
    });
    let looping = submission(b, &instructor, "loops_forever", |d| {
        sol6(d);
        put(
            d,
            "exercises/ex10_dice_loss.rs",
            "tests/fixtures/checker/ex10_infinite_loop.rs",
        );
    });
    let tampered = submission(b, &instructor, "edits_a_check", |d| {
        sol6(d);
        put(
            d,
            "checks/ex10_dice_loss.rs",
            &format!("{FIX}/check_always_passes.rs"),
        );
        let toml = std::fs::read_to_string(d.join("Cargo.toml")).unwrap();
        put_bytes(
            &d.join("Cargo.toml"),
            format!("{toml}\n# made by the student\n").as_bytes(),
        );
        let snap = d.join("checks/snapshots/ex06_double_conv__params_3_64.snap");
        put_bytes(&snap, b"---\nsource: forged\n---\nanything\n");
    });
    let deleted = submission(b, &instructor, "deletes_tests", |d| {
        sol6(d);
        std::fs::remove_file(d.join("checks/ex06_double_conv.rs")).unwrap();
        std::fs::remove_file(d.join("exercises/ex10_dice_loss.rs")).unwrap();
    });
    let forger = submission(b, &instructor, "forges_report", |d| {
        sol6(d);
        put(
            d,
            "exercises/ex10_dice_loss.rs",
            &format!("{FIX}/ex10_forges_report.rs"),
        );
    });
    let missing = b.join("no_such_fork");

    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grade-out");
    let _ = std::fs::remove_dir_all(&out);
    let run = tree::checker()
        .arg("grade")
        .arg("--root")
        .arg(&instructor)
        .arg("--target-dir")
        .arg(tree::target_dir())
        .args(["--check-timeout", "3", "--exercises", "6,10", "--out"])
        .arg(&out)
        .args([
            &correct, &partly, &broken, &looping, &tampered, &deleted, &forger, &missing,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    eprintln!("{stdout}\n{stderr}");
    // One submission folder does not exist: graded as an error, exit status 1.
    assert_eq!(run.status.code(), Some(1), "{stderr}");

    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    eprintln!("gradebook.csv:\n{csv}");
    let rows = parse_csv(&csv);
    let header = &rows[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let by_name: BTreeMap<&str, &Vec<String>> =
        rows[1..].iter().map(|r| (r[0].as_str(), r)).collect();
    assert_eq!(by_name.len(), 8, "{csv}");
    let cell = |who: &str, c: &str| by_name[who][col(c)].clone();
    let points = |who: &str, c: &str| cell(who, c).parse::<u32>().unwrap();
    for who in [
        "correct",
        "partly_correct",
        "does_not_compile",
        "loops_forever",
        "edits_a_check",
        "deletes_tests",
        "forges_report",
    ] {
        // Exercise 6's 12 points include its hidden check's 2.
        assert_eq!(cell(who, "max_points"), "22", "{who}");
        assert_eq!(
            points(who, "ex06_double_conv"),
            12,
            "{who}: ex06 is the solution"
        );
    }

    assert_eq!(points("correct", "ex10_dice_loss"), 10);
    assert_eq!(points("correct", "points"), 22);
    assert_eq!(cell("correct", "status"), "passed");
    assert_eq!(cell("correct", "quiz1_self_reported"), "5/5");
    assert_eq!(cell("correct", "quiz3_self_reported"), "3/6");
    assert_eq!(cell("correct", "quiz2_self_reported"), "");
    assert_eq!(cell("correct", "changed_outside_exercises"), "0");

    let partial = points("partly_correct", "ex10_dice_loss");
    assert!(partial > 0 && partial < 10, "partial credit, got {partial}");

    assert_eq!(points("does_not_compile", "ex10_dice_loss"), 0);
    assert!(cell("does_not_compile", "notes").contains("ex10 compile error"));

    assert!(points("loops_forever", "ex10_dice_loss") < 10);
    assert!(cell("loops_forever", "notes").contains("ex10 timed out"));

    // The edited check would pass anything; the instructor's check runs instead.
    assert_eq!(points("edits_a_check", "ex10_dice_loss"), 0);
    assert_eq!(points("edits_a_check", "points"), 12);
    assert_eq!(cell("edits_a_check", "changed_outside_exercises"), "3");

    assert_eq!(points("deletes_tests", "ex10_dice_loss"), 0);
    assert!(cell("deletes_tests", "notes").contains("exercises/ex10_dice_loss.rs is missing"));

    // Report lines written by the student's code count for nothing (the judge reads
    // only signed observations). Its constant loss may honestly pass the symmetry
    // property, worth 1 point; never more.
    assert!(points("forges_report", "ex10_dice_loss") <= 1, "{csv}");

    assert_eq!(cell("no_such_fork", "status"), "error");
    assert!(cell("no_such_fork", "notes").contains("is not a folder"));

    // One report per submission: se05-report/1 plus what was found in the fork.
    let report = |who: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(format!("{who}.json"))).unwrap())
            .unwrap()
    };
    let r = report("edits_a_check");
    assert_eq!(r["schema"], "se05-report/1");
    let changed: Vec<&str> = r["submission"]["changed_outside_exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        changed,
        vec![
            "modified: Cargo.toml",
            "modified: checks/ex10_dice_loss.rs",
            "modified: checks/snapshots/ex06_double_conv__params_3_64.snap"
        ]
    );
    let ex10 = exercise_10(&r);
    assert_ne!(ex10["status"], "passed", "{ex10:#}");
    assert_eq!(ex10["points_earned"], 0, "{ex10:#}");
    assert!(
        ex10["checks"].as_array().unwrap().len() > 1,
        "the instructor's checks ran, not the fork's single one"
    );
    let r = report("forges_report");
    let ex10 = exercise_10(&r);
    for c in ex10["checks"].as_array().unwrap() {
        if c["name"] != "property_symmetric_for_binary_masks" {
            assert_ne!(c["status"], "passed", "forged: {c:#}");
        }
    }
    let r = report("deletes_tests");
    assert_eq!(
        r["submission"]["changed_outside_exercises"],
        serde_json::json!(["deleted: checks/ex06_double_conv.rs"])
    );
    let r = report("correct");
    assert_eq!(
        r["submission"]["quizzes_self_reported"]["1"]["best_score"],
        5
    );
    assert!(stdout.contains("have no effect on the grade"), "{stdout}");
    let _ = ROOT;
}

/// The wall behind the policy: with the policy off, an exercise file that names a
/// file of the instructor's checkout at compile time (`include_str!` of an absolute
/// path) still cannot read it, since `checker grade` compiles in the sandbox with
/// reads limited to the grading copy, the toolchain, libtorch and the system; the
/// report quotes none of that file.
#[test]
fn the_build_reads_nothing_outside_the_grading_copy() {
    let instructor = tree::stable_copy("grade-instructor-wall");
    let base = tempfile::tempdir().unwrap();
    let solution = instructor.join("solutions/ex06_double_conv.rs");
    let fork = submission(base.path(), &instructor, "includes_the_solution", |d| {
        let stub = std::fs::read_to_string(d.join("exercises/ex06_double_conv.rs")).unwrap();
        let attack = format!(
            "{stub}\npub const LEAK: &str = include_str!({:?});\n",
            solution.display().to_string()
        );
        put_bytes(&d.join("exercises/ex06_double_conv.rs"), attack.as_bytes());
    });
    // A near-solution of the instructor's test fixtures, a path inside the tree: the
    // grading copy has no tests/ folder.
    let near = submission(base.path(), &instructor, "borrows_a_fixture", |d| {
        let attack = "#[path = \"../tests/fixtures/release/ex06_visible_only.rs\"]\nmod near;\npub use near::*;\n";
        put_bytes(&d.join("exercises/ex06_double_conv.rs"), attack.as_bytes());
    });
    let out = base.path().join("out");
    let run = tree::checker()
        .arg("--root")
        .arg(&instructor)
        .arg("--target-dir")
        .arg(tree::target_dir())
        .args(["--no-policy", "grade", "--exercises", "6", "--out"])
        .arg(&out)
        .args([&fork, &near])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report = std::fs::read_to_string(out.join("includes_the_solution.json"))
        .unwrap_or_else(|_| panic!("no report:\n{stdout}"));
    let json: Value = serde_json::from_str(&report).unwrap();
    let ex = &json["exercises"][0];
    assert_eq!(ex["status"], "compile_error", "{json:#}");
    assert_eq!(json["points_earned"], 0, "{json:#}");
    let message = ex["message"].as_str().unwrap();
    assert!(message.contains("Permission denied"), "{message}");
    let borrowed: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("borrows_a_fixture.json")).unwrap())
            .unwrap();
    assert_eq!(
        borrowed["exercises"][0]["status"], "compile_error",
        "{borrowed:#}"
    );
    assert_eq!(borrowed["points_earned"], 0, "{borrowed:#}");
    // Not one line of the solution's code reached the report or the terminal.
    let text = std::fs::read_to_string(&solution).unwrap();
    for line in text.lines().map(str::trim).filter(|l| l.len() >= 24) {
        assert!(
            !report.contains(line),
            "the report quotes the solution: {line}"
        );
        assert!(
            !stdout.contains(line),
            "the output quotes the solution: {line}"
        );
    }
}

#[test]
fn file_names_with_escape_sequences_are_listed_inert() {
    // A copy of its own: the test above refreshes `grade-instructor` as it runs.
    let instructor = tree::stable_copy("grade-instructor-escapes");
    let base = tempfile::tempdir().unwrap();
    let fork = submission(base.path(), &instructor, "escapes", |d| {
        put_bytes(
            &d.join("notes\u{1b}[2J.txt"),
            b"clears the screen when listed\n",
        );
        put_bytes(
            &d.join("exercises/\u{1b}[Hdraft.rs"),
            b"// not an exercise\n",
        );
    });
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grade-out-escapes");
    let _ = std::fs::remove_dir_all(&out);
    let run = tree::checker()
        .arg("grade")
        .arg("--root")
        .arg(&instructor)
        .arg("--target-dir")
        .arg(tree::target_dir())
        .args(["--check-timeout", "3", "--exercises", "6", "--out"])
        .arg(&out)
        .arg(&fork)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    for (what, bytes) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !bytes.contains(&0x1b),
            "an escape reached {what}:\n{}",
            String::from_utf8_lossy(bytes).escape_debug()
        );
    }
    assert!(stdout.contains("added: notes\\u{1b}[2J.txt"), "{stdout}");
    assert!(
        stdout.contains("exercises/\\u{1b}[Hdraft.rs is not an exercise file"),
        "{stdout}"
    );

    let csv = std::fs::read(out.join("gradebook.csv")).unwrap();
    assert!(
        !csv.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&csv).escape_debug()
    );
    let rows = parse_csv(&String::from_utf8(csv).unwrap());
    let notes = rows[0].iter().position(|h| h == "notes").unwrap();
    assert!(rows[1][notes].contains("\\u{1b}[Hdraft.rs"), "{rows:?}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("escapes.json")).unwrap()).unwrap();
    assert_eq!(
        report["submission"]["changed_outside_exercises"],
        serde_json::json!(["added: notes\\u{1b}[2J.txt"])
    );
}
