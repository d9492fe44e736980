//! The checker on fixture exercise files: every status it can give, isolation of a
//! broken exercise, blocking of dependents, and the JSON report.
//!
//! The fixtures live in a copy of this tree under the target folder; it builds in
//! this repository's target folder, so only the crate itself is compiled again.
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "fixtures/submissions/tree.rs"]
mod tree;
use tree::{target_dir, ROOT};

/// A copy of the workshop with the untouched stubs; its own version tag keeps its
/// check executables apart from this repository's in the shared target folder.
fn fixture_tree() -> PathBuf {
    tree::stable_copy_tagged("checker-statuses", "statuses")
}

fn put(tree: &Path, exercise_file: &str, content_from: &str) {
    std::fs::copy(
        Path::new(ROOT).join(content_from),
        tree.join("exercises").join(exercise_file),
    )
    .unwrap();
}

/// Runs the checker on `tree`; returns its exit code and JSON report.
fn checker(tree: &Path, args: &[&str]) -> (i32, Value) {
    let report = tree.join("report.json");
    let _ = std::fs::remove_file(&report);
    let out = Command::new(env!("CARGO_BIN_EXE_checker"))
        .arg("--root")
        .arg(tree)
        .arg("--target-dir")
        .arg(target_dir())
        .arg("--json")
        .arg(&report)
        .args(["--check-timeout", "8"])
        .args(args)
        .env("SE05_PROGRESS", tree.join("progress.json"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = std::fs::read_to_string(&report).unwrap_or_else(|_| {
        panic!(
            "no report; output:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&json).unwrap(),
    )
}

fn exercise(report: &Value, n: u64) -> &Value {
    report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["number"] == n)
        .unwrap_or_else(|| panic!("exercise {n} missing in {report:#}"))
}

#[test]
fn every_status_with_isolation_and_blocking() {
    let tree = fixture_tree();
    let t = tree.as_path();
    put(t, "ex06_double_conv.rs", "solutions/ex06_double_conv.rs");
    put(
        t,
        "ex08_up.rs",
        "tests/fixtures/checker/ex08_compile_error.rs",
    );
    put(
        t,
        "ex10_dice_loss.rs",
        "tests/fixtures/checker/ex10_infinite_loop.rs",
    );

    let (code, report) = checker(t, &["6-10"]);
    assert_eq!(code, 1);
    assert_eq!(report["status"], "failed");
    assert_eq!(exercise(&report, 6)["status"], "passed");
    assert_eq!(exercise(&report, 6)["points_earned"], 12); // hidden check included
    assert_eq!(exercise(&report, 7)["status"], "not_implemented");
    let ex8 = exercise(&report, 8);
    assert_eq!(ex8["status"], "compile_error");
    assert!(
        ex8["message"]
            .as_str()
            .unwrap()
            .contains("exercises/ex08_up.rs:"),
        "{ex8:#}"
    );
    let ex9 = exercise(&report, 9);
    assert_eq!(ex9["status"], "blocked");
    assert!(
        ex9["message"]
            .as_str()
            .unwrap()
            .contains("blocked by exercise 7"),
        "{ex9:#}"
    );
    let ex10 = exercise(&report, 10);
    assert_eq!(ex10["status"], "timed_out", "{ex10:#}");
    assert!(
        ex10["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "passed"),
        "checks before the loop still count"
    );

    // A broken exercise 10 (or 8) does not affect grading exercise 6.
    let (code, report) = checker(t, &["6"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["exercises"].as_array().unwrap().len(), 1);

    put(
        t,
        "ex10_dice_loss.rs",
        "tests/fixtures/checker/ex10_panics.rs",
    );
    let (_, report) = checker(t, &["10"]);
    let ex10 = exercise(&report, 10);
    assert_eq!(ex10["status"], "crashed", "{ex10:#}");
    let crash = ex10["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "crashed")
        .unwrap();
    assert!(
        crash["message"]
            .as_str()
            .unwrap()
            .contains("index out of bounds"),
        "{crash:#}"
    );

    put(
        t,
        "ex10_dice_loss.rs",
        "tests/fixtures/checker/ex10_wrong_formula.rs",
    );
    let (_, report) = checker(t, &["10"]);
    let ex10 = exercise(&report, 10);
    assert_eq!(ex10["status"], "failed", "{ex10:#}");
    let earned = ex10["points_earned"].as_u64().unwrap();
    assert!(
        earned > 0 && earned < 10,
        "partial credit expected, got {earned}"
    );
    for c in ex10["checks"].as_array().unwrap() {
        assert!(!c["hint"].as_str().unwrap().is_empty());
        assert!(c["duration_ms"].is_u64());
    }
}

#[test]
fn bad_selection_still_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_checker"))
        .args(["--json"])
        .arg(&report)
        .arg("99")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no exercise 99"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["status"], "error");
    assert!(json["error"].as_str().unwrap().contains("99"));
}
