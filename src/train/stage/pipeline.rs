//! The stage as the `final_stage` target runs it, next to the student's code: data
//! pipeline (exercises 1–5), both models trained with the Dice loss (exercises 9–11),
//! evaluation on the test split, plots, checkpoints and the report. It measures and
//! writes; the checker judges ([`super::verdict`]).
use super::options::{Plan, Schedule, StageCommand, StageOptions, NOTEBOOK_SEED};
use super::report::{Expected, ModelReport, StageReport, EFFICIENT_LABEL, UNET_LABEL};
use super::verdict::{self, JudgeInput};
use crate::data::isic::{pair_split, DataSource, SplitDirs};
use crate::data::{Compose, DataLoader, Dataset, SyntheticConfig, Transform};
use crate::models::weights::{ResolvedWeights, WeightsChoice};
use crate::train::metrics::{MetricSummary, SegmentationMetrics};
use crate::train::plots;
use crate::train::trainer::{self, History, TrainConfig};
use anyhow::Context;
use std::path::{Path, PathBuf};
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

/// Side of the square images the stage trains on.
pub const IMAGE_SIZE: usize = 64;
/// Test batches (training batches are exercise 5's choice).
pub const TEST_BATCH: usize = 16;

/// The student's code the stage plugs in. The `final_stage` target implements it
/// with the exercises' types, so the library never names them.
pub trait StudentCode {
    /// Exercise 9's U-Net.
    type UNet: ModuleT;
    /// Exercise 11's EfficientNet U-Net.
    type UNetEfficient: ModuleT;

    /// Exercises 1 and 2: the per-channel mean and std of the training images, read
    /// through the exercise-1 data set with `resize` as image and mask transform.
    fn mean_std(&self, train: &SplitDirs, resize: Compose) -> anyhow::Result<([f64; 3], [f64; 3])>;
    /// Exercises 3–5: the augmented training folder split 80/20 with `seed` into
    /// training and validation loaders.
    fn train_val_loaders(
        &self,
        train: &SplitDirs,
        mean: [f64; 3],
        std: [f64; 3],
        seed: u64,
    ) -> anyhow::Result<(DataLoader, DataLoader)>;
    /// Exercises 3–4: the test folder with the validation transforms.
    fn test_set(
        &self,
        test: &SplitDirs,
        mean: [f64; 3],
        std: [f64; 3],
    ) -> anyhow::Result<Box<dyn Dataset>>;
    /// Exercise 9: a U-Net with 3 input channels and 1 output channel under `p`.
    fn unet(&self, p: &nn::Path) -> Self::UNet;
    /// Exercise 10: the Dice loss of predictions against masks.
    fn dice_loss(&self, pred: &Tensor, truth: &Tensor) -> Tensor;
    /// Exercise 11: the EfficientNet U-Net (1 output channel) with `weights` loaded.
    fn unet_efficient(
        &self,
        p: &nn::Path,
        weights: &WeightsChoice,
    ) -> anyhow::Result<(Self::UNetEfficient, ResolvedWeights)>;
}

/// The training and test folders of the data set the stage uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageData {
    pub train: SplitDirs,
    pub test: SplitDirs,
}

impl StageData {
    /// The folders of the data set rooted at `root` (ISIC layout).
    pub fn at(root: &Path) -> StageData {
        StageData {
            train: SplitDirs::train(root),
            test: SplitDirs::test(root),
        }
    }

    pub fn of(source: &DataSource) -> StageData {
        StageData {
            train: source.train.clone(),
            test: source.test.clone(),
        }
    }

    /// Image/mask pairs in the training and the test folder. A missing mask or a stray
    /// file is named; too small a set is refused.
    pub fn count_pairs(&self) -> anyhow::Result<(usize, usize)> {
        let train = pair_split(&self.train)?.pairs.len();
        let test = pair_split(&self.test)?.pairs.len();
        anyhow::ensure!(
            train >= 5 && test > 0,
            "the data set ({} training and {test} test pairs in {}) is too small to train on: \
             run `cargo run --bin checker -- data regenerate`",
            train,
            self.train
                .images
                .parent()
                .unwrap_or(Path::new("."))
                .display()
        );
        Ok((train, test))
    }
}

/// The data, ready for training.
struct Prepared {
    mean: [f64; 3],
    std: [f64; 3],
    train: DataLoader,
    val: DataLoader,
    test: DataLoader,
}

/// A trained model with its variables, history and test metrics.
struct Trained<M> {
    _vs: nn::VarStore,
    model: M,
    history: History,
    test: MetricSummary,
}

/// The whole stage: trains, evaluates, draws, and writes `<out>/metrics.json`.
/// `announce` prints the setup (device, schedule, encoder) that the checker
/// otherwise prints itself.
pub fn run<S: StudentCode>(
    student: &S,
    data: &StageData,
    options: &StageOptions,
    plan: &Plan,
    announce: bool,
) -> anyhow::Result<StageReport> {
    if announce {
        println!("device: {}", plan.device_name);
        if let Some(note) = plan.schedule.note() {
            println!("{note}");
        }
    }
    let prepared = prepare_data(student, data, options.seed)?;
    if options.seed != NOTEBOOK_SEED {
        println!("seed {} (the notebook uses {NOTEBOOK_SEED})", options.seed);
    }
    tch::manual_seed(options.seed as i64);
    let unet = train_unet(student, &prepared, options, plan)?;
    let (efficient, weights) = train_efficient(student, &prepared, options, plan, announce)?;
    write_plots(&unet, &efficient, &prepared, plan.device, &options.out)?;
    let report = StageReport {
        device: plan.device_name.clone(),
        encoder_weights: weights.description,
        seed: options.seed,
        schedule: plan.schedule.clone(),
        mean: prepared.mean,
        std: prepared.std,
        train_images: prepared.train.dataset().len(),
        val_images: prepared.val.dataset().len(),
        test_images: prepared.test.dataset().len(),
        all_lesion_baseline: all_lesion_baseline(&prepared.test)?,
        unet: ModelReport::new(unet.history, unet.test),
        unet_efficient: ModelReport::new(efficient.history, efficient.test),
    };
    crate::io::fsutil::write_atomic(
        &options.out.join(super::REPORT_FILE),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    println!(
        "wrote {}/{}, {} and {}",
        options.out.display(),
        super::LOSS_CURVES_FILE,
        super::PREDICTIONS_FILE,
        super::REPORT_FILE
    );
    Ok(report)
}

/// Exercises 1–5: pairs checked first (a missing mask is named before any training),
/// training-set statistics, the 80/20 split and the test set.
fn prepare_data<S: StudentCode>(
    student: &S,
    data: &StageData,
    seed: u64,
) -> anyhow::Result<Prepared> {
    data.count_pairs()?;
    let resize = Compose::new(vec![
        Transform::Resize {
            height: IMAGE_SIZE,
            width: IMAGE_SIZE,
        },
        Transform::ToTensor,
    ]);
    let (mean, std) = student.mean_std(&data.train, resize)?;
    println!("training-set mean {mean:.4?}, std {std:.4?}");
    let (train, val) = student.train_val_loaders(&data.train, mean, std, seed)?;
    let test = DataLoader::new(student.test_set(&data.test, mean, std)?, TEST_BATCH);
    println!(
        "split: {} training, {} validation, {} test images",
        train.dataset().len(),
        val.dataset().len(),
        test.dataset().len()
    );
    Ok(Prepared {
        mean,
        std,
        train,
        val,
        test,
    })
}

/// Exercise 9 trained from scratch.
fn train_unet<S: StudentCode>(
    student: &S,
    prepared: &Prepared,
    options: &StageOptions,
    plan: &Plan,
) -> anyhow::Result<Trained<S::UNet>> {
    let vs = nn::VarStore::new(plan.device);
    let model = student.unet(&vs.root());
    let epochs = plan.schedule.unet_epochs;
    let checkpoint = options.unet_checkpoint();
    let run = FitRun {
        label: UNET_LABEL,
        epochs,
        checkpoint,
    };
    fit(student, vs, model, run, prepared, plan)
}

/// Exercise 11 with its pretrained encoder; also says where the weights came from.
fn train_efficient<S: StudentCode>(
    student: &S,
    prepared: &Prepared,
    options: &StageOptions,
    plan: &Plan,
    announce: bool,
) -> anyhow::Result<(Trained<S::UNetEfficient>, ResolvedWeights)> {
    let vs = nn::VarStore::new(plan.device);
    let choice = WeightsChoice::parse(&options.weights);
    let (model, weights) = student
        .unet_efficient(&vs.root(), &choice)
        .context("cannot build the EfficientNet U-Net")?;
    if announce {
        println!("encoder: {}", weights.description);
    }
    let epochs = plan.schedule.efficient_epochs;
    let checkpoint = options.efficient_checkpoint();
    let run = FitRun {
        label: EFFICIENT_LABEL,
        epochs,
        checkpoint,
    };
    let trained = fit(student, vs, model, run, prepared, plan)?;
    Ok((trained, weights))
}

/// What differs between the stage's two trainings: the model's label in reports, its
/// epoch budget and where its best weights are kept.
struct FitRun {
    label: &'static str,
    epochs: usize,
    checkpoint: PathBuf,
}

/// Trains `model` with the student's Dice loss (Adam, early stopping, best weights
/// kept at the run's checkpoint) and evaluates it on the test split.
fn fit<S: StudentCode, M: ModuleT>(
    student: &S,
    mut vs: nn::VarStore,
    model: M,
    run: FitRun,
    prepared: &Prepared,
    plan: &Plan,
) -> anyhow::Result<Trained<M>> {
    let FitRun {
        label,
        epochs,
        checkpoint,
    } = run;
    let loss = |p: &Tensor, t: &Tensor| student.dice_loss(p, t);
    let cfg = TrainConfig {
        label: label.to_string(),
        epochs,
        learning_rate: super::LEARNING_RATE,
        patience: super::PATIENCE,
        min_delta: super::MIN_DELTA,
        device: plan.device,
        checkpoint,
        max_train_batches: plan.schedule.max_train_batches,
        max_val_batches: plan.schedule.max_val_batches,
    };
    let history = trainer::train(&model, &mut vs, &loss, &prepared.train, &prepared.val, &cfg)?;
    let test = trainer::evaluate(&model, &prepared.test, plan.device)?;
    Ok(Trained {
        _vs: vs,
        model,
        history,
        test,
    })
}

/// Loss curves of both models and the prediction grid, into `out`.
fn write_plots<A: ModuleT, B: ModuleT>(
    unet: &Trained<A>,
    efficient: &Trained<B>,
    prepared: &Prepared,
    device: Device,
    out: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    plots::loss_curves(
        &[&unet.history, &efficient.history],
        &out.join(super::LOSS_CURVES_FILE),
    )?;
    prediction_grid(
        &unet.model,
        &efficient.model,
        prepared,
        device,
        &out.join(super::PREDICTIONS_FILE),
    )
}

/// Image, ground truth and both models' thresholded predictions for up to eight
/// images of the first test batch.
fn prediction_grid(
    unet: &dyn ModuleT,
    efficient: &dyn ModuleT,
    prepared: &Prepared,
    device: Device,
    path: &Path,
) -> anyhow::Result<()> {
    let _guard = tch::no_grad_guard();
    let (x, y) = prepared
        .test
        .iter()
        .next()
        .context("the test set is empty")??;
    let predict = |model: &dyn ModuleT| {
        model
            .forward_t(&x.to_device(device), false)
            .to_device(Device::Cpu)
            .gt(0.5)
            .to_kind(tch::Kind::Float)
    };
    let (p1, p2) = (predict(unet), predict(efficient));
    let mut rows = Vec::new();
    for i in 0..x.size()[0].min(8) {
        rows.push(vec![
            plots::denormalise(&x.get(i), prepared.mean, prepared.std)?,
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

/// Test metrics of predicting "lesion" everywhere: what a model that learnt nothing
/// about shape scores, printed beside the pass bars.
pub fn all_lesion_baseline(test: &DataLoader) -> anyhow::Result<MetricSummary> {
    let mut metrics = SegmentationMetrics::default();
    for batch in test.iter() {
        let (_, y) = batch?;
        metrics.add_batch(&y.ones_like(), &y);
    }
    Ok(metrics.summary())
}

/// `final_stage --stage`: the data set the checker named (or found here), the plan
/// the options resolve to, and the run.
pub fn run_stage<S: StudentCode>(student: &S, command: &StageCommand) -> anyhow::Result<()> {
    // Run by the checker, which has already said what data, device and weights it uses.
    let announce = command.data.is_none();
    let data = match &command.data {
        Some(root) => StageData::at(root),
        None => {
            let source = crate::data::ensure_dataset()?;
            println!("data: {}", source.describe());
            StageData::of(&source)
        }
    };
    let plan = command.options.plan()?;
    let report = run(student, &data, &command.options, &plan, announce)?;
    if announce {
        println!();
        for line in verdict::summary_lines(&report) {
            println!("{line}");
        }
    }
    Ok(())
}

/// `cargo test --test final_stage`: a tiny generated data set, a few batches per
/// model, and every output checked by the checker's own judge.
pub fn self_test<S: StudentCode>(student: &S) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = SyntheticConfig {
        train: 40,
        test: 10,
        width: 96,
        height: 72,
        ..SyntheticConfig::default()
    };
    let source = crate::data::isic::regenerate_synthetic(dir.path(), &config)?;
    let data = StageData::of(&source);
    let options = StageOptions {
        device: super::DeviceChoice::Cpu,
        out: dir.path().join("results"),
        models: dir.path().join("models"),
        ..StageOptions::default()
    };
    let plan = Plan {
        device: Device::Cpu,
        device_name: "CPU".into(),
        schedule: Schedule::tiny(),
    };
    let started = super::run_started();
    run(student, &data, &options, &plan, true)?;
    let (train_pairs, test_pairs) = data.count_pairs()?;
    let verdict = verdict::judge(&JudgeInput {
        out: options.out.clone(),
        models: options.models.clone(),
        started: Some(started),
        synthetic: true,
        data: source.describe(),
        expected: Expected {
            schedule: plan.schedule,
            seed: options.seed,
            train_pairs,
            test_pairs,
        },
    });
    anyhow::ensure!(verdict.passed(), "{}", verdict.message);
    println!("final stage self-test: ok");
    Ok(())
}
