//! `checker release DIR`: the student repository, written from the instructor's.
//!
//! What a student needs ships: the exercise stubs (`exercises/`, and their pristine
//! copies in `checker/stubs/`), the visible checks and their snapshots, the support
//! library, the checker, the quizzes, the set-up, the Classroom workflow, and a README
//! generated from the registry. Left out: `solutions/` (every file in it, whatever a
//! later change adds there), the hidden checks' observers and judges, the instructor's
//! scripts, benchmarks, workflows and test suite (most of it grades `solutions/`).
//!
//! The release's Cargo.toml is the instructor's with the `hidden-checks` feature off,
//! the benchmarks gone and the check targets marked `test = false`: `cargo test` then
//! runs the crate's own tests, while `cargo test --test ex06_double_conv --no-run`
//! (what the checker runs) still builds a check target by name.
//!
//! The quizzes ship with their answers in plain text (`quizzes/bank/*.json`): each
//! option carries the explanation shown after answering, and those explanations say
//! which option is right, so hiding only the answer indices would hide nothing; quiz
//! scores are self-reported practice and `checker grade` marks them so.
//!
//! `RELEASE.json` records the exercise-set version, a digest of the checks and the
//! SHA-256 of every file, so that `checker grade` can say when a fork was made from
//! another release and which files differ from it.
use anyhow::{bail, Context};
use se05::grading::registry::{self, EXERCISES, EXERCISE_SET_VERSION, HIDDEN_CHECKS};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The release record's file name, at the root of the release.
pub const RECORD_FILE: &str = "RELEASE.json";
/// Format tag of the record.
pub const RECORD_FORMAT: &str = "se05-release/1";

/// The crate's own tests that ship (they need neither `solutions/` nor instructor
/// tools); the others stay with the instructor.
pub const RELEASED_TESTS: &[&str] = &[
    "tests/quiz_bank.rs",
    "tests/quiz_cli.rs",
    "tests/quiz_render.rs",
    "tests/reset_stubs.rs",
];

/// Scripts that ship; the others (timings, encoder parity) are the instructor's.
const RELEASED_SCRIPTS: &[&str] = &["scripts/grade.sh"];

/// Workflows that ship; any other workflow (e.g. grading a course) is the instructor's.
const RELEASED_WORKFLOWS: &[&str] = &[".github/workflows/classroom.yml"];

/// What `RELEASE.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub format: String,
    pub exercise_set_version: String,
    /// SHA-256 over the paths and contents of the checks (`checks/`) and the judges
    /// and library they use (`src/grading/`), as released.
    pub checks_digest: String,
    /// SHA-256 of every file of the release but this record, by path.
    pub files: BTreeMap<String, String>,
}

/// A release, in memory: its files (path → bytes) and what was left out, with why.
pub struct Release {
    pub files: BTreeMap<String, Vec<u8>>,
    pub left_out: Vec<(String, &'static str)>,
    pub record: Record,
}

/// Why a file of the instructor's repository stays out of the release, or `None`
/// when it ships (possibly rewritten).
pub fn left_out_because(rel: &str) -> Option<&'static str> {
    if rel.starts_with("checks/hidden/") || rel.starts_with("src/grading/exercises/hidden/") {
        return Some("hidden checks");
    }
    instructor_only(rel)
}

/// Why a file is the instructor's alone: neither students nor the code they write
/// may see it (the release leaves it out, so does `checker grade`'s grading copy).
/// The hidden checks are not among them: they grade, so the grading copy holds them.
pub fn instructor_only(rel: &str) -> Option<&'static str> {
    let top = rel.split('/').next().unwrap_or("");
    match top {
        "solutions" => Some("reference solutions"),
        "benches" => Some("benchmarks"),
        ".ci" => Some("the instructor's CI script"),
        "scripts" if !RELEASED_SCRIPTS.contains(&rel) => Some("instructor-only script"),
        ".github" if !RELEASED_WORKFLOWS.contains(&rel) => Some("instructor workflow"),
        "tests" if !RELEASED_TESTS.contains(&rel) && !released_snapshot(rel) => {
            Some("instructor test suite (grades solutions/ or needs instructor tools)")
        }
        _ if rel == RECORD_FILE => Some("an earlier release record"),
        _ => None,
    }
}

/// An insta snapshot of one of the released tests (`tests/snapshots/<test>__….snap`).
fn released_snapshot(rel: &str) -> bool {
    rel.strip_prefix("tests/snapshots/")
        .and_then(|name| name.split_once("__"))
        .is_some_and(|(test, _)| {
            !test.contains('/') && RELEASED_TESTS.contains(&format!("tests/{test}.rs").as_str())
        })
}

/// SHA-256 of `bytes`, hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest of the checks among `files`: every path under `checks/` or
/// `src/grading/` with its content, in path order.
pub fn checks_digest(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut h = Sha256::new();
    for (rel, bytes) in files {
        if rel.starts_with("checks/") || rel.starts_with("src/grading/") {
            h.update((rel.len() as u64).to_le_bytes());
            h.update(rel.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The release of the repository at `root`, in memory.
pub fn plan(root: &Path) -> anyhow::Result<Release> {
    let mut files = BTreeMap::new();
    let mut left_out = Vec::new();
    for rel in se05::io::source_tree::source_files(root)? {
        if let Some(why) = left_out_because(&rel) {
            left_out.push((rel, why));
            continue;
        }
        let path = root.join(&rel);
        let meta = path.symlink_metadata()?;
        if !meta.is_file() {
            left_out.push((rel, "not a plain file"));
            continue;
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let bytes = match rel.as_str() {
            "Cargo.toml" => release_toml(&String::from_utf8_lossy(&bytes))?.into_bytes(),
            "README.md" => readme().into_bytes(),
            _ => bytes,
        };
        files.insert(rel, bytes);
    }
    for needed in ["Cargo.toml", "README.md", "setup.sh", "checker/main.rs"] {
        if !files.contains_key(needed) {
            bail!(
                "{} has no {needed}: is it the workshop's repository?",
                root.display()
            );
        }
    }
    // The pristine stubs are what students start from: exercises/ as it is in the
    // instructor's tree may hold work in progress.
    for ex in EXERCISES {
        let stub = crate::reset::stub(root, ex)?;
        files.insert(ex.exercise_file(), stub);
    }
    let record = Record {
        format: RECORD_FORMAT.to_string(),
        exercise_set_version: EXERCISE_SET_VERSION.to_string(),
        checks_digest: checks_digest(&files),
        files: files
            .iter()
            .map(|(rel, bytes)| (rel.clone(), sha256_hex(bytes)))
            .collect(),
    };
    let mut json = serde_json::to_vec_pretty(&record)?;
    json.push(b'\n');
    files.insert(RECORD_FILE.to_string(), json);
    Ok(Release {
        files,
        left_out,
        record,
    })
}

/// The release's Cargo.toml: `hidden-checks` out of the default features, no
/// benchmarks, check targets (`path = "checks/…"`) not run by a plain `cargo test`.
pub fn release_toml(toml: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(toml.len());
    let mut default_seen = false;
    // Sections are rewritten whole: split at each line that opens one.
    let mut sections: Vec<String> = vec![String::new()];
    for line in toml.split_inclusive('\n') {
        if line.trim_start().starts_with('[') {
            sections.push(String::new());
        }
        sections.last_mut().expect("one section").push_str(line);
    }
    for section in sections {
        let head = section.trim_start().lines().next().unwrap_or("").trim();
        if head == "[[bench]]" {
            continue;
        }
        if head == "[features]" {
            let mut rewritten = String::new();
            for line in section.split_inclusive('\n') {
                if line.trim_start().starts_with("default") {
                    default_seen = true;
                    rewritten.push_str(
                        &line
                            .replace(", \"hidden-checks\"", "")
                            .replace("\"hidden-checks\", ", "")
                            .replace("\"hidden-checks\"", ""),
                    );
                } else if line.trim_start().starts_with("hidden-checks") {
                    rewritten.push_str(
                        "# Not in this release: the hidden checks are the instructor's.\n",
                    );
                    rewritten.push_str(line);
                } else {
                    rewritten.push_str(line);
                }
            }
            out.push_str(&rewritten);
            continue;
        }
        if head == "[[test]]" && section.contains("path = \"checks/") {
            // Built by name by the checker; a plain `cargo test` leaves them alone,
            // since the stubs are unsolved until the student solves them.
            let body = section.trim_end_matches('\n');
            out.push_str(body);
            out.push_str("\ntest = false\n");
            let trailing = section.len() - body.len();
            if trailing > 1 {
                out.push('\n');
            }
            continue;
        }
        out.push_str(&section);
    }
    if !default_seen {
        bail!("Cargo.toml has no `default` features line to take `hidden-checks` out of");
    }
    let default_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("default"))
        .unwrap_or("");
    if default_line.contains("hidden-checks") {
        bail!("could not take `hidden-checks` out of Cargo.toml's default features");
    }
    Ok(out)
}

/// The student README, generated from the registry.
pub fn readme() -> String {
    let hidden_total: u32 = HIDDEN_CHECKS.iter().map(|h| h.points).sum();
    let total = registry::total_points();
    let mut table = String::from(
        "| # | Exercise | Notebook | File | Needs | Points here | Hidden points |\n|---|---|---|---|---|---|---|\n",
    );
    for e in EXERCISES {
        let needs = if e.depends_on.is_empty() {
            "–".to_string()
        } else {
            e.depends_on
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let hidden = registry::hidden_points(e.number);
        table.push_str(&format!(
            "| {} | {} | §{} | `{}` | {} | {} | {} |\n",
            e.number,
            e.title,
            e.section,
            e.exercise_file(),
            needs,
            e.visible_points(),
            if hidden == 0 {
                "–".to_string()
            } else {
                hidden.to_string()
            }
        ));
    }
    format!(
        r#"# SE05 Transfer Learning — the Rust workshop

Skin-lesion segmentation on the ISIC 2016 data, in Rust with
[tch](https://crates.io/crates/tch): build a U-Net from its blocks, train it with a
Dice loss, then reuse an ImageNet-pretrained EfficientNet as its encoder. You fill in
the stubs in `exercises/`; the checker compiles your code, runs it against
behavioural checks and tells you what passes, what does not and where to look.

Exercise set {EXERCISE_SET_VERSION} (`RELEASE.json` records it with a digest of the
checks; this README is generated by `checker release`).

## Set up (once)

```sh
./setup.sh
```

It creates `.venv/` with PyPI's `torch==2.11.0` (the libtorch tch binds; about
4.6 GB) and links `.libtorch` to it. It needs `python3` (3.10+) with `venv` and
`pip`, a Rust toolchain and a C++ compiler, and says what to install when one is
missing. It is safe to run again.

## Grade your work

```sh
cargo run --bin checker -- 6
```

On the untouched stub this says *not implemented*; once your code is in, it says
which checks pass, what each failing one expected and what your code gave.

| command | what it does |
|---|---|
| `cargo run --bin checker -- 6` | grade exercise 6 (also `6-9`, `6 8 10`, `all`) |
| `cargo run --bin checker -- --hint 6` | the next hint for exercise 6 |
| `cargo run --bin checker -- --list` | your status and points per exercise, quiz scores |
| `cargo run --bin checker -- watch` | grade again each time you save |
| `cargo run --bin checker -- reset 6` | put back the original stub (your file is backed up in `.se05/backups/`) |
| `cargo run --bin checker -- show 5` | draw the data your code produces into `results/` (`show 1`, `show 4`, `show 5`) |
| `cargo run --bin checker -- train` | the final training stage, once every exercise passes |
| `cargo run --bin quiz -- 1` | quiz 1 of 5 (`quiz all`, `quiz --list`) |

Work in order: an exercise whose dependencies fail is reported as *blocked*.

## Exercises

{table}
This copy's checks award {visible} of the {total} points. The other {hidden_total}
come from **hidden checks** that your instructor runs when grading your repository
(`checker grade`): more inputs of the same kind (other sizes and channel counts) and
properties of the same code, such as every layer taking part in the output. Code that
does what its exercise asks passes them; code fitted to the visible checks may not.
Each verdict says how many points of the exercise are kept for that grading.

## The workshop's own tests

```sh
cargo test
```

runs the tests of the support library, the checker and the quizzes, and passes on
the untouched repository: your exercises are the checker's business, not a test
failure.

## Grading on GitHub

Every push runs `.github/workflows/classroom.yml`, which grades each exercise with
the checker (one runner per exercise, one test per check worth its points) for
GitHub Classroom. Only your files in `exercises/` count when your instructor grades:
changes elsewhere are listed and have no effect.

## The quizzes

The quizzes are practice: each answer comes with an explanation of every option, and
the questions with their answers are in `quizzes/bank/` in plain text (hiding the
answer letters would not hide the explanations that give them away). Scores are
recorded in `.se05/progress.json` and reported as self-reported.
"#,
        visible = total - hidden_total,
    )
}

/// Writes the release of `root` into `dir`. Refuses a folder that is not empty
/// unless `force`, which empties it first (a `.git` folder is kept, so a release can
/// refresh a checkout of the published repository).
pub fn run(root: &Path, dir: &Path, force: bool) -> anyhow::Result<bool> {
    let release = plan(root)?;
    if dir.exists() {
        anyhow::ensure!(
            dir.is_dir(),
            "{} exists and is not a folder: choose another path",
            dir.display()
        );
        let entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .collect::<Result<_, _>>()?;
        let others: Vec<_> = entries
            .iter()
            .filter(|e| !(force && e.file_name() == ".git"))
            .collect();
        if !entries.is_empty() && !force {
            bail!(
                "{} is not empty ({} entries): release into a new or empty folder, or pass \
                 --force to replace its contents (a .git folder is kept)",
                dir.display(),
                entries.len()
            );
        }
        for e in others {
            let path = e.path();
            if e.file_type()?.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
            .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let root_canon = root.canonicalize()?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    anyhow::ensure!(
        !dir.canonicalize()?.starts_with(&root_canon),
        "{} lies inside the instructor's repository: release outside it",
        dir.display()
    );
    let mut bytes_total = 0usize;
    for (rel, bytes) in &release.files {
        let to = dir.join(rel);
        se05::io::fsutil::write_atomic(&to, bytes)?;
        bytes_total += bytes.len();
        // Keep the executable bit of scripts (setup.sh, scripts/grade.sh).
        if let Ok(meta) = std::fs::metadata(root.join(rel)) {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o111 != 0 {
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755))?;
            }
        }
    }
    println!(
        "Release of exercise set {} written to {}: {} files, {:.1} KiB; checks digest {}",
        release.record.exercise_set_version,
        dir.display(),
        release.files.len(),
        bytes_total as f64 / 1024.0,
        &release.record.checks_digest[..16]
    );
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (rel, why) in &release.left_out {
        by_reason.entry(why).or_default().push(rel);
    }
    println!("Left out:");
    for (why, files) in by_reason {
        let shown: Vec<&str> = files.iter().take(6).copied().collect();
        let more = if files.len() > 6 {
            format!(", … ({} more)", files.len() - 6)
        } else {
            String::new()
        };
        println!("  {why} ({}): {}{more}", files.len(), shown.join(", "));
    }
    println!(
        "The quizzes ship with their answers (quizzes/bank/): practice with explanations, self-reported scores."
    );
    Ok(true)
}

/// The record of the release a fork was made from, if it has one.
pub fn read_record(fork: &Path) -> Option<anyhow::Result<Record>> {
    let path = fork.join(RECORD_FILE);
    let meta = path.symlink_metadata().ok()?;
    if !meta.is_file() || meta.len() > 4 << 20 {
        return Some(Err(anyhow::anyhow!(
            "{RECORD_FILE} is not a plain file of reasonable size"
        )));
    }
    Some(
        std::fs::read(&path)
            .map_err(anyhow::Error::from)
            .and_then(|b| serde_json::from_slice::<Record>(&b).map_err(anyhow::Error::from))
            .with_context(|| format!("{} is not a release record", path.display())),
    )
}

/// How a fork's release differs from the current one: None when it is the same,
/// else a sentence and the files that differ between the two releases.
pub fn compare_records(fork: &Record, current: &Record) -> Option<(String, Vec<String>)> {
    if fork.exercise_set_version == current.exercise_set_version
        && fork.checks_digest == current.checks_digest
        && fork.files == current.files
    {
        return None;
    }
    let mut files = Vec::new();
    for (rel, hash) in &current.files {
        match fork.files.get(rel) {
            None => files.push(format!("new since: {rel}")),
            Some(h) if h != hash => files.push(format!("changed since: {rel}")),
            _ => {}
        }
    }
    for rel in fork.files.keys() {
        if !current.files.contains_key(rel) {
            files.push(format!("gone since: {rel}"));
        }
    }
    let checks = if fork.checks_digest == current.checks_digest {
        "the same checks"
    } else {
        "different checks"
    };
    Some((
        format!(
            "made from another release: exercise set {} (checks {}), now {} (checks {}), {checks}; \
             it is graded with the current checks",
            fork.exercise_set_version,
            &fork.checks_digest[..fork.checks_digest.len().min(12)],
            current.exercise_set_version,
            &current.checks_digest[..12],
        ),
        files,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructor_files_stay_out() {
        for (rel, out) in [
            ("solutions/ex06_double_conv.rs", true),
            ("solutions/mistakes/ex06_no_relu.rs", true),
            ("checks/hidden/ex06_double_conv.rs", true),
            ("src/grading/exercises/hidden/mod.rs", true),
            ("benches/loader.rs", true),
            ("scripts/edit_to_verdict.sh", true),
            ("tests/grade_submissions.rs", true),
            (".github/workflows/grade-course.yml", true),
            ("scripts/grade.sh", false),
            ("tests/quiz_cli.rs", false),
            (
                "tests/snapshots/quiz_render__rendered_question_snapshot.snap",
                false,
            ),
            ("tests/snapshots/classroom_format__x.snap", true),
            (".github/workflows/classroom.yml", false),
            (".devcontainer/devcontainer.json", false),
            ("checks/ex06_double_conv.rs", false),
            ("src/grading/exercises/ex06_double_conv.rs", false),
            ("exercises/ex06_double_conv.rs", false),
            ("quizzes/bank/quiz1.json", false),
        ] {
            assert_eq!(left_out_because(rel).is_some(), out, "{rel}");
        }
    }

    #[test]
    fn the_release_manifest_has_no_hidden_feature_benches_or_tested_checks() {
        let toml =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
        // In the instructor's repository: its manifest, released; in a release: the
        // released manifest as it is.
        let instructor = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("solutions")
            .is_dir();
        let out = if instructor {
            assert!(toml.contains("\"hidden-checks\"]"), "instructor default");
            release_toml(&toml).unwrap()
        } else {
            toml
        };
        let default = out.lines().find(|l| l.starts_with("default")).unwrap();
        assert!(!default.contains("hidden-checks"), "{default}");
        assert!(!out.contains("[[bench]]"));
        let checks = out.matches("path = \"checks/").count();
        assert!(checks >= 12, "{checks}");
        assert_eq!(out.matches("test = false").count(), checks);
        // Everything else is untouched.
        assert!(out.contains("[dependencies]\ntch = "));
        assert!(release_toml("[package]\nname = \"x\"\n").is_err());
    }

    #[test]
    fn records_compare_by_files_and_checks() {
        let mut a = Record {
            format: RECORD_FORMAT.into(),
            exercise_set_version: "1".into(),
            checks_digest: "aaaaaaaaaaaaaaaa".into(),
            files: [("x".to_string(), "1".to_string())].into(),
        };
        assert!(compare_records(&a, &a).is_none());
        let renamed = Record {
            exercise_set_version: "0".into(),
            ..a.clone()
        };
        let (line, files) = compare_records(&renamed, &a).unwrap();
        assert!(
            line.contains("exercise set 0") && files.is_empty(),
            "{line}"
        );
        let b = Record {
            exercise_set_version: "2".into(),
            checks_digest: "bbbbbbbbbbbbbbbb".into(),
            files: [("y".to_string(), "1".to_string())].into(),
            ..a.clone()
        };
        let (line, files) = compare_records(&a, &b).unwrap();
        assert!(
            line.contains("exercise set 1") && line.contains("now 2"),
            "{line}"
        );
        assert_eq!(files, ["new since: y", "gone since: x"]);
        a.files.insert("y".into(), "0".into());
        let (_, files) = compare_records(&a, &b).unwrap();
        assert_eq!(files, ["changed since: y", "gone since: x"]);
    }

    #[test]
    fn the_readme_lists_every_exercise_and_the_hidden_points() {
        let text = readme();
        for e in EXERCISES {
            assert!(text.contains(&e.exercise_file()), "{}", e.slug);
        }
        assert!(text.contains(EXERCISE_SET_VERSION));
        assert!(text.contains("cargo run --bin checker -- 6"));
        assert!(
            !text.contains("solutions"),
            "the student README names no solutions"
        );
    }
}
