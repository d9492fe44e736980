//! `checker grade SUBMISSION_DIR...`: grades students' forks without trusting them.
//!
//! Only the exercise files named in the registry (`exercises/<slug>.rs`) are taken
//! from a submission, as bytes of plain files (`fork.rs`: no link on the way). They go
//! into the grading copy (`grading_copy.rs`: the instructor's checks, snapshots,
//! library and checker, nothing instructor-only, outside the instructor's checkout),
//! which is graded with the usual runner and per-exercise time limits. Whatever else
//! the fork changed is listed as a warning and has no effect.
//!
//! Output, in `--out DIR`: `gradebook.csv` (one row per submission) and
//! `<submission>.json` (the se05-report/1 report plus a `submission` object).
use crate::grading_copy::{self, GradingCopy};
use crate::report::Report;
use crate::runner::{self, ExerciseResult, RunConfig};
use crate::ui;
use anyhow::Context;
use colored::Colorize;
use se05::grading::progress::{Progress, QuizRecord};
use se05::grading::registry::{self, EXERCISES};
use se05::grading::text::{inert, make_inert};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `checker grade` was asked to do.
pub struct GradeArgs {
    pub submissions: Vec<PathBuf>,
    pub out: PathBuf,
    pub numbers: Vec<u32>,
    /// Keep points of exercises whose run changed files of the grading copy.
    pub trust_flagged: bool,
}

/// The content of a file, or the target of a symbolic link (never followed).
fn content(path: &Path) -> Option<Vec<u8>> {
    let meta = path.symlink_metadata().ok()?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).ok()?;
        Some(format!("symlink -> {}", target.display()).into_bytes())
    } else {
        std::fs::read(path).ok()
    }
}

/// One graded submission.
struct Graded {
    name: String,
    dir: PathBuf,
    /// Files the fork changed outside exercises/: "modified: checks/ex10_dice_loss.rs".
    changed: Vec<String>,
    notes: Vec<String>,
    quizzes: Option<BTreeMap<u32, QuizRecord>>,
    report: Report,
}

#[derive(Serialize)]
struct SubmissionInfo<'a> {
    name: &'a str,
    path: String,
    /// Changes outside exercises/, which had no effect on grading.
    changed_outside_exercises: &'a [String],
    notes: &'a [String],
    /// Copied from the fork's .se05/progress.json: not verified.
    quizzes_self_reported: &'a Option<BTreeMap<u32, QuizRecord>>,
}

#[derive(Serialize)]
struct SubmissionReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    submission: SubmissionInfo<'a>,
}

fn safe_name(dir: &Path) -> String {
    let base = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "submission".to_string());
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        "submission".to_string()
    } else {
        clean
    }
}

/// Lists what the fork changed outside exercises/ compared with this repository.
fn outside_changes(
    root: &Path,
    root_files: &BTreeSet<String>,
    fork: &Path,
    fork_files: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for rel in root_files.union(fork_files) {
        if rel.starts_with("exercises/") {
            continue;
        }
        match (root_files.contains(rel), fork_files.contains(rel)) {
            (true, false) => out.push(format!("deleted: {rel}")),
            (false, true) => out.push(format!("added: {rel}")),
            _ => {
                if content(&root.join(rel)) != content(&fork.join(rel)) {
                    out.push(format!("modified: {rel}"));
                }
            }
        }
    }
    out
}

/// Lists what the fork changed outside exercises/ compared with the release it was
/// made from, as its `RELEASE.json` records it (file hashes).
fn changes_since_release(
    record: &crate::release::Record,
    fork: &Path,
    fork_files: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let skip = |rel: &str| rel.starts_with("exercises/") || rel == crate::release::RECORD_FILE;
    for rel in fork_files.iter().filter(|r| !skip(r)) {
        match record.files.get(rel) {
            None => out.push(format!("added: {rel}")),
            Some(hash) => {
                let now = content(&fork.join(rel)).map(|b| crate::release::sha256_hex(&b));
                if now.as_deref() != Some(hash.as_str()) {
                    out.push(format!("modified: {rel}"));
                }
            }
        }
    }
    for rel in record.files.keys().filter(|r| !skip(r)) {
        if !fork_files.contains(rel) {
            out.push(format!("deleted: {rel}"));
        }
    }
    out.sort_by(|a, b| {
        let path = |s: &str| s.split_once(": ").map(|(_, p)| p.to_string());
        path(a).cmp(&path(b))
    });
    out
}

/// Reads the fork's exercise files into the tree; returns notes on what was odd.
fn install_exercises(
    root: &Path,
    tree: &Path,
    fork: &Path,
    fork_files: &BTreeSet<String>,
    graded: &[u32],
) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    for ex in EXERCISES {
        // Notes only about the exercises graded.
        let mut notes_here = Vec::new();
        let rel = ex.exercise_file();
        // Taken as bytes only from a plain file with no link on its path.
        let bytes = match crate::fork::read_plain(fork, &rel) {
            Ok(bytes) => Some(bytes),
            Err(refused) => {
                notes_here.push(format!(
                    "{}: exercise {} graded as the untouched stub",
                    refused.describe(&rel),
                    ex.number
                ));
                None
            }
        };
        let bytes = match bytes {
            Some(b) => b,
            // The stub as shipped; this tree's own exercise file if there is no copy.
            None => match crate::reset::stub(root, ex) {
                Ok(stub) => stub,
                Err(e) => std::fs::read(root.join(&rel)).map_err(|_| e)?,
            },
        };
        grading_copy::sync_file(&tree.join(&rel), &bytes)?;
        if graded.contains(&ex.number) {
            notes.extend(notes_here);
        }
    }
    for rel in fork_files {
        if rel.starts_with("exercises/") && !grading_copy::is_exercise_file(rel) {
            notes.push(format!("{rel} is not an exercise file: ignored"));
        }
    }
    Ok(notes)
}

fn read_quizzes(fork: &Path, notes: &mut Vec<String>) -> Option<BTreeMap<u32, QuizRecord>> {
    const REL: &str = ".se05/progress.json";
    let parsed = match crate::fork::read_plain(fork, REL) {
        Err(crate::fork::Refused::Missing) => return None,
        Err(refused) => Err(refused.describe(REL)),
        Ok(bytes) => serde_json::from_slice::<Progress>(&bytes).map_err(|e| e.to_string()),
    };
    match parsed {
        Ok(p) => Some(p.quizzes),
        Err(e) => {
            notes.push(format!("{REL} unreadable, quiz scores left out: {e}"));
            None
        }
    }
}

fn quiz_count(root: &Path) -> u32 {
    let n = std::fs::read_dir(root.join("quizzes").join("bank"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with("quiz") && name.ends_with(".json")
                })
                .count() as u32
        })
        .unwrap_or(0);
    if n == 0 {
        5
    } else {
        n
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The gradebook: one row per submission.
fn gradebook(graded: &[Graded], numbers: &[u32], quizzes: u32, exercise_set: &str) -> String {
    let mut header = vec!["submission".to_string(), "status".to_string()];
    header.extend(
        numbers
            .iter()
            .filter_map(|n| registry::get(*n))
            .map(|e| e.slug.to_string()),
    );
    header.extend(["points".to_string(), "max_points".to_string()]);
    header.extend((1..=quizzes).map(|q| format!("quiz{q}_self_reported")));
    header.extend(["changed_outside_exercises".to_string(), "notes".to_string()]);
    // Which checks graded the row: `checker gradebook merge` refuses to mix sets.
    header.push("exercise_set".to_string());
    let mut out = header.join(",") + "\n";
    for g in graded {
        let mut row = vec![g.name.clone(), g.report.status.clone()];
        for n in numbers {
            let cell = g
                .report
                .exercises
                .iter()
                .find(|r| r.number == *n)
                .map(|r| r.points_earned.to_string())
                .unwrap_or_default();
            row.push(cell);
        }
        row.push(g.report.points_earned.to_string());
        row.push(g.report.points_possible.to_string());
        for q in 1..=quizzes {
            let cell = g
                .quizzes
                .as_ref()
                .and_then(|m| m.get(&q))
                .map(|r| format!("{}/{}", r.best_score, r.max_score))
                .unwrap_or_default();
            row.push(cell);
        }
        row.push(g.changed.len().to_string());
        let mut notes: Vec<String> = g
            .report
            .exercises
            .iter()
            .filter(|r| r.status != se05::grading::Status::Passed)
            .map(|r| format!("ex{:02} {}", r.number, r.status.label()))
            .collect();
        notes.extend(g.notes.iter().cloned());
        if let Some(e) = &g.report.error {
            notes.insert(0, e.clone());
        }
        row.push(notes.join("; "));
        row.push(exercise_set.to_string());
        out.push_str(
            &row.iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn print_result_line(r: &ExerciseResult) {
    println!(
        "  {:>2} {:<22} {:<17} {:>3}/{:<3}",
        r.number,
        r.title,
        ui::paint(r.status, r.status.label()),
        r.points_earned,
        r.points_possible
    );
}

/// The exercise set that grades here: the registry's version and a digest of the
/// instructor's checks (hidden ones included), e.g. `2026.11-2/1f0c…`.
fn grading_set(root: &Path, root_files: &BTreeSet<String>) -> anyhow::Result<String> {
    let mut checks = BTreeMap::new();
    for rel in root_files
        .iter()
        .filter(|r| r.starts_with("checks/") || r.starts_with("src/grading/"))
    {
        let bytes = std::fs::read(root.join(rel))
            .with_context(|| format!("cannot read {}", root.join(rel).display()))?;
        checks.insert(rel.clone(), bytes);
    }
    let digest = crate::release::checks_digest(&checks);
    Ok(format!(
        "{}/{}",
        registry::EXERCISE_SET_VERSION,
        &digest[..12]
    ))
}

/// Grades every submission; Ok(false) when one of them could not be graded at all.
pub fn run(base: &RunConfig, args: &GradeArgs) -> anyhow::Result<bool> {
    anyhow::ensure!(
        !args.submissions.is_empty(),
        "name at least one submission folder: `checker grade path/to/fork ...`"
    );
    let session = Session::open(base, args)?;
    let mut graded: Vec<Graded> = Vec::new();
    let mut used_names = BTreeSet::new();
    let mut all_graded = true;
    for dir in &args.submissions {
        let name = unique_name(dir, &mut used_names);
        println!(
            "\n{} {}  {}",
            "Submission".bold(),
            name.bold(),
            inert(&dir.display().to_string()).dimmed()
        );
        let g = session.grade_one(args, dir, name)?;
        all_graded &= dir.is_dir();
        print_outcome(&g);
        let json = serde_json::to_vec_pretty(&SubmissionReport {
            report: &g.report,
            submission: SubmissionInfo {
                name: &g.name,
                path: g.dir.display().to_string(),
                changed_outside_exercises: &g.changed,
                notes: &g.notes,
                quizzes_self_reported: &g.quizzes,
            },
        })?;
        se05::io::fsutil::write_atomic(&args.out.join(format!("{}.json", g.name)), &json)?;
        graded.push(g);
    }

    let root = &session.root;
    let csv = gradebook(
        &graded,
        &session.graded_numbers,
        quiz_count(root),
        &grading_set(root, &session.root_files)?,
    );
    let path = args.out.join("gradebook.csv");
    se05::io::fsutil::write_atomic(&path, csv.as_bytes())?;
    println!(
        "\n{} {} ({} submission(s)) and one JSON report per submission in {}",
        "Gradebook:".bold(),
        path.display(),
        graded.len(),
        args.out.display()
    );
    Ok(all_graded)
}

/// What grading every submission of one call shares: the pristine copy of the
/// instructor's tree (held under a lock), its files, the run settings and the
/// exercises graded.
struct Session {
    root: PathBuf,
    root_files: BTreeSet<String>,
    tree: GradingCopy,
    current_release: crate::release::Record,
    cfg: RunConfig,
    graded_numbers: Vec<u32>,
    _lock: std::fs::File,
}

impl Session {
    fn open(base: &RunConfig, args: &GradeArgs) -> anyhow::Result<Session> {
        let root = base.root.clone();
        let target_dir = base
            .target_dir
            .clone()
            .unwrap_or_else(|| root.join("target"));
        std::fs::create_dir_all(&target_dir)?;
        // A checker started without `cargo run` has no LIBTORCH: give cargo the same
        // value as for this repository, or tch's build script would run again for the copy.
        if std::env::var_os("LIBTORCH").is_none() && root.join(".libtorch").exists() {
            std::env::set_var("LIBTORCH", root.join(".libtorch"));
        }
        let work = grading_copy::location(&root, &target_dir)?;
        std::fs::create_dir_all(&work)?;
        let lock = std::fs::File::create(work.join("lock"))?;
        if lock.try_lock().is_err() {
            eprintln!(
                "waiting for another `checker grade` using {} …",
                work.display()
            );
            lock.lock()?;
        }
        runner::fetch_dependencies(&root);
        let root_files = se05::io::source_tree::source_files(&root)?;
        let tree = GradingCopy::new(work.join("tree"), &root_files);
        // What a fork made today would hold: forks are compared with their own release.
        let current_release = crate::release::plan(&root)?.record;
        let cfg = RunConfig {
            root: tree.dir.clone(),
            solutions: false,
            target_dir: Some(target_dir.clone()),
            check_timeout_s: base.check_timeout_s,
            seed: base.seed,
            trust_flagged: args.trust_flagged,
            policy: base.policy,
            confine_build: true,
        };
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
        // The exercises graded: those asked for and what they depend on.
        let mut graded_numbers: Vec<u32> = args
            .numbers
            .iter()
            .filter_map(|n| registry::get(*n))
            .flat_map(|e| {
                let mut v = e.all_dependencies();
                v.push(e.number);
                v
            })
            .collect();
        graded_numbers.sort_unstable();
        graded_numbers.dedup();
        Ok(Session {
            root,
            root_files,
            tree,
            current_release,
            cfg,
            graded_numbers,
            _lock: lock,
        })
    }

    /// Grades one submission folder: what it changed outside exercises/, its quiz
    /// scores, and its exercises graded in the pristine copy.
    fn grade_one(&self, args: &GradeArgs, dir: &Path, name: String) -> anyhow::Result<Graded> {
        let started = crate::now_unix();
        let clock = Instant::now();
        let mut notes = Vec::new();
        let mut changed = Vec::new();
        let mut quizzes = None;
        let report = if !dir.is_dir() {
            let why = inert(&format!("{} is not a folder", dir.display())).into_owned();
            println!("  {} {why}", "error:".red().bold());
            Report::error(false, why, started)
        } else {
            // Walked, not asked of git: the fork's git configuration is not ours.
            let fork_files = se05::io::source_tree::walk_files(dir)?;
            changed = self.changes(dir, &fork_files, &mut notes);
            quizzes = read_quizzes(dir, &mut notes);
            self.tree.refresh(&self.root)?;
            notes.extend(install_exercises(
                &self.root,
                &self.tree.dir,
                dir,
                &fork_files,
                &self.graded_numbers,
            )?);
            let results = self.grade_exercises(args, &mut notes)?;
            Report::new(false, results, started, clock.elapsed().as_millis() as u64)
        };
        // The fork chose these file names (and the text of its RELEASE.json and
        // progress file): inert before the terminal, the reports and the gradebook.
        changed
            .iter_mut()
            .chain(notes.iter_mut())
            .for_each(make_inert);
        Ok(Graded {
            name,
            dir: dir.to_path_buf(),
            changed,
            notes,
            quizzes,
            report,
        })
    }

    /// Files the fork changed outside exercises/: against the release it was made
    /// from when it has a release record, else against the instructor's tree.
    fn changes(
        &self,
        dir: &Path,
        fork_files: &BTreeSet<String>,
        notes: &mut Vec<String>,
    ) -> Vec<String> {
        let (root, root_files, current_release) =
            (&self.root, &self.root_files, &self.current_release);
        match crate::release::read_record(dir) {
            // A fork of the student release: changes since that release.
            Some(Ok(record)) => {
                if let Some((line, files)) =
                    crate::release::compare_records(&record, current_release)
                {
                    let shown: Vec<&str> = files.iter().take(12).map(|f| f.as_str()).collect();
                    let more = if files.len() > 12 {
                        format!(", … ({} more)", files.len() - 12)
                    } else {
                        String::new()
                    };
                    notes.push(format!(
                        "RELEASE.json (as the fork holds it): {line}; files that differ \
                     between the two releases: {}{more}",
                        if shown.is_empty() {
                            "none".to_string()
                        } else {
                            shown.join(", ")
                        }
                    ));
                }
                changes_since_release(&record, dir, fork_files)
            }
            Some(Err(e)) => {
                notes.push(format!(
                    "{e:#}: compared with the instructor's tree instead"
                ));
                outside_changes(root, root_files, dir, fork_files)
            }
            // A fork of the instructor's repository itself (no release record).
            None => outside_changes(root, root_files, dir, fork_files),
        }
    }

    /// Grades the exercises installed in the copy, with the instructor's own tree
    /// guarded: a submission whose code reached it keeps no points unless trusted.
    fn grade_exercises(
        &self,
        args: &GradeArgs,
        notes: &mut Vec<String>,
    ) -> anyhow::Result<Vec<runner::ExerciseResult>> {
        let (root, cfg, tree) = (&self.root, &self.cfg, &self.tree);
        let instructor = crate::tree_guard::TreeGuard::capture(root)?;
        let mut results = runner::grade_all(&args.numbers, cfg, true, print_result_line);
        // The instructor's own tree must come out as it went in; if a submission's
        // code reached it, put it back and keep none of that submission's points.
        let reached = instructor.restore_changes()?;
        if !reached.is_empty() {
            notes.push(format!(
                "SUSPICIOUS: while it was graded, this submission's code changed the \
             instructor's tree ({}, now restored); {}",
                reached.join(", "),
                if args.trust_flagged {
                    "points kept (--trust-flagged)"
                } else {
                    "all its points are withheld pending review (--trust-flagged keeps them)"
                }
            ));
            if !args.trust_flagged {
                for r in &mut results {
                    r.points_earned = 0;
                    r.checks.iter_mut().for_each(|c| c.points_earned = 0);
                }
            }
        }
        for r in results
            .iter()
            .filter(|r| r.message.starts_with("SUSPICIOUS"))
        {
            notes.push(format!("ex{:02}: {}", r.number, r.message));
        }
        // Leave nothing a submission's code may have written for the next one, and
        // say so: checks read their expected values from these files.
        let mut written = tree.refresh(root)?;
        written.retain(|f| f != "Cargo.lock"); // cargo may bring an old lock up to date
        if !written.is_empty() {
            notes.push(format!(
                "SUSPICIOUS: while it was graded, this submission's code changed files of the \
             grading copy ({}); its results may be forged, check them by hand",
                written.join(", ")
            ));
        }
        Ok(results)
    }
}

/// A report name for `dir` that no earlier submission of this call has taken.
fn unique_name(dir: &Path, used: &mut BTreeSet<String>) -> String {
    let mut name = safe_name(dir);
    if name == "gradebook" {
        name.push_str("-submission");
    }
    let stem = name.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{stem}-{n}");
        n += 1;
    }
    name
}

/// Prints what was changed outside exercises/, the notes and the points.
fn print_outcome(g: &Graded) {
    if !g.changed.is_empty() {
        println!(
            "  {} {} file(s) changed outside exercises/; they have no effect on the grade:",
            "warning:".yellow().bold(),
            g.changed.len()
        );
        for c in &g.changed {
            println!("    {c}");
        }
    }
    for note in &g.notes {
        println!("  {} {note}", "note:".cyan().bold());
    }
    println!(
        "  {} {}/{} points",
        "→".bold(),
        g.report.points_earned,
        g.report.points_possible
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_file_names() {
        assert_eq!(safe_name(Path::new("/x/alice smith")), "alice_smith");
        assert_eq!(safe_name(Path::new("/x/..hidden")), "hidden");
        assert_eq!(safe_name(Path::new("/x/bob-2.fork")), "bob-2.fork");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn forks_of_a_release_are_compared_with_its_record() {
        let fork = tempfile::tempdir().unwrap();
        let d = fork.path();
        for (rel, text) in [
            ("checks/ex10_dice_loss.rs", "edited"),
            ("Cargo.toml", "same"),
            ("exercises/ex10_dice_loss.rs", "my work"),
            ("notes.txt", "new"),
        ] {
            std::fs::create_dir_all(d.join(rel).parent().unwrap()).unwrap();
            std::fs::write(d.join(rel), text).unwrap();
        }
        let hash = |t: &str| crate::release::sha256_hex(t.as_bytes());
        let record = crate::release::Record {
            format: crate::release::RECORD_FORMAT.into(),
            exercise_set_version: "v".into(),
            checks_digest: "d".into(),
            files: [
                ("checks/ex10_dice_loss.rs", hash("original")),
                ("Cargo.toml", hash("same")),
                ("exercises/ex10_dice_loss.rs", hash("stub")),
                ("setup.sh", hash("gone")),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b))
            .collect(),
        };
        let files = se05::io::source_tree::walk_files(d).unwrap();
        assert_eq!(
            changes_since_release(&record, d, &files),
            [
                "modified: checks/ex10_dice_loss.rs",
                "added: notes.txt",
                "deleted: setup.sh"
            ]
        );
    }

    #[test]
    fn walk_skips_build_outputs_and_compares_without_exercises() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for (dir, check) in [(a.path(), "ok"), (b.path(), "always passes")] {
            std::fs::create_dir_all(dir.join("checks")).unwrap();
            std::fs::create_dir_all(dir.join("target/debug")).unwrap();
            std::fs::create_dir_all(dir.join("exercises")).unwrap();
            std::fs::write(dir.join("checks/ex10_dice_loss.rs"), check).unwrap();
            std::fs::write(dir.join("target/debug/junk"), "x").unwrap();
            std::fs::write(dir.join("exercises/ex10_dice_loss.rs"), check).unwrap();
        }
        std::fs::write(a.path().join("Cargo.toml"), "[package]").unwrap();
        std::fs::write(b.path().join("extra.txt"), "new").unwrap();
        let fa = se05::io::source_tree::walk_files(a.path()).unwrap();
        let fb = se05::io::source_tree::walk_files(b.path()).unwrap();
        assert!(!fa.iter().any(|f| f.starts_with("target")), "{fa:?}");
        let changes = outside_changes(a.path(), &fa, b.path(), &fb);
        assert_eq!(
            changes,
            vec![
                "deleted: Cargo.toml".to_string(),
                "modified: checks/ex10_dice_loss.rs".to_string(),
                "added: extra.txt".to_string()
            ]
        );
    }
}
