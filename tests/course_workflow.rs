//! The course workflow's own steps (`.github/workflows/grade-course.yml`), run here on
//! a small class of local forks: the clone step with a stand-in `git` that copies
//! local folders, the grade step with a stand-in `cargo` that runs this build's
//! checker. Honest forks get their points; forks that link their way to the
//! instructor's solutions get no more than their honest (stub) points; no fork is
//! flagged for what cargo does; the token never lands in a fork's `.git/config`.
#[path = "fixtures/submissions/tree.rs"]
mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tree::{put, ROOT};

const WORKFLOW: &str = ".github/workflows/grade-course.yml";
const TOKEN: &str = "ghp_notarealtokenbutasecretone";

/// A step of the workflow: its `env:` entries and its `run:` script.
struct Step {
    env: Vec<(String, String)>,
    script: String,
}

/// The step whose name starts with `name`, read from the workflow's text (the
/// generator in checker/course.rs writes one `- name:` line per step).
fn step(yaml: &str, name: &str) -> Step {
    let lines: Vec<&str> = yaml.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("- name: {name}")))
        .unwrap_or_else(|| panic!("no step `{name}` in {WORKFLOW}"));
    let indent = lines[start].len() - lines[start].trim_start().len();
    let body: Vec<&str> = lines[start + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .copied()
        .collect();
    let block = |key: &str| -> Vec<&str> {
        let Some(at) = body.iter().position(|l| l.trim_start().starts_with(key)) else {
            return Vec::new();
        };
        let own = body[at].len() - body[at].trim_start().len();
        body[at + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > own)
            .copied()
            .collect()
    };
    let env = block("env:")
        .iter()
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let run = block("run: |");
    let cut = run
        .iter()
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let script = run
        .iter()
        .map(|l| l.get(cut..).unwrap_or(""))
        .collect::<Vec<_>>();
    Step {
        env,
        script: script.join("\n") + "\n",
    }
}

/// Runs a step's script as GitHub runs `run:` (bash -eo pipefail) in `cwd`, with the
/// step's `env:` given the values GitHub would put in (`values` by name).
fn run_step(s: &Step, cwd: &Path, values: &BTreeMap<&str, String>, extra: &[(&str, String)]) {
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &s.script])
        .current_dir(cwd);
    for (name, expression) in &s.env {
        let value = values
            .get(name.as_str())
            .unwrap_or_else(|| panic!("no test value for {name}: {expression}"));
        cmd.env(name, value);
    }
    for (name, value) in extra {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "step failed:\n{}\nstdout:\n{}\nstderr:\n{}",
        s.script,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fork of the class: the instructor's tree without its solutions, then `edit`.
fn fork(forks: &Path, instructor: &Path, name: &str, edit: impl FnOnce(&Path)) {
    let dir = forks.join("class").join(name);
    tree::copy_all(instructor, &dir);
    std::fs::remove_dir_all(dir.join("solutions")).unwrap();
    edit(&dir);
}

fn real_cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

#[test]
fn the_workflow_s_steps_grade_a_class_of_local_forks() {
    let instructor = tree::stable_copy("course-instructor");
    // `--target-dir target` in the grade step: this build's target folder.
    let link = instructor.join("target");
    if link.symlink_metadata().is_err() {
        std::os::unix::fs::symlink(tree::target_dir(), &link).unwrap();
    }
    let temp = tempfile::tempdir().unwrap();
    let (forks, runner_temp) = (temp.path().join("sources"), temp.path().join("runner"));
    std::fs::create_dir_all(&runner_temp).unwrap();
    let solutions = instructor.join("solutions");

    fork(&forks, &instructor, "honest", |d| {
        put(
            d,
            "exercises/ex06_double_conv.rs",
            "solutions/ex06_double_conv.rs",
        )
    });
    fork(&forks, &instructor, "partial", |_| {});
    fork(&forks, &instructor, "linked_folder", |d| {
        std::fs::remove_dir_all(d.join("exercises")).unwrap();
        std::os::unix::fs::symlink(&solutions, d.join("exercises")).unwrap();
    });
    fork(&forks, &instructor, "linked_cwd", |d| {
        std::fs::remove_dir_all(d.join("exercises")).unwrap();
        std::os::unix::fs::symlink("/proc/self/cwd/solutions", d.join("exercises")).unwrap();
    });
    fork(&forks, &instructor, "linked_file", |d| {
        let file = d.join("exercises/ex06_double_conv.rs");
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(solutions.join("ex06_double_conv.rs"), &file).unwrap();
    });
    // `#[path\u{200E}= ...]`: rustc reads the mark as a space; the policy refuses it.
    fork(&forks, &instructor, "invisible_path", |d| {
        put(
            d,
            "exercises/ex06_double_conv.rs",
            "tests/fixtures/attacks/ex06_invisible_path.rs",
        )
    });
    let roster = temp.path().join("roster.txt");
    std::fs::write(
        &roster,
        "# the class\nclass/honest\nclass/partial\nclass/linked_folder\nclass/linked_cwd\nclass/linked_file\nclass/invisible_path\nclass/gone\n",
    )
    .unwrap();

    let stand_ins = Path::new(ROOT).join("tests/fixtures/course");
    let path = format!(
        "{}:{}",
        stand_ins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let git_log = temp.path().join("git.log");
    let extra = [
        ("PATH", path),
        ("RUNNER_TEMP", runner_temp.display().to_string()),
        (
            "SE05_TEST_CHECKER",
            env!("CARGO_BIN_EXE_checker").to_string(),
        ),
        ("SE05_TEST_REAL_CARGO", real_cargo().display().to_string()),
        ("CARGO", real_cargo().display().to_string()),
        ("SE05_TEST_FORKS", forks.display().to_string()),
        ("SE05_TEST_GIT_LOG", git_log.display().to_string()),
    ];
    let values: BTreeMap<&str, String> = [
        ("ROSTER", roster.display().to_string()),
        ("SLICE", "1/1".to_string()),
        ("ROSTER_TOKEN", TOKEN.to_string()),
        ("EXERCISES", "6".to_string()),
        ("OUT", "gradebook-1".to_string()),
    ]
    .into_iter()
    .collect();

    let yaml = std::fs::read_to_string(Path::new(ROOT).join(WORKFLOW)).unwrap();
    run_step(
        &step(&yaml, "Clone this slice's forks"),
        &instructor,
        &values,
        &extra,
    );
    run_step(
        &step(&yaml, "Grade this slice"),
        &instructor,
        &values,
        &extra,
    );

    // The token went into a header of the clone, never into a URL or a fork's files.
    let log = std::fs::read_to_string(&git_log).unwrap();
    assert!(
        log.contains("http.extraheader=AUTHORIZATION: basic "),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "{log}");
    for entry in std::fs::read_dir(runner_temp.join("forks")).unwrap() {
        let config = std::fs::read_to_string(entry.unwrap().path().join(".git/config")).unwrap();
        assert!(!config.contains(TOKEN), "{config}");
    }

    let out = instructor.join("gradebook-1");
    let failures = std::fs::read_to_string(out.join("clone-failures.txt")).unwrap();
    assert_eq!(failures.trim(), "class/gone: could not be cloned");
    let book = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let rows: BTreeMap<String, String> = book
        .lines()
        .skip(1)
        .map(|l| (l.split(',').next().unwrap().to_string(), l.to_string()))
        .collect();
    let report = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(out.join(format!("{name}.json")))
            .unwrap_or_else(|_| panic!("no report for {name}; gradebook:\n{book}"));
        serde_json::from_str(&text).unwrap()
    };
    assert_eq!(rows.len(), 6, "{book}");
    assert!(
        !book.contains("SUSPICIOUS"),
        "an honest run was flagged:\n{book}"
    );
    let honest = report("class__honest");
    assert_eq!(
        honest["points_earned"], honest["points_possible"],
        "{honest:#}"
    );
    assert!(
        honest["points_earned"].as_u64().unwrap() >= 10,
        "{honest:#}"
    );
    for name in [
        "partial",
        "linked_folder",
        "linked_cwd",
        "linked_file",
        "invisible_path",
    ] {
        let r = report(&format!("class__{name}"));
        assert_eq!(r["points_earned"], 0, "{name} earned points:\n{r:#}");
        if name.starts_with("linked") {
            let notes = r["submission"]["notes"].to_string();
            assert!(notes.contains("symbolic link"), "{name}: {notes}");
        }
        if name == "invisible_path" {
            assert_eq!(r["exercises"][0]["status"], "compile_error", "{r:#}");
            assert!(r.to_string().contains("U+200E"), "{r:#}");
        }
    }
    std::fs::remove_dir_all(&out).unwrap();
}
