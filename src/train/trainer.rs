//! The training loop of the final stage: Adam on the trainable parameters, a
//! validation pass per epoch, early stopping, and the best checkpoint saved
//! atomically (the notebook's `utils.ml.train_model`).
use super::early_stopping::{EarlyStopping, Verdict};
use super::metrics::{MetricSummary, SegmentationMetrics};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Tensor};

/// Anything that yields (images [B,3,H,W], masks [B,1,H,W]) batches, epoch by epoch.
pub trait BatchSource {
    /// Number of batches in one epoch.
    fn num_batches(&self) -> usize;
    /// The batches of `epoch` (a shuffling source reshuffles per epoch).
    fn epoch(
        &self,
        epoch: usize,
    ) -> Box<dyn Iterator<Item = anyhow::Result<(Tensor, Tensor)>> + '_>;
}

impl BatchSource for crate::data::DataLoader {
    fn num_batches(&self) -> usize {
        self.len()
    }
    /// A new pass over the loader (a shuffling loader draws a new order per pass).
    fn epoch(
        &self,
        _epoch: usize,
    ) -> Box<dyn Iterator<Item = anyhow::Result<(Tensor, Tensor)>> + '_> {
        Box::new(self.iter())
    }
}

/// A loss such as the student's `DiceLoss::forward`.
pub type LossFn<'a> = &'a dyn Fn(&Tensor, &Tensor) -> Tensor;

#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Shown in progress lines ("U-Net", "EfficientNet U-Net").
    pub label: String,
    pub epochs: usize,
    pub learning_rate: f64,
    pub patience: usize,
    pub min_delta: f64,
    pub device: Device,
    /// Where the best weights are kept (`.safetensors`).
    pub checkpoint: PathBuf,
    /// Train on at most this many batches per epoch (the reduced CPU schedule).
    pub max_train_batches: Option<usize>,
    pub max_val_batches: Option<usize>,
}

/// What happened during training, epoch by epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub label: String,
    pub train_loss: Vec<f64>,
    pub val_loss: Vec<f64>,
    pub epoch_seconds: Vec<f64>,
    pub best_epoch: usize,
    pub best_val_loss: f64,
    pub stopped_early: bool,
    pub trainable_parameters: i64,
    pub checkpoint: PathBuf,
}

impl History {
    pub fn total_seconds(&self) -> f64 {
        self.epoch_seconds.iter().sum()
    }
}

fn bar(len: u64, label: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(label.to_string());
    pb
}

/// Saves the store to `path` through a temporary file, so an interruption never
/// leaves half a checkpoint.
pub fn save_atomically(vs: &nn::VarStore, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.partial.safetensors",
        path.file_stem().and_then(|s| s.to_str()).unwrap_or("model")
    ));
    vs.save(&tmp)
        .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move checkpoint into place at {}", path.display()))?;
    Ok(())
}

/// Mean loss over the validation batches, in evaluation mode.
pub fn validation_loss(
    model: &dyn ModuleT,
    loss: LossFn,
    source: &dyn BatchSource,
    device: Device,
    limit: Option<usize>,
) -> anyhow::Result<f64> {
    let _guard = tch::no_grad_guard();
    let (mut sum, mut n) = (0.0, 0usize);
    for batch in source.epoch(0).take(limit.unwrap_or(usize::MAX)) {
        let (x, y) = batch?;
        let pred = model.forward_t(&x.to_device(device), false);
        sum += loss(&pred, &y.to_device(device)).double_value(&[]);
        n += 1;
    }
    anyhow::ensure!(n > 0, "the validation set has no batches");
    Ok(sum / n as f64)
}

/// Trains `model` (whose variables live in `vs`) and restores its best weights.
pub fn train(
    model: &dyn ModuleT,
    vs: &mut nn::VarStore,
    loss: LossFn,
    train_set: &dyn BatchSource,
    val_set: &dyn BatchSource,
    cfg: &TrainConfig,
) -> anyhow::Result<History> {
    let mut opt = nn::Adam::default().build(vs, cfg.learning_rate)?;
    let trainable = crate::grading::summary::count_trainable(vs);
    let mut stopper = EarlyStopping::new(cfg.patience, cfg.min_delta);
    let mut history = History {
        label: cfg.label.clone(),
        train_loss: Vec::new(),
        val_loss: Vec::new(),
        epoch_seconds: Vec::new(),
        best_epoch: 0,
        best_val_loss: f64::INFINITY,
        stopped_early: false,
        trainable_parameters: trainable,
        checkpoint: cfg.checkpoint.clone(),
    };
    let steps = train_set
        .num_batches()
        .min(cfg.max_train_batches.unwrap_or(usize::MAX));
    let tty = std::io::stderr().is_terminal();
    for epoch in 0..cfg.epochs {
        let start = Instant::now();
        let pb = bar(
            steps as u64,
            &format!("{} epoch {}/{}", cfg.label, epoch + 1, cfg.epochs),
        );
        let (mut sum, mut n) = (0.0, 0usize);
        for batch in train_set.epoch(epoch).take(steps) {
            let (x, y) = batch?;
            let pred = model.forward_t(&x.to_device(cfg.device), true);
            let l = loss(&pred, &y.to_device(cfg.device));
            opt.backward_step(&l);
            let value = l.double_value(&[]);
            anyhow::ensure!(value.is_finite(), "the training loss became {value} at epoch {}: check the loss and the learning rate", epoch + 1);
            sum += value;
            n += 1;
            pb.set_message(format!("loss {:.4}", sum / n as f64));
            pb.inc(1);
        }
        pb.finish_and_clear();
        anyhow::ensure!(n > 0, "the training set has no batches");
        let train_loss = sum / n as f64;
        let val_loss = validation_loss(model, loss, val_set, cfg.device, cfg.max_val_batches)?;
        let secs = start.elapsed().as_secs_f64();
        history.train_loss.push(train_loss);
        history.val_loss.push(val_loss);
        history.epoch_seconds.push(secs);
        let verdict = stopper.observe(val_loss);
        let mark = if verdict == Verdict::Improved {
            " (best, saved)"
        } else {
            ""
        };
        let line = format!("{} epoch {}/{}: train loss {train_loss:.4}, validation loss {val_loss:.4}, {secs:.1} s{mark}", cfg.label, epoch + 1, cfg.epochs);
        if tty {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
        match verdict {
            Verdict::Improved => {
                history.best_epoch = epoch + 1;
                history.best_val_loss = val_loss;
                save_atomically(vs, &cfg.checkpoint)?;
            }
            Verdict::Continue => {}
            Verdict::Stop => {
                history.stopped_early = true;
                println!(
                    "{}: no improvement for {} epochs, stopping early",
                    cfg.label, cfg.patience
                );
                break;
            }
        }
    }
    vs.load(&cfg.checkpoint).with_context(|| {
        format!(
            "cannot reload the best checkpoint {}",
            cfg.checkpoint.display()
        )
    })?;
    Ok(history)
}

/// Dice and IoU of thresholded predictions on every batch of `source`.
pub fn evaluate(
    model: &dyn ModuleT,
    source: &dyn BatchSource,
    device: Device,
) -> anyhow::Result<MetricSummary> {
    let _guard = tch::no_grad_guard();
    let mut metrics = SegmentationMetrics::default();
    for batch in source.epoch(0) {
        let (x, y) = batch?;
        let pred = model
            .forward_t(&x.to_device(device), false)
            .to_device(Device::Cpu);
        metrics.add_batch(&pred, &y);
    }
    Ok(metrics.summary())
}
