//! The course workflow's own steps (`.github/workflows/grade-course.yml`), run here on
//! a small class of local forks: the clone step with a stand-in `git` that copies
//! local folders, the grade step with a stand-in `cargo` that runs this build's
//! checker. Honest forks get their points; forks that link their way to the
//! instructor's solutions get no more than their honest (stub) points; no fork is
//! flagged for what cargo does; the token never lands in a fork's `.git/config`.
#[path = "fixtures/submissions/tree.rs"]
mod tree;
#[path = "support/workflow.rs"]
mod workflow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tree::{put, ROOT};

const WORKFLOW: &str = ".github/workflows/grade-course.yml";
const TOKEN: &str = "ghp_notarealtokenbutasecretone";

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
    let values = [
        ("ROSTER", roster.display().to_string()),
        ("SLICE", "1/1".to_string()),
        ("ROSTER_TOKEN", TOKEN.to_string()),
        ("EXERCISES", "6".to_string()),
        ("OUT", "gradebook-1".to_string()),
    ];
    let env: Vec<(&str, String)> = extra.into_iter().chain(values).collect();
    let yaml = std::fs::read_to_string(Path::new(ROOT).join(WORKFLOW)).unwrap();
    for name in [
        "- name: Clone this slice's forks",
        "- name: Grade this slice",
    ] {
        let step = workflow::step(&yaml, name);
        workflow::succeeded(&step, &step.run(&instructor, &env));
    }

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
