//! What the stage measured, as the `final_stage` target writes it (`metrics.json`) and
//! the checker reads it back. The target's process holds student code, so the checker
//! reads the file as untrusted data: bounded in size, typed, and checked for
//! finite numbers and lengths that agree with the schedule and the data set.
use super::options::Schedule;
use crate::train::metrics::MetricSummary;
use crate::train::trainer::History;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The most bytes the checker reads from a report; a real one is a few KiB.
pub const MAX_REPORT_BYTES: u64 = 1 << 20;

/// Labels of the two models, as the histories and the report carry them.
pub const UNET_LABEL: &str = "U-Net";
pub const EFFICIENT_LABEL: &str = "EfficientNet U-Net";

/// Everything the stage measured (`<out>/metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// The device the target trained on, as it described it.
    pub device: String,
    /// Where the encoder's weights came from, as the student's `pretrained` said.
    pub encoder_weights: String,
    pub seed: u64,
    pub schedule: Schedule,
    /// Per-channel statistics of the training images (exercises 1 and 2).
    pub mean: [f64; 3],
    pub std: [f64; 3],
    pub train_images: usize,
    pub val_images: usize,
    pub test_images: usize,
    pub unet: ModelReport,
    pub unet_efficient: ModelReport,
    /// Test metrics of predicting "lesion" everywhere, for comparison.
    pub all_lesion_baseline: MetricSummary,
}

/// One model's training history and test metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    pub history: History,
    pub test: MetricSummary,
    pub seconds_per_epoch: f64,
}

impl ModelReport {
    pub fn new(history: History, test: MetricSummary) -> ModelReport {
        let seconds_per_epoch = history.total_seconds() / history.epoch_seconds.len().max(1) as f64;
        ModelReport {
            history,
            test,
            seconds_per_epoch,
        }
    }
}

/// Why a report cannot be judged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("the stage wrote no report ({path} is missing)")]
    Missing { path: String },
    #[error("the report {path} was not written by this run (it is older than the run)")]
    Stale { path: String },
    #[error("the report {path} has {bytes} bytes, more than the {limit} a report may have")]
    TooLarge {
        path: String,
        bytes: u64,
        limit: u64,
    },
    #[error("cannot read the report {path}: {why}")]
    Unreadable { path: String, why: String },
    #[error("the report {path} is malformed: {why}")]
    Malformed { path: String, why: String },
    #[error("the report {path} is inconsistent: {why}")]
    Invalid { path: String, why: String },
}

/// Reads `path` as a report written at or after `since`: at most [`MAX_REPORT_BYTES`].
pub fn read_report(
    path: &Path,
    since: Option<std::time::SystemTime>,
) -> Result<StageReport, ReportError> {
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m,
        _ => return Err(ReportError::Missing { path: shown }),
    };
    if let (Some(since), Ok(modified)) = (since, meta.modified()) {
        if modified < since {
            return Err(ReportError::Stale { path: shown });
        }
    }
    if meta.len() > MAX_REPORT_BYTES {
        return Err(ReportError::TooLarge {
            path: shown,
            bytes: meta.len(),
            limit: MAX_REPORT_BYTES,
        });
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| {
        use std::io::Read;
        f.take(MAX_REPORT_BYTES + 1).read_to_end(&mut bytes)
    });
    if let Err(e) = read {
        return Err(ReportError::Unreadable {
            path: shown,
            why: e.to_string(),
        });
    }
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(ReportError::TooLarge {
            path: shown,
            bytes: bytes.len() as u64,
            limit: MAX_REPORT_BYTES,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        let mut why = e.to_string();
        if why.contains("invalid type: null") {
            // serde_json writes NaN and infinities as null.
            why.push_str(" (null stands for a number that was not finite: NaN or infinite)");
        }
        ReportError::Malformed { path: shown, why }
    })
}

/// What the checker knows without asking the target: the schedule and seed it asked
/// for, and the sizes of the data set's splits it counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub schedule: Schedule,
    pub seed: u64,
    /// Image/mask pairs in the training folder (split 80/20 into training and
    /// validation) and in the test folder.
    pub train_pairs: usize,
    pub test_pairs: usize,
}

impl StageReport {
    /// The first way this report disagrees with itself or with `expected`: numbers
    /// that are not finite or out of range, histories whose lengths do not fit the
    /// schedule, image counts that do not fit the data set.
    pub fn validate(&self, expected: &Expected) -> Result<(), String> {
        if self.schedule != expected.schedule {
            return Err(format!(
                "it trained on the schedule {:?}, not the one asked for, {:?}",
                self.schedule, expected.schedule
            ));
        }
        if self.seed != expected.seed {
            return Err(format!(
                "it used seed {}, not the {} asked for",
                self.seed, expected.seed
            ));
        }
        for (what, values) in [("mean", &self.mean), ("std", &self.std)] {
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(format!("the training-set {what} holds {v}"));
            }
        }
        if self.train_images + self.val_images != expected.train_pairs {
            return Err(format!(
                "{} training + {} validation images, but the training folder holds {} pairs",
                self.train_images, self.val_images, expected.train_pairs
            ));
        }
        if self.test_images != expected.test_pairs {
            return Err(format!(
                "{} test images, but the test folder holds {} pairs",
                self.test_images, expected.test_pairs
            ));
        }
        for (label, epochs, model) in [
            (UNET_LABEL, self.schedule.unet_epochs, &self.unet),
            (
                EFFICIENT_LABEL,
                self.schedule.efficient_epochs,
                &self.unet_efficient,
            ),
        ] {
            check_history(label, epochs, &model.history)?;
            check_metrics(
                &format!("the {label}'s test metrics"),
                &model.test,
                self.test_images,
            )?;
            if !(model.seconds_per_epoch.is_finite() && model.seconds_per_epoch >= 0.0) {
                return Err(format!(
                    "the {label}'s seconds per epoch is {}",
                    model.seconds_per_epoch
                ));
            }
        }
        check_metrics(
            "the all-lesion baseline",
            &self.all_lesion_baseline,
            self.test_images,
        )
    }
}

/// A history of `label` over at most `epochs` epochs (exactly `epochs` unless it
/// stopped early), with finite losses and its best epoch where it says.
fn check_history(label: &str, epochs: usize, h: &History) -> Result<(), String> {
    let n = h.val_loss.len();
    if h.label != label {
        return Err(format!(
            "a history is labelled {:?} where {label:?} was expected",
            h.label
        ));
    }
    if h.train_loss.len() != n || h.epoch_seconds.len() != n {
        return Err(format!(
            "the {label}'s history has {} training losses, {n} validation losses and {} epoch times",
            h.train_loss.len(),
            h.epoch_seconds.len()
        ));
    }
    if n == 0 || n > epochs || (!h.stopped_early && n != epochs) {
        return Err(format!(
            "the {label} trained {n} epoch(s) of the {epochs} scheduled{}",
            if h.stopped_early {
                " (stopped early)"
            } else {
                ""
            }
        ));
    }
    let numbers = h
        .train_loss
        .iter()
        .chain(&h.val_loss)
        .chain(&h.epoch_seconds);
    if let Some(v) = numbers.clone().find(|v| !v.is_finite()) {
        return Err(format!("the {label}'s history holds {v}"));
    }
    if h.epoch_seconds.iter().any(|s| *s < 0.0) {
        return Err(format!("the {label}'s history has a negative epoch time"));
    }
    let best = h.best_epoch.checked_sub(1).and_then(|i| h.val_loss.get(i));
    match best {
        // Early stopping counts only improvements by more than MIN_DELTA.
        Some(v)
            if *v == h.best_val_loss && h.val_loss.iter().all(|l| *l >= *v - super::MIN_DELTA) => {}
        _ => {
            return Err(format!(
                "the {label}'s best epoch {} with validation loss {} is not the lowest of {:?}",
                h.best_epoch, h.best_val_loss, h.val_loss
            ))
        }
    }
    if h.trainable_parameters <= 0 {
        return Err(format!(
            "the {label} has {} trainable parameters",
            h.trainable_parameters
        ));
    }
    Ok(())
}

/// Metrics in [0, 1] over `images` images, Dice never below IoU (true of every image,
/// so of their means and of pooled pixels too).
fn check_metrics(what: &str, m: &MetricSummary, images: usize) -> Result<(), String> {
    let values = [
        m.dice_per_image,
        m.dice_dataset,
        m.iou_per_image,
        m.iou_dataset,
    ];
    if values
        .iter()
        .any(|v| !(v.is_finite() && (0.0..=1.0).contains(v)))
    {
        return Err(format!("{what} are not all in [0, 1]: {values:?}"));
    }
    if m.dice_per_image + 1e-9 < m.iou_per_image || m.dice_dataset + 1e-9 < m.iou_dataset {
        return Err(format!("{what} have a Dice below the IoU: {values:?}"));
    }
    if m.images != images {
        return Err(format!(
            "{what} cover {} images, not the {images} of the test split",
            m.images
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    fn history(label: &str, val: &[f64]) -> History {
        let best = val
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap();
        History {
            label: label.into(),
            train_loss: val.iter().map(|v| v + 0.1).collect(),
            val_loss: val.to_vec(),
            epoch_seconds: vec![1.5; val.len()],
            best_epoch: best + 1,
            best_val_loss: val[best],
            stopped_early: false,
            trainable_parameters: 1000,
            checkpoint: PathBuf::from("m.safetensors"),
        }
    }

    fn metrics(dice: f64, images: usize) -> MetricSummary {
        MetricSummary {
            dice_per_image: dice,
            dice_dataset: dice,
            iou_per_image: dice / (2.0 - dice),
            iou_dataset: dice / (2.0 - dice),
            images,
        }
    }

    /// A report as the reference would write one on the CPU schedule.
    pub(crate) fn sample() -> (StageReport, Expected) {
        let schedule = Schedule::cpu();
        let report = StageReport {
            device: "CPU (2 threads)".into(),
            encoder_weights: "Lite0".into(),
            seed: 101,
            schedule: schedule.clone(),
            mean: [0.6, 0.5, 0.4],
            std: [0.2, 0.2, 0.2],
            train_images: 160,
            val_images: 40,
            test_images: 60,
            unet: ModelReport::new(history(UNET_LABEL, &[0.7, 0.55]), metrics(0.5, 60)),
            unet_efficient: ModelReport::new(
                history(EFFICIENT_LABEL, &[0.5, 0.3, 0.25, 0.2, 0.21]),
                metrics(0.83, 60),
            ),
            all_lesion_baseline: metrics(0.26, 60),
        };
        let expected = Expected {
            schedule,
            seed: 101,
            train_pairs: 200,
            test_pairs: 60,
        };
        (report, expected)
    }

    #[test]
    fn a_sound_report_round_trips_and_validates() {
        let (report, expected) = sample();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
        let back = read_report(&path, None).unwrap();
        assert_eq!(back, report);
        assert_eq!(back.validate(&expected), Ok(()));
    }

    #[test]
    fn missing_oversized_stale_and_malformed_reports_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        assert!(matches!(
            read_report(&path, None),
            Err(ReportError::Missing { .. })
        ));
        std::fs::write(&path, vec![b' '; MAX_REPORT_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            read_report(&path, None),
            Err(ReportError::TooLarge { .. })
        ));
        std::fs::write(&path, br#"{"device": "CPU"}"#).unwrap();
        let err = read_report(&path, None).unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(matches!(
            read_report(&path, Some(later)),
            Err(ReportError::Stale { .. })
        ));
    }

    #[test]
    fn inconsistent_reports_are_refused_with_the_reason() {
        let (good, expected) = sample();
        type Spoil = Box<dyn Fn(&mut StageReport)>;
        let cases: Vec<(&str, Spoil)> = vec![
            ("schedule", Box::new(|r| r.schedule = Schedule::notebook())),
            ("seed", Box::new(|r| r.seed = 1)),
            ("mean holds NaN", Box::new(|r| r.mean[1] = f64::NAN)),
            ("test folder holds 60", Box::new(|r| r.test_images = 59)),
            ("training folder", Box::new(|r| r.val_images = 41)),
            (
                "trained 1 epoch",
                Box::new(|r| {
                    let h = &mut r.unet.history;
                    h.val_loss.pop();
                    h.train_loss.pop();
                    h.epoch_seconds.pop();
                }),
            ),
            (
                "2 training losses",
                Box::new(|r| r.unet_efficient.history.train_loss.truncate(2)),
            ),
            (
                "not the lowest",
                Box::new(|r| r.unet.history.best_epoch = 1),
            ),
            (
                "holds inf",
                Box::new(|r| r.unet.history.train_loss[0] = f64::INFINITY),
            ),
            (
                "not all in [0, 1]",
                Box::new(|r| r.unet.test.dice_per_image = 1.5),
            ),
            (
                "Dice below the IoU",
                Box::new(|r| r.unet_efficient.test.iou_dataset = 0.99),
            ),
            (
                "cover 10 images",
                Box::new(|r| r.all_lesion_baseline.images = 10),
            ),
            ("labelled", Box::new(|r| r.unet.history.label = "x".into())),
        ];
        for (needle, spoil) in cases {
            let mut report = good.clone();
            spoil(&mut report);
            let why = report.validate(&expected).unwrap_err();
            assert!(why.contains(needle), "{needle:?} not in {why:?}");
        }
        let mut early = good.clone();
        early.unet_efficient.history.stopped_early = true;
        for v in [
            &mut early.unet_efficient.history.val_loss,
            &mut early.unet_efficient.history.train_loss,
            &mut early.unet_efficient.history.epoch_seconds,
        ] {
            v.truncate(4);
        }
        assert_eq!(early.validate(&expected), Ok(()), "stopping early is fine");
        let mut flat = good.clone();
        let h = &mut flat.unet.history;
        h.val_loss = vec![0.5, 0.5 - super::super::MIN_DELTA / 2.0];
        (h.best_epoch, h.best_val_loss) = (1, 0.5);
        assert_eq!(
            flat.validate(&expected),
            Ok(()),
            "a gain below MIN_DELTA is no new best epoch"
        );
    }
}
