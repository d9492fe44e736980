//! `checker show N`: pictures of the data your exercises produce, drawn as a grid of
//! image/mask pairs (the mask's outline over the image, the mask beside it).
//!
//! * `--show 1`: raw pairs from your `ISICDataset` (exercise 1), no transform;
//! * `--show 4`: a few items of your `ISICDatasetAlbumentations` (exercise 4), each
//!   drawn several times through the training pipeline, so the augmentations and the
//!   alignment of image and mask can be seen;
//! * `--show 5`: the first training batch of your split (exercise 5).
//!
//! The checker builds this target and runs it as a child process, so the exercises
//! never run inside the checker. `--out DIR` names the folder for the PNG; its path is
//! printed on the last line as `picture: PATH`. Run by `cargo test` (no `--show`), it
//! draws all three pictures from a tiny generated data set and checks that they are
//! written and not blank.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions/ex01_dataset.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex01_dataset.rs")]
mod ex01_dataset;
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
#[path = "../tests/support/pipelines.rs"]
mod pipelines;

use anyhow::{bail, Context};
use se05::data::{with_sample_seed, Compose, DataSource, Dataset, SyntheticConfig};
use se05::train::gallery::{self, Pair};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The notebook's seed for the split and the shuffling.
const SEED: u64 = 101;

/// The exercises that have a picture.
const SHOWN: [u32; 3] = [1, 4, 5];

/// Statistics used to normalise and un-normalise in pictures 4 and 5. Any values would
/// do, since the picture undoes the normalisation; these are ISIC 2016's.
fn stats() -> ([f64; 3], [f64; 3]) {
    let to64 = |v: [f32; 3]| v.map(f64::from);
    (
        to64(pipelines::NOTEBOOK_MEAN),
        to64(pipelines::NOTEBOOK_STD),
    )
}

/// The training pipeline: yours from exercise 3 when it is written, else the
/// notebook's, with a note saying which.
fn training_pipeline() -> (Compose, String) {
    let (mean, std) = stats();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let yours = std::panic::catch_unwind(|| ex03_transforms::train_transforms(mean, std));
    std::panic::set_hook(quiet);
    match yours {
        Ok(pipeline) => (pipeline, "your training pipeline (exercise 3)".into()),
        Err(_) => (
            pipelines::notebook_train_pipeline(
                64,
                pipelines::NOTEBOOK_MEAN,
                pipelines::NOTEBOOK_STD,
            ),
            "the notebook's training pipeline (your exercise 3 is not written yet)".into(),
        ),
    }
}

/// Share of lesion pixels in a mask tensor, for the captions.
fn lesion_share(mask: &tch::Tensor) -> f64 {
    mask.gt(0.5)
        .to_kind(tch::Kind::Float)
        .mean(tch::Kind::Float)
        .double_value(&[])
}

/// Exercise 1: the first items of the training split as your dataset returns them.
fn raw_pairs(source: &DataSource, out: &Path) -> anyhow::Result<PathBuf> {
    let ds = ex01_dataset::ISICDataset::new(&source.train.images, &source.train.masks, None, None)?;
    anyhow::ensure!(!ds.is_empty(), "your dataset has no items");
    let n = ds.len().min(8);
    let mut pairs = Vec::with_capacity(n);
    for i in 0..n {
        let s = ds.get(i)?;
        let (h, w) = (s.image.size()[1], s.image.size()[2]);
        pairs.push(Pair::from_tensors(
            &s.image,
            &s.mask,
            [0.0; 3],
            [1.0; 3],
            format!(
                "item {i}: {w}×{h}, lesion {:.0} %",
                100.0 * lesion_share(&s.mask)
            ),
        )?);
    }
    let path = out.join("show_1_raw_pairs.png");
    gallery::pair_grid(
        &pairs,
        4,
        150,
        &format!(
            "Exercise 1: the first {n} of {} training pairs, as loaded (outline = mask)",
            ds.len()
        ),
        &path,
    )?;
    Ok(path)
}

/// Exercise 4: three items, each drawn four times through the training pipeline.
fn augmented_pairs(source: &DataSource, out: &Path) -> anyhow::Result<PathBuf> {
    let (pipeline, which) = training_pipeline();
    println!("pipeline: {which}");
    let ds = ex04_augmented_dataset::ISICDatasetAlbumentations::new(
        &source.train.images,
        &source.train.masks,
        Some(pipeline),
    )?;
    anyhow::ensure!(!ds.is_empty(), "your dataset has no items");
    let (mean, std) = stats();
    let (items, draws) = (ds.len().min(3), 4u64);
    let mut pairs = Vec::new();
    for i in 0..items {
        for d in 0..draws {
            let s = with_sample_seed(SEED * 1000 + i as u64 * 10 + d, || ds.get(i))?;
            pairs.push(Pair::from_tensors(
                &s.image,
                &s.mask,
                mean,
                std,
                format!("item {i}, draw {}", d + 1),
            )?);
        }
    }
    let path = out.join("show_4_augmented_pairs.png");
    gallery::pair_grid(
        &pairs,
        draws as usize,
        128,
        "Exercise 4: each row is one item drawn 4 times; the outline must follow every flip and turn",
        &path,
    )?;
    Ok(path)
}

/// Exercise 5: the first batch of the training loader, split with the notebook's seed.
fn training_batch(source: &DataSource, out: &Path) -> anyhow::Result<PathBuf> {
    let (pipeline, which) = training_pipeline();
    println!("pipeline: {which}");
    let full = ex04_augmented_dataset::ISICDatasetAlbumentations::new(
        &source.train.images,
        &source.train.masks,
        Some(pipeline),
    )?;
    let (train, valid) = ex05_split::split_and_loaders(Arc::new(full), SEED)?;
    println!(
        "split with seed {SEED}: {} training items in {} batches, {} validation items",
        train.dataset().len(),
        train.len(),
        valid.dataset().len()
    );
    let (x, y) = train
        .iter()
        .next()
        .context("the training loader gives no batch")??;
    let (mean, std) = stats();
    let b = x.size()[0];
    let mut pairs = Vec::with_capacity(b as usize);
    for i in 0..b {
        let (xi, yi) = (x.get(i), y.get(i));
        pairs.push(Pair::from_tensors(
            &xi,
            &yi,
            mean,
            std,
            format!("{}: lesion {:.0} %", i + 1, 100.0 * lesion_share(&yi)),
        )?);
    }
    let path = out.join("show_5_training_batch.png");
    gallery::pair_grid(
        &pairs,
        4,
        128,
        &format!(
            "Exercise 5: the first training batch ({b} items of {}×{}), un-normalised",
            x.size()[3],
            x.size()[2]
        ),
        &path,
    )?;
    Ok(path)
}

fn draw(n: u32, source: &DataSource, out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    match n {
        1 => raw_pairs(source, out),
        4 => augmented_pairs(source, out),
        5 => training_batch(source, out),
        _ => bail!("there is no picture for exercise {n}: choose one of {SHOWN:?}"),
    }
}

/// A panic in the student's code ends with a short message, not a backtrace.
fn explain_panics(n: u32) {
    std::panic::set_hook(Box::new(move |info| {
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
                    l.file().trim_start_matches("checks/../"),
                    l.line()
                )
            })
            .unwrap_or_default();
        eprintln!(
            "\nThe picture could not be drawn: {message}{place}\nGrade the exercise first: `cargo run --bin checker -- {n}`."
        );
    }));
}

/// `cargo test`: all three pictures from a tiny generated data set, each checked.
fn self_test() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = SyntheticConfig {
        train: 20,
        test: 4,
        width: 96,
        height: 72,
        ..SyntheticConfig::default()
    };
    let source = se05::data::isic::regenerate_synthetic(dir.path(), &config)?;
    let out = dir.path().join("results");
    for n in SHOWN {
        let path = draw(n, &source, &out)?;
        let picture = image::open(&path)
            .with_context(|| format!("{} was not written", path.display()))?
            .to_rgb8();
        let spread = gallery::pixel_spread(&picture);
        let outline = gallery::share_of_colour(&picture, gallery::OUTLINE);
        println!(
            "show {n}: {} is {}×{}, grey-level spread {spread:.1}, outline {:.2} % of pixels",
            path.display(),
            picture.width(),
            picture.height(),
            100.0 * outline
        );
        anyhow::ensure!(
            picture.width() > 300 && picture.height() > 150,
            "picture {n} is only {}×{}",
            picture.width(),
            picture.height()
        );
        anyhow::ensure!(
            spread > 20.0,
            "picture {n} is blank (grey-level spread {spread:.1})"
        );
        anyhow::ensure!(outline > 0.001, "picture {n} shows no mask outline");
    }
    anyhow::ensure!(draw(2, &source, &out).is_err(), "exercise 2 has no picture");
    println!("show self-test: ok");
    Ok(())
}

/// `--show N --out DIR`, or nothing (libtest's flags from `cargo test` are ignored).
fn parse_args() -> anyhow::Result<Option<(u32, PathBuf)>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .map(|i| {
                args.get(i + 1)
                    .cloned()
                    .with_context(|| format!("{flag} needs a value"))
            })
            .transpose()
    };
    let Some(n) = value("--show")? else {
        return Ok(None);
    };
    let n: u32 = n
        .parse()
        .with_context(|| format!("--show {n}: expected an exercise number"))?;
    let out = value("--out")?.unwrap_or_else(|| "results".into());
    Ok(Some((n, PathBuf::from(out))))
}

fn main() -> std::process::ExitCode {
    let outcome = match parse_args() {
        Ok(Some((n, out))) => {
            explain_panics(n);
            se05::data::ensure_dataset().and_then(|source| {
                println!("data: {}", source.describe());
                draw(n, &source, &out).map(|path| println!("picture: {}", path.display()))
            })
        }
        Ok(None) => self_test(),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("show failed: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
