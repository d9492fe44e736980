//! Grading a whole course: `checker gradebook slice ROSTER K/N` (the forks one job of
//! a matrix grades), `checker gradebook merge A.csv B.csv …` (one CSV from the
//! jobs' gradebooks, refusing gradebooks of different exercise sets), and the
//! instructor's workflow template that does both on GitHub Actions
//! (`.github/workflows/grade-course.yml`, generated here from the registry).
use anyhow::{bail, Context};
use se05::grading::registry::{EXERCISES, EXERCISE_SET_VERSION};
use std::collections::BTreeMap;
use std::path::Path;

/// Jobs of the course workflow's matrix.
#[cfg_attr(not(test), allow(dead_code))] // the workflow is written by its test
pub const WORKFLOW_SLICES: u32 = 4;

/// The roster's entries: one a line, blank lines and `#` comments skipped.
pub fn roster_entries(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses "K/N" (1 ≤ K ≤ N).
pub fn parse_slice(text: &str) -> anyhow::Result<(usize, usize)> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse::<usize>().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => bail!("slice `{text}` is not K/N with 1 ≤ K ≤ N (e.g. 2/4 for the second of four)"),
    }
}

/// Slice `k` of `n`: entries 0-based `i` with `i % n == k - 1` (round robin, so the
/// jobs get about as many forks each, whatever the roster's order).
pub fn slice<T: Clone>(entries: &[T], k: usize, n: usize) -> Vec<T> {
    entries
        .iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, e)| e.clone())
        .collect()
}

/// `checker gradebook slice ROSTER K/N`: prints the slice's entries, one a line.
pub fn print_slice(roster: &Path, which: &str) -> anyhow::Result<bool> {
    let (k, n) = parse_slice(which)?;
    let text = std::fs::read_to_string(roster)
        .with_context(|| format!("cannot read the roster {}", roster.display()))?;
    for entry in slice(&roster_entries(&text), k, n) {
        println!("{entry}");
    }
    Ok(true)
}

/// Splits one CSV line into fields (quoted fields with commas and doubled quotes).
fn fields(line: &str) -> Vec<String> {
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    row.push(field);
    row
}

/// One CSV from several gradebooks of `checker grade`: the same columns and the same
/// exercise set in each (the `exercise_set` column), each submission once.
pub fn merge(paths: &[std::path::PathBuf]) -> anyhow::Result<String> {
    anyhow::ensure!(
        !paths.is_empty(),
        "name the gradebooks to merge: `checker gradebook merge a/gradebook.csv b/gradebook.csv > course.csv`"
    );
    let mut header: Option<(String, &Path)> = None;
    let mut set: Option<(String, &Path)> = None;
    let mut seen: BTreeMap<String, &Path> = BTreeMap::new();
    let mut out = String::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let Some(head) = lines.next() else {
            bail!(
                "{} is empty: not a gradebook of `checker grade`",
                path.display()
            );
        };
        let columns = fields(head);
        let set_col = columns
            .iter()
            .position(|c| c == "exercise_set")
            .with_context(|| {
                format!(
                    "{} has no exercise_set column: a gradebook of an older checker; \
                     grade those forks again with this one",
                    path.display()
                )
            })?;
        match &header {
            None => {
                out.push_str(head);
                out.push('\n');
                header = Some((head.to_string(), path));
            }
            Some((first, from)) if first != head => bail!(
                "{} has other columns than {} (other exercises graded?):\n  {}\n  {}\n\
                 grade every slice with the same --exercises",
                path.display(),
                from.display(),
                head,
                first
            ),
            _ => {}
        }
        for line in lines {
            let row = fields(line);
            anyhow::ensure!(
                row.len() == columns.len(),
                "{}: a row has {} fields, the header {}: {line}",
                path.display(),
                row.len(),
                columns.len()
            );
            let this_set = &row[set_col];
            match &set {
                None => set = Some((this_set.clone(), path)),
                Some((first, from)) if first != this_set => bail!(
                    "{} was graded with exercise set {this_set}, {} with {first}: \
                     grade every slice with the same checker (same exercise set and checks)",
                    path.display(),
                    from.display()
                ),
                _ => {}
            }
            if let Some(other) = seen.insert(row[0].clone(), path) {
                bail!(
                    "submission {} is in both {} and {}: slices must not overlap",
                    row[0],
                    other.display(),
                    path.display()
                );
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// The instructor's workflow that grades a course on GitHub Actions: one job per
/// slice of the roster (the pristine tree and its build cached), each uploading its
/// gradebook and reports, then a job that merges them into `course.csv`.
#[cfg_attr(not(test), allow(dead_code))] // the workflow is written by its test
pub fn workflow() -> String {
    let check_minutes: u64 = EXERCISES.iter().map(|e| e.timeout_s).sum::<u64>() / 60 + 1;
    let exercises: Vec<String> = EXERCISES
        .iter()
        .map(|e| format!("#   {:>2} {} ({} points)", e.number, e.title, e.points))
        .collect();
    let slices: Vec<String> = (1..=WORKFLOW_SLICES).map(|k| k.to_string()).collect();
    format!(
        r#"# Grades a course: every fork listed in the roster, with the instructor's checks
# (hidden ones included). Generated from the exercise registry by checker/course.rs;
# regenerate with
#   SE05_BLESS=1 cargo test --bin checker course
#
# Exercise set {EXERCISE_SET_VERSION}:
{exercises}
#
# The roster (default roster.txt in this repository) lists one fork a line as
# owner/name; `#` starts a comment. A secret ROSTER_TOKEN with read access to the
# forks (a fine-grained token, Contents: read) lets the jobs clone them; it is sent
# as a header of the clone only and never written into a fork's .git/config. Each of
# the {WORKFLOW_SLICES} jobs grades every {WORKFLOW_SLICES}th fork (`checker gradebook slice`), one after
# another. Forks are cloned outside the checkout (under $RUNNER_TEMP), and `checker
# grade` keeps its grading copy outside it too (/tmp/se05-grade-*, cached with the
# build); the last job merges the slices' gradebooks into course.csv (`checker
# gradebook merge`). tests/course_workflow.rs runs the clone and grade steps on
# local forks.
name: Grade the course
"on":
  workflow_dispatch:
    inputs:
      roster:
        description: "Roster file: one fork (owner/name) a line"
        default: roster.txt
      exercises:
        description: "Exercises to grade, as for `checker 6-9` (all, 1-5, 6 8 10, ...)"
        default: all
permissions:
  contents: read
env:
  CARGO_TERM_COLOR: never
  NO_COLOR: "1"
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 360
    strategy:
      fail-fast: false
      matrix:
        slice: [{slices}]
    steps:
      - name: Checkout the instructor's repository
        uses: actions/checkout@v4
      - name: Cache the Python environment with libtorch (setup.sh)
        uses: actions/cache@v4
        with:
          path: .venv
          key: venv-${{{{ runner.os }}}}-${{{{ hashFiles('setup.sh') }}}}
      - name: Cache cargo, the build and the grading copy
        uses: actions/cache@v4
        with:
          path: |
            ~/.cargo/registry
            ~/.cargo/git
            target
            /tmp/se05-grade-*
          key: grade-{EXERCISE_SET_VERSION}-${{{{ runner.os }}}}-${{{{ hashFiles('Cargo.lock', 'checks/**', 'src/**', 'checker/**') }}}}
          restore-keys: grade-{EXERCISE_SET_VERSION}-${{{{ runner.os }}}}-
      - name: Set up libtorch
        run: ./setup.sh
      - name: Build the checker
        run: cargo build --bin checker
      - name: Clone this slice's forks
        env:
          ROSTER: ${{{{ inputs.roster }}}}
          SLICE: ${{{{ matrix.slice }}}}/{WORKFLOW_SLICES}
          ROSTER_TOKEN: ${{{{ secrets.ROSTER_TOKEN }}}}
        run: |
          forks="$RUNNER_TEMP/forks"
          mkdir -p "$forks"
          cargo run --quiet --bin checker -- gradebook slice "$ROSTER" "$SLICE" > "$RUNNER_TEMP/slice.txt"
          auth="AUTHORIZATION: basic $(printf 'x-access-token:%s' "$ROSTER_TOKEN" | base64 -w0)"
          while read -r repo; do
            git -c http.extraheader="$auth" clone --quiet --depth 1 "https://github.com/$repo.git" "$forks/${{repo//\//__}}" \
              || echo "$repo: could not be cloned" >> "$RUNNER_TEMP/clone-failures.txt"
          done < "$RUNNER_TEMP/slice.txt"
      - name: Grade this slice (about {check_minutes} min of checks per fork at most)
        env:
          EXERCISES: ${{{{ inputs.exercises }}}}
          OUT: gradebook-${{{{ matrix.slice }}}}
        run: |
          shopt -s nullglob
          forks=("$RUNNER_TEMP"/forks/*)
          mkdir -p "$OUT"
          [ ! -f "$RUNNER_TEMP/clone-failures.txt" ] || cp "$RUNNER_TEMP/clone-failures.txt" "$OUT/"
          if [ ${{#forks[@]}} -eq 0 ]; then echo "no fork in this slice"; exit 0; fi
          cargo run --quiet --bin checker -- grade "${{forks[@]}}" --exercises "${{EXERCISES:-all}}" --out "$OUT" --target-dir target
      - name: Upload this slice's gradebook and reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: gradebook-${{{{ matrix.slice }}}}
          path: gradebook-${{{{ matrix.slice }}}}
          if-no-files-found: ignore
  merge:
    needs: grade
    if: always()
    runs-on: ubuntu-latest
    steps:
      - name: Checkout the instructor's repository
        uses: actions/checkout@v4
      - name: Cache the Python environment with libtorch (setup.sh)
        uses: actions/cache@v4
        with:
          path: .venv
          key: venv-${{{{ runner.os }}}}-${{{{ hashFiles('setup.sh') }}}}
      - name: Cache cargo and the build
        uses: actions/cache@v4
        with:
          path: |
            ~/.cargo/registry
            ~/.cargo/git
            target
          key: merge-${{{{ runner.os }}}}-${{{{ hashFiles('Cargo.lock', 'checker/**', 'src/**') }}}}
          restore-keys: merge-${{{{ runner.os }}}}-
      - name: Set up libtorch
        run: ./setup.sh
      - name: Download the slices' gradebooks
        uses: actions/download-artifact@v4
        with:
          pattern: gradebook-*
          path: slices
      - name: Merge them into course.csv
        run: |
          shopt -s nullglob
          books=(slices/*/gradebook.csv)
          if [ ${{#books[@]}} -eq 0 ]; then echo "no slice produced a gradebook" >&2; exit 1; fi
          cargo run --quiet --bin checker -- gradebook merge "${{books[@]}}" > course.csv
      - name: Upload course.csv
        uses: actions/upload-artifact@v4
        with:
          name: course
          path: course.csv
"#,
        exercises = exercises.join("\n"),
        slices = slices.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn slices_cover_the_roster_once() {
        let roster = roster_entries(
            "# forks\nalice/se05\n\nbob/se05  # late\ncarol/se05\ndan/se05\neve/se05\n",
        );
        assert_eq!(roster.len(), 5);
        let mut all: Vec<String> = (1..=3).flat_map(|k| slice(&roster, k, 3)).collect();
        assert_eq!(slice(&roster, 1, 3), ["alice/se05", "dan/se05"]);
        assert_eq!(slice(&roster, 3, 3), ["carol/se05"]);
        all.sort();
        let mut want = roster.clone();
        want.sort();
        assert_eq!(all, want);
        assert_eq!(slice(&roster, 4, 6), ["dan/se05"]);
        assert!(slice(&roster, 6, 6).is_empty());
        for bad in ["0/4", "5/4", "2", "a/b", "2/0"] {
            assert!(parse_slice(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_slice("2/4").unwrap(), (2, 4));
    }

    fn book(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const HEAD: &str = "submission,status,ex06_double_conv,points,max_points,notes,exercise_set";

    #[test]
    fn merge_keeps_one_header_and_refuses_mismatches() {
        let d = tempfile::tempdir().unwrap();
        let a = book(
            d.path(),
            "a.csv",
            &format!("{HEAD}\nalice,passed,12,12,12,,2026.11-2/abc\nbob,failed,10,10,12,\"ex06 failed; a, b\",2026.11-2/abc\n"),
        );
        let b = book(
            d.path(),
            "b.csv",
            &format!("{HEAD}\ncarol,passed,12,12,12,,2026.11-2/abc\n"),
        );
        let merged = merge(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(merged.lines().count(), 4);
        assert_eq!(merged.lines().next(), Some(HEAD));
        assert!(merged.contains("\"ex06 failed; a, b\""));

        let other_set = book(
            d.path(),
            "old.csv",
            &format!("{HEAD}\ndan,passed,10,10,10,,2026.11-1/def\n"),
        );
        let e = merge(&[a.clone(), other_set]).unwrap_err().to_string();
        assert!(e.contains("old.csv") && e.contains("2026.11-1/def"), "{e}");

        let other_columns = book(
            d.path(),
            "cols.csv",
            "submission,status,ex10_dice_loss,points,max_points,notes,exercise_set\n",
        );
        let e = merge(&[a.clone(), other_columns]).unwrap_err().to_string();
        assert!(e.contains("cols.csv") && e.contains("other columns"), "{e}");

        let twice = merge(&[a.clone(), a.clone()]).unwrap_err().to_string();
        assert!(twice.contains("alice") && twice.contains("both"), "{twice}");

        let no_set = book(d.path(), "noset.csv", "submission,status\nx,passed\n");
        let e = merge(&[no_set]).unwrap_err().to_string();
        assert!(e.contains("noset.csv") && e.contains("exercise_set"), "{e}");
        let e = merge(&[d.path().join("missing.csv")]).unwrap_err();
        assert!(format!("{e:#}").contains("missing.csv"));
        assert!(merge(&[]).is_err());
    }

    #[test]
    fn the_course_workflow_is_in_step_with_the_registry() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/grade-course.yml");
        let expected = workflow();
        if std::env::var("SE05_BLESS").as_deref() == Ok("1") {
            se05::io::fsutil::write_atomic(&path, expected.as_bytes()).unwrap();
        }
        // The student release leaves this workflow out.
        if !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("solutions")
            .is_dir()
        {
            assert!(
                crate::release::left_out_because(".github/workflows/grade-course.yml").is_some()
            );
            return;
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "{} is not in step with the registry; regenerate it with \
             SE05_BLESS=1 cargo test --bin checker course",
            path.display()
        );
        for e in EXERCISES {
            assert!(expected.contains(e.title), "{}", e.title);
        }
        assert!(expected.contains("gradebook slice") && expected.contains("gradebook merge"));
    }
}
