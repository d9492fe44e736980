//! `--format classroom`: the output validates against GitHub Classroom's
//! autograding runner result (what `autograding-grading-reporter` reads), and the
//! workflow template `.github/workflows/classroom.yml` has one runner per exercise
//! of the registry (regenerate it with `SE05_BLESS=1 cargo test --test classroom_format`).
#[path = "fixtures/submissions/tree.rs"]
mod tree;

use se05::grading::registry::EXERCISES;
use serde_json::Value;
use std::path::Path;
use tree::{put, ROOT};

/// The runner result format: {"version": 1, "status", "max_score", "tests": [{"name",
/// "status", "score", "message", "test_code"?, "filename"?, "line_no"?, "duration"?}]}.
fn validate(result: &Value) -> Result<(), String> {
    let obj = result.as_object().ok_or("not an object")?;
    if obj.get("version") != Some(&Value::from(1)) {
        return Err("version must be 1".into());
    }
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .ok_or("no status")?;
    if !["pass", "fail", "error"].contains(&status) {
        return Err(format!("status {status:?}"));
    }
    let max = obj
        .get("max_score")
        .and_then(Value::as_u64)
        .ok_or("max_score must be a whole number")?;
    let tests = obj
        .get("tests")
        .and_then(Value::as_array)
        .ok_or("no tests array")?;
    if tests.is_empty() {
        return Err("no tests".into());
    }
    let mut total = 0;
    for t in tests {
        let name = t["name"].as_str().ok_or("test without a name")?;
        if name.is_empty() {
            return Err("empty test name".into());
        }
        let st = t["status"].as_str().ok_or(format!("{name}: no status"))?;
        if !["pass", "fail", "error"].contains(&st) {
            return Err(format!("{name}: status {st:?}"));
        }
        let score = t["score"].as_u64().ok_or(format!("{name}: no score"))?;
        if let Some(test_max) = t.get("max_score") {
            let test_max = test_max.as_u64().ok_or(format!("{name}: max_score"))?;
            if score > test_max {
                return Err(format!("{name}: score {score} > {test_max}"));
            }
        }
        if st != "pass" && score != 0 {
            return Err(format!("{name}: not passed but scored {score}"));
        }
        t["message"]
            .as_str()
            .ok_or(format!("{name}: message must be text"))?;
        for key in ["test_code", "filename"] {
            if let Some(v) = t.get(key) {
                v.as_str().ok_or(format!("{name}: {key} must be text"))?;
            }
        }
        for key in ["line_no", "duration"] {
            if let Some(v) = t.get(key) {
                v.as_u64()
                    .ok_or(format!("{name}: {key} must be a whole number"))?;
            }
        }
        if st != "pass" && t["message"].as_str().unwrap().is_empty() {
            return Err(format!("{name}: no message for a test that did not pass"));
        }
        total += score;
    }
    if total > max {
        return Err(format!("scores add up to {total} > max_score {max}"));
    }
    if status == "pass" && (total != max || tests.iter().any(|t| t["status"] != "pass")) {
        return Err("status pass but not every test passed".into());
    }
    Ok(())
}

fn classroom(tree: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tree::checker()
        .arg("--root")
        .arg(tree)
        .arg("--target-dir")
        .arg(tree::target_dir())
        .args(["--check-timeout", "8", "--format", "classroom"])
        .args(args)
        .env("SE05_PROGRESS", tree.with_extension("progress.json"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn classroom_results_validate() {
    let t = tree::stable_copy("fixture-root");

    // The reference: every test passes, scores add up to the exercise's points.
    put(
        &t,
        "exercises/ex10_dice_loss.rs",
        "solutions/ex10_dice_loss.rs",
    );
    let (code, stdout, stderr) = classroom(&t, &["10"]);
    assert_eq!(code, Some(0), "{stderr}");
    let result: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not only the JSON ({e}):\n{stdout}"));
    validate(&result).unwrap_or_else(|e| panic!("{e}\n{result:#}"));
    assert_eq!(result["status"], "pass");
    assert_eq!(result["max_score"], 10);
    let total: u64 = result["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 10);

    // A wrong formula: partial credit, messages with hints, written to a file.
    put(
        &t,
        "exercises/ex10_dice_loss.rs",
        "tests/fixtures/checker/ex10_wrong_formula.rs",
    );
    let file = t.with_extension("classroom.json");
    let (code, _, stderr) = classroom(&t, &["10", "--json", file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let result: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    validate(&result).unwrap_or_else(|e| panic!("{e}\n{result:#}"));
    assert_eq!(result["status"], "fail");
    let tests = result["tests"].as_array().unwrap();
    let total: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
    assert!(total > 0 && total < 10, "{result:#}");
    for t in tests.iter().filter(|t| t["status"] != "pass") {
        assert!(t["message"].as_str().unwrap().contains("hint:"), "{t:#}");
        assert_eq!(t["filename"], "exercises/ex10_dice_loss.rs");
        assert_eq!(t["test_code"], "cargo run --bin checker -- 10");
    }

    // Nothing to grade: still a valid result, status error.
    let (code, stdout, _) = classroom(&t, &["99"]);
    assert_eq!(code, Some(2));
    let result: Value = serde_json::from_str(&stdout).unwrap();
    validate(&result).unwrap_or_else(|e| panic!("{e}\n{result:#}"));
    assert_eq!(result["status"], "error");
    assert!(result["tests"][0]["message"]
        .as_str()
        .unwrap()
        .contains("99"));
}

#[test]
fn validator_rejects_what_the_reporter_cannot_read() {
    let good = serde_json::json!({"version": 1, "status": "fail", "max_score": 3, "tests": [
        {"name": "a", "status": "pass", "score": 1, "message": ""},
        {"name": "b", "status": "fail", "score": 0, "message": "expected 1, got 2"}]});
    validate(&good).unwrap();
    for (key, bad) in [
        ("version", Value::from(2)),
        ("status", Value::from("passed")),
        ("max_score", Value::from("3")),
        ("tests", Value::from(Vec::<Value>::new())),
    ] {
        let mut v = good.clone();
        v[key] = bad;
        assert!(validate(&v).is_err(), "{key}");
    }
    let mut v = good.clone();
    v["tests"][1]["score"] = Value::from(5);
    assert!(validate(&v).is_err());
}

/// The workflow template, generated from the registry: one runner (step) per exercise
/// so that each exercise's points weigh in, each check one test worth its points.
fn workflow() -> String {
    let mut out = String::from(
        r#"# GitHub Classroom autograding for the SE05 workshop. Generated from the exercise
# registry by tests/classroom_format.rs: regenerate it with
#   SE05_BLESS=1 cargo test --test classroom_format
#
# One runner (step) per exercise, so that each exercise's points weigh in. Each step
# writes GitHub Classroom's runner result (`checker N --format classroom`: one test
# per check, worth the check's points, so partial credit counts) as its `result`
# output, base64-encoded, which is what the reporter reads. The command-grader
# action would give all or nothing per exercise (exit status 0 or not).
name: Autograding Tests
"on":
  - push
  - repository_dispatch
  - workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 90
    env:
      CARGO_TERM_COLOR: never
      NO_COLOR: "1"
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Cache the Python environment with libtorch (setup.sh)
        uses: actions/cache@v4
        with:
          path: .venv
          key: venv-${{ runner.os }}-${{ hashFiles('setup.sh') }}
      - name: Cache cargo downloads and builds
        uses: actions/cache@v4
        with:
          path: |
            ~/.cargo/registry
            ~/.cargo/git
            target
          key: cargo-${{ runner.os }}-${{ hashFiles('Cargo.lock') }}
          restore-keys: cargo-${{ runner.os }}-
      - name: Set up libtorch (once; cached afterwards)
        run: ./setup.sh
      - name: Build the checker
        run: cargo build --bin checker
"#,
    );
    for ex in EXERCISES {
        let id = format!("ex{:02}", ex.number);
        out.push_str(&format!(
            r#"      - name: "Exercise {n}: {title} ({points} points)"
        id: {id}
        timeout-minutes: 20
        run: |
          cargo run --quiet --bin checker -- {n} --format classroom --json {id}.json || true
          [ -s {id}.json ] || echo '{{"version":1,"status":"error","max_score":{points},"tests":[{{"name":"Exercise {n}","status":"error","score":0,"message":"the checker did not run; see the log of this step"}}]}}' > {id}.json
          echo "result=$(base64 -w0 {id}.json)" >> "$GITHUB_OUTPUT"
"#,
            n = ex.number,
            title = ex.title,
            points = ex.points,
        ));
    }
    out.push_str(
        r#"      - name: Autograding Reporter
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
"#,
    );
    for ex in EXERCISES {
        let id = format!("ex{:02}", ex.number);
        out.push_str(&format!(
            "          {}_RESULTS: \"${{{{ steps.{id}.outputs.result }}}}\"\n",
            id.to_uppercase()
        ));
    }
    let ids: Vec<String> = EXERCISES
        .iter()
        .map(|e| format!("ex{:02}", e.number))
        .collect();
    out.push_str(&format!(
        "        with:\n          runners: {}\n",
        ids.join(",")
    ));
    out
}

#[test]
fn workflow_has_one_runner_per_exercise() {
    let path = Path::new(ROOT).join(".github/workflows/classroom.yml");
    let expected = workflow();
    if std::env::var("SE05_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is not in step with the registry; regenerate it with \
         SE05_BLESS=1 cargo test --test classroom_format",
        path.display()
    );
    // The fallback result each step writes must itself be a valid runner result.
    for line in expected.lines().filter(|l| l.contains("echo '{")) {
        let json = line.split('\'').nth(1).unwrap();
        let v: Value = serde_json::from_str(json).unwrap();
        validate(&v).unwrap_or_else(|e| panic!("{e}: {json}"));
    }
}
