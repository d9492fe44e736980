//! `--format classroom`: the output validates against GitHub Classroom's
//! autograding runner result (what `autograding-grading-reporter` reads), and the
//! workflow template `.github/workflows/classroom.yml` has one runner per exercise
//! of the registry (regenerate it with `SE05_BLESS=1 cargo test --test classroom_format`).
#[path = "fixtures/submissions/tree.rs"]
mod tree;
#[path = "support/workflow.rs"]
mod workflow;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use se05::grading::registry::EXERCISES;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
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

/// The runner result a reporter gets for an exercise that was not graded at all.
fn not_graded(number: u32, points: u32, why: &str) -> String {
    serde_json::json!({
        "version": 1,
        "status": "error",
        "max_score": points,
        "tests": [{"name": format!("Exercise {number}"), "status": "error", "score": 0,
                   "message": why}],
    })
    .to_string()
}

const STEP_DID_NOT_REPORT: &str = "the checker did not report for this exercise (the set-up \
or the build failed, the step ran out of time or the run was cancelled): see the log of the \
workflow run";

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
# per check, worth the check's points, so partial credit counts) under $RUNNER_TEMP
# (never a file of the repository, which a student could commit) and hands it to the
# reporter, base64-encoded, as its `result` output. A step that did not run or was
# stopped still has a result: the reporter's environment falls back to an "error,
# 0 points" result for it, so one exercise never costs the whole grade. `--github`
# puts each failing check's message on the Actions page and in the job summary.
# Points are those of the visible checks; hidden checks are graded by the instructor
# (`checker grade`). The job runs only in a student's repository (made by `checker
# release`: it has RELEASE.json), not in the template repository itself.
# Do not add tests in GitHub Classroom's web editor: it rewrites this file.
name: Autograding Tests
"on":
  push:
  repository_dispatch:
  workflow_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
# Pushes in quick succession are graded one after another, each to the end.
concurrency:
  group: autograding-${{ github.ref }}
  cancel-in-progress: false
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]' && !github.event.repository.is_template
    timeout-minutes: 90
    env:
      CARGO_TERM_COLOR: never
      NO_COLOR: "1"
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Is this a student's repository?
        id: repo
        run: |
          if [ -f RELEASE.json ]; then
            echo "grade=yes" >> "$GITHUB_OUTPUT"
          else
            echo "No RELEASE.json: not a repository made by checker release, nothing to grade here."
          fi
      - name: Restore the Python environment with libtorch
        id: venv
        if: steps.repo.outputs.grade == 'yes'
        uses: actions/cache/restore@v4
        with:
          path: .venv
          key: venv-${{ runner.os }}-${{ hashFiles('setup.sh') }}
      - name: Restore cargo's downloads and the build of the dependencies
        id: cargo
        if: steps.repo.outputs.grade == 'yes'
        uses: actions/cache/restore@v4
        with:
          path: |
            ~/.cargo/registry
            ~/.cargo/git
            target
          key: cargo-${{ runner.os }}-${{ hashFiles('Cargo.lock') }}
          restore-keys: cargo-${{ runner.os }}-
      - name: Set up libtorch
        id: setup
        if: steps.repo.outputs.grade == 'yes'
        run: ./setup.sh
      # Saved right away, whatever the grades: the reporter fails the job whenever an
      # exercise is unfinished, and a cache saved only on success would never be.
      - name: Save the Python environment
        if: always() && steps.setup.outcome == 'success' && steps.venv.outputs.cache-hit != 'true'
        uses: actions/cache/save@v4
        with:
          path: .venv
          key: venv-${{ runner.os }}-${{ hashFiles('setup.sh') }}
      - name: Build the checker
        id: build
        if: steps.setup.outcome == 'success'
        run: cargo build --bin checker
      - name: Save cargo's downloads and the build
        if: always() && steps.build.outcome == 'success' && steps.cargo.outputs.cache-hit != 'true'
        uses: actions/cache/save@v4
        with:
          path: |
            ~/.cargo/registry
            ~/.cargo/git
            target
          key: cargo-${{ runner.os }}-${{ hashFiles('Cargo.lock') }}
"#,
    );
    for ex in EXERCISES {
        let id = format!("ex{:02}", ex.number);
        // What the student's checker can award: the hidden checks' points are the
        // instructor's (`checker grade`).
        let points = ex.visible_points();
        out.push_str(&format!(
            r#"      - name: "Exercise {n}: {title} ({points} points)"
        id: {id}
        if: steps.build.outcome == 'success'
        timeout-minutes: 20
        run: |
          result="$RUNNER_TEMP/{id}.json"
          rm -f "$result"
          cargo run --quiet --bin checker -- {n} --format classroom --json "$result" --github || true
          [ -s "$result" ] || echo '{fallback}' > "$result"
          echo "result=$(base64 -w0 "$result")" >> "$GITHUB_OUTPUT"
"#,
            n = ex.number,
            title = ex.title,
            fallback = not_graded(
                ex.number,
                points,
                "the checker stopped before it wrote a result: see the log of this step"
            ),
        ));
    }
    out.push_str(
        r#"      - name: Say which exercises were not graded, and why
        if: always() && steps.repo.outputs.grade == 'yes'
        env:
          SETUP: ${{ steps.setup.outcome }}
          BUILD: ${{ steps.build.outcome }}
"#,
    );
    for ex in EXERCISES {
        out.push_str(&format!(
            "          EX{:02}: ${{{{ steps.ex{:02}.outcome }}}}\n",
            ex.number, ex.number
        ));
    }
    out.push_str(
        r#"        run: |
          {
            for n in"#,
    );
    for ex in EXERCISES {
        out.push_str(&format!(" {:02}", ex.number));
    }
    out.push_str(
        r#"; do
              var="EX$n"
              case "${!var}" in
                success) ;;
                skipped) echo "- Exercise $((10#$n)): not graded, its step was skipped (set-up: $SETUP, build: $BUILD): 0 points recorded" ;;
                *) echo "- Exercise $((10#$n)): not graded, its step ended with '${!var}' (time limit or cancellation): 0 points recorded" ;;
              esac
            done
          } | tee -a "$GITHUB_STEP_SUMMARY"
      - name: Autograding Reporter
        if: always() && steps.repo.outputs.grade == 'yes'
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
"#,
    );
    for ex in EXERCISES {
        let id = format!("ex{:02}", ex.number);
        let fallback = BASE64.encode(not_graded(
            ex.number,
            ex.visible_points(),
            STEP_DID_NOT_REPORT,
        ));
        out.push_str(&format!(
            "          {}_RESULTS: \"${{{{ steps.{id}.outputs.result || '{fallback}' }}}}\"\n",
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

/// What the reporter does with the runners' results: for each runner named in
/// `runners:`, the value its `<ID>_RESULTS` expression gives (the step's `result`
/// output, or the fallback written after `||`), base64-decoded into a runner result.
/// It throws on one it cannot decode, and then no grade is recorded at all.
fn reporter_view(yaml: &str, outputs: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    let reporter = workflow::step(yaml, "- name: Autograding Reporter");
    let runners = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("runners: "))
        .expect("the reporter names its runners");
    runners
        .split(',')
        .map(|id| {
            let name = format!("{}_RESULTS", id.to_uppercase());
            let (_, expression) = reporter
                .env
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("no {name} for the reporter"));
            let fallback = expression
                .split('\'')
                .nth(1)
                .unwrap_or_else(|| panic!("{name} has no fallback: {expression}"));
            let encoded = outputs.get(id).map(String::as_str).unwrap_or(fallback);
            let bytes = BASE64
                .decode(encoded)
                .unwrap_or_else(|e| panic!("{name} is not base64 ({e}): {encoded}"));
            let result: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not JSON ({e})"));
            validate(&result).unwrap_or_else(|e| panic!("{name}: {e}\n{result:#}"));
            result
        })
        .collect()
}

/// The `result` a step wrote to its `$GITHUB_OUTPUT` file, if it got that far.
fn output_of(file: &Path) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("result=").map(str::to_string))
}

fn score(result: &Value) -> u64 {
    result["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_u64().unwrap())
        .sum()
}

/// The workflow's own exercise steps run here with stand-ins for GitHub's files
/// (`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`, `$RUNNER_TEMP`) and for `cargo` (this
/// build's checker): whatever happens to a step (it passes, fails, is skipped, the
/// checker cannot run and a fake result was committed, it is killed), every runner
/// has a result the reporter can decode, and a fake earns nothing.
#[test]
fn every_runner_has_a_result_whatever_happens_to_its_step() {
    let t = tree::stable_copy("classroom-contract");
    put(
        &t,
        "exercises/ex06_double_conv.rs",
        "solutions/ex06_double_conv.rs",
    );
    put(
        &t,
        "exercises/ex10_dice_loss.rs",
        "tests/fixtures/checker/ex10_wrong_formula.rs",
    );
    let temp = tempfile::tempdir().unwrap();
    let runner_temp = temp.path().join("runner");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let summary = temp.path().join("summary.md");
    let stand_ins = Path::new(ROOT).join("tests/fixtures/course");
    let path = format!(
        "{}:{}",
        stand_ins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let yaml = workflow();
    let mut outputs = std::collections::BTreeMap::new();
    let run = |id: &str, checker: &str| {
        let output = temp.path().join(format!("{id}.output"));
        let step = workflow::step(&yaml, &format!("id: {id}"));
        let env = [
            ("PATH", path.clone()),
            ("RUNNER_TEMP", runner_temp.display().to_string()),
            ("GITHUB_OUTPUT", output.display().to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("SE05_TEST_CHECKER", checker.to_string()),
            ("SE05_TEST_REAL_CARGO", "cargo".to_string()),
            (
                "SE05_PROGRESS",
                t.with_extension("contract-progress.json")
                    .display()
                    .to_string(),
            ),
        ];
        (step, env, output)
    };
    let checker = env!("CARGO_BIN_EXE_checker");

    // Passes: the reference of exercise 6.
    let (step, env, output) = run("ex06", checker);
    let out = step.run(&t, &env);
    workflow::succeeded(&step, &out);
    outputs.insert("ex06".to_string(), output_of(&output).unwrap());
    // Fails: a wrong Dice formula, partial credit, its messages where students look.
    let (step, env, output) = run("ex10", checker);
    let out = step.run(&t, &env);
    workflow::succeeded(&step, &out);
    outputs.insert("ex10".to_string(), output_of(&output).unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error file=exercises/ex10_dice_loss.rs"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### Exercise 10: Dice loss"), "{md}");
    assert!(md.contains("**Hint:**"), "{md}");
    // The checker cannot run (say, a broken Cargo.toml), and the student committed a
    // result with full marks, in the repository and where the step keeps its own.
    let fake = not_graded(2, 6, "")
        .replace("\"error\"", "\"pass\"")
        .replace("\"score\":0", "\"score\":6");
    std::fs::write(t.join("ex02.json"), &fake).unwrap();
    std::fs::write(runner_temp.join("ex02.json"), &fake).unwrap();
    let (step, env, output) = run("ex02", "/bin/false");
    workflow::succeeded(&step, &step.run(&t, &env));
    outputs.insert("ex02".to_string(), output_of(&output).unwrap());
    std::fs::remove_file(t.join("ex02.json")).unwrap();
    // Killed at its time limit: the checker hangs, the step is stopped midway.
    let hang = temp.path().join("hang");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 60\n").unwrap();
    std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (step, env, output) = run("ex03", hang.to_str().unwrap());
    let mut cmd = step.command(&t, &env);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // As GitHub stops a step: the whole process group.
    let group = format!("-{}", child.id());
    Command::new("kill")
        .args(["-KILL", "--", &group])
        .status()
        .unwrap();
    child.wait().unwrap();
    assert_eq!(output_of(&output), None, "a killed step wrote no output");
    // Every other step was skipped (the build failed, say): no output at all.

    let results = reporter_view(&yaml, &outputs);
    assert_eq!(results.len(), EXERCISES.len());
    let by_number = |n: usize| {
        &results[EXERCISES
            .iter()
            .position(|e| e.number as usize == n)
            .unwrap()]
    };
    assert_eq!(
        score(by_number(6)),
        by_number(6)["max_score"].as_u64().unwrap()
    );
    let ex10 = score(by_number(10));
    assert!(ex10 > 0 && ex10 < 10, "{:#}", by_number(10));
    for n in [1, 2, 3, 4, 5, 7, 8, 9, 11] {
        let r = by_number(n);
        assert_eq!(score(r), 0, "exercise {n}: {r:#}");
        let max = EXERCISES[n - 1].visible_points() as u64;
        assert_eq!(
            r["max_score"], max,
            "exercise {n}: a result worth its points"
        );
    }
}
