//! The half of a check that decides. It runs in the checker's process, reads the
//! observations a check target wrote, and never calls student code.
use super::observe::{Observation, Observed};
use super::Status;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// The most observation bytes the judge reads from one run; more is a crash.
pub const MAX_OBSERVATION_BYTES: u64 = 16 << 20;

/// What a judge may use besides the observation.
#[derive(Debug, Clone)]
pub struct JudgeCtx {
    /// The seed the observer drew its inputs from.
    pub seed: u64,
    /// Folder of the reference's snapshots (`checks/snapshots`).
    pub snapshot_dir: PathBuf,
    /// Instructors regenerating snapshots from the solutions (test mode only).
    pub bless: bool,
    /// Instructors recording the snapshots of a catalogued mistake's variant (test
    /// mode, `SE05_BLESS_MISTAKE=<id>`): comparisons write `<name>@<id>` snapshots
    /// where the variant differs from the reference, and never fail.
    pub bless_mistake: Option<String>,
}

impl JudgeCtx {
    /// The judge of a graded run: snapshots from the checker's own source tree.
    pub fn for_grading(seed: u64) -> JudgeCtx {
        JudgeCtx {
            seed,
            snapshot_dir: default_snapshot_dir(),
            bless: false,
            bless_mistake: None,
        }
    }

    /// The judge of test mode; `SE05_BLESS=1` rewrites snapshots from what it sees.
    pub fn for_tests(seed: u64) -> JudgeCtx {
        JudgeCtx {
            seed,
            snapshot_dir: default_snapshot_dir(),
            bless: std::env::var_os("SE05_BLESS").is_some(),
            bless_mistake: std::env::var(BLESS_MISTAKE_ENV)
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }
}

/// Environment variable naming the catalogued mistake whose variant a test-mode run
/// records (`checker mistakes --bless` sets it).
pub const BLESS_MISTAKE_ENV: &str = "SE05_BLESS_MISTAKE";

/// `checks/snapshots` of the source tree this library was built from.
pub fn default_snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/snapshots")
}

type JudgeFn = Box<dyn Fn(serde_json::Value, &JudgeCtx) -> anyhow::Result<()> + Send + Sync>;

/// A check as the judge knows it: name, points, hint, and how to decide.
pub struct CheckSpec {
    pub name: &'static str,
    pub points: u32,
    pub hint: &'static str,
    judge: JudgeFn,
}

/// A check whose observation is a `T`; `judge` fails (e.g. with `anyhow::ensure!`)
/// with a message that says what was expected and what the code gave.
pub fn spec<T: DeserializeOwned + 'static>(
    name: &'static str,
    points: u32,
    hint: &'static str,
    judge: fn(T, &JudgeCtx) -> anyhow::Result<()>,
) -> CheckSpec {
    CheckSpec {
        name,
        points,
        hint,
        judge: Box::new(move |value, ctx| {
            let typed: T =
                serde_json::from_value(value).map_err(|e| anyhow::anyhow!("{MALFORMED}: {e}"))?;
            judge(typed, ctx)
        }),
    }
}

const MALFORMED: &str = "the check target reported a malformed observation";

/// Decides one check from its observation (`None`: the process ended or was stopped
/// before it reported; `missing` says how).
pub fn decide(
    spec: &CheckSpec,
    observation: Option<&Observation>,
    ctx: &JudgeCtx,
    missing: &str,
) -> (Status, String) {
    let Some(observation) = observation else {
        return (Status::Crashed, missing.to_string());
    };
    match &observation.observed {
        Observed::Value { value } => match (spec.judge)(value.clone(), ctx) {
            Ok(()) => (Status::Passed, String::new()),
            Err(e) => {
                let message = format!("{e:#}");
                let status = if message.starts_with(MALFORMED) {
                    Status::Crashed
                } else {
                    Status::Failed
                };
                (status, short_error(&message))
            }
        },
        Observed::Error { message } => (
            Status::Failed,
            format!("the check stopped on an error: {}", short_error(message)),
        ),
        Observed::NotImplemented { message } => (Status::NotImplemented, short_error(message)),
        Observed::Panicked { message } => (Status::Crashed, short_error(message)),
        Observed::TimedOut { after_s } => (
            Status::TimedOut,
            format!("still running after {after_s} s: look for a loop that never ends"),
        ),
    }
}

/// The lines of an observations file, sorted.
#[derive(Debug, Default)]
pub struct ObservationFile {
    /// Lines signed with the run's key, in order.
    pub observations: Vec<Observation>,
    /// Whole lines without a valid signature: the harness did not write them.
    pub forged: usize,
    /// A last line cut short (the process was killed while writing it).
    pub malformed: usize,
}

/// Reads an observations file: at most [`MAX_OBSERVATION_BYTES`], one signed line per
/// observation (`<hmac> <json>`).
pub fn read_observations(path: &Path, key: &[u8]) -> Result<ObservationFile, String> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_OBSERVATION_BYTES {
        return Err(format!(
            "the check process wrote {size} bytes of observations, more than the {} MiB allowed",
            MAX_OBSERVATION_BYTES >> 20
        ));
    }
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let mut file = ObservationFile::default();
    for raw in text.split_inclusive('\n') {
        let complete = raw.ends_with('\n');
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let verified = line
            .split_once(' ')
            .filter(|(mac, json)| super::observe::sign(key, json) == *mac)
            .and_then(|(_, json)| serde_json::from_str::<Observation>(json).ok());
        match verified {
            Some(o) => file.observations.push(o),
            // The harness writes whole lines; only the last may be cut by a kill.
            None if !complete => file.malformed += 1,
            None => file.forged += 1,
        }
    }
    Ok(file)
}

/// The first observation of `check`: later lines with the same name are ignored.
pub fn first_for<'a>(observations: &'a [Observation], check: &str) -> Option<&'a Observation> {
    observations.iter().find(|o| o.check == check)
}

/// Shortens an error for a terminal: libtorch's C++ frames ("Exception raised from
/// …" and the frame list) are dropped, the first lines kept.
pub fn short_error(message: &str) -> String {
    // libtorch errors arrive Debug-quoted, their lines joined by escaped newlines.
    let mut text = message.replace("\\n", "\n");
    if let Some(cut) = text.find("Exception raised from") {
        let location = text
            .rfind("\n  (at ")
            .filter(|i| *i > cut)
            .map(|i| text[i..].to_string())
            .unwrap_or_default();
        text.truncate(cut);
        text = text.trim_end().to_string();
        text.push_str(&location);
    }
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !is_cpp_frame(l))
        .collect();
    let mut out = kept.iter().take(8).cloned().collect::<Vec<_>>().join("\n");
    if kept.len() > 8 {
        out.push_str("\n  …");
    }
    out
}

/// The first `max_lines` non-empty lines of a long message, with "…" when cut.
pub fn first_lines(message: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = message.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = lines[..lines.len().min(max_lines)].join("\n");
    if lines.len() > max_lines {
        out.push_str("\n  …");
    }
    out
}

/// A line of a C++ backtrace (`frame #3: at::native::cat(...) + 0x1f (0x7f… in …)`).
fn is_cpp_frame(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("frame #") || (t.contains(" + 0x") && t.contains("(0x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(check: &str, observed: Observed) -> Observation {
        Observation {
            check: check.into(),
            observed,
            duration_ms: 1,
        }
    }

    fn ctx() -> JudgeCtx {
        JudgeCtx {
            seed: 1,
            snapshot_dir: PathBuf::from("/nonexistent"),
            bless: false,
            bless_mistake: None,
        }
    }

    fn positive() -> CheckSpec {
        spec::<i64>("positive", 2, "h", |v, _| {
            anyhow::ensure!(v > 0, "expected a positive number, got {v}");
            Ok(())
        })
    }

    #[test]
    fn values_are_judged_and_malformed_ones_crash() {
        let s = positive();
        let value = |v: serde_json::Value| obs("positive", Observed::Value { value: v });
        assert_eq!(
            decide(&s, Some(&value(3.into())), &ctx(), "").0,
            Status::Passed
        );
        let (status, message) = decide(&s, Some(&value((-3).into())), &ctx(), "");
        assert_eq!(status, Status::Failed);
        assert!(message.contains("got -3"), "{message}");
        let (status, message) = decide(&s, Some(&value("x".into())), &ctx(), "");
        assert_eq!(status, Status::Crashed);
        assert!(message.contains("malformed"), "{message}");
    }

    #[test]
    fn endings_map_to_statuses() {
        let s = positive();
        let cases = [
            (
                Observed::NotImplemented {
                    message: "not yet implemented".into(),
                },
                Status::NotImplemented,
            ),
            (
                Observed::Panicked {
                    message: "boom".into(),
                },
                Status::Crashed,
            ),
            (
                Observed::Error {
                    message: "no file".into(),
                },
                Status::Failed,
            ),
            (Observed::TimedOut { after_s: 3 }, Status::TimedOut),
        ];
        for (observed, status) in cases {
            assert_eq!(
                decide(&s, Some(&obs("positive", observed)), &ctx(), "").0,
                status
            );
        }
        assert_eq!(
            decide(&s, None, &ctx(), "the process died"),
            (Status::Crashed, "the process died".to_string())
        );
    }

    #[test]
    fn unsigned_forged_oversized_and_cut_lines() {
        use crate::grading::observe::sign;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.jsonl");
        let key = b"run key";
        let json =
            |v: i64| serde_json::to_string(&obs("a", Observed::Value { value: v.into() })).unwrap();
        let lines = [
            format!("{} {}", sign(b"guessed key", &json(9)), json(9)), // wrong key
            json(8),                                                   // unsigned
            format!("{} {}", sign(key, &json(1)), json(1)),
            "not json".to_string(),
            format!("{} {}", sign(key, &json(2)), json(2)),
            format!("{} {{\"check\":\"a\",\"ki", sign(key, "x")), // cut short, last
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let file = read_observations(&path, key).unwrap();
        assert_eq!(
            (file.observations.len(), file.forged, file.malformed),
            (2, 3, 1)
        );
        let first = first_for(&file.observations, "a").unwrap();
        assert_eq!(first.observed, Observed::Value { value: 1.into() });
        let big = std::fs::File::create(&path).unwrap();
        big.set_len(MAX_OBSERVATION_BYTES + 1).unwrap();
        assert!(read_observations(&path, key)
            .unwrap_err()
            .contains("MiB allowed"));
    }

    #[test]
    fn libtorch_frames_are_dropped() {
        let raw = "Sizes of tensors must match except in dimension 1. Expected size 8 but got size 9\\nException raised from check_cat_shape_except_dim at /pytorch/aten/src/ATen/native/TensorShape.cpp:273 (most recent call first):\\nframe #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x80 (0x7f in /lib/libc10.so)\\nframe #1: at::native::cat + 0x1f (0x7f in /lib/libtorch_cpu.so)\n  (at exercises/ex08_up.rs:40)";
        let short = short_error(raw);
        assert!(short.starts_with("Sizes of tensors must match"), "{short}");
        assert!(
            !short.contains("frame #") && !short.contains("Exception raised"),
            "{short}"
        );
        assert!(short.ends_with("(at exercises/ex08_up.rs:40)"), "{short}");
    }
}
