//! The final training stage (notebook §4.3 end and §5.4): with the student's data
//! pipeline (exercises 1–5) it trains the U-Net (exercise 9) and the
//! EfficientNet-encoder U-Net (exercise 11) with the Dice loss (exercise 10),
//! evaluates both on the test split, and draws loss curves and predictions.
//!
//! `checker train` runs it with `--stage`. Run by `cargo test` without arguments, it
//! trains both models for a few batches on a tiny generated data set and checks that
//! every output is written.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions/ex01_dataset.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex01_dataset.rs")]
mod ex01_dataset;
#[cfg_attr(feature = "solutions", path = "../solutions/ex02_mean_std.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex02_mean_std.rs")]
mod ex02_mean_std;
#[cfg_attr(feature = "solutions", path = "../solutions/ex03_transforms.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex03_transforms.rs")]
mod ex03_transforms;
#[cfg_attr(feature = "solutions", path = "../solutions/ex04_augmented_dataset.rs")]
#[cfg_attr(
    not(feature = "solutions"),
    path = "../exercises/ex04_augmented_dataset.rs"
)]
mod ex04_augmented_dataset;
#[cfg_attr(feature = "solutions", path = "../solutions/ex05_split.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex05_split.rs")]
mod ex05_split;
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_double_conv.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex06_double_conv.rs")]
mod ex06_double_conv;
#[cfg_attr(feature = "solutions", path = "../solutions/ex07_down.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex07_down.rs")]
mod ex07_down;
#[cfg_attr(feature = "solutions", path = "../solutions/ex08_up.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex08_up.rs")]
mod ex08_up;
#[cfg_attr(feature = "solutions", path = "../solutions/ex09_unet.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex09_unet.rs")]
mod ex09_unet;
#[cfg_attr(feature = "solutions", path = "../solutions/ex10_dice_loss.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex10_dice_loss.rs")]
mod ex10_dice_loss;
#[cfg_attr(feature = "solutions", path = "../solutions/ex11_unet_efficient.rs")]
#[cfg_attr(
    not(feature = "solutions"),
    path = "../exercises/ex11_unet_efficient.rs"
)]
mod ex11_unet_efficient;

use anyhow::Context;
use clap::Parser;
use se05::data::isic::{pair_split, SplitDirs};
use se05::data::{Compose, DataLoader, DataSource, Dataset, SyntheticConfig, Transform};
use se05::models::weights::WeightsChoice;
use se05::train::plots;
use se05::train::trainer::{self, BatchSource, History, TrainConfig};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

#[derive(Parser, Debug)]
struct Args {
    /// Run as the checker's stage (otherwise: the tiny self-test `cargo test` runs).
    #[arg(long)]
    stage: bool,
    #[arg(long)]
    full: bool,
    #[arg(long, default_value = "auto")]
    weights: String,
    #[arg(long, default_value = "auto")]
    device: String,
    #[arg(long, default_value = "results")]
    out: PathBuf,
    #[arg(long, default_value = "my_models")]
    models: PathBuf,
    /// Seed of the split, the shuffling and the initial weights (the notebook's: 101).
    /// Instructors calibrate the pass bars over several seeds.
    #[arg(long, default_value_t = SEED)]
    seed: u64,
    // libtest's flags, passed by `cargo test`; ignored.
    #[arg(long, hide = true)]
    nocapture: bool,
    #[arg(long, hide = true)]
    test_threads: Option<String>,
    #[arg(hide = true)]
    filter: Vec<String>,
}

const SEED: u64 = 101;
const IMAGE_SIZE: usize = 64;
const BATCH: usize = 16;

struct Loader(DataLoader);

impl BatchSource for Loader {
    fn num_batches(&self) -> usize {
        self.0.len()
    }
    fn epoch(
        &self,
        _epoch: usize,
    ) -> Box<dyn Iterator<Item = anyhow::Result<(Tensor, Tensor)>> + '_> {
        Box::new(self.0.iter())
    }
}

/// Per-channel mean and std of the training images at 64×64 (exercises 1 and 2).
fn training_mean_std(train: &SplitDirs) -> anyhow::Result<([f64; 3], [f64; 3])> {
    let resized = Compose::new(vec![
        Transform::Resize {
            height: IMAGE_SIZE,
            width: IMAGE_SIZE,
        },
        Transform::ToTensor,
    ]);
    let dataset = ex01_dataset::ISICDataset::new(
        &train.images,
        &train.masks,
        Some(resized.clone()),
        Some(resized),
    )?;
    ex02_mean_std::mean_std(Arc::new(dataset))
}

/// How long to train: the notebook's schedule, or a reduction for CPUs.
#[derive(Debug, Clone, Serialize)]
struct Schedule {
    unet_epochs: usize,
    efficient_epochs: usize,
    max_train_batches: Option<usize>,
    max_val_batches: Option<usize>,
    reduced: bool,
}

impl Schedule {
    fn notebook() -> Schedule {
        Schedule {
            unet_epochs: 2,
            efficient_epochs: 5,
            max_train_batches: None,
            max_val_batches: None,
            reduced: false,
        }
    }
    fn cpu() -> Schedule {
        Schedule {
            unet_epochs: 2,
            efficient_epochs: 5,
            max_train_batches: Some(10),
            max_val_batches: Some(4),
            reduced: true,
        }
    }
    fn tiny() -> Schedule {
        Schedule {
            unet_epochs: 1,
            efficient_epochs: 2,
            max_train_batches: Some(2),
            max_val_batches: Some(1),
            reduced: true,
        }
    }
}

fn gpu_name() -> String {
    let from_proc = std::fs::read_dir("/proc/driver/nvidia/gpus")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .and_then(|e| std::fs::read_to_string(e.path().join("information")).ok())
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Model:"))
                .map(|l| l.trim_start_matches("Model:").trim().to_string())
        });
    from_proc.unwrap_or_else(|| "CUDA device 0".to_string())
}

fn pick_device(choice: &str) -> anyhow::Result<(Device, String)> {
    let cuda = tch::Cuda::is_available();
    match choice {
        "cpu" => Ok((
            Device::Cpu,
            format!("CPU ({} threads)", tch::get_num_threads()),
        )),
        "cuda" if !cuda => {
            anyhow::bail!("--device cuda was asked for, but libtorch sees no CUDA device")
        }
        "cuda" | "auto" if cuda => Ok((Device::Cuda(0), format!("GPU: {}", gpu_name()))),
        "auto" => Ok((
            Device::Cpu,
            format!(
                "CPU ({} threads; no CUDA device found)",
                tch::get_num_threads()
            ),
        )),
        other => anyhow::bail!("unknown --device {other}: use auto, cpu or cuda"),
    }
}

#[derive(Serialize)]
struct ModelReport {
    history: History,
    test: se05::train::metrics::MetricSummary,
    seconds_per_epoch: f64,
}

#[derive(Serialize)]
struct StageReport {
    data: String,
    synthetic: bool,
    device: String,
    encoder_weights: String,
    schedule: Schedule,
    mean: [f64; 3],
    std: [f64; 3],
    train_images: usize,
    val_images: usize,
    test_images: usize,
    unet: ModelReport,
    unet_efficient: ModelReport,
    all_lesion_baseline: se05::train::metrics::MetricSummary,
    pass_criteria: Vec<Criterion>,
    passed: bool,
}

#[derive(Serialize, Clone)]
struct Criterion {
    what: String,
    threshold: f64,
    value: f64,
    passed: bool,
}

/// Test-Dice bars (per image), calibrated from the reference's runs with a margin.
///
/// Synthetic set (the default 200 + 60 images; at most 10 batches per epoch is then the
/// whole training set, so CPU and GPU schedules are the same): over seeds 101, 1, 2, 3
/// the reference reached U-Net 0.39–0.53 and EfficientNet U-Net 0.76–0.84, and a
/// constant "all lesion" prediction scores 0.26. ISIC: no copy was reachable where the
/// bars were set, so they follow the notebook's recorded validation losses (≈ 0.32
/// after 2 U-Net epochs, 0.17–0.22 after 5 EfficientNet U-Net epochs) with a margin,
/// lower for the reduced CPU schedule.
fn criteria(source_is_synthetic: bool, schedule: &Schedule, unet: f64, eff: f64) -> Vec<Criterion> {
    let (unet_bar, eff_bar) = match (source_is_synthetic, schedule.reduced) {
        // The `cargo test` self-test trains for two batches: it checks outputs only.
        (_, true) if schedule.max_train_batches.unwrap_or(0) < 5 => (0.0, 0.0),
        (true, _) => (0.33, 0.65),
        (false, true) => (0.40, 0.60),
        (false, false) => (0.55, 0.70),
    };
    vec![
        Criterion {
            what: "U-Net test Dice (per image)".into(),
            threshold: unet_bar,
            value: unet,
            passed: unet >= unet_bar,
        },
        Criterion {
            what: "EfficientNet U-Net test Dice (per image)".into(),
            threshold: eff_bar,
            value: eff,
            passed: eff >= eff_bar,
        },
    ]
}

/// Test Dice of predicting "lesion" everywhere: what a model that learnt nothing about
/// shape scores, printed beside the pass bars.
fn all_lesion_baseline(test: &Loader) -> anyhow::Result<se05::train::metrics::MetricSummary> {
    let mut metrics = se05::train::metrics::SegmentationMetrics::default();
    for batch in test.0.iter() {
        let (_, y) = batch?;
        metrics.add_batch(&y.ones_like(), &y);
    }
    Ok(metrics.summary())
}

#[allow(clippy::too_many_arguments)]
fn train_one(
    label: &str,
    model: &dyn ModuleT,
    vs: &mut nn::VarStore,
    epochs: usize,
    schedule: &Schedule,
    device: Device,
    checkpoint: PathBuf,
    train: &Loader,
    val: &Loader,
) -> anyhow::Result<History> {
    let loss = ex10_dice_loss::DiceLoss::default();
    let loss_fn = |p: &Tensor, t: &Tensor| loss.forward(p, t);
    let cfg = TrainConfig {
        label: label.to_string(),
        epochs,
        learning_rate: 1e-3,
        patience: 3,
        min_delta: 1e-4,
        device,
        checkpoint,
        max_train_batches: schedule.max_train_batches,
        max_val_batches: schedule.max_val_batches,
    };
    trainer::train(model, vs, &loss_fn, train, val, &cfg)
}

fn run(args: &Args, source: &DataSource, schedule: Schedule) -> anyhow::Result<bool> {
    let (device, device_name) = pick_device(&args.device)?;
    println!("data: {}", source.describe());
    println!("device: {device_name}");
    if schedule.reduced && args.stage {
        println!(
            "reduced CPU schedule: at most {} training and {} validation batches per epoch (epochs unchanged: U-Net {}, EfficientNet U-Net {}). Use --full for the notebook's schedule.",
            schedule.max_train_batches.unwrap_or(0),
            schedule.max_val_batches.unwrap_or(0),
            schedule.unet_epochs,
            schedule.efficient_epochs
        );
    }
    // Pairing first: a missing mask or a stray file is named before any training.
    let n_images = pair_split(&source.train)?.pairs.len();
    anyhow::ensure!(
        n_images >= 5 && !pair_split(&source.test)?.pairs.is_empty(),
        "the data set at {} is too small to train on: run `checker data regenerate`",
        source.root.display()
    );
    let (mean, std) = training_mean_std(&source.train)?;
    println!("training-set mean {mean:.4?}, std {std:.4?}");

    // The notebook splits one augmented data set 80/20 with seed 101 (exercises 3–5).
    let full = ex04_augmented_dataset::ISICDatasetAlbumentations::new(
        &source.train.images,
        &source.train.masks,
        Some(ex03_transforms::train_transforms(mean, std)),
    )?;
    let (train_dl, val_dl) = ex05_split::split_and_loaders(Arc::new(full), args.seed)?;
    let (n_train, n_val) = (train_dl.dataset().len(), val_dl.dataset().len());
    let (train_dl, val_dl) = (Loader(train_dl), Loader(val_dl));
    let test_set = ex04_augmented_dataset::ISICDatasetAlbumentations::new(
        &source.test.images,
        &source.test.masks,
        Some(ex03_transforms::valid_transforms(mean, std)),
    )?;
    let n_test = test_set.len();
    let test_dl = Loader(DataLoader::new(test_set, BATCH));
    println!("split: {n_train} training, {n_val} validation, {n_test} test images");

    if args.seed != SEED {
        println!("seed {} (the notebook uses {SEED})", args.seed);
    }
    tch::manual_seed(args.seed as i64);
    let mut unet_vs = nn::VarStore::new(device);
    let unet = ex09_unet::UNet::new(&unet_vs.root(), 3, 1);
    let unet_hist = train_one(
        "U-Net",
        &unet,
        &mut unet_vs,
        schedule.unet_epochs,
        &schedule,
        device,
        args.models.join("se05_model_v1.safetensors"),
        &train_dl,
        &val_dl,
    )?;
    let unet_test = trainer::evaluate(&unet, &test_dl, device)?;

    let choice = WeightsChoice::parse(&args.weights);
    let mut eff_vs = nn::VarStore::new(device);
    let (eff, weights) = ex11_unet_efficient::UNetEfficient::pretrained(&eff_vs.root(), &choice, 1)
        .context("cannot build the EfficientNet U-Net")?;
    let weights_note = weights.description.clone();
    println!("encoder: {weights_note}");
    let eff_hist = train_one(
        "EfficientNet U-Net",
        &eff,
        &mut eff_vs,
        schedule.efficient_epochs,
        &schedule,
        device,
        args.models.join("se05_model_v2.safetensors"),
        &train_dl,
        &val_dl,
    )?;
    let eff_test = trainer::evaluate(&eff, &test_dl, device)?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    plots::loss_curves(&[&unet_hist, &eff_hist], &args.out.join("loss_curves.png"))?;
    prediction_grid(
        &unet,
        &eff,
        &test_dl,
        mean,
        std,
        device,
        &args.out.join("predictions.png"),
    )?;

    print_comparison(&unet_hist, &eff_hist);
    let checks = criteria(
        source.is_synthetic(),
        &schedule,
        unet_test.dice_per_image,
        eff_test.dice_per_image,
    );
    println!("\ntest split ({n_test} images), threshold 0.5:");
    for (name, m, h) in [
        ("U-Net", &unet_test, &unet_hist),
        ("EfficientNet U-Net", &eff_test, &eff_hist),
    ] {
        println!(
            "  {name:<20} Dice {:.3} per image / {:.3} pooled, IoU {:.3} / {:.3}, {:.1} s per epoch, {} trainable parameters",
            m.dice_per_image,
            m.dice_dataset,
            m.iou_per_image,
            m.iou_dataset,
            h.total_seconds() / h.epoch_seconds.len().max(1) as f64,
            se05::summary::thousands(h.trainable_parameters)
        );
    }
    let baseline = all_lesion_baseline(&test_dl)?;
    println!(
        "  (predicting \"lesion\" everywhere would score Dice {:.3} per image)",
        baseline.dice_per_image
    );
    println!("pass criteria:");
    for c in &checks {
        println!(
            "  {} {} ≥ {:.2}: {:.3}",
            if c.passed { "✓" } else { "✗" },
            c.what,
            c.threshold,
            c.value
        );
    }
    let passed = checks.iter().all(|c| c.passed);
    let report = StageReport {
        data: source.describe(),
        synthetic: source.is_synthetic(),
        device: device_name,
        encoder_weights: weights_note,
        schedule,
        mean,
        std,
        train_images: n_train,
        val_images: n_val,
        test_images: n_test,
        unet: ModelReport {
            seconds_per_epoch: unet_hist.total_seconds()
                / unet_hist.epoch_seconds.len().max(1) as f64,
            history: unet_hist,
            test: unet_test,
        },
        unet_efficient: ModelReport {
            seconds_per_epoch: eff_hist.total_seconds()
                / eff_hist.epoch_seconds.len().max(1) as f64,
            history: eff_hist,
            test: eff_test,
        },
        all_lesion_baseline: baseline,
        pass_criteria: checks,
        passed,
    };
    se05::fsutil::write_atomic(
        &args.out.join("metrics.json"),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    println!(
        "wrote {}/loss_curves.png, predictions.png and metrics.json",
        args.out.display()
    );
    Ok(passed)
}

/// Validation loss after each epoch for both models, with the training time so far.
fn print_comparison(a: &History, b: &History) {
    println!("\nvalidation loss per epoch (cumulative training seconds):");
    println!("  epoch  {:<24} {:<24}", a.label, b.label);
    let n = a.val_loss.len().max(b.val_loss.len());
    let cell = |h: &History, i: usize| match h.val_loss.get(i) {
        Some(v) => format!(
            "{v:.4} ({:.0} s)",
            h.epoch_seconds[..=i].iter().sum::<f64>()
        ),
        None => "–".to_string(),
    };
    for i in 0..n {
        println!("  {:>5}  {:<24} {:<24}", i + 1, cell(a, i), cell(b, i));
    }
    let target = a.best_val_loss;
    let mut elapsed = 0.0;
    for (i, (v, s)) in b.val_loss.iter().zip(&b.epoch_seconds).enumerate() {
        elapsed += s;
        if *v <= target {
            println!(
                "  {} matched the {}'s best validation loss ({target:.4}) after {} epoch(s) and {elapsed:.0} s; the {} needed {} epoch(s) and {:.0} s.",
                b.label,
                a.label,
                i + 1,
                a.label,
                a.best_epoch,
                a.epoch_seconds[..a.best_epoch.max(1).min(a.epoch_seconds.len())].iter().sum::<f64>()
            );
            return;
        }
    }
    println!(
        "  {} did not reach the {}'s best validation loss ({target:.4}) in this run.",
        b.label, a.label
    );
}

fn prediction_grid(
    unet: &dyn ModuleT,
    eff: &dyn ModuleT,
    test: &Loader,
    mean: [f64; 3],
    std: [f64; 3],
    device: Device,
    path: &Path,
) -> anyhow::Result<()> {
    let _guard = tch::no_grad_guard();
    let (x, y) = test.0.iter().next().context("the test set is empty")??;
    let n = x.size()[0].min(8);
    let p1 = unet
        .forward_t(&x.to_device(device), false)
        .to_device(Device::Cpu)
        .gt(0.5)
        .to_kind(tch::Kind::Float);
    let p2 = eff
        .forward_t(&x.to_device(device), false)
        .to_device(Device::Cpu)
        .gt(0.5)
        .to_kind(tch::Kind::Float);
    let mut rows = Vec::new();
    for i in 0..n {
        rows.push(vec![
            plots::denormalise(&x.get(i), mean, std)?,
            plots::mask_image(&y.get(i))?,
            plots::mask_image(&p1.get(i))?,
            plots::mask_image(&p2.get(i))?,
        ]);
    }
    plots::prediction_grid(
        &rows,
        &["image", "ground truth", "U-Net", "EffNet U-Net"],
        128,
        path,
    )
}

/// A panic in the student's code ends the stage with a short message and a way
/// forward, not a backtrace.
fn explain_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let place = info
            .location()
            .map(|l| {
                format!(
                    "\n  at {}:{}",
                    se05::fsutil::display_source_path(l.file()),
                    l.line()
                )
            })
            .unwrap_or_default();
        eprintln!(
            "\nThe training stage stopped: {message}{place}\nThe stage runs your exercises 1–11; grade them first with `cargo run --bin checker -- all`."
        );
    }));
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.stage {
        explain_panics();
    }
    let outcome = if args.stage {
        let schedule = if args.full || tch::Cuda::is_available() {
            Schedule::notebook()
        } else {
            Schedule::cpu()
        };
        se05::data::ensure_dataset().and_then(|source| run(&args, &source, schedule))
    } else {
        self_test(&args)
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            println!("The training stage ran, but a pass criterion was not met.");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("training stage failed: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// `cargo test`: a tiny generated data set, a few batches per model, and every output
/// file checked.
fn self_test(args: &Args) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let config = SyntheticConfig {
        train: 40,
        test: 10,
        width: 96,
        height: 72,
        ..SyntheticConfig::default()
    };
    let source = se05::data::isic::regenerate_synthetic(dir.path(), &config)?;
    let args = Args {
        stage: false,
        device: "cpu".into(),
        out: dir.path().join("results"),
        models: dir.path().join("models"),
        weights: args.weights.clone(),
        ..Args::parse_from(["final_stage"])
    };
    run(&args, &source, Schedule::tiny())?;
    for file in [
        "results/loss_curves.png",
        "results/predictions.png",
        "results/metrics.json",
        "models/se05_model_v1.safetensors",
        "models/se05_model_v2.safetensors",
    ] {
        let path = dir.path().join(file);
        anyhow::ensure!(path.is_file(), "{} was not written", path.display());
    }
    println!("final stage self-test: ok");
    Ok(true)
}
