//! Instructors: the catalogued mistakes as code. Each exercise's catalogue (titles and
//! fixes, `se05::grading::mistakes`) has its variants in `solutions/mistakes/<slug>.json`:
//!
//! ```json
//! [{"id": "relu_before_norm", "edits": [{"find": "…", "replace": "…"}]}]
//! ```
//!
//! A variant is the reference `solutions/<slug>.rs` with the entry's edits applied in
//! order; each `find` must occur exactly once in the text it is applied to.
//!
//! Variants are graded in a scratch copy of the tree whose exercises/ hold the
//! references, with the one exercise replaced by the variant: what a student with
//! that mistake would see. `checker mistakes --bless` records, per variant, the
//! observations of the reference comparisons (`<target>__<name>@<id>.snap`) that the
//! judge's diagnosis matches; `checker validate` grades every variant and requires it
//! caught and named.
use crate::runner::{self, Build, ExerciseResult, RunConfig};
use anyhow::{bail, Context};
use se05::grading::mistakes::{self, Mistake};
use se05::grading::registry::{Exercise, EXERCISES};
use se05::grading::Status;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    find: String,
    replace: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    edits: Vec<Edit>,
}

/// One catalogued mistake with the source of its variant.
pub struct Variant {
    pub exercise: &'static Exercise,
    pub mistake: &'static Mistake,
    pub source: String,
}

/// Path of exercise `ex`'s variants file.
pub fn edits_file(root: &Path, ex: &Exercise) -> PathBuf {
    root.join("solutions/mistakes")
        .join(format!("{}.json", ex.slug))
}

/// Applies `edits` to `source`; each `find` must occur exactly once.
fn apply(source: &str, edits: &[Edit], file: &Path, id: &str) -> anyhow::Result<String> {
    let mut text = source.to_string();
    for (k, e) in edits.iter().enumerate() {
        let found = text.matches(&e.find).count();
        if found != 1 {
            bail!(
                "{}: mistake {id}, edit {}: `find` must occur exactly once in the reference \
                 (after the earlier edits), it occurs {found} times:\n{}",
                file.display(),
                k + 1,
                e.find
            );
        }
        text = text.replacen(&e.find, &e.replace, 1);
    }
    Ok(text)
}

/// The variants of exercise `ex`, checked against its catalogue: every mistake has
/// exactly one entry, every entry is catalogued, every variant differs from the
/// reference.
pub fn variants_of(root: &Path, ex: &'static Exercise) -> anyhow::Result<Vec<Variant>> {
    let catalogue = mistakes::of_exercise(ex.number);
    let file = edits_file(root, ex);
    if catalogue.is_empty() && !file.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "exercise {} catalogues {} mistakes but {} cannot be read",
            ex.number,
            catalogue.len(),
            file.display()
        )
    })?;
    let entries: Vec<Entry> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a list of {{id, edits}}", file.display()))?;
    let reference_path = root.join(ex.solution_file());
    let reference = std::fs::read_to_string(&reference_path)
        .with_context(|| format!("cannot read {}", reference_path.display()))?;
    for e in &entries {
        if !catalogue.iter().any(|m| m.id == e.id) {
            bail!(
                "{}: entry {} is not in exercise {}'s catalogue (MISTAKES in \
                 src/grading/exercises/{}.rs)",
                file.display(),
                e.id,
                ex.number,
                ex.slug
            );
        }
    }
    catalogue
        .iter()
        .map(|m| {
            let mut found = entries.iter().filter(|e| e.id == m.id);
            let entry = found.next().ok_or_else(|| {
                anyhow::anyhow!("{}: no entry for mistake {}", file.display(), m.id)
            })?;
            if found.next().is_some() {
                bail!("{}: two entries for mistake {}", file.display(), m.id);
            }
            if entry.edits.is_empty() {
                bail!("{}: mistake {} has no edits", file.display(), m.id);
            }
            let source = apply(&reference, &entry.edits, &file, m.id)?;
            if source == reference {
                bail!(
                    "{}: mistake {}'s edits change nothing",
                    file.display(),
                    m.id
                );
            }
            Ok(Variant {
                exercise: ex,
                mistake: m,
                source,
            })
        })
        .collect()
}

/// Every exercise's variants, in order.
pub fn all_variants(root: &Path) -> anyhow::Result<Vec<Variant>> {
    let mut out = Vec::new();
    for ex in EXERCISES {
        out.extend(variants_of(root, ex)?);
    }
    Ok(out)
}

/// A copy of the tree's sources (no target/, no .git) in `<target>/se05-scratch/tree`,
/// built in the tree's cargo target folder. The copy stays between runs and keeps
/// each file's modification time, so cargo rebuilds only what changed (the library
/// is not rebuilt for every validate). One validate or bless at a time per target
/// folder.
pub struct Scratch {
    pub cfg: RunConfig,
}

/// What of the tree's top level cargo needs to build the check targets (not the
/// data sets, weights or outputs that may sit beside them).
const TREE: [&str; 12] = [
    "Cargo.toml",
    "Cargo.lock",
    "build.rs",
    // build.rs's link decisions (build/link.rs).
    "build",
    ".libtorch",
    "src",
    "checks",
    "checker",
    "solutions",
    "exercises",
    "quizzes",
    "tests",
];

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for name in TREE {
        if std::fs::symlink_metadata(from.join(name)).is_ok() {
            copy_entry(&from.join(name), &to.join(name))?;
        }
    }
    // Cargo.toml's benches must exist for the manifest to load.
    copy_entry(&from.join("benches"), &to.join("benches"))
        .or_else(|_| Ok::<_, anyhow::Error>(()))?;
    Ok(())
}

fn copy_entry(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(src)?;
    if meta.is_symlink() {
        let link = std::fs::read_link(src)?;
        let link = match (link.is_relative(), src.parent()) {
            (true, Some(dir)) => dir.join(link),
            _ => link,
        };
        let _ = std::fs::remove_file(dst);
        std::os::unix::fs::symlink(link, dst)?;
    } else if meta.is_dir() {
        copy_dir(src, dst)?;
    } else {
        copy_file(src, dst, &meta)?;
    }
    Ok(())
}

fn copy_file(src: &Path, dst: &Path, meta: &std::fs::Metadata) -> anyhow::Result<()> {
    let same = std::fs::metadata(dst).is_ok_and(|d| {
        d.is_file() && d.len() == meta.len() && d.modified().ok() == meta.modified().ok()
    });
    if !same {
        let _ = std::fs::remove_file(dst);
        std::fs::copy(src, dst).with_context(|| format!("cannot copy {}", src.display()))?;
        if let Ok(t) = meta.modified() {
            std::fs::File::options()
                .write(true)
                .open(dst)?
                .set_modified(t)?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        copy_entry(&entry.path(), &to.join(&name))?;
    }
    Ok(())
}

/// Gives the copy's package a feature of its own, on by default. Cargo names a
/// local package's artifacts without its path, so without it the copy and the tree
/// would build the same library file in the shared target folder, and whichever
/// built last would leave its own folder in `env!("CARGO_MANIFEST_DIR")` (where the
/// judge finds the snapshots). The feature changes the artifacts' names, not the
/// dependencies.
fn mark_manifest(manifest: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(manifest)?;
    if text.contains("se05-scratch-tree = []") {
        return Ok(());
    }
    let marked = mark_features(&text).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: cannot mark the copy's manifest: it needs a [features] table with a \
             `default = [...]` line",
            manifest.display()
        )
    })?;
    se05::io::fsutil::write_atomic(manifest, marked.as_bytes())
}

/// `text` with the feature `se05-scratch-tree` declared and on by default, whatever
/// the default list holds; None without a `[features]` table and `default` line.
fn mark_features(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let (mut in_features, mut declared, mut enabled) = (false, false, false);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_features = trimmed.starts_with("[features]");
        }
        if in_features && !enabled && trimmed.starts_with("default = [") {
            out.push_str(&line.replacen("default = [", "default = [\"se05-scratch-tree\", ", 1));
            enabled = true;
            continue;
        }
        out.push_str(line);
        if in_features && !declared && trimmed.starts_with("[features]") {
            out.push_str("se05-scratch-tree = []\n");
            declared = true;
        }
    }
    (declared && enabled).then_some(out)
}

impl Scratch {
    /// A copy of `base.root` whose exercises/ hold the references.
    pub fn new(base: &RunConfig) -> anyhow::Result<Scratch> {
        let target_dir = base
            .target_dir
            .clone()
            .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
            .map(|d| {
                if d.is_relative() {
                    base.root.join(d)
                } else {
                    d
                }
            })
            .unwrap_or_else(|| base.root.join("target"));
        let root = target_dir.join("se05-scratch/tree");
        if root.join("checks/snapshots").exists() {
            // Snapshots are compared by the checker from its own tree, but blessing
            // writes here: start each run from the tree's own.
            std::fs::remove_dir_all(root.join("checks/snapshots"))?;
        }
        copy_tree(&base.root, &root)
            .with_context(|| format!("cannot copy the tree into {}", root.display()))?;
        mark_manifest(&root.join("Cargo.toml"))?;
        let scratch = Scratch {
            cfg: RunConfig {
                root,
                solutions: false,
                target_dir: Some(target_dir),
                ..base.clone()
            },
        };
        for ex in EXERCISES {
            scratch.put(
                ex,
                &std::fs::read_to_string(base.root.join(ex.solution_file()))?,
            )?;
        }
        Ok(scratch)
    }

    /// Writes `source` as exercise `ex`'s file of the copy.
    pub fn put(&self, ex: &Exercise, source: &str) -> anyhow::Result<()> {
        let path = self.cfg.root.join(ex.exercise_file());
        if std::fs::read_to_string(&path).is_ok_and(|old| old == source) {
            return Ok(()); // unchanged: keep its time, so nothing is rebuilt
        }
        se05::io::fsutil::write_atomic(&path, source.as_bytes())
    }

    /// Grades exercise `ex` of the copy as a student's.
    pub fn grade(&self, ex: &Exercise) -> ExerciseResult {
        runner::grade(ex, &self.cfg)
    }
}

/// The variant snapshots of `ex` in `dir`.
fn variant_snapshots(dir: &Path, ex: &Exercise) -> Vec<PathBuf> {
    let prefix = format!("{}__", ex.slug);
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.contains('@') && n.ends_with(".snap"))
        })
        .collect()
}

/// `checker mistakes --bless`: records the reference comparisons of every variant of
/// `numbers` (all when empty) into checks/snapshots, replacing the old ones.
pub fn bless(base: &RunConfig, numbers: &[u32]) -> anyhow::Result<bool> {
    let variants = all_variants(&base.root)?;
    let scratch = Scratch::new(base)?;
    let real = base.root.join("checks/snapshots");
    let copy = scratch.cfg.root.join("checks/snapshots");
    let mut ok = true;
    for ex in EXERCISES
        .iter()
        .filter(|e| numbers.is_empty() || numbers.contains(&e.number))
    {
        for old in variant_snapshots(&real, ex)
            .into_iter()
            .chain(variant_snapshots(&copy, ex))
        {
            std::fs::remove_file(&old)
                .with_context(|| format!("cannot remove {}", old.display()))?;
        }
        let reference = std::fs::read_to_string(base.root.join(ex.solution_file()))?;
        for v in variants.iter().filter(|v| v.exercise.number == ex.number) {
            scratch.put(ex, &v.source)?;
            let exe = match runner::build(ex.slug, &scratch.cfg)? {
                Build::Executable(exe) => exe,
                Build::CompileError(e) => {
                    println!(
                        "  {:>2} {:<28} does not compile:\n{e}",
                        ex.number, v.mistake.id
                    );
                    ok = false;
                    continue;
                }
            };
            // Test mode of the variant's own target: it observes and judges in one
            // process, and its comparisons record instead of failing.
            let run = Command::new(&exe)
                .current_dir(&scratch.cfg.root)
                .env(se05::grading::judge::BLESS_MISTAKE_ENV, v.mistake.id)
                .env(se05::grading::observe::SEED_ENV, "1")
                .env_remove("SE05_BLESS")
                .arg("--quiet")
                .output()
                .with_context(|| format!("cannot run {}", exe.display()))?;
            let _ = run; // checks other than the comparisons fail, as they should
            let recorded: Vec<String> = variant_snapshots(&copy, ex)
                .iter()
                .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
                .filter(|n| n.ends_with(&format!("@{}.snap", v.mistake.id)))
                .collect();
            println!(
                "  {:>2} {:<28} {}",
                ex.number,
                v.mistake.id,
                if recorded.is_empty() {
                    "no reference comparison differs".to_string()
                } else {
                    recorded.join(", ")
                }
            );
        }
        scratch.put(ex, &reference)?;
        for p in variant_snapshots(&copy, ex) {
            let to = real.join(p.file_name().expect("a file"));
            se05::io::fsutil::write_atomic(&to, &std::fs::read(&p)?)?;
        }
    }
    Ok(ok)
}

/// `checker mistakes`: prints the catalogue of `numbers`.
pub fn list(numbers: &[u32]) -> anyhow::Result<bool> {
    for ex in EXERCISES.iter().filter(|e| numbers.contains(&e.number)) {
        println!("{:>2} {}", ex.number, ex.title);
        for m in mistakes::of_exercise(ex.number) {
            println!("     - {}: {}", m.title, m.fix);
        }
    }
    Ok(true)
}

/// What grading a variant showed.
pub struct Caught {
    pub exercise: u32,
    pub id: &'static str,
    pub caught: bool,
    pub named: bool,
    /// The failed checks' first message line, for a report.
    pub seen: String,
}

/// Grades every variant in `scratch`; the exercise's file is put back afterwards.
pub fn grade_variants(
    base: &RunConfig,
    scratch: &Scratch,
    mut on_result: impl FnMut(&Caught),
) -> anyhow::Result<Vec<Caught>> {
    let variants = all_variants(&base.root)?;
    let mut out = Vec::new();
    let reference = |ex: &Exercise| std::fs::read_to_string(base.root.join(ex.solution_file()));
    for (k, v) in variants.iter().enumerate() {
        if k > 0 && variants[k - 1].exercise.number != v.exercise.number {
            // The next exercises build on this one: give it back its reference.
            let done = variants[k - 1].exercise;
            scratch.put(done, &reference(done)?)?;
        }
        scratch.put(v.exercise, &v.source)?;
        let r = scratch.grade(v.exercise);
        let failed: Vec<&runner::CheckResult> = r
            .checks
            .iter()
            .filter(|c| c.status != Status::Passed)
            .collect();
        let caught = r.status != Status::Passed;
        let named = failed.iter().any(|c| c.message.contains(v.mistake.title))
            || r.message.contains(v.mistake.title);
        let seen = if failed.is_empty() {
            se05::grading::judge::first_lines(&r.message, 1)
        } else {
            failed
                .iter()
                .map(|c| {
                    format!(
                        "{}: {}",
                        c.name,
                        se05::grading::judge::first_lines(&c.message, 1)
                    )
                })
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let c = Caught {
            exercise: v.exercise.number,
            id: v.mistake.id,
            caught,
            named,
            seen,
        };
        on_result(&c);
        out.push(c);
    }
    for ex in EXERCISES {
        scratch.put(ex, &reference(ex)?)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_feature_joins_any_default_list() {
        let toml = "[package]\nname = \"x\"\n\n[features]\ndefault = [\"a\", \"b\"]\nb = []\n";
        let marked = mark_features(toml).unwrap();
        assert!(
            marked.contains("default = [\"se05-scratch-tree\", \"a\", \"b\"]"),
            "{marked}"
        );
        assert!(
            marked.contains("[features]\nse05-scratch-tree = []\n"),
            "{marked}"
        );
        let empty = mark_features("[features]\ndefault = []\n").unwrap();
        assert!(
            empty.contains("default = [\"se05-scratch-tree\", ]"),
            "{empty}"
        );
        assert_eq!(mark_features("[package]\nname = \"x\"\n"), None);
        let real = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
        assert!(mark_features(&real.unwrap()).is_some());
    }

    #[test]
    #[cfg_attr(
        not(feature = "solutions"),
        ignore = "the variants edit solutions/, which only the instructor's repository has"
    )]
    fn every_catalogue_has_applicable_variants() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let variants = all_variants(root).unwrap();
        let total: usize = EXERCISES
            .iter()
            .map(|e| mistakes::of_exercise(e.number).len())
            .sum();
        assert_eq!(variants.len(), total);
    }

    #[test]
    fn a_find_must_occur_once() {
        let file = Path::new("solutions/mistakes/x.json");
        let edit = |f: &str| Edit {
            find: f.into(),
            replace: "Z".into(),
        };
        assert_eq!(apply("a b c", &[edit("b")], file, "m").unwrap(), "a Z c");
        let twice = apply("a b b", &[edit("b")], file, "m")
            .unwrap_err()
            .to_string();
        assert!(
            twice.contains("x.json: mistake m, edit 1") && twice.contains("2 times"),
            "{twice}"
        );
        let none = apply("a", &[edit("q")], file, "m").unwrap_err().to_string();
        assert!(none.contains("0 times"), "{none}");
    }

    #[test]
    fn every_variant_snapshot_names_a_catalogued_mistake() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/snapshots");
        for ex in EXERCISES {
            for p in variant_snapshots(&dir, ex) {
                let name = p.file_name().unwrap().to_str().unwrap();
                let id = name
                    .rsplit_once('@')
                    .and_then(|(_, rest)| rest.strip_suffix(".snap"))
                    .unwrap();
                assert!(
                    mistakes::of_exercise(ex.number).iter().any(|m| m.id == id),
                    "{name}: no such mistake; run `checker mistakes --bless {}`",
                    ex.number
                );
            }
        }
    }
}
