//! The final training stage (notebook §4.3 end and §5.4), split in two halves that
//! never share a process when the checker runs it:
//!
//! - [`pipeline`] runs inside the `final_stage` target, next to the student's code
//!   (plugged in through [`pipeline::StudentCode`]): it trains the U-Net and the
//!   EfficientNet U-Net with the student's data pipeline and Dice loss, evaluates both,
//!   and writes plots, checkpoints and a [`report::StageReport`]. It decides nothing.
//! - [`verdict`] runs in the checker: it reads the report as untrusted data
//!   ([`report::read_report`], [`report::StageReport::validate`]), checks the outputs
//!   are there, and applies the pass bars.
//!
//! [`options`] holds what both halves share: the command-line options of
//! `checker train` and of the target, the device and schedule they resolve to.
//! Everything the target writes is under `--out` and `--models` (temporary files
//! included, except those `tempfile` puts in `$TMPDIR`).
pub mod options;
pub mod pipeline;
pub mod report;
pub mod verdict;

pub use options::{DeviceChoice, Plan, Schedule, StageCommand, StageOptions, NOTEBOOK_SEED};
pub use pipeline::{StageData, StudentCode};
pub use report::{Expected, StageReport};
pub use verdict::{judge, JudgeInput, StageVerdict};

use crate::models::efficientnet::EfficientNetEncoder;
use crate::models::weights::{ResolvedWeights, WeightsChoice, WeightsSource};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// Files under `--out`.
pub const REPORT_FILE: &str = "metrics.json";
pub const VERDICT_FILE: &str = "verdict.json";
pub const LOSS_CURVES_FILE: &str = "loss_curves.png";
pub const PREDICTIONS_FILE: &str = "predictions.png";
/// Files under `--models`.
pub const UNET_CHECKPOINT: &str = "se05_model_v1.safetensors";
pub const EFFICIENT_CHECKPOINT: &str = "se05_model_v2.safetensors";

/// The notebook's training settings: Adam's learning rate, and early stopping after
/// `PATIENCE` epochs without an improvement of more than `MIN_DELTA`.
pub const LEARNING_RATE: f64 = 1e-3;
pub const PATIENCE: usize = 3;
pub const MIN_DELTA: f64 = 1e-4;

/// The moment a run starts, less a margin for coarse file timestamps: files older
/// than this are left-overs of an earlier run.
pub fn run_started() -> SystemTime {
    SystemTime::now() - Duration::from_secs(2)
}

/// Checks the encoder weights `choice` (the `--weights` value) the way the stage will
/// load them, before any training: the file exists, its hash prefix matches, and it
/// fills every variable of the encoder it is meant for. One message per refusal.
pub fn check_encoder_weights(choice: &str) -> Result<ResolvedWeights, String> {
    let choice = WeightsChoice::parse(choice);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    EfficientNetEncoder::pretrained(&vs.root(), &choice)
        .map(|(_, weights)| weights)
        .map_err(|e| error_text(&anyhow::Error::new(e)))
}

/// The `--weights` value that names exactly `weights`: a B0 file by its absolute
/// path, or `lite0`, or `random`.
pub fn pinned_weights(weights: &ResolvedWeights) -> String {
    match &weights.source {
        WeightsSource::B0(path) => std::path::absolute(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string(),
        WeightsSource::Lite0(_) => "lite0".into(),
        WeightsSource::Random => "random".into(),
    }
}

/// An error and its causes on one line each, each said once (a cause whose text an
/// earlier one already holds is dropped), libtorch's C++ frames removed.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(part.trim()) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    crate::grading::judge::short_error(&text)
}

/// The `final_stage` target's `main`: `--stage` runs the stage, anything else (what
/// `cargo test` passes) the self-test.
pub fn target_main<S: StudentCode>(student: &S) -> ExitCode {
    let command = match StageCommand::from_args(std::env::args_os().collect()) {
        Ok(command) => command,
        Err(e) => e.exit(),
    };
    let outcome = match command {
        Some(command) => {
            explain_panics();
            pipeline::run_stage(student, &command)
        }
        None => pipeline::self_test(student),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("training stage failed: {}", error_text(&e));
            ExitCode::from(2)
        }
    }
}

/// A panic in the student's code ends the stage with a short message and a way
/// forward, not a backtrace.
fn explain_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = crate::grading::observe::payload_text(info.payload());
        let place = info
            .location()
            .map(|l| {
                format!(
                    "\n  at {}:{}",
                    crate::io::fsutil::display_source_path(l.file()),
                    l.line()
                )
            })
            .unwrap_or_default();
        eprintln!(
            "\nThe training stage stopped: {message}{place}\nThe stage runs your exercises 1–11; \
             grade them first with `cargo run --bin checker -- all`."
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::checkpoint::CheckpointError;
    use crate::models::weights::WeightsError;
    use std::path::PathBuf;

    #[test]
    fn nested_causes_are_said_once() {
        let path = PathBuf::from("/w/b0.pth");
        let inner = CheckpointError::InFile {
            path: path.clone(),
            source: Box::new(CheckpointError::NotACheckpoint("no zip header".into())),
        };
        let e = anyhow::Error::new(WeightsError::Checkpoint {
            path: path.clone(),
            source: inner,
        })
        .context("cannot build the EfficientNet U-Net");
        let text = error_text(&e);
        assert_eq!(text.matches("no zip header").count(), 1, "{text}");
        assert!(text.starts_with("cannot build the EfficientNet U-Net: cannot load /w/b0.pth"));
    }

    #[test]
    fn a_missing_or_damaged_weights_file_is_refused_with_one_message() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing.pth");
        let why = check_encoder_weights(missing.to_str().unwrap()).unwrap_err();
        assert!(
            why.contains("not found") && why.contains("nothing.pth"),
            "{why}"
        );

        let junk = dir.path().join("junk.pth");
        std::fs::write(&junk, b"not a checkpoint at all").unwrap();
        let why = check_encoder_weights(junk.to_str().unwrap()).unwrap_err();
        assert!(why.contains("junk.pth"), "{why}");
        let first_line = why.lines().next().unwrap();
        let tail = first_line.rsplit(": ").next().unwrap();
        assert_eq!(why.matches(tail).count(), 1, "{why}");

        let random = check_encoder_weights("random").unwrap();
        assert_eq!(pinned_weights(&random), "random");
    }
}
