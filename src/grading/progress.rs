//! The student's progress file, shared by the `checker` and `quiz` binaries.
//!
//! One JSON document holds the latest result of every exercise and quiz. It lives at
//! `<crate root>/.se05/progress.json` (git-ignored) unless the environment variable
//! `SE05_PROGRESS` names another file. Writes are atomic ([`crate::io::fsutil::write_atomic`]:
//! a temporary file in the same directory, flushed, renamed over the old file), so an
//! interrupted run never leaves a half-written progress file behind, and a reader never
//! needs a lock. [`Progress::update`] holds an exclusive advisory lock on
//! `progress.json.lock` beside the file for its whole read-modify-write, so parallel
//! `quiz` and `checker` runs never lose each other's records.
//!
//! ```no_run
//! use se05::grading::progress::Progress;
//! let path = Progress::default_path();
//! Progress::update(&path, |p| p.record_quiz(2, 5, 6))?;
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fs::{self, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Status;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Environment variable that overrides the location of the progress file.
pub const PROGRESS_ENV: &str = "SE05_PROGRESS";

/// Everything recorded about one student's work so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Latest checker result per exercise number.
    #[serde(default)]
    pub exercises: BTreeMap<u32, ExerciseRecord>,
    /// Quiz results per quiz number.
    #[serde(default)]
    pub quizzes: BTreeMap<u32, QuizRecord>,
    /// The latest run of the final training stage (`checker train`).
    #[serde(default)]
    pub stage: Option<StageRecord>,
}

/// The latest run of the final training stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Both models met their test-Dice bars.
    pub passed: bool,
    /// Test Dice per image of the U-Net and of the EfficientNet U-Net, when the stage
    /// got that far.
    pub unet_dice: Option<f64>,
    pub efficient_dice: Option<f64>,
    /// The device it trained on, as the stage described it.
    pub device: String,
    pub last_run_unix: u64,
}

/// The latest checker result of one exercise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseRecord {
    /// The checker's verdict. Written as `compile_error`; files from earlier versions,
    /// which wrote the label (`compile error`), are read too.
    #[serde(deserialize_with = "status_from_label")]
    pub status: Status,
    pub points: f64,
    pub max_points: f64,
    /// When the checker last ran this exercise (seconds since the Unix epoch).
    pub last_run_unix: u64,
}

fn status_from_label<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
    let word = String::deserialize(d)?;
    Status::from_label(&word)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown exercise status {word:?}")))
}

/// Results of one quiz over all attempts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuizRecord {
    pub last_score: u32,
    pub best_score: u32,
    pub max_score: u32,
    pub attempts: u32,
    /// When the quiz was last taken (seconds since the Unix epoch).
    pub last_run_unix: u64,
}

/// How long [`Progress::update`] waits for another process to release the lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating it and its folder when needed) and exclusively locks `lock_path`;
/// the lock lasts as long as the returned file is open. Returns `None` when the
/// filesystem does not support locking (after a warning).
fn lock_exclusive(lock_path: &Path, timeout: Duration) -> Result<Option<fs::File>> {
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path)
        .with_context(|| format!("cannot open the lock file {}", lock_path.display()))?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "another se05 process has held the lock {} for over {} s; \
                 wait for it to finish (or end it) and run again",
                lock_path.display(),
                timeout.as_secs()
            ),
            Err(TryLockError::Error(e)) if e.kind() == ErrorKind::Unsupported => {
                eprintln!(
                    "warning: this filesystem cannot lock {}; progress is saved without a lock",
                    lock_path.display()
                );
                return Ok(None);
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
            }
        }
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Progress {
    /// `$SE05_PROGRESS` when set (and not empty), otherwise
    /// `<CARGO_MANIFEST_DIR>/.se05/progress.json`.
    pub fn default_path() -> PathBuf {
        match std::env::var_os(PROGRESS_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(".se05")
                .join("progress.json"),
        }
    }

    /// Reads the progress file. A missing file is an empty record; a file that is not
    /// valid progress JSON is an error that names the file and says how to recover.
    pub fn load(path: &Path) -> Result<Progress> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Progress::default()),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the progress file {}", path.display()))
            }
        };
        if text.trim().is_empty() {
            return Ok(Progress::default());
        }
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "the progress file {} is corrupt ({e}); delete it or repair the JSON by hand, \
                 then run again (deleting it only forgets recorded scores)",
                path.display()
            )
        })
    }

    /// Writes the progress file atomically (see [`crate::io::fsutil::write_atomic`]),
    /// creating its directory when needed. This replaces the file whatever another
    /// process wrote meanwhile; to change a record, use [`Progress::update`].
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut json = serde_json::to_string_pretty(self).context("cannot serialise progress")?;
        json.push('\n');
        crate::io::fsutil::write_atomic(path, json.as_bytes())
            .with_context(|| format!("cannot save the progress file {}", path.display()))
    }

    /// The lock file that guards `path`: the same name with `.lock` added, beside it.
    /// It stays in place (removing it would let two writers lock different files).
    pub fn lock_path(path: &Path) -> PathBuf {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        path.with_file_name(name)
    }

    /// Load, apply `f`, save; returns the saved progress.
    ///
    /// The whole read-modify-write holds an exclusive advisory lock on
    /// [`Progress::lock_path`], so concurrent `quiz` and `checker` runs (threads or
    /// processes) never lose each other's records. It waits up to
    /// [`LOCK_TIMEOUT`] for the lock, then gives up with an error naming the lock
    /// file. On a filesystem without locks it warns and goes on unlocked.
    pub fn update(path: &Path, f: impl FnOnce(&mut Progress)) -> Result<Progress> {
        let _lock = lock_exclusive(&Progress::lock_path(path), LOCK_TIMEOUT)?;
        let mut progress = Progress::load(path)?;
        f(&mut progress);
        progress.save(path)?;
        Ok(progress)
    }

    /// Records one completed attempt at a quiz.
    pub fn record_quiz(&mut self, quiz: u32, score: u32, max: u32) {
        let rec = self.quizzes.entry(quiz).or_default();
        // A changed bank (different question count) makes old best scores incomparable.
        if rec.max_score != max {
            rec.best_score = 0;
        }
        rec.last_score = score;
        rec.best_score = rec.best_score.max(score);
        rec.max_score = max;
        rec.attempts += 1;
        rec.last_run_unix = now_unix();
    }

    /// Records the latest run of the final training stage, replacing the previous one.
    pub fn record_stage(&mut self, mut record: StageRecord) {
        record.last_run_unix = now_unix();
        self.stage = Some(record);
    }

    /// Records the latest checker result of an exercise, replacing the previous one.
    pub fn record_exercise(&mut self, number: u32, status: Status, points: f64, max_points: f64) {
        self.exercises.insert(
            number,
            ExerciseRecord {
                status,
                points,
                max_points,
                last_run_unix: now_unix(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_as_written_now_and_as_labels_before() {
        let record = |word: &str| {
            let text = format!(
                r#"{{"status": "{word}", "points": 0.0, "max_points": 5.0, "last_run_unix": 1}}"#
            );
            serde_json::from_str::<ExerciseRecord>(&text).map(|r| r.status)
        };
        assert_eq!(record("compile_error").unwrap(), Status::CompileError);
        assert_eq!(record("compile error").unwrap(), Status::CompileError);
        assert_eq!(record("not implemented").unwrap(), Status::NotImplemented);
        let err = record("excellent").unwrap_err().to_string();
        assert!(
            err.contains("unknown exercise status \"excellent\""),
            "{err}"
        );
        let written = serde_json::to_string(&ExerciseRecord {
            status: Status::TimedOut,
            points: 0.0,
            max_points: 1.0,
            last_run_unix: 2,
        })
        .unwrap();
        assert!(written.contains(r#""status":"timed_out""#), "{written}");
    }

    #[test]
    fn stage_record_round_trips_and_old_files_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        std::fs::write(&path, r#"{"exercises": {}, "quizzes": {}}"#).unwrap();
        assert_eq!(Progress::load(&path).unwrap().stage, None);
        Progress::update(&path, |p| {
            p.record_stage(StageRecord {
                passed: true,
                unet_dice: Some(0.5),
                efficient_dice: Some(0.8),
                device: "CPU".into(),
                last_run_unix: 0,
            })
        })
        .unwrap();
        let stage = Progress::load(&path).unwrap().stage.unwrap();
        assert!(stage.passed && stage.last_run_unix > 0);
        assert_eq!(stage.efficient_dice, Some(0.8));
    }

    #[test]
    fn missing_file_loads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = Progress::load(&dir.path().join("nope.json")).unwrap();
        assert_eq!(p, Progress::default());
    }

    #[test]
    fn round_trip_through_a_new_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("progress.json");
        let mut p = Progress::default();
        p.record_quiz(1, 3, 5);
        p.record_quiz(1, 5, 5);
        p.record_quiz(1, 2, 5);
        p.record_exercise(6, Status::Passed, 10.0, 10.0);
        p.record_exercise(7, Status::CompileError, 0.0, 8.5);
        p.save(&path).unwrap();
        let back = Progress::load(&path).unwrap();
        assert_eq!(back, p);
        let q = &back.quizzes[&1];
        assert_eq!(
            (q.last_score, q.best_score, q.max_score, q.attempts),
            (2, 5, 5, 3)
        );
        assert_eq!(back.exercises[&7].status, Status::CompileError);
        assert!(q.last_run_unix > 0);
    }

    #[test]
    fn save_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        let mut p = Progress::default();
        for i in 0..3 {
            p.record_exercise(i, Status::Failed, 1.0, 2.0);
            p.save(&path).unwrap();
        }
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["progress.json".to_string()]);
    }

    #[test]
    fn corrupt_file_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        fs::write(&path, "{ not json").unwrap();
        let err = format!("{:#}", Progress::load(&path).unwrap_err());
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("delete"), "{err}");
        // update must not overwrite a corrupt file
        assert!(Progress::update(&path, |p| p.record_quiz(1, 1, 1)).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json");
    }

    #[test]
    fn update_is_load_modify_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        Progress::update(&path, |p| p.record_quiz(3, 4, 6)).unwrap();
        let p =
            Progress::update(&path, |p| p.record_exercise(1, Status::Passed, 5.0, 5.0)).unwrap();
        assert_eq!(p.quizzes[&3].best_score, 4);
        assert_eq!(Progress::load(&path).unwrap(), p);
    }

    /// 50 threads update the same file at once, each through its own open lock
    /// file: every record survives.
    #[test]
    fn fifty_concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("progress.json");
        let barrier = std::sync::Barrier::new(50);
        std::thread::scope(|s| {
            for i in 0..50u32 {
                let (path, barrier) = (&path, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    Progress::update(path, |p| {
                        p.record_exercise(i, Status::Passed, i as f64, 50.0);
                        p.record_quiz(1, i % 7, 6);
                    })
                    .unwrap();
                });
            }
        });
        let p = Progress::load(&path).unwrap();
        assert_eq!(p.exercises.len(), 50);
        assert!((0..50).all(|i| p.exercises[&i].points == i as f64));
        assert_eq!(p.quizzes[&1].attempts, 50);
        let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["progress.json", "progress.json.lock"]);
    }

    /// While another holder keeps the lock, an update waits and then fails with a
    /// message naming the lock file, leaving the progress file as it was.
    #[test]
    fn a_held_lock_blocks_writers_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        Progress::update(&path, |p| p.record_quiz(2, 1, 6)).unwrap();
        let before = fs::read_to_string(&path).unwrap();
        let lock = Progress::lock_path(&path);
        assert_eq!(lock, dir.path().join("progress.json.lock"));

        let held = lock_exclusive(&lock, Duration::from_secs(1))
            .unwrap()
            .unwrap();
        let start = Instant::now();
        let err = lock_exclusive(&lock, Duration::from_millis(200)).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(200));
        let msg = format!("{err:#}");
        assert!(msg.contains(&lock.display().to_string()), "{msg}");
        assert_eq!(fs::read_to_string(&path).unwrap(), before);

        // A writer that starts while the lock is held finishes once it is released.
        std::thread::scope(|s| {
            let writer = s.spawn(|| Progress::update(&path, |p| p.record_quiz(2, 5, 6)));
            std::thread::sleep(Duration::from_millis(100));
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                before,
                "wrote under a held lock"
            );
            drop(held);
            writer.join().unwrap().unwrap();
        });
        assert_eq!(Progress::load(&path).unwrap().quizzes[&2].attempts, 2);
    }

    #[test]
    fn changed_question_count_resets_best() {
        let mut p = Progress::default();
        p.record_quiz(2, 6, 6);
        p.record_quiz(2, 3, 7);
        assert_eq!(p.quizzes[&2].best_score, 3);
        assert_eq!(p.quizzes[&2].attempts, 2);
    }
}
