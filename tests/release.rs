//! The student release (`checker release`, issue 16), end to end.
//!
//! - `no_solution_line_leaks_into_the_release`: no line of solution code that its stub
//!   does not already contain appears anywhere in the release, and nothing of the
//!   hidden checks or `solutions/` ships.
//! - `a_release_is_solved_and_graded_with_its_hidden_checks`: release into a temporary
//!   folder, make it a git repository, run its set-up (linked to this repository's
//!   libtorch, nothing reinstalled), `checker 6` on the stub says not implemented,
//!   the crate's own `cargo test` passes, a solution copied in passes the visible
//!   checks; then `checker grade` in the instructor's tree gives that fork every point,
//!   hidden checks included, and a fork that only passes the visible checks loses the
//!   hidden points.
//!
//! The release builds in this repository's target folder (its dependencies are the
//! same), but its own `checker` and `quiz` binaries are then written where this
//! repository's are (cargo puts binaries at `target/debug/<name>` whatever the
//! package's folder): the instructor's binaries are copied first, used from the copy,
//! and put back when the test ends.
#[path = "fixtures/submissions/tree.rs"]
mod tree;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tree::ROOT;

/// The two tests take turns: while the end-to-end test has the release's binaries
/// at this repository's place, the other must not call them.
static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn my_turn() -> std::sync::MutexGuard<'static, ()> {
    TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies of this repository's binaries, put back over whatever the release's build
/// left at their place when dropped.
struct SavedBinaries {
    dir: tempfile::TempDir,
    names: Vec<(&'static str, PathBuf)>,
}

impl SavedBinaries {
    fn save() -> SavedBinaries {
        let dir = tempfile::tempdir().unwrap();
        let names = vec![
            ("checker", PathBuf::from(env!("CARGO_BIN_EXE_checker"))),
            ("quiz", PathBuf::from(env!("CARGO_BIN_EXE_quiz"))),
        ];
        for (name, path) in &names {
            std::fs::copy(path, dir.path().join(name)).unwrap();
        }
        SavedBinaries { dir, names }
    }

    fn checker(&self) -> Command {
        let mut cmd = Command::new(self.dir.path().join("checker"));
        cmd.env("NO_COLOR", "1");
        cmd
    }
}

impl Drop for SavedBinaries {
    fn drop(&mut self) {
        for (name, path) in &self.names {
            // The release's binary may be a hard link of its build output: unlink it
            // rather than write through it.
            let _ = std::fs::remove_file(path);
            let _ = std::fs::copy(self.dir.path().join(name), path);
        }
    }
}

/// Variables `cargo test` set for this process that would make our own cargo calls
/// rebuild dependencies whose build scripts watch them.
fn set_by_cargo(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CFG_",
        "CARGO_BIN_EXE_",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "CARGO_TARGET_TMPDIR"
                | "OUT_DIR"
        )
}

/// A shell command in `dir` with the environment a student's terminal would have
/// (plus this repository's target folder and libtorch, so nothing is rebuilt).
fn shell(dir: &Path, line: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.args(["-c", line]).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo) {
            cmd.env_remove(name);
        }
    }
    cmd.env("CARGO_TARGET_DIR", tree::target_dir())
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never");
    // The same LIBTORCH as this repository's builds, or torch-sys would rebuild.
    let libtorch = std::env::var_os("LIBTORCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join(".libtorch"));
    cmd.env("LIBTORCH", libtorch);
    cmd
}

/// Runs a command; its exit code and its standard output and error together.
fn output(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("cannot start the command");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Writes the release of this repository into `dir` with `checker`. `--root` always:
/// a grading run in a copy of this repository that builds in the same target folder
/// leaves that copy's checker at this one's place, with the copy as its default root.
fn release_into(checker: &mut Command, dir: &Path) -> String {
    let (code, text) = output(checker.args(["--root", ROOT, "release"]).arg(dir));
    assert_eq!(code, 0, "checker release failed:\n{text}");
    text
}

fn normalised(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lines the visible checks and the library legitimately share with a solution:
/// the same API calls, spelled out by the hints and needed by the judges that know
/// what a pipeline must contain (exercises 1, 3, 4 and 5) and by the final stage's
/// own resize pipeline. Each is kept here on purpose; a new line in this list needs
/// the same justification.
const SHARED_VOCABULARY: &[&str] = &[
    "let plain = Compose::new(vec![Transform::ToTensor]);",
    "Transform::HorizontalFlip { p: 0.5 },",
    "Transform::VerticalFlip { p: 0.5 },",
    "Ok(Sample::new(image, mask))",
    "Transform::ColorJitter {",
    "let n = dataset.len();",
    "Transform::Normalize {",
    "Transform::ToTensor,",
    "Transform::Resize {",
    "Transform::Rotate {",
    "Compose::new(vec![",
];

/// A line of a solution counts when, whitespace-normalised, it has at least this many
/// characters (shorter ones are punctuation and plain words: `}`, `Ok((`, `p: 0.5,`).
const MIN_LINE: usize = 16;

/// Every text line of every file under `dir`, whitespace-normalised, with its file.
fn release_lines(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rel in tree::walk(dir) {
        if let Ok(text) = std::fs::read_to_string(dir.join(&rel)) {
            out.extend(text.lines().map(|l| (normalised(l), rel.clone())));
        }
    }
    out
}

/// The leaks of `release`: solution lines (not in their stub, long enough, not
/// shared vocabulary) found in it, as "line (solution → release file)".
fn leaks(release: &Path) -> Vec<String> {
    let root = Path::new(ROOT);
    let mut stub_lines = BTreeSet::new();
    for entry in std::fs::read_dir(root.join("checker/stubs")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        stub_lines.extend(text.lines().map(normalised));
    }
    let mut solution_lines: Vec<(String, String)> = Vec::new();
    for rel in tree::walk(&root.join("solutions")) {
        let text = std::fs::read_to_string(root.join("solutions").join(&rel)).unwrap();
        for line in text.lines().map(normalised) {
            if line.chars().count() >= MIN_LINE
                && !stub_lines.contains(&line)
                && !SHARED_VOCABULARY.contains(&line.as_str())
            {
                solution_lines.push((line, format!("solutions/{rel}")));
            }
        }
    }
    assert!(
        solution_lines.len() > 100,
        "only {} solution lines to look for: is solutions/ there?",
        solution_lines.len()
    );
    let shipped = release_lines(release);
    let shipped_set: std::collections::BTreeMap<&str, &str> = shipped
        .iter()
        .map(|(l, f)| (l.as_str(), f.as_str()))
        .collect();
    solution_lines
        .iter()
        .filter_map(|(line, from)| {
            shipped_set
                .get(line.as_str())
                .map(|file| format!("{line}   ({from} → {file})"))
        })
        .collect()
}

#[test]
fn no_solution_line_leaks_into_the_release() {
    let _turn = my_turn();
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("student");
    let text = release_into(&mut tree::checker(), &dir);
    assert!(text.contains("reference solutions"), "{text}");
    assert!(text.contains("hidden checks"), "{text}");

    let files = tree::walk(&dir);
    for f in &files {
        assert!(
            !f.starts_with("solutions/") && !f.contains("/hidden/"),
            "{f} must not ship"
        );
    }
    for needed in [
        "RELEASE.json",
        "README.md",
        "setup.sh",
        ".github/workflows/classroom.yml",
        "checks/snapshots/ex06_double_conv__params_3_64.snap",
        "checker/stubs/ex06_double_conv.rs",
        "quizzes/bank/quiz1.json",
    ] {
        assert!(
            files.contains(needed),
            "{needed} is missing from the release"
        );
    }
    // The exercises are the pristine stubs.
    for f in files.iter().filter(|f| f.starts_with("exercises/")) {
        let stub = Path::new(ROOT)
            .join("checker/stubs")
            .join(&f["exercises/".len()..]);
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(stub).unwrap(),
            "{f}"
        );
    }
    let found = leaks(&dir);
    assert!(
        found.is_empty(),
        "solution code in the release:\n{}",
        found.join("\n")
    );
    // The test sees a leak when there is one.
    let planted = dir.join("src/leak.rs");
    std::fs::copy(Path::new(ROOT).join("solutions/ex08_up.rs"), &planted).unwrap();
    assert!(leaks(&dir).iter().any(|l| l.contains("src/leak.rs")));

    // Without --force a second release into the same folder is refused.
    let (code, text) = output(tree::checker().args(["--root", ROOT, "release"]).arg(&dir));
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("not empty") && text.contains("--force"),
        "{text}"
    );
    let (code, text) = output(
        tree::checker()
            .args(["--root", ROOT, "release", "--force"])
            .arg(&dir),
    );
    assert_eq!(code, 0, "{text}");
    assert!(!planted.exists(), "--force replaces what was there");
}

/// Grades `forks` for exercise 6 with the instructor's checker: the gradebook's rows
/// by submission name, and the reports.
fn grade(checker: Command, forks: &[&Path], out: &Path) -> (String, String) {
    let mut checker = checker;
    let (code, text) = output(
        checker
            .args(["--root", ROOT, "grade"])
            .args(forks)
            .args(["--exercises", "6", "--out"])
            .arg(out)
            .arg("--target-dir")
            .arg(tree::target_dir()),
    );
    assert_eq!(code, 0, "checker grade failed:\n{text}");
    (
        std::fs::read_to_string(out.join("gradebook.csv")).unwrap(),
        text,
    )
}

fn row<'a>(csv: &'a str, name: &str) -> Vec<&'a str> {
    csv.lines()
        .find(|l| l.starts_with(&format!("{name},")))
        .unwrap_or_else(|| panic!("no row for {name} in\n{csv}"))
        .split(',')
        .collect()
}

#[test]
fn a_release_is_solved_and_graded_with_its_hidden_checks() {
    let _turn = my_turn();
    let clock = Instant::now();
    let saved = SavedBinaries::save();
    let base = tempfile::tempdir().unwrap();
    let student = base.path().join("student");
    release_into(&mut saved.checker(), &student);
    let files = tree::walk(&student);
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(student.join(f)).unwrap().len())
        .sum();
    eprintln!(
        "release: {} files, {:.1} KiB",
        files.len(),
        bytes as f64 / 1024.0
    );

    // A git repository, as GitHub would hold it.
    let git = |dir: &Path, line: &str| {
        let (code, text) = output(&mut shell(
            dir,
            &format!("git -c user.name=student -c user.email=s@example.org {line}"),
        ));
        assert_eq!(code, 0, "git {line}:\n{text}");
    };
    git(&student, "init -q -b main");
    git(&student, "add -A");
    git(&student, "commit -q -m release");

    // Set-up: this repository's libtorch and virtual environment, linked in, so the
    // release's ./setup.sh finds everything in place and installs nothing.
    let root = Path::new(ROOT);
    for link in [".libtorch", ".venv"] {
        std::os::unix::fs::symlink(root.join(link).canonicalize().unwrap(), student.join(link))
            .unwrap();
    }
    let (code, text) = output(&mut shell(&student, "./setup.sh"));
    assert_eq!(code, 0, "./setup.sh:\n{text}");
    assert!(text.contains("already set up"), "{text}");

    // The stub: not implemented, and the hidden points are announced.
    let step = Instant::now();
    let (code, text) = output(&mut shell(&student, "cargo run --bin checker -- 6"));
    eprintln!(
        "checker 6 on the stub: {:.0} s",
        step.elapsed().as_secs_f64()
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not implemented"), "{text}");
    assert!(text.contains("0/10 points"), "{text}");
    assert!(
        text.contains("2 more point(s) from hidden checks"),
        "{text}"
    );

    // The crate's own tests pass on the untouched release.
    let step = Instant::now();
    let (code, text) = output(&mut shell(&student, "cargo test"));
    eprintln!(
        "cargo test in the release: {:.0} s",
        step.elapsed().as_secs_f64()
    );
    assert_eq!(code, 0, "cargo test in the release:\n{text}");
    assert!(
        !text.contains("ex06_double_conv"),
        "check targets ran:\n{text}"
    );

    // A solution copied in passes every visible check.
    std::fs::copy(
        root.join("solutions/ex06_double_conv.rs"),
        student.join("exercises/ex06_double_conv.rs"),
    )
    .unwrap();
    let (code, text) = output(&mut shell(&student, "cargo run --bin checker -- 6"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("passed — 10/10 points"), "{text}");
    git(&student, "commit -q -am 'exercise 6'");

    // A fork whose exercise only passes the visible checks, made (so its record
    // says) from an older release.
    let visible_only = base.path().join("visible_only");
    git(base.path(), "clone -q student visible_only");
    std::fs::copy(
        root.join("tests/fixtures/release/ex06_visible_only.rs"),
        visible_only.join("exercises/ex06_double_conv.rs"),
    )
    .unwrap();
    let record_path = visible_only.join("RELEASE.json");
    let record = std::fs::read_to_string(&record_path).unwrap();
    let older = record.replacen(
        &format!("\"{}\"", se05::grading::registry::EXERCISE_SET_VERSION),
        "\"2026.10-1\"",
        1,
    );
    assert_ne!(older, record);
    std::fs::write(&record_path, older).unwrap();
    git(
        &visible_only,
        "commit -q -am 'exercise 6, fitted to the visible checks'",
    );
    std::os::unix::fs::symlink(
        root.join(".libtorch").canonicalize().unwrap(),
        visible_only.join(".libtorch"),
    )
    .unwrap();
    let (code, text) = output(&mut shell(&visible_only, "cargo run --bin checker -- 6"));
    assert_eq!(code, 0, "the visible checks pass:\n{text}");
    assert!(text.contains("passed — 10/10 points"), "{text}");

    // The instructor grades both forks with the hidden checks.
    let step = Instant::now();
    let out = base.path().join("gradebook");
    let (csv, text) = grade(saved.checker(), &[&student, &visible_only], &out);
    eprintln!(
        "checker grade of two forks: {:.0} s",
        step.elapsed().as_secs_f64()
    );
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let good = row(&csv, "student");
    assert_eq!(good[col("ex06_double_conv")], "12", "{csv}\n{text}");
    assert_eq!(good[col("max_points")], "12", "{csv}");
    assert_eq!(good[col("changed_outside_exercises")], "0", "{csv}\n{text}");
    let fitted = row(&csv, "visible_only");
    assert_eq!(fitted[col("ex06_double_conv")], "10", "{csv}\n{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("visible_only.json")).unwrap()).unwrap();
    let hidden = report["exercises"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "larger_inputs_and_gradients")
        .cloned()
        .unwrap_or_else(|| panic!("no hidden check in {report:#}"));
    assert_eq!(hidden["status"], "failed", "{hidden:#}");
    assert!(
        hidden["message"]
            .as_str()
            .unwrap()
            .contains("got no gradient (conv.0.bias, conv.0.weight, conv.1.bias, conv.1.weight)"),
        "{hidden:#}"
    );
    let notes = report["submission"]["notes"].to_string();
    assert!(
        notes.contains("made from another release: exercise set 2026.10-1"),
        "{notes}"
    );
    assert!(
        report["submission"]["changed_outside_exercises"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{report:#}"
    );
    eprintln!("end-to-end test: {:.0} s", clock.elapsed().as_secs_f64());
}
