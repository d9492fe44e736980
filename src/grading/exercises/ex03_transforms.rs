//! Exercise 3, train_transforms / valid_transforms: two augmentation pipelines.
//!
//! The exercise returns plain data (a `Compose` of `Transform` values), so the
//! observer sends the steps as data ([`Step`]) and the judge rebuilds the pipeline
//! and runs it itself (library code) on images drawn from the seed: nothing of the
//! student's code runs on the judge's side, and no statistic comes from the
//! observer's process.
use super::ex02_mean_std::image_set;
use super::fixtures;
use super::rng;
use crate::data::synthetic::Split;
use crate::data::{with_sample_seed, Compose, Input, SyntheticConfig, Transform};
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use crate::grading::snapshots;
use anyhow::{bail, ensure};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Name of the check target, and prefix of its snapshots.
pub const TARGET: &str = "ex03_transforms";
/// The mean and std the step checks build the pipelines with.
pub const MEAN: [f64; 3] = [0.6, 0.5, 0.4];
pub const STD: [f64; 3] = [0.15, 0.125, 0.1];
/// The largest pipeline the judge runs, and the largest Resize it accepts.
const MAX_STEPS: usize = 32;
const MAX_SIDE: usize = 1024;

/// One step of a pipeline, as data (mirrors `se05::data::Transform`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Step {
    Resize {
        height: usize,
        width: usize,
    },
    HorizontalFlip {
        p: f64,
    },
    VerticalFlip {
        p: f64,
    },
    Rotate {
        limit: f64,
        p: f64,
    },
    ColorJitter {
        brightness: f64,
        contrast: f64,
        saturation: f64,
        hue: f64,
        p: f64,
    },
    Normalize {
        mean: Vec<f32>,
        std: Vec<f32>,
    },
    ToTensor,
}

impl From<&Transform> for Step {
    fn from(t: &Transform) -> Step {
        match t.clone() {
            Transform::Resize { height, width } => Step::Resize { height, width },
            Transform::HorizontalFlip { p } => Step::HorizontalFlip { p },
            Transform::VerticalFlip { p } => Step::VerticalFlip { p },
            Transform::Rotate { limit, p } => Step::Rotate { limit, p },
            Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            } => Step::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            },
            Transform::Normalize { mean, std } => Step::Normalize { mean, std },
            Transform::ToTensor => Step::ToTensor,
        }
    }
}

impl From<&Step> for Transform {
    fn from(s: &Step) -> Transform {
        match s.clone() {
            Step::Resize { height, width } => Transform::Resize { height, width },
            Step::HorizontalFlip { p } => Transform::HorizontalFlip { p },
            Step::VerticalFlip { p } => Transform::VerticalFlip { p },
            Step::Rotate { limit, p } => Transform::Rotate { limit, p },
            Step::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            } => Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            },
            Step::Normalize { mean, std } => Transform::Normalize { mean, std },
            Step::ToTensor => Transform::ToTensor,
        }
    }
}

/// The steps of a pipeline.
pub fn steps_of(c: &Compose) -> Vec<Step> {
    c.steps().iter().map(Step::from).collect()
}

/// Both pipelines of the exercise.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pipelines {
    pub train: Vec<Step>,
    pub valid: Vec<Step>,
}

/// The pipeline the judge may run: a bounded number of valid steps, no huge resize.
fn runnable(steps: &[Step], name: &str) -> anyhow::Result<Compose> {
    ensure!(
        steps.len() <= MAX_STEPS,
        "the {name} pipeline has {} steps",
        steps.len()
    );
    for s in steps {
        if let Step::Resize { height, width } = s {
            ensure!(
                *height <= MAX_SIDE && *width <= MAX_SIDE,
                "the {name} pipeline resizes to {height}×{width}, expected 64×64"
            );
        }
        if let Step::Normalize { mean, std } = s {
            ensure!(
                mean.len() == 3 && std.len() == 3,
                "the {name} pipeline's Normalize has {} means and {} stds, expected 3 and 3",
                mean.len(),
                std.len()
            );
        }
    }
    let compose = Compose::new(steps.iter().map(Transform::from).collect());
    compose
        .validate()
        .map_err(|e| anyhow::anyhow!("the {name} pipeline is not valid: {e:#}"))?;
    Ok(compose)
}

fn kinds(steps: &[Step]) -> Vec<&'static str> {
    steps.iter().map(|s| Transform::from(s).kind()).collect()
}

fn describe(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| Transform::from(s).describe())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The image `output_shapes` and `validation_deterministic` run the pipelines on: a
/// synthetic pair of drawn size (16–120 pixels a side, so some are up- and some
/// downscaled), and the sample seeds the pipelines draw with.
pub fn drawn_pair(seed: u64, check: &str) -> anyhow::Result<(fixtures::EncodedPair, Vec<u64>)> {
    let mut r = rng(seed, check);
    let config = SyntheticConfig {
        seed: r.gen_range(0..1_000_000),
        train: 1,
        test: 0,
        width: r.gen_range(16..=120),
        height: r.gen_range(16..=120),
        hair: r.gen_bool(0.5),
        jpeg_quality: 90,
    };
    let seeds = (0..4).map(|_| r.gen()).collect();
    Ok((fixtures::encoded_pair(&config, Split::Train, 0)?, seeds))
}

/// The data set `normalized_statistics` measures: a tiny synthetic set drawn from the
/// seed, and its own mean and std (Resize 64 + ToTensor), which the observer passes
/// to `valid_transforms`.
pub fn normalization_data(seed: u64) -> anyhow::Result<(SyntheticConfig, [f64; 3], [f64; 3])> {
    let config = fixtures::tiny_config(seed, "normalized_statistics");
    let (mean, std) = fixtures::mean_std_of(&image_set(&config)?)?;
    Ok((config, mean, std))
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "jitter_after_normalize",
        title: "ColorJitter placed after Normalize",
        fix: "Colour jitter works on [0, 1] colours: put every augmentation before Normalize.",
    },
    Mistake {
        id: "augmentation_in_validation",
        title: "a random augmentation in the validation pipeline",
        fix: "Validation sees the images as they are: Resize, Normalize, ToTensor only.",
    },
    Mistake {
        id: "no_resize_in_validation",
        title: "no Resize in the validation pipeline",
        fix: "Validation images must be 64×64 too: keep Resize, drop only the random steps.",
    },
    Mistake {
        id: "no_normalize_in_validation",
        title: "no Normalize in the validation pipeline",
        fix: "Normalize validation images with the same mean and std as training ones.",
    },
    Mistake {
        id: "mean_std_swapped",
        title: "mean and std swapped in Normalize",
        fix: "Normalize { mean, std }: the means first, then the stds.",
    },
    Mistake {
        id: "fixed_statistics",
        title: "Normalize with fixed numbers (such as ImageNet's) instead of the mean and std passed in",
        fix: "Use the mean and std arguments: they are this data set's statistics (exercise 2).",
    },
    Mistake {
        id: "flip_always",
        title: "a flip with probability 1 (every image flipped)",
        fix: "HorizontalFlip { p: 0.5 }: half of the images are flipped.",
    },
    Mistake {
        id: "resize_128",
        title: "a Resize to 128×128 instead of 64×64",
        fix: "Transform::Resize { height: 64, width: 64 } in both pipelines.",
    },
];

fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

/// The catalogued mistake an order of steps shows, if any.
fn order_mistake(got: &[&str]) -> Option<String> {
    let at = |k: &str| got.iter().position(|g| *g == k);
    match (at("Normalize"), at("ColorJitter")) {
        (Some(n), Some(j)) if n < j => Some(named("jitter_after_normalize")),
        _ => None,
    }
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<Vec<Step>>(
            "training_steps",
            2,
            "Training: Resize 64×64, HorizontalFlip 0.5, VerticalFlip 0.5, Rotate (10, 0.5), \
             ColorJitter (0.2, 0.2, 0.2, 0.1, p 0.5), Normalize, ToTensor, in that order.",
            judge_train,
        ),
        spec::<Vec<Step>>(
            "validation_steps",
            2,
            "Validation: Resize 64×64, Normalize, ToTensor; no random step, and the same \
             mean and std as training.",
            judge_valid,
        ),
        spec::<Pipelines>(
            "output_shapes",
            1,
            "Both pipelines give a [3, 64, 64] image and a [1, 64, 64] mask, whatever the \
             input size.",
            judge_shapes,
        ),
        spec::<Vec<Step>>(
            "validation_deterministic",
            1,
            "The validation pipeline draws nothing at random: the same image gives the same \
             tensor every time.",
            judge_deterministic,
        ),
        spec::<Vec<Step>>(
            "normalized_statistics",
            2,
            "Normalize with the mean and std passed in: the validation output of a data set \
             normalised with its own statistics has per-channel mean ≈ 0 and std ≈ 1.",
            judge_normalized,
        ),
    ]
}

const TRAIN_KINDS: [&str; 7] = [
    "Resize",
    "HorizontalFlip",
    "VerticalFlip",
    "Rotate",
    "ColorJitter",
    "Normalize",
    "ToTensor",
];
const VALID_KINDS: [&str; 3] = ["Resize", "Normalize", "ToTensor"];

fn check_kinds(name: &str, got: &[&str], expected: &[&str]) -> anyhow::Result<()> {
    if got == expected {
        return Ok(());
    }
    let (mut a, mut b) = (got.to_vec(), expected.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    let which = order_mistake(got).map_or(String::new(), |m| format!(": {m}"));
    if a == b {
        bail!(
            "the {name} pipeline has the right steps in the order {got:?}, expected \
             {expected:?}{which}"
        );
    }
    bail!("the {name} pipeline has the steps {got:?}, expected {expected:?}{which}")
}

fn judge_train(steps: Vec<Step>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    check_kinds("training", &kinds(&steps), &TRAIN_KINDS)?;
    snapshots::compare(ctx, TARGET, "train_steps", &describe(&steps), true)
}

fn judge_valid(steps: Vec<Step>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let random: Vec<&str> = steps
        .iter()
        .map(Transform::from)
        .filter(|t| t.is_random())
        .map(|t| t.kind())
        .collect();
    if !random.is_empty() {
        bail!(
            "the validation pipeline holds the random steps {random:?}: {}",
            named("augmentation_in_validation")
        );
    }
    let got = kinds(&steps);
    if !got.contains(&"Resize") {
        bail!(
            "the validation pipeline has the steps {got:?}, expected {VALID_KINDS:?}: {}",
            named("no_resize_in_validation")
        );
    }
    if !got.contains(&"Normalize") {
        bail!(
            "the validation pipeline has the steps {got:?}, expected {VALID_KINDS:?}: {}",
            named("no_normalize_in_validation")
        );
    }
    check_kinds("validation", &got, &VALID_KINDS)?;
    ensure!(
        steps.iter().all(|s| !Transform::from(s).is_random()),
        "the validation pipeline must not hold a random step"
    );
    snapshots::compare(ctx, TARGET, "valid_steps", &describe(&steps), true)
}

fn judge_shapes(got: Pipelines, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let (pair, seeds) = drawn_pair(ctx.seed, "output_shapes")?;
    let (image, mask) = fixtures::decode_pair(&pair)?;
    for (name, steps) in [("training", &got.train), ("validation", &got.valid)] {
        let compose = runnable(steps, name)?;
        for seed in &seeds {
            let (x, m) = with_sample_seed(*seed, || {
                compose.apply(
                    Input::from(&image),
                    Input::from(&mask),
                    &mut crate::data::sample_rng(),
                )
            })?;
            let size = format!("{}×{}", image.height(), image.width());
            ensure!(
                x.size() == [3, 64, 64],
                "{name}: a {size} image comes out {:?}, expected [3, 64, 64]",
                x.size()
            );
            ensure!(
                m.size() == [1, 64, 64],
                "{name}: a {size} mask comes out {:?}, expected [1, 64, 64]",
                m.size()
            );
        }
    }
    Ok(())
}

fn judge_deterministic(steps: Vec<Step>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let compose = runnable(&steps, "validation")?;
    let (pair, seeds) = drawn_pair(ctx.seed, "validation_deterministic")?;
    let (image, _) = fixtures::decode_pair(&pair)?;
    let run = |seed: u64| {
        with_sample_seed(seed, || {
            compose.apply_image(Input::from(&image), &mut crate::data::sample_rng())
        })
    };
    let first = run(seeds[0])?;
    for seed in &seeds[1..] {
        if !first.equal(&run(*seed)?) {
            let random: Vec<&str> = steps
                .iter()
                .map(Transform::from)
                .filter(|t| t.is_random())
                .map(|t| t.kind())
                .collect();
            bail!(
                "two runs of the validation pipeline on the same image differ; its random \
                 steps: {random:?}"
            );
        }
    }
    Ok(())
}

fn judge_normalized(steps: Vec<Step>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let (config, mean, std) = normalization_data(ctx.seed)?;
    let compose = runnable(&steps, "validation")?;
    let mut set = image_set(&config)?;
    set.transform = compose;
    let (m2, s2) = fixtures::mean_std_of(&set)?;
    let ok = (0..3).all(|c| m2[c].abs() < 1e-3 && (s2[c] - 1.0).abs() < 1e-3);
    if ok {
        return Ok(());
    }
    let f32s = |v: [f64; 3]| v.map(|x| x as f32);
    let close = |a: &[f32], b: [f32; 3]| a.len() == 3 && (0..3).all(|c| (a[c] - b[c]).abs() < 1e-6);
    let given = format!(
        "mean [{:.4}, {:.4}, {:.4}], std [{:.4}, {:.4}, {:.4}]",
        mean[0], mean[1], mean[2], std[0], std[1], std[2]
    );
    let normalizes: Vec<(&Vec<f32>, &Vec<f32>)> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Normalize { mean, std } => Some((mean, std)),
            _ => None,
        })
        .collect();
    match normalizes.as_slice() {
        [] => bail!(
            "the validation pipeline has no Normalize step (called with {given}): {}",
            named("no_normalize_in_validation")
        ),
        [(m, s)] if close(m, f32s(std)) && close(s, f32s(mean)) => bail!(
            "Normalize got mean {m:?} and std {s:?}, called with {given}: {}",
            named("mean_std_swapped")
        ),
        [(m, s)] if !close(m, f32s(mean)) || !close(s, f32s(std)) => bail!(
            "Normalize got mean {m:?} and std {s:?}, but valid_transforms was called with \
             {given}: {}",
            named("fixed_statistics")
        ),
        _ => {}
    }
    let c = (0..3)
        .find(|&c| m2[c].abs() >= 1e-3 || (s2[c] - 1.0).abs() >= 1e-3)
        .unwrap_or(0);
    bail!(
        "channel {c}: after the validation pipeline the data set normalised with its own \
         statistics has mean {:.4} and std {:.4}, expected ≈ 0 and ≈ 1",
        m2[c],
        s2[c]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_every_transform() {
        let all = vec![
            Transform::Resize {
                height: 3,
                width: 4,
            },
            Transform::HorizontalFlip { p: 0.5 },
            Transform::VerticalFlip { p: 0.25 },
            Transform::Rotate {
                limit: 10.0,
                p: 0.5,
            },
            Transform::ColorJitter {
                brightness: 0.1,
                contrast: 0.2,
                saturation: 0.3,
                hue: 0.05,
                p: 0.5,
            },
            Transform::Normalize {
                mean: vec![0.1, 0.2, 0.3],
                std: vec![0.4, 0.5, 0.6],
            },
            Transform::ToTensor,
        ];
        let steps = steps_of(&Compose::new(all.clone()));
        let json = serde_json::to_string(&steps).unwrap();
        let back: Vec<Step> = serde_json::from_str(&json).unwrap();
        let rebuilt: Vec<Transform> = back.iter().map(Transform::from).collect();
        assert_eq!(rebuilt, all);
    }

    #[test]
    fn huge_or_invalid_pipelines_are_refused_before_running() {
        let huge = vec![
            Step::Resize {
                height: 100_000,
                width: 64,
            },
            Step::ToTensor,
        ];
        assert!(runnable(&huge, "x").is_err());
        let no_tensor = vec![Step::Resize {
            height: 64,
            width: 64,
        }];
        assert!(runnable(&no_tensor, "x").is_err());
    }

    #[test]
    fn drawn_pairs_are_generated() {
        let (pair, seeds) = drawn_pair(3, "output_shapes").unwrap();
        assert_eq!(seeds.len(), 4);
        assert!(fixtures::decode_pair(&pair).is_ok());
    }
}
