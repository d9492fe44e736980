//! The Rust workshop against the notebook's Python pipeline (benches/python/README.md), on the
//! same synthetic ISIC-like data (900 pairs at 1022×767, split 720/180), same batch
//! (16), image size (64×64), optimizer (Adam 1e-3), loss (Dice) and torch threads.
//!
//!     benches/python/setup.sh                      # once: the Python side's own venv (PyPI)
//!     cargo bench --bench compare         # about 12 minutes on 2 quiet cores
//!     cargo bench --bench compare -- --rounds 1 --only profile,loader
//!
//! Every measurement runs in a fresh child process (this binary re-executed with
//! `--child`, or `benches/python/.venv/bin/python benches/python/pipeline.py`), which prints one JSON
//! line; the driver interleaves Rust and Python (alternating which goes first each
//! round), then prints medians and Rust/Python ratios and writes them to `benches/python/out/`.
//!
//! Measures:
//! 1. data pipeline: augmented batches per second over the 720-image training split,
//!    no model (Rust: first epoch with a cold decode cache, later epochs warm, and a
//!    run with the cache off);
//! 2. epoch time: one training pass (load, forward, Dice, backward, Adam step,
//!    `loss.item()`) over a fixed subset of the split, per model; validation and
//!    checkpointing are left out on both sides;
//! 3. overhead: epoch time / the same number of optimizer steps on batches built in
//!    memory beforehand (the compute floor), per side;
//! 4. peak memory: VmHWM (Rust) / ru_maxrss (Python) of each child process;
//! 5. checker latency is not measured here (benches/python/README.md).
#![allow(dead_code)] // the solution modules carry API the bench does not call

#[path = "../solutions/ex03_transforms.rs"]
mod ex03_transforms;
#[path = "../solutions/ex04_augmented_dataset.rs"]
mod ex04_augmented_dataset;
#[path = "../solutions/ex05_split.rs"]
mod ex05_split;
#[path = "../solutions/ex06_double_conv.rs"]
mod ex06_double_conv;
#[path = "../solutions/ex07_down.rs"]
mod ex07_down;
#[path = "../solutions/ex08_up.rs"]
mod ex08_up;
#[path = "../solutions/ex09_unet.rs"]
mod ex09_unet;
#[path = "../solutions/ex10_dice_loss.rs"]
mod ex10_dice_loss;
#[path = "../solutions/ex11_unet_efficient.rs"]
mod ex11_unet_efficient;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use se05::data::isic::{self, Preference};
use se05::data::{cache, DataLoader, Dataset, Subset, SyntheticConfig};
use se05::io::fsutil::write_atomic;
use se05::models::{Variant, WeightsChoice};

/// The ISIC 2016 statistics the workshop records; pipeline.py uses the same.
const MEAN: [f64; 3] = [0.7239, 0.6187, 0.5673];
const STD: [f64; 3] = [0.1625, 0.1694, 0.1897];
const SEED: u64 = 101;
const BATCH: usize = 16;

#[derive(Parser, Debug, Clone)]
#[command(about = "Rust workshop vs the notebook's Python pipeline")]
struct Args {
    /// Measurement rounds; each runs every task on both sides. Medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Tasks, comma-separated: profile and steps (once, in the first round), loader,
    /// unet, efficient.
    #[arg(long, default_value = "profile,steps,loader,unet,efficient")]
    only: String,
    /// Epochs per data-pipeline measurement (the Rust side's first one is cold).
    #[arg(long, default_value_t = 3)]
    loader_epochs: usize,
    /// Training epochs per model measurement.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Train the U-Net on the first N images of the 720-image split, each epoch a full
    /// pass over them (96 = 6 batches; 720 = the notebook's 45 batches).
    #[arg(long, default_value_t = 96)]
    unet_images: usize,
    /// The same for the EfficientNet U-Net (320 = 20 batches).
    #[arg(long, default_value_t = 320)]
    efficient_images: usize,
    /// Untimed optimizer steps before the timed ones.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Intra-op threads for libtorch on both sides (0: the number of CPUs).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Time the compute floor only before the epochs (default: before and after, and
    /// use the mean).
    #[arg(long)]
    single_floor: bool,
    /// Before each measurement, wait until other processes use less than this share
    /// of the CPUs (sampled over 2 s)...
    #[arg(long, default_value_t = 0.25)]
    quiet_below: f64,
    /// ...but no longer than this many seconds (0: never wait).
    #[arg(long, default_value_t = 90)]
    quiet_wait: u64,
    /// Medians use only the runs during which other processes took at most this share
    /// of the CPUs (all runs of a task and side when none qualifies; 1 = keep all).
    #[arg(long, default_value_t = 0.15)]
    max_others: f64,
    /// Where the raw JSON and the table go.
    #[arg(long, default_value = "benches/python/out")]
    out: PathBuf,
    /// Internal: run one measurement here (`loader` or `train`) and print JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
    #[arg(long, hide = true, default_value = "unet")]
    model: String,
    #[arg(long, hide = true)]
    data: Option<PathBuf>,
    #[arg(long, hide = true)]
    images: Option<usize>,
    #[arg(long, hide = true)]
    no_cache: bool,
    #[arg(long, hide = true)]
    floor_after: bool,
    /// Internal: batches the child's loaders prepare ahead (0: none, as before
    /// prefetching existed). Reduced-size JPEG decoding is switched with the
    /// environment variable SE05_JPEG_DRAFT=0.
    #[arg(long, hide = true, default_value_t = se05::data::loader::DEFAULT_PREFETCH)]
    prefetch: usize,
    /// Internal (`train`): load the subset's batches once before the floor and the
    /// epochs, as the final stage's mean/std pass does before any model trains, so
    /// that the first epoch finds the decode cache filled (its time: `data_pass_seconds`).
    #[arg(long, hide = true)]
    data_pass_first: bool,
    /// Internal (`dice`): the seed of the weights' initialisation and the shuffle.
    #[arg(long, hide = true, default_value_t = SEED)]
    seed: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.threads == 0 {
        args.threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    }
    match args.child.clone() {
        Some(mode) => {
            let result = child(&args, &mode)?;
            println!("{result}");
            Ok(())
        }
        None => driver(&args),
    }
}

// ---------------------------------------------------------------------------------------
// Child side: one measurement of the Rust workshop.

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The workshop's training set exactly as the reference solutions build it:
/// exercise 4's dataset with exercise 3's pipeline, split 80/20 by exercise 5.
fn training_split(root: &Path) -> Result<DataLoader> {
    let dirs = isic::SplitDirs::train(root);
    let full = ex04_augmented_dataset::ISICDatasetAlbumentations::new(
        &dirs.images,
        &dirs.masks,
        Some(ex03_transforms::train_transforms(MEAN, STD)),
    )?;
    let (train_dl, _valid_dl) = ex05_split::split_and_loaders(Arc::new(full), SEED)?;
    Ok(train_dl)
}

fn child(args: &Args, mode: &str) -> Result<Value> {
    let root = args.data.as_ref().context("--child needs --data")?;
    tch::set_num_threads(args.threads as i32);
    tch::manual_seed(SEED as i64);
    cache::set_enabled(!args.no_cache);
    let mut result = match mode {
        "loader" => child_loader(args, root)?,
        "train" => child_train(args, root)?,
        "dice" => child_dice(args, root)?,
        "profile" => child_profile(args, root)?,
        "steps" => child_steps(args)?,
        other => bail!("unknown child mode {other}"),
    };
    let extra = json!({
        "side": "rust",
        "mode": mode,
        "model": (mode == "train").then_some(&args.model),
        "threads": tch::get_num_threads(),
        "rayon_threads": rayon::current_num_threads(),
        "decode_cache": cache::is_enabled(),
        "jpeg_draft": se05::data::image::draft_decoding(),
        "prefetch": args.prefetch,
        "cache": cache::stats().to_string(),
        "peak_rss_kib": peak_rss_kib(),
        "cpu_seconds": cpu_seconds(),
    });
    if let (Value::Object(r), Value::Object(e)) = (&mut result, extra) {
        r.extend(e);
    }
    Ok(result)
}

/// Seconds of CPU this process has used (user + system), from /proc/self/stat.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is the first,
    // utime the 12th, stime the 13th; both in clock ticks (USER_HZ = 100 on Linux).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Where one training step's time goes, for `--model`: forward, backward, optimizer
/// step (medians of `--epochs` × 5 steps on one pre-built batch, after warm-up).
fn child_steps(args: &Args) -> Result<Value> {
    let vs = nn::VarStore::new(Device::Cpu);
    let (mut unet, mut eff) = (None, None);
    let (model, encoder): (&dyn ModuleT, Option<&ex11_unet_efficient::UNetEfficient>) =
        match args.model.as_str() {
            "unet" => (unet.insert(ex09_unet::UNet::new(&vs.root(), 3, 1)), None),
            "efficient" => {
                let e: &ex11_unet_efficient::UNetEfficient = eff.insert(
                    ex11_unet_efficient::UNetEfficient::random(&vs.root(), Variant::B0, 1),
                );
                (e, Some(e))
            }
            other => bail!("unknown model {other}"),
        };
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let dice = ex10_dice_loss::DiceLoss::default();
    tch::manual_seed(7);
    let x = Tensor::randn([16, 3, 64, 64], (Kind::Float, Device::Cpu));
    let y = Tensor::rand([16, 1, 64, 64], (Kind::Float, Device::Cpu))
        .gt(0.5)
        .to_kind(Kind::Float);
    for _ in 0..args.warmup.max(1) {
        let loss = dice.forward(&model.forward_t(&x, true), &y);
        opt.backward_step(&loss);
    }
    let reps = 5 * args.epochs.max(1);
    let (mut fwd, mut bwd, mut stp, mut all) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let t0 = Instant::now();
        let loss = dice.forward(&model.forward_t(&x, true), &y);
        let t1 = Instant::now();
        opt.zero_grad();
        loss.backward();
        let t2 = Instant::now();
        opt.step();
        let _ = loss.double_value(&[]);
        let t3 = Instant::now();
        fwd.push((t1 - t0).as_secs_f64());
        bwd.push((t2 - t1).as_secs_f64());
        stp.push((t3 - t2).as_secs_f64());
        all.push((t3 - t0).as_secs_f64());
    }
    let ms = |v: Vec<f64>| 1000.0 * median(v);
    let mut enc = Vec::new();
    if let Some(e) = encoder {
        for _ in 0..reps {
            let t = Instant::now();
            let _ = e.encode(&x, true);
            enc.push(t.elapsed().as_secs_f64());
        }
    }
    Ok(json!({"stages": [
        {"stage": format!("{}: frozen encoder forward (part of forward)", args.model), "ms": ms(enc)},
        {"stage": format!("{}: forward + loss", args.model), "ms": ms(fwd)},
        {"stage": format!("{}: backward", args.model), "ms": ms(bwd)},
        {"stage": format!("{}: optimizer step + loss value", args.model), "ms": ms(stp)},
        {"stage": format!("{}: whole step", args.model), "ms": ms(all)},
    ]}))
}

/// Single-threaded cost of each stage of loading one item, on the first
/// `--images` (default 100) training files: where a cold epoch's time goes.
fn child_profile(args: &Args, root: &Path) -> Result<Value> {
    use se05::data::functional::{self as F, Interpolation};
    use se05::data::{load_gray, load_rgb, sample_rng, Compose};
    let pairs = isic::pair_split(&isic::SplitDirs::train(root))?.pairs;
    let n = args
        .images
        .filter(|&n| n > 0)
        .unwrap_or(100)
        .min(pairs.len());
    let pipeline = ex03_transforms::train_transforms(MEAN, STD);
    let after_resize = Compose::new(pipeline.steps()[1..].to_vec());
    let dirs = isic::SplitDirs::train(root);
    let full = ex04_augmented_dataset::ISICDatasetAlbumentations::new(
        &dirs.images,
        &dirs.masks,
        Some(pipeline.clone()),
    )?;
    cache::set_enabled(false);
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); PROFILE_STAGES.len()];
    for (i, pair) in pairs.iter().take(n).enumerate() {
        let mut t = Instant::now();
        let mut lap = |k: usize| {
            times[k].push(t.elapsed().as_secs_f64());
            t = Instant::now();
        };
        let bytes = std::fs::read(&pair.image)?.len() + std::fs::read(&pair.mask)?.len();
        lap(0);
        let image = load_rgb(&pair.image)?;
        lap(1);
        let mask = load_gray(&pair.mask)?;
        lap(2);
        // (stage 3, a full-size float copy, is what Python does to the mask; the
        // workshop converts to float while resizing)
        let (w, h) = (image.width() as usize, image.height() as usize);
        let image = F::resize_u8(image.as_raw(), (h, w, 3), 64, 64, Interpolation::Bilinear);
        lap(4);
        let mask = F::resize_u8(mask.as_raw(), (h, w, 1), 64, 64, Interpolation::Nearest);
        lap(5);
        let (x, y) = after_resize.apply(image, mask, &mut sample_rng())?;
        let _ = y.gt(0.5).to_kind(Kind::Float);
        lap(6);
        let sample = full.get(i)?;
        lap(7);
        ensure!(bytes > 0 && x.size() == sample.image.size());
    }
    let ms: Vec<Value> = PROFILE_STAGES
        .iter()
        .zip(&times)
        .map(|(name, t)| json!({"stage": name, "ms": 1000.0 * median(t.clone())}))
        .collect();
    Ok(json!({"items": n, "stages": ms}))
}

/// The stages of the `profile` task (pipeline.py uses the same names).
const PROFILE_STAGES: [&str; 8] = [
    "read files",
    "decode image (8-bit)",
    "decode mask (8-bit)",
    "full-size float copy",
    "resize image to 64×64",
    "resize mask to 64×64",
    "augment + normalise + to tensor",
    "whole item (the dataset's get)",
];

fn child_loader(args: &Args, root: &Path) -> Result<Value> {
    let t0 = Instant::now();
    let train_dl = training_split(root)?.prefetch(args.prefetch);
    let setup = t0.elapsed().as_secs_f64();
    let (mut epochs, mut per_batch) = (Vec::new(), Vec::new());
    for _ in 0..args.loader_epochs {
        let start = Instant::now();
        let mut times = Vec::new();
        let mut it = train_dl.iter();
        loop {
            let t = Instant::now();
            let Some(batch) = it.next() else { break };
            let (images, masks) = batch?;
            times.push(t.elapsed().as_secs_f64());
            ensure!(images.size()[1..] == [3, 64, 64] && masks.size()[1..] == [1, 64, 64]);
        }
        epochs.push(start.elapsed().as_secs_f64());
        per_batch.push(times);
    }
    Ok(json!({
        "setup_seconds": setup,
        "epoch_seconds": epochs,
        "batch_seconds": per_batch,
        "batches_per_epoch": train_dl.len(),
        "images_per_epoch": train_dl.dataset().len(),
    }))
}

/// The model a child trains: `unet` (exercise 9), or `efficient` (exercise 11) with
/// the Lite0 encoder the final stage uses when `pretrained`, else a random B0 encoder.
fn build_model(name: &str, vs: &nn::VarStore, pretrained: bool) -> Result<Box<dyn ModuleT>> {
    let p = vs.root();
    Ok(match (name, pretrained) {
        ("unet", _) => Box::new(ex09_unet::UNet::new(&p, 3, 1)),
        ("efficient", true) => Box::new(
            ex11_unet_efficient::UNetEfficient::pretrained(&p, &WeightsChoice::Lite0, 1)?.0,
        ),
        ("efficient", false) => Box::new(ex11_unet_efficient::UNetEfficient::random(
            &p,
            Variant::B0,
            1,
        )),
        (other, _) => bail!("unknown model {other}"),
    })
}

/// Test Dice after a short training run, to compare decoding choices with the same
/// seed (`SE05_JPEG_DRAFT=0` against the default): `--model` (`unet`, or `efficient`
/// with the Lite0 encoder as the final stage uses it) trained for `--epochs` over the
/// first `--images` of the training split, then evaluated on every test pair.
fn child_dice(args: &Args, root: &Path) -> Result<Value> {
    let t0 = Instant::now();
    tch::manual_seed(args.seed as i64);
    let split = training_split(root)?.dataset().clone();
    let n = args.images.unwrap_or(split.len()).min(split.len());
    let subset = Subset::new(split, (0..n).collect())?;
    let train_dl = DataLoader::new(subset, BATCH).shuffle(args.seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build_model(&args.model, &vs, true)?;
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let dice = ex10_dice_loss::DiceLoss::default();
    let mut losses = Vec::new();
    for _ in 0..args.epochs {
        let mut sum = 0.0;
        for batch in train_dl.iter() {
            let (x, y) = batch?;
            let loss = dice.forward(&model.forward_t(&x, true), &y);
            opt.backward_step(&loss);
            sum += loss.double_value(&[]);
        }
        losses.push(sum / train_dl.len() as f64);
    }
    let dirs = isic::SplitDirs::test(root);
    let test = ex04_augmented_dataset::ISICDatasetAlbumentations::new(
        &dirs.images,
        &dirs.masks,
        Some(ex03_transforms::valid_transforms(MEAN, STD)),
    )?;
    let test_dl = DataLoader::new(test, 32);
    let m = se05::train::trainer::evaluate(model.as_ref(), &test_dl, Device::Cpu)?;
    // The same trained model on the test images decoded the other way: what decoding
    // alone changes, without the training runs' divergence.
    let trained_with = se05::data::image::draft_decoding();
    se05::data::image::set_draft_decoding(!trained_with);
    let other = se05::train::trainer::evaluate(model.as_ref(), &test_dl, Device::Cpu)?;
    se05::data::image::set_draft_decoding(trained_with);
    Ok(json!({
        "seed": args.seed,
        "train_loss": losses,
        "test_dice_per_image": m.dice_per_image,
        "test_dice_dataset": m.dice_dataset,
        "test_dice_per_image_other_decoding": other.dice_per_image,
        "test_images": m.images,
        "seconds": t0.elapsed().as_secs_f64(),
    }))
}

fn child_train(args: &Args, root: &Path) -> Result<Value> {
    let t0 = Instant::now();
    let split = training_split(root)?.dataset().clone();
    let n = args
        .images
        .filter(|&n| n > 0)
        .unwrap_or(split.len())
        .min(split.len());
    // A fixed subset (the first n items of the split) keeps every epoch a full pass.
    let subset = Subset::new(split, (0..n).collect())?;
    let train_dl = DataLoader::new(subset, BATCH)
        .shuffle(SEED)
        .prefetch(args.prefetch);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build_model(&args.model, &vs, false)?;
    let trainable = se05::grading::summary::count_trainable(&vs);
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let dice = ex10_dice_loss::DiceLoss::default();
    // The loop body of se05::train::trainer::train.
    let mut step = |x: &Tensor, y: &Tensor| -> f64 {
        let pred = model.forward_t(x, true);
        let loss = dice.forward(&pred, y);
        opt.backward_step(&loss);
        loss.double_value(&[])
    };
    let steps = train_dl.len();
    // The compute floor's inputs: batches of the same shapes, built once, in memory.
    tch::manual_seed(7);
    let prebuilt: Vec<(Tensor, Tensor)> = (0..steps)
        .map(|i| {
            let b = BATCH.min(n - BATCH * i) as i64;
            let x = Tensor::randn([b, 3, 64, 64], (Kind::Float, Device::Cpu));
            let y = Tensor::rand([b, 1, 64, 64], (Kind::Float, Device::Cpu))
                .gt(0.5)
                .to_kind(Kind::Float);
            (x, y)
        })
        .collect();
    let setup = t0.elapsed().as_secs_f64();

    let t = Instant::now();
    if args.data_pass_first {
        for batch in train_dl.iter() {
            let (_images, _masks) = batch?;
        }
    }
    let data_pass = t.elapsed().as_secs_f64();

    let t = Instant::now();
    for i in 0..args.warmup {
        let (x, y) = &prebuilt[i % steps];
        step(x, y);
    }
    let warmup = t.elapsed().as_secs_f64();

    // Returns (total seconds, seconds per step).
    let floor = |step: &mut dyn FnMut(&Tensor, &Tensor) -> f64| {
        let start = Instant::now();
        let times: Vec<f64> = prebuilt
            .iter()
            .map(|(x, y)| {
                let t = Instant::now();
                step(x, y);
                t.elapsed().as_secs_f64()
            })
            .collect();
        (start.elapsed().as_secs_f64(), times)
    };
    let (mut floors, mut floor_steps) = (Vec::new(), Vec::new());
    let (total, times) = floor(&mut step);
    floors.push(total);
    floor_steps.push(times);
    let (mut epochs, mut losses, mut loads, mut computes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.epochs {
        let start = Instant::now();
        let (mut sum, mut load, mut compute) = (0.0, Vec::new(), Vec::new());
        let mut it = train_dl.iter();
        loop {
            let t = Instant::now();
            let Some(batch) = it.next() else { break };
            let (x, y) = batch?;
            load.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            sum += step(&x, &y);
            compute.push(t.elapsed().as_secs_f64());
        }
        epochs.push(start.elapsed().as_secs_f64());
        losses.push(sum / steps as f64);
        loads.push(load);
        computes.push(compute);
    }
    if args.floor_after {
        let (total, times) = floor(&mut step);
        floors.push(total);
        floor_steps.push(times);
    }
    Ok(json!({
        "setup_seconds": setup,
        "data_pass_seconds": data_pass,
        "warmup_seconds": warmup,
        "epoch_seconds": epochs,
        "epoch_load_seconds": loads,
        "epoch_step_seconds": computes,
        "floor_seconds": floors,
        "floor_step_seconds": floor_steps,
        "train_loss": losses,
        "batches_per_epoch": steps,
        "images_per_epoch": n,
        "trainable_parameters": trainable,
    }))
}

// ---------------------------------------------------------------------------------------
// Driver: data, Python environment, interleaved runs, table.

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn python() -> Result<PathBuf> {
    let py = repo().join("benches/python/.venv/bin/python");
    if !py.exists() {
        println!(
            "benches/python/.venv is missing: running benches/python/setup.sh (PyPI, several GB the first time)"
        );
        let status = Command::new(repo().join("benches/python/setup.sh"))
            .status()
            .context("cannot run benches/python/setup.sh")?;
        ensure!(
            status.success(),
            "benches/python/setup.sh failed ({status})"
        );
    }
    Ok(py)
}

/// Reads every file once so that neither side pays for the first read from disk.
fn warm_page_cache(root: &Path) -> Result<usize> {
    let mut bytes = 0;
    for dirs in [isic::SplitDirs::train(root)] {
        for dir in [dirs.images, dirs.masks] {
            for entry in std::fs::read_dir(&dir)? {
                bytes += std::fs::read(entry?.path())?.len();
            }
        }
    }
    Ok(bytes)
}

/// (busy, total) clock ticks of the whole machine, from /proc/stat.
fn machine_ticks() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = cpu.get(3)? + cpu.get(4).unwrap_or(&0.0);
    let total: f64 = cpu.iter().take(8).sum();
    Some((total - idle, total))
}

/// Share of the CPUs busy over the next `secs` seconds (nothing of ours runs meanwhile).
fn busy_share(secs: f64) -> Option<f64> {
    let (b0, t0) = machine_ticks()?;
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    let (b1, t1) = machine_ticks()?;
    Some((b1 - b0) / (t1 - t0).max(1.0))
}

/// Waits (up to `--quiet-wait` seconds) for the other processes to calm down; returns
/// the seconds waited and the last share seen.
fn wait_for_quiet(args: &Args) -> (f64, f64) {
    let start = Instant::now();
    loop {
        let share = busy_share(2.0).unwrap_or(0.0);
        if share < args.quiet_below || start.elapsed().as_secs() >= args.quiet_wait {
            return (start.elapsed().as_secs_f64(), share);
        }
    }
}

/// Runs a child and parses the last line of its stdout as JSON. Adds how much of the
/// machine other processes used meanwhile (`others_cpu_share`: 0 = quiet, 1 = all
/// CPUs busy with something else).
fn run_json(mut cmd: Command, what: &str) -> Result<Value> {
    let t = Instant::now();
    let before = machine_ticks();
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    let after = machine_ticks();
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "{what} failed ({}): {stdout}",
        out.status
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("{what} printed no JSON: {stdout}"))?;
    let mut v: Value = serde_json::from_str(line).with_context(|| format!("{what}: {line}"))?;
    v["process_seconds"] = json!(t.elapsed().as_secs_f64());
    v["load_average"] = json!(load_average());
    if let (Some((b0, t0)), Some((b1, t1)), Some(own)) = (before, after, v["cpu_seconds"].as_f64())
    {
        // Ticks are 1/100 s on Linux.
        let share = ((b1 - b0) / 100.0 - own) / ((t1 - t0) / 100.0);
        v["others_cpu_share"] = json!(share.clamp(0.0, 1.0));
    }
    Ok(v)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Rust,
    RustNoCache,
    Python,
}

#[derive(Clone, Debug)]
struct Task {
    name: &'static str,
    mode: &'static str,
    model: &'static str,
    images: usize,
}

fn command(args: &Args, side: Side, task: &Task, data: &Path, py: &Path) -> Result<Command> {
    let epochs = if task.mode == "loader" {
        args.loader_epochs
    } else {
        args.epochs
    };
    let mut cmd = match side {
        Side::Rust | Side::RustNoCache => {
            let mut c = Command::new(std::env::current_exe()?);
            c.arg("--child").arg(task.mode);
            c.arg("--loader-epochs").arg(args.loader_epochs.to_string());
            if side == Side::RustNoCache {
                c.arg("--no-cache");
            }
            c
        }
        Side::Python => {
            let mut c = Command::new(py);
            c.arg(repo().join("benches/python/pipeline.py"));
            c.arg("--mode").arg(task.mode);
            c.env("NO_ALBUMENTATIONS_UPDATE", "1");
            c
        }
    };
    cmd.arg("--data").arg(data);
    cmd.arg("--model").arg(task.model);
    cmd.arg("--epochs").arg(epochs.to_string());
    cmd.arg("--images").arg(task.images.to_string());
    cmd.arg("--warmup").arg(args.warmup.to_string());
    cmd.arg("--threads").arg(args.threads.to_string());
    if !args.single_floor {
        cmd.arg("--floor-after");
    }
    cmd.current_dir(repo());
    Ok(cmd)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// Per-batch timings of epoch `i`, or of every epoch after the first (`None`).
fn per_batch(v: &Value, key: &str, epoch: Option<usize>) -> Vec<f64> {
    let lists = v[key].as_array().cloned().unwrap_or_default();
    match epoch {
        Some(i) => lists.get(i).map(floats).unwrap_or_default(),
        None => lists.iter().skip(1).flat_map(floats).collect(),
    }
}

/// Which epochs a figure covers.
#[derive(Clone, Copy)]
enum Epochs {
    First,
    Later,
    All,
}

impl Epochs {
    fn seconds(self, v: &Value) -> f64 {
        let e = floats(&v["epoch_seconds"]);
        match self {
            Epochs::First => e.first().copied().unwrap_or(f64::NAN),
            Epochs::Later => median(e.into_iter().skip(1).collect()),
            Epochs::All => median(e),
        }
    }
    fn batches(self, v: &Value, key: &str) -> Vec<f64> {
        match self {
            Epochs::First => per_batch(v, key, Some(0)),
            Epochs::Later => per_batch(v, key, None),
            Epochs::All => v[key]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(floats)
                .collect(),
        }
    }
}

fn batches(v: &Value) -> f64 {
    v["batches_per_epoch"].as_f64().unwrap_or(f64::NAN)
}
/// Mean of the floor's timings (one, or two with --floor-after).
fn floor_of(v: &Value) -> f64 {
    let f = floats(&v["floor_seconds"]);
    f.iter().sum::<f64>() / f.len() as f64
}
fn floor_step(v: &Value) -> f64 {
    median(
        v["floor_step_seconds"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(floats)
            .collect(),
    )
}
fn mib(v: &Value) -> f64 {
    v["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0
}

struct Row {
    what: String,
    rust: f64,
    python: f64,
    unit: &'static str,
    target: &'static str,
}

fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| measure | Rust | Python | Rust / Python | target |\n|---|---:|---:|---:|---|\n",
    );
    let cell = |x: f64, unit: &str| {
        if x.is_finite() {
            format!("{} {unit}", fmt_num(x))
        } else {
            "–".into()
        }
    };
    for r in rows {
        let ratio = r.rust / r.python;
        let ratio = if ratio.is_finite() {
            format!("{ratio:.2}")
        } else {
            "–".into()
        };
        s += &format!(
            "| {} | {} | {} | {} | {} |\n",
            r.what,
            cell(r.rust, r.unit),
            cell(r.python, r.unit),
            ratio,
            r.target
        );
    }
    s
}

type Run = (usize, String, Side, Value);

/// Stage-by-stage figures of the `profile` / `steps-*` tasks, in milliseconds.
fn profile_rows(runs: &[Run], names: &[&str]) -> Vec<Row> {
    let stages = |side: Side| -> Vec<(String, f64)> {
        runs.iter()
            .filter(|(_, n, s, _)| names.contains(&n.as_str()) && *s == side)
            .flat_map(|(_, _, _, v)| v["stages"].as_array().cloned().unwrap_or_default())
            .collect::<Vec<_>>()
            .iter()
            .map(|st| {
                (
                    st["stage"].as_str().unwrap_or("").to_string(),
                    st["ms"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect()
    };
    let python = stages(Side::Python);
    stages(Side::Rust)
        .into_iter()
        .map(|(what, rust)| Row {
            python: python
                .iter()
                .find(|(n, _)| *n == what)
                .map_or(f64::NAN, |p| p.1),
            what,
            rust,
            unit: "ms",
            target: "",
        })
        .collect()
}

/// The runs of a task on one side that other processes left (mostly) alone: those
/// whose `others_cpu_share` is at most `--max-others`, or all of them when none is.
fn pick<'a>(args: &Args, runs: &'a [Run], name: &str, side: Side) -> (Vec<&'a Value>, bool) {
    let all: Vec<&Value> = runs
        .iter()
        .filter(|(_, n, s, _)| n == name && *s == side)
        .map(|(_, _, _, v)| v)
        .collect();
    let quiet: Vec<&Value> = all
        .iter()
        .copied()
        .filter(|v| v["others_cpu_share"].as_f64().unwrap_or(0.0) <= args.max_others)
        .collect();
    if quiet.is_empty() {
        (all, false)
    } else {
        (quiet, true)
    }
}

/// The medians over rounds that the tables are built from, per task and side.
struct Figures<'a> {
    args: &'a Args,
    runs: &'a [Run],
}

impl Figures<'_> {
    fn pick(&self, name: &str, side: Side) -> Vec<&Value> {
        pick(self.args, self.runs, name, side).0
    }
}

/// Median over rounds of a per-run figure.
fn med(vals: &[&Value], f: &dyn Fn(&Value) -> f64) -> f64 {
    median(vals.iter().map(|v| f(v)).collect())
}

/// The table's rows (main figures, then details) for the tasks that ran.
fn rows(args: &Args, tasks: &[Task], runs: &[Run]) -> (Vec<Row>, Vec<Row>) {
    let figures = Figures { args, runs };
    let (mut main, mut detail) = (Vec::new(), Vec::new());
    let has = |name: &str| tasks.iter().any(|t| t.name == name);
    if has("loader") {
        loader_rows(&figures, &mut main, &mut detail);
    }
    for (name, label) in [("unet", "U-Net"), ("efficient", "EfficientNet U-Net")] {
        if has(name) {
            training_rows(&figures, name, label, &mut main, &mut detail);
        }
    }
    memory_rows(&figures, tasks, &mut main);
    (main, detail)
}

/// The data pipeline alone: batches per second and seconds per batch, both sides.
fn loader_rows(figures: &Figures, main: &mut Vec<Row>, detail: &mut Vec<Row>) {
    let pick = |name: &str, side: Side| figures.pick(name, side);
    let (r, rn, p) = (
        pick("loader", Side::Rust),
        pick("loader", Side::RustNoCache),
        pick("loader", Side::Python),
    );
    let rate = |vals: &[&Value], e: Epochs| med(vals, &|v| batches(v) / e.seconds(v));
    let per = |vals: &[&Value], e: Epochs| med(vals, &|v| median(e.batches(v, "batch_seconds")));
    let py = rate(&p, Epochs::All);
    for (what, rust, target) in [
        (
            "data pipeline, epoch 1 (Rust: decode cache cold)",
            rate(&r, Epochs::First),
            "≥ 5",
        ),
        (
            "data pipeline, later epochs (Rust: cache warm)",
            rate(&r, Epochs::Later),
            "≥ 5",
        ),
        (
            "data pipeline, decode cache off",
            rate(&rn, Epochs::All),
            "",
        ),
    ] {
        main.push(Row {
            what: what.into(),
            rust,
            python: py,
            unit: "batches/s",
            target,
        });
    }
    let py = per(&p, Epochs::All);
    for (what, rust) in [
        ("load one batch, epoch 1", per(&r, Epochs::First)),
        ("load one batch, later epochs", per(&r, Epochs::Later)),
        ("load one batch, decode cache off", per(&rn, Epochs::All)),
    ] {
        detail.push(Row {
            what: what.into(),
            rust,
            python: py,
            unit: "s",
            target: "",
        });
    }
}

/// One model's training: epoch times, its compute floor and the overhead over it.
fn training_rows(
    figures: &Figures,
    name: &str,
    label: &str,
    main: &mut Vec<Row>,
    detail: &mut Vec<Row>,
) {
    let args = figures.args;
    let pick = |name: &str, side: Side| figures.pick(name, side);
    let (r, p) = (pick(name, Side::Rust), pick(name, Side::Python));
    let n = r.first().map_or(f64::NAN, |v| batches(v));
    let mut epochs = vec![(Epochs::First, "epoch 1")];
    if args.epochs > 1 {
        epochs.push((Epochs::Later, "later epochs"));
    }
    for &(e, when) in &epochs {
        main.push(Row {
            what: format!("{label}, {when} ({n:.0} batches)"),
            rust: med(&r, &|v| e.seconds(v)),
            python: med(&p, &|v| e.seconds(v)),
            unit: "s",
            target: "≤ 1",
        });
    }
    main.push(Row {
        what: format!("{label}, compute floor ({n:.0} steps on pre-built batches)"),
        rust: med(&r, &floor_of),
        python: med(&p, &floor_of),
        unit: "s",
        target: "",
    });
    for &(e, when) in &epochs {
        main.push(Row {
            what: format!("{label} overhead, {when} / floor"),
            rust: med(&r, &|v| e.seconds(v) / floor_of(v)),
            python: med(&p, &|v| e.seconds(v) / floor_of(v)),
            unit: "×",
            target: "Rust ≤ 1.05×",
        });
    }
    // The same from per-step medians, which shrug off bursts of load from other
    // processes: (median load + median step) / median floor step.
    for &(e, when) in &epochs {
        let robust = |v: &Value| {
            (median(e.batches(v, "epoch_load_seconds"))
                + median(e.batches(v, "epoch_step_seconds")))
                / floor_step(v)
        };
        main.push(Row {
            what: format!("{label} overhead, {when}, from per-step medians"),
            rust: med(&r, &robust),
            python: med(&p, &robust),
            unit: "×",
            target: "Rust ≤ 1.05×",
        });
    }
    for &(e, when) in &epochs {
        detail.push(Row {
            what: format!("{label}: load one batch, {when}"),
            rust: med(&r, &|v| median(e.batches(v, "epoch_load_seconds"))),
            python: med(&p, &|v| median(e.batches(v, "epoch_load_seconds"))),
            unit: "s",
            target: "",
        });
        detail.push(Row {
            what: format!("{label}: training step, {when}"),
            rust: med(&r, &|v| median(e.batches(v, "epoch_step_seconds"))),
            python: med(&p, &|v| median(e.batches(v, "epoch_step_seconds"))),
            unit: "s",
            target: "",
        });
    }
    detail.push(Row {
        what: format!("{label}: training step on a pre-built batch"),
        rust: med(&r, &floor_step),
        python: med(&p, &floor_step),
        unit: "s",
        target: "",
    });
}

/// Peak memory of every task that loads or trains.
fn memory_rows(figures: &Figures, tasks: &[Task], main: &mut Vec<Row>) {
    let pick = |name: &str, side: Side| figures.pick(name, side);
    for task in tasks
        .iter()
        .filter(|t| t.mode == "loader" || t.mode == "train")
    {
        let label = match task.name {
            "loader" => "data pipeline only",
            "unet" => "U-Net training",
            _ => "EfficientNet U-Net training",
        };
        main.push(Row {
            what: format!("peak memory, {label}"),
            rust: med(&pick(task.name, Side::Rust), &mib),
            python: med(&pick(task.name, Side::Python), &mib),
            unit: "MiB",
            target: "",
        });
    }
}

fn driver(args: &Args) -> Result<()> {
    let tasks = parse_tasks(args)?;

    let machine = format!(
        "{} CPUs ({}), torch threads {} on both sides",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        args.threads
    );
    println!("machine: {machine}; load average {}", load_average());
    let config = SyntheticConfig::isic_like();
    let source = isic::ensure_dataset_with(&isic::datasets_dir(), &config, Preference::Synthetic)?;
    println!("{}", source.describe());
    let data = source.root.clone();
    let py = python()?;
    let bytes = warm_page_cache(&data)?;
    println!(
        "read {:.0} MiB of training files once (page cache)",
        bytes as f64 / (1 << 20) as f64
    );

    let started = Instant::now();
    let runs = run_rounds(args, &tasks, &data, &py)?;
    let elapsed = started.elapsed().as_secs_f64();
    let others = median(
        runs.iter()
            .filter_map(|(_, _, _, v)| v["others_cpu_share"].as_f64())
            .collect(),
    );

    let (main, detail) = rows(args, &tasks, &runs);
    let profile = profile_rows(&runs, &["profile"]);
    let steps = profile_rows(&runs, &["steps-unet", "steps-efficient"]);
    // Which medians had to use noisy runs (no run of that task and side was quiet).
    let noisy = noisy_medians(args, &tasks, &runs);
    let header = format!(
        "{machine}\ndata: {}\n{} rounds, Rust and Python interleaved; {:.0} s in all; \
         other processes used {:.0}% of the CPUs during the median run\n\
         medians over the runs during which other processes used at most {:.0}% of the CPUs{}\n\
         subsets: U-Net {} images, EfficientNet U-Net {} images per epoch; {} training epochs, {} loader epochs, {} warm-up steps\n",
        source.describe(),
        args.rounds,
        elapsed,
        100.0 * others,
        100.0 * args.max_others,
        if noisy.is_empty() {
            String::new()
        } else {
            format!(" (none was, so all runs count, for: {})", noisy.join(", "))
        },
        args.unet_images,
        args.efficient_images,
        args.epochs,
        args.loader_epochs,
        args.warmup,
    );
    let mut text = format!(
        "{}\nPer batch (medians):\n\n{}",
        table(&main),
        table(&detail)
    );
    if !steps.is_empty() {
        text += &format!(
            "\nOne training step on a pre-built batch (medians, milliseconds):\n\n{}",
            table(&steps)
        );
    }
    if !profile.is_empty() {
        text += &format!(
            "\nOne item, one thread, decode cache off (median of 100 items):\n\n{}",
            table(&profile)
        );
    }
    println!("\n{header}\n{text}");
    println!("checker latency (item 5): not measured by this bench (see benches/python/README.md)");

    let results = Results {
        machine: &machine,
        elapsed,
        others,
        runs: &runs,
        main: &main,
        detail: &detail,
        profile: &profile,
        steps: &steps,
        noisy: &noisy,
    };
    write_results(args, &results, &format!("{header}\n{text}"))
}

/// The tasks named by `--only`, in the order given.
fn parse_tasks(args: &Args) -> Result<Vec<Task>> {
    Ok(args
        .only
        .split(',')
        .map(|t| match t.trim() {
            "profile" => Ok(vec![Task {
                name: "profile",
                mode: "profile",
                model: "unet",
                images: 100,
            }]),
            "steps" => Ok(["unet", "efficient"]
                .into_iter()
                .map(|model| Task {
                    name: if model == "unet" {
                        "steps-unet"
                    } else {
                        "steps-efficient"
                    },
                    mode: "steps",
                    model,
                    images: 0,
                })
                .collect()),
            "loader" => Ok(vec![Task {
                name: "loader",
                mode: "loader",
                model: "unet",
                images: 0,
            }]),
            "unet" => Ok(vec![Task {
                name: "unet",
                mode: "train",
                model: "unet",
                images: args.unet_images,
            }]),
            "efficient" => Ok(vec![Task {
                name: "efficient",
                mode: "train",
                model: "efficient",
                images: args.efficient_images,
            }]),
            other => {
                bail!("--only: unknown task {other} (profile, steps, loader, unet, efficient)")
            }
        })
        .collect::<Result<Vec<Vec<Task>>>>()?
        .into_iter()
        .flatten()
        .collect())
}

/// Every round of every task on every side, Rust and Python interleaved (the order
/// flips each round, so a slow spell of the machine does not favour one side).
fn run_rounds(args: &Args, tasks: &[Task], data: &Path, py: &Path) -> Result<Vec<Run>> {
    let mut runs: Vec<Run> = Vec::new();
    for round in 0..args.rounds {
        for task in tasks {
            if (task.name == "profile" || task.mode == "steps") && round > 0 {
                continue;
            }
            let mut sides = vec![Side::Rust, Side::Python];
            if round % 2 == 1 {
                sides.reverse();
            }
            if task.name == "loader" {
                sides.push(Side::RustNoCache);
            }
            for side in sides {
                let what = format!(
                    "round {}/{} {} {:?}",
                    round + 1,
                    args.rounds,
                    task.name,
                    side
                );
                let (waited, share) = if args.quiet_wait > 0 {
                    wait_for_quiet(args)
                } else {
                    (0.0, f64::NAN)
                };
                let mut v = run_json(command(args, side, task, data, py)?, &what)?;
                v["waited_for_quiet_seconds"] = json!(waited);
                v["busy_before"] = json!(share);
                let short = |key: &str| {
                    floats(&v[key])
                        .iter()
                        .map(|x| format!("{x:.2}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                println!(
                    "{what}: epochs [{}] s, floor [{}] s, peak {:.0} MiB, others used {:.0}% of the CPUs (waited {waited:.0} s for quiet)",
                    short("epoch_seconds"),
                    short("floor_seconds"),
                    mib(&v),
                    100.0 * v["others_cpu_share"].as_f64().unwrap_or(f64::NAN)
                );
                runs.push((round, task.name.to_string(), side, v));
            }
        }
    }
    Ok(runs)
}

/// The task and side pairs whose medians had to use noisy runs (none was quiet).
fn noisy_medians(args: &Args, tasks: &[Task], runs: &[Run]) -> Vec<String> {
    tasks
        .iter()
        .filter(|t| t.mode == "loader" || t.mode == "train")
        .flat_map(|t| {
            let sides: &[Side] = if t.mode == "loader" {
                &[Side::Rust, Side::Python, Side::RustNoCache]
            } else {
                &[Side::Rust, Side::Python]
            };
            sides
                .iter()
                .filter(|&&s| !pick(args, runs, t.name, s).1)
                .map(|s| format!("{} {s:?}", t.name))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What one comparison produced, for the JSON file beside the table.
struct Results<'a> {
    machine: &'a str,
    elapsed: f64,
    others: f64,
    runs: &'a [Run],
    main: &'a [Row],
    detail: &'a [Row],
    profile: &'a [Row],
    steps: &'a [Row],
    noisy: &'a [String],
}

/// Writes the raw runs and rows as JSON and the table as Markdown under `--out`.
fn write_results(args: &Args, r: &Results, table_text: &str) -> Result<()> {
    let out = repo().join(&args.out);
    std::fs::create_dir_all(&out)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let raw: Vec<Value> = r
        .runs
        .iter()
        .map(|(round, name, side, v)| {
            json!({"round": round, "task": name, "side": format!("{side:?}"), "result": v})
        })
        .collect();
    let to_json = |rows: &[Row]| -> Vec<Value> {
        rows.iter()
            .map(|row| {
                json!({"what": row.what, "rust": row.rust, "python": row.python,
                       "unit": row.unit, "target": row.target})
            })
            .collect()
    };
    let summary = json!({
        "machine": r.machine,
        "args": format!("{args:?}"),
        "seconds": r.elapsed,
        "others_cpu_share_median": r.others,
        "runs": raw,
        "rows": to_json(r.main),
        "per_batch": to_json(r.detail),
        "profile": to_json(r.profile),
        "steps": to_json(r.steps),
        "noisy_medians": r.noisy,
    });
    let json_path = out.join(format!("compare-{stamp}.json"));
    write_atomic(
        &json_path,
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    write_atomic(&out.join("compare-latest.md"), table_text.as_bytes())?;
    println!("raw results: {}", json_path.display());
    Ok(())
}
