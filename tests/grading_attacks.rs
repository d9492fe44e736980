//! Hostile exercise files against the checker (issue: grading integrity). Each fixture
//! in tests/fixtures/attacks/ is put in place of exercise 6 in a copy of the tree and
//! graded. Whatever it tries, it earns no more than its honest code would (nothing for
//! a forgery), the tree comes out byte-identical, no process is left behind, and the
//! run ends within the exercise's limit plus a few seconds, with a verdict that says
//! what happened. The policy check is switched off (`--no-policy`) where the attack
//! needs code it would refuse, so that what stands behind it is what is tested.
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[path = "fixtures/submissions/tree.rs"]
mod tree;
use tree::{target_dir, ROOT};

/// The exercise's wall-clock limit in these runs, in seconds.
const LIMIT_S: u64 = 20;

/// The tests share one copy of the tree and each puts its own fixture in place of
/// exercise 6, so they take turns: the guard is held for the whole test.
static TREE: Mutex<()> = Mutex::new(());

fn attack_tree() -> (MutexGuard<'static, ()>, PathBuf) {
    let turn = TREE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    (turn, tree::stable_copy_tagged("grading-attacks", "attacks"))
}

/// Every file of the tree but the exercise files, with its content (cargo brings
/// `Cargo.lock` up to date with the copy's version tag: not the code's doing).
fn state(tree: &Path) -> BTreeMap<String, Vec<u8>> {
    tree::walk(tree)
        .into_iter()
        .filter(|r| !r.starts_with("exercises/") && r != "Cargo.lock")
        .map(|r| {
            let bytes = std::fs::read(tree.join(&r)).unwrap();
            (r, bytes)
        })
        .collect()
}

struct Graded {
    report: Value,
    elapsed: Duration,
    output: String,
}

impl Graded {
    fn exercise(&self) -> &Value {
        &self.report["exercises"][0]
    }
    fn points(&self) -> u64 {
        self.exercise()["points_earned"].as_u64().unwrap()
    }
    fn status(&self) -> &str {
        self.exercise()["status"].as_str().unwrap()
    }
    fn check(&self, name: &str) -> &Value {
        self.exercise()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name} in {:#}", self.report))
    }
    /// Every message of the exercise, joined.
    fn messages(&self) -> String {
        let mut all = vec![self.exercise()["message"]
            .as_str()
            .unwrap_or("")
            .to_string()];
        for c in self.exercise()["checks"].as_array().unwrap() {
            all.push(c["message"].as_str().unwrap_or("").to_string());
        }
        all.join("\n")
    }
}

fn grade(tree: &Path, fixture: &str, extra: &[&str]) -> Graded {
    tree::put(
        tree,
        "exercises/ex06_double_conv.rs",
        &format!("tests/fixtures/attacks/{fixture}"),
    );
    let report = tree.join("report.json");
    let _ = std::fs::remove_file(&report);
    let start = Instant::now();
    let out = tree::checker()
        .arg("--root")
        .arg(tree)
        .arg("--target-dir")
        .arg(target_dir())
        .arg("--json")
        .arg(&report)
        .args(["--check-timeout", &LIMIT_S.to_string()])
        .args(extra)
        .arg("6")
        .env("SE05_PROGRESS", tree.join(".se05/progress.json"))
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|_| panic!("{fixture}: no report; output:\n{output}"));
    let _ = std::fs::remove_file(&report);
    Graded {
        report: serde_json::from_str(&text).unwrap(),
        elapsed,
        output,
    }
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(marker) {
            found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

fn assert_untouched(tree: &Path, before: &BTreeMap<String, Vec<u8>>, fixture: &str) {
    let after = state(tree);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(
        changed.is_empty(),
        "{fixture} changed the tree: {changed:?}"
    );
}

fn within_limit(g: &Graded, fixture: &str) {
    // Compiling the fixture comes on top of the limit.
    assert!(
        g.elapsed < Duration::from_secs(LIMIT_S + 90),
        "{fixture} took {:?}",
        g.elapsed
    );
}

#[test]
fn forgeries_earn_nothing_and_leave_the_tree_as_it_was() {
    let (_turn, tree) = attack_tree();
    let before = state(&tree);

    let g = grade(&tree, "ex06_forges_observations.rs", &["--no-policy"]);
    assert_eq!(g.points(), 0, "{:#}", g.report);
    assert!(g.messages().contains("forged"), "{}", g.messages());
    assert_untouched(&tree, &before, "forges_observations");

    for fixture in [
        "ex06_rewrites_snapshots.rs",
        "ex06_stealth_rewrite.rs",
        "ex06_writes_grading_tree.rs",
    ] {
        let g = grade(&tree, fixture, &["--no-policy"]);
        within_limit(&g, fixture);
        assert_untouched(&tree, &before, fixture);
        // These blocks have no batch norm: the reference's table and output cannot
        // match, however the files were rewritten.
        assert_eq!(g.check("parameter_table")["points_earned"], 0, "{fixture}");
        assert_eq!(
            g.check("matches_reference_output")["points_earned"],
            0,
            "{fixture}"
        );
        // At most the property checks a block without batch norm passes honestly,
        // the hidden check's 2 points included.
        assert!(g.points() <= 5, "{fixture}: {:#}", g.report);
    }
}

#[test]
fn runaway_code_gets_a_verdict_within_the_limit() {
    let (_turn, tree) = attack_tree();
    let before = state(&tree);

    let g = grade(&tree, "ex06_exits.rs", &["--no-policy"]);
    assert_eq!(g.status(), "crashed", "{:#}", g.report);
    assert_eq!(g.check("parameter_table")["status"], "passed");
    assert!(
        g.messages().contains("std::process::exit"),
        "{}",
        g.messages()
    );

    let g = grade(&tree, "ex06_leaks_child.rs", &["--no-policy"]);
    assert_eq!(g.points(), 12, "{:#}", g.report); // hidden check included
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        processes_with("sleep 987654").is_empty(),
        "{:?}",
        processes_with("sleep 987654")
    );

    for fixture in ["ex06_floods_output.rs", "ex06_holds_stdout_lock.rs"] {
        let g = grade(&tree, fixture, &["--no-policy"]);
        within_limit(&g, fixture);
        assert_eq!(g.status(), "timed_out", "{fixture}: {:#}", g.report);
        assert!(
            g.messages().contains(&format!("{LIMIT_S} s")),
            "{}",
            g.messages()
        );
        assert!(
            g.output.len() < 200_000,
            "{fixture}: {} bytes printed",
            g.output.len()
        );
    }

    let g = grade(&tree, "ex06_memory_hog.rs", &["--no-policy"]);
    within_limit(&g, "memory_hog");
    assert_eq!(g.status(), "crashed", "{:#}", g.report);
    assert!(g.messages().contains("memory"), "{}", g.messages());
    assert_untouched(&tree, &before, "runaway code");
}

#[test]
fn the_policy_check_refuses_borrowed_solutions_before_compiling() {
    let (_turn, tree) = attack_tree();
    let g = grade(&tree, "ex06_reads_solution.rs", &[]);
    assert_eq!(g.points(), 0, "{:#}", g.report);
    assert_eq!(g.status(), "compile_error", "{:#}", g.report);
    let m = g.messages();
    assert!(
        m.contains("exercises/ex06_double_conv.rs:4") && m.contains("#[path]"),
        "{m}"
    );
}

#[test]
fn classroom_and_grade_keep_forgeries_at_zero() {
    let (_turn, tree) = attack_tree();
    let report = tree.join("classroom.json");
    tree::put(
        &tree,
        "exercises/ex06_double_conv.rs",
        "tests/fixtures/attacks/ex06_forges_observations.rs",
    );
    let out = tree::checker()
        .arg("--root")
        .arg(&tree)
        .arg("--target-dir")
        .arg(target_dir())
        .args(["--no-policy", "--format", "classroom", "--json"])
        .arg(&report)
        .arg("6")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let text = json.to_string();
    assert!(!text.contains("\"score\":10"), "{json:#}");

    // A fork graded by the instructor: the pristine tree, the forged file.
    let fork = tempfile::tempdir().unwrap();
    tree::copy_all(Path::new(ROOT), fork.path());
    std::fs::copy(
        Path::new(ROOT).join("tests/fixtures/attacks/ex06_writes_grading_tree.rs"),
        fork.path().join("exercises/ex06_double_conv.rs"),
    )
    .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let before = state(Path::new(ROOT));
    let out = tree::checker()
        .arg("--target-dir")
        .arg(target_dir())
        .args(["--no-policy", "grade", "--exercises", "6", "--out"])
        .arg(out_dir.path())
        .arg(fork.path())
        .output()
        .unwrap();
    let csv = std::fs::read_to_string(out_dir.path().join("gradebook.csv")).unwrap_or_else(|_| {
        panic!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let row = csv.lines().nth(1).unwrap();
    let points: Vec<&str> = row.split(',').collect();
    // The honest property checks at most, the hidden one's 2 points included.
    assert!(points[2].parse::<u32>().unwrap() <= 5, "{csv}");
    assert_untouched(Path::new(ROOT), &before, "grade of writes_grading_tree");
}

/// What rustc could read from the environment at compile time (`option_env!`, which
/// the policy allows): the build gets an allow-list, so a secret of the checker's
/// environment, the seed variable and the working folder are not there.
#[test]
fn the_build_environment_holds_no_secret() {
    let (_turn, tree) = attack_tree();
    tree::put(
        &tree,
        "exercises/ex06_double_conv.rs",
        "tests/fixtures/attacks/ex06_reads_build_env.rs",
    );
    let report = tree.join("env-report.json");
    let out = tree::checker()
        .arg("--root")
        .arg(&tree)
        .arg("--target-dir")
        .arg(target_dir())
        .arg("--json")
        .arg(&report)
        .arg("6")
        .env("SE05_PROGRESS", tree.join(".se05/progress.json"))
        .env("SE05_TEST_SECRET", "hunter2-do-not-leak")
        .env("SE05_SEED", "12345")
        .env("PWD", &tree)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|_| panic!("no report:\n{}", String::from_utf8_lossy(&out.stderr)));
    let _ = std::fs::remove_file(&report);
    assert!(
        text.contains("leaked: secret=None seed=None pwd=None"),
        "the panic should show what the build saw:\n{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn the_policy_check_refuses_an_invisible_character_before_compiling() {
    // `#[path\u{200E}= "../solutions/..."]`: rustc reads U+200E as a space.
    let (_turn, tree) = attack_tree();
    let g = grade(&tree, "ex06_invisible_path.rs", &[]);
    assert_eq!(g.points(), 0, "{:#}", g.report);
    assert_eq!(g.status(), "compile_error", "{:#}", g.report);
    let m = g.messages();
    assert!(
        m.contains("exercises/ex06_double_conv.rs:5")
            && m.contains("U+200E (LEFT-TO-RIGHT MARK)")
            && m.contains("invisible character"),
        "{m}"
    );
}

/// Checks of exercise 6 whose observers call forward_t (the hidden one included).
const FORWARD_CHECKS: [&str; 5] = [
    "output_shape",
    "relu_output_non_negative",
    "batchnorm_running_statistics",
    "matches_reference_output",
    "larger_inputs_and_gradients",
];

#[test]
fn escape_sequences_in_a_panic_message_are_printed_inert() {
    let (_turn, tree) = attack_tree();
    let g = grade(&tree, "ex06_escape_sequences.rs", &[]);
    within_limit(&g, "escape_sequences");
    for active in ['\u{1b}', '\u{9b}', '\u{202e}', '\r'] {
        assert!(
            !g.output.contains(active),
            "U+{:04X} reached the terminal:\n{}",
            active as u32,
            g.output.escape_debug()
        );
    }
    // The message is still there for the student to read, escapes made visible.
    assert!(g.output.contains("\\u{1b}[2J\\u{1b}[H"), "{}", g.output);
    assert!(g.messages().contains("\\u{1b}[2J"), "{}", g.messages());
    for name in FORWARD_CHECKS {
        assert_eq!(g.check(name)["status"], "crashed", "{name}: {:#}", g.report);
        assert_eq!(g.check(name)["points_earned"], 0, "{name}");
    }
    assert_eq!(g.check("parameter_table")["status"], "passed");
    // At most the checks that never call forward_t, earned honestly.
    assert!(g.points() <= 5, "{:#}", g.report);
    assert_ne!(g.status(), "passed");
}

#[test]
fn filling_the_scratch_space_is_stopped_at_its_budget() {
    let (_turn, tree) = attack_tree();
    let before = state(&tree);
    let g = grade(&tree, "ex06_fills_scratch.rs", &[]);
    within_limit(&g, "fills_scratch");
    // Stopped by the budget, long before the wall clock.
    assert_eq!(g.status(), "crashed", "{:#}", g.report);
    let running = g.check("output_shape");
    assert_eq!(running["status"], "crashed", "{:#}", g.report);
    assert!(
        running["message"]
            .as_str()
            .unwrap()
            .contains("scratch space limit"),
        "{running:#}"
    );
    for name in FORWARD_CHECKS {
        assert_eq!(g.check(name)["points_earned"], 0, "{name}");
        assert!(
            g.check(name)["message"]
                .as_str()
                .unwrap()
                .contains("scratch space limit"),
            "{name}: {:#}",
            g.check(name)
        );
    }
    assert!(g.output.contains("scratch folder"), "{}", g.output);
    assert!(g.points() <= 5, "{:#}", g.report);
    assert_untouched(&tree, &before, "fills_scratch");
}
