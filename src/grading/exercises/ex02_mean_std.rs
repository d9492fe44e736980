//! Exercise 2, mean_std: per-channel mean and population std of a data set.
//!
//! `known_values` and `uneven_last_batch` run on small data sets whose pixels are drawn
//! from the run's seed ([`KnownSet`]), so the judge computes the exact answer (and the
//! answers of typical mistakes) itself; the other two run on tiny synthetic image sets.
use super::fixtures::{self, PairSet};
use super::rng;
use crate::data::synthetic::Split;
use crate::data::{Dataset, Sample};
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use crate::grading::snapshots;
use anyhow::{bail, ensure};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Name of the check target, and prefix of its snapshots.
pub const TARGET: &str = "ex02_mean_std";
/// The batch size the exercise loads with.
pub const BATCH: usize = 16;

/// What `mean_std` returned.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: [f64; 3],
    pub std: [f64; 3],
}

/// A data set with drawn pixels: `n` images of `height × width`, where n is not a
/// multiple of 16 (the last batch is short) and the values grow with the item's index
/// (so the short batch has its own mean), plus noise per pixel.
#[derive(Debug, Clone)]
pub struct KnownSet {
    pub height: usize,
    pub width: usize,
    /// One `[3, height, width]` buffer per item, channel-major.
    pub items: Vec<Vec<f32>>,
}

impl KnownSet {
    /// The set of `check` for this seed.
    pub fn draw(seed: u64, check: &str) -> KnownSet {
        let mut r = rng(seed, check);
        let n = loop {
            let n = r.gen_range(18..=60);
            if n % BATCH != 0 {
                break n;
            }
        };
        let (height, width) = (r.gen_range(1..=4), r.gen_range(1..=4));
        let offsets = [
            r.gen_range(0.0..0.3),
            r.gen_range(0.0..0.3),
            r.gen_range(0.0..0.3),
        ];
        let items = (0..n)
            .map(|i| {
                let mut v = Vec::with_capacity(3 * height * width);
                for offset in offsets {
                    let base = offset + 0.6 * i as f64 / n as f64;
                    for _ in 0..height * width {
                        v.push((base + r.gen_range(0.0..0.1)) as f32);
                    }
                }
                v
            })
            .collect();
        KnownSet {
            height,
            width,
            items,
        }
    }

    fn channel(&self, item: usize, c: usize) -> &[f32] {
        let hw = self.height * self.width;
        &self.items[item][c * hw..(c + 1) * hw]
    }

    /// Per-channel mean and population std over every pixel, in f64.
    pub fn mean_std(&self) -> MeanStd {
        let (mean, var) = self.moments(0..self.items.len());
        MeanStd {
            mean,
            std: var.map(f64::sqrt),
        }
    }

    /// Per-channel mean and population variance of the items in `range`.
    fn moments(&self, range: std::ops::Range<usize>) -> ([f64; 3], [f64; 3]) {
        let mut mean = [0.0; 3];
        let mut var = [0.0; 3];
        for c in 0..3 {
            let values: Vec<f64> = range
                .clone()
                .flat_map(|i| self.channel(i, c).iter().map(|v| *v as f64))
                .collect();
            let n = values.len() as f64;
            mean[c] = values.iter().sum::<f64>() / n;
            var[c] = values.iter().map(|v| (v - mean[c]).powi(2)).sum::<f64>() / n;
        }
        (mean, var)
    }

    /// The sample std (dividing by n − 1), the usual mistake for the population std.
    pub fn sample_std(&self) -> [f64; 3] {
        let n = (self.items.len() * self.height * self.width) as f64;
        self.mean_std().std.map(|s| (s * s * n / (n - 1.0)).sqrt())
    }

    /// The mean of the per-batch means (batches of 16 in order): what averaging batch
    /// means gives, which weights the short last batch like a full one.
    pub fn mean_of_batch_means(&self) -> [f64; 3] {
        let n = self.items.len();
        let batches: Vec<[f64; 3]> = (0..n)
            .step_by(BATCH)
            .map(|start| self.moments(start..(start + BATCH).min(n)).0)
            .collect();
        [0, 1, 2].map(|c| batches.iter().map(|b| b[c]).sum::<f64>() / batches.len() as f64)
    }

    /// The mean of the last batch alone: what sums reset at every batch give.
    pub fn last_batch_mean(&self) -> [f64; 3] {
        let n = self.items.len();
        let start = (n - 1) / BATCH * BATCH;
        self.moments(start..n).0
    }
}

impl Dataset for KnownSet {
    fn len(&self) -> usize {
        self.items.len()
    }
    fn get(&self, index: usize) -> anyhow::Result<Sample> {
        let (h, w) = (self.height as i64, self.width as i64);
        let image = Tensor::from_slice(&self.items[index]).reshape([3, h, w]);
        let mask = Tensor::zeros([1, h, w], tch::kind::FLOAT_CPU);
        Ok(Sample::new(image, mask))
    }
}

/// The synthetic images of a check (training split), resized to 64×64.
pub fn image_set(config: &crate::data::SyntheticConfig) -> anyhow::Result<PairSet> {
    Ok(PairSet {
        pairs: fixtures::decoded_split(config, Split::Train)?,
        transform: fixtures::resize64(),
    })
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "batch_means_averaged",
        title: "the average of the per-batch means",
        fix: "Add up sums and pixel counts over all batches and divide once at the end.",
    },
    Mistake {
        id: "sample_std",
        title: "the sample std (dividing by n − 1)",
        fix: "Use the population std: divide by n.",
    },
    Mistake {
        id: "channels_counted_as_pixels",
        title: "the channels counted as pixels",
        fix: "Each channel has batch · height · width values: n must not include the 3 channels.",
    },
    Mistake {
        id: "variance_instead_of_std",
        title: "the variance returned as the std",
        fix: "The std is the square root of the variance.",
    },
    Mistake {
        id: "mean_not_subtracted",
        title: "the std computed without subtracting the mean",
        fix: "std = sqrt(Σx²/n − mean²).",
    },
    Mistake {
        id: "last_batch_only",
        title: "the sums reset at every batch (only the last batch counts)",
        fix: "Accumulate with += across the loop.",
    },
];

fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<MeanStd>(
            "known_values",
            2,
            "Per channel: mean = Σx / n and population std = sqrt(Σx²/n − mean²), with n \
             counting every pixel of every image.",
            judge_known,
        ),
        spec::<MeanStd>(
            "uneven_last_batch",
            1,
            "When the item count is not a multiple of 16 the last batch is smaller: count \
             pixels across batches rather than averaging per-batch means.",
            judge_uneven,
        ),
        spec::<MeanStd>(
            "ranges_on_images",
            1,
            "Images from ToTensor lie in [0, 1], so every mean is in [0, 1] and every std in \
             (0, 1).",
            judge_ranges,
        ),
        spec::<MeanStd>(
            "matches_reference",
            2,
            "On the synthetic set (Resize 64 + ToTensor) the values must match the \
             reference to 1e-4.",
            judge_reference,
        ),
    ]
}

fn fmt3(v: [f64; 3]) -> String {
    format!("[{:.6}, {:.6}, {:.6}]", v[0], v[1], v[2])
}

fn near(a: [f64; 3], b: [f64; 3], tol: f64) -> bool {
    (0..3).all(|c| (a[c] - b[c]).abs() <= tol)
}

fn judge_known(got: MeanStd, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let set = KnownSet::draw(ctx.seed, "known_values");
    let want = set.mean_std();
    let size = format!(
        "{} images of 3×{}×{}",
        set.items.len(),
        set.height,
        set.width
    );
    if !near(got.mean, want.mean, 1e-6) {
        if near(got.mean, set.mean_of_batch_means(), 1e-6) {
            bail!(
                "on {size}: mean expected {}, got {}, which is the average of the per-batch \
                 means (the last batch holds {} items)",
                fmt3(want.mean),
                fmt3(got.mean),
                set.items.len() % BATCH
            );
        }
        if near(got.mean, set.last_batch_mean(), 1e-6) {
            bail!(
                "on {size}: mean expected {}, got {}, the mean of the last batch alone: {}",
                fmt3(want.mean),
                fmt3(got.mean),
                named("last_batch_only")
            );
        }
        bail!(
            "on {size}: mean expected {}, got {}",
            fmt3(want.mean),
            fmt3(got.mean)
        );
    }
    if !near(got.std, want.std, 1e-6) {
        if near(got.std, set.sample_std(), 1e-6) {
            bail!(
                "on {size}: std expected {}, got {}, which is the sample std (dividing by \
                 n − 1): use the population std (dividing by n)",
                fmt3(want.std),
                fmt3(got.std)
            );
        }
        bail!(
            "on {size}: std expected {}, got {}",
            fmt3(want.std),
            fmt3(got.std)
        );
    }
    Ok(())
}

fn judge_uneven(got: MeanStd, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let set = KnownSet::draw(ctx.seed, "uneven_last_batch");
    let n = set.items.len();
    let want = set.mean_std().mean;
    if near(got.mean, want, 1e-6) {
        return Ok(());
    }
    let size = format!(
        "{n} images in batches of {BATCH} (the last holds {})",
        n % BATCH
    );
    if near(got.mean, set.mean_of_batch_means(), 1e-6) {
        bail!(
            "on {size}: mean expected {}, got {}, which is the average of the per-batch \
             means: it weights the last {} items like a full batch of {BATCH}",
            fmt3(want),
            fmt3(got.mean),
            n % BATCH
        );
    }
    if near(got.mean, set.last_batch_mean(), 1e-6) {
        bail!(
            "on {size}: mean expected {}, got {}, the mean of the last batch alone: {}",
            fmt3(want),
            fmt3(got.mean),
            named("last_batch_only")
        );
    }
    bail!(
        "on {size}: mean expected {}, got {}",
        fmt3(want),
        fmt3(got.mean)
    )
}

fn judge_ranges(got: MeanStd, _ctx: &JudgeCtx) -> anyhow::Result<()> {
    for c in 0..3 {
        ensure!(
            (0.0..=1.0).contains(&got.mean[c]),
            "channel {c}: mean {} outside [0, 1]",
            got.mean[c]
        );
        ensure!(
            got.std[c] > 0.0 && got.std[c] < 1.0,
            "channel {c}: std {} outside (0, 1)",
            got.std[c]
        );
    }
    Ok(())
}

fn judge_reference(got: MeanStd, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let (m, s) = (got.mean, got.std);
    let text = format!(
        "mean {:.6} {:.6} {:.6}\nstd {:.6} {:.6} {:.6}\n",
        m[0], m[1], m[2], s[0], s[1], s[2]
    );
    if ctx.bless_mistake.is_some() {
        // Recording a mistake's variant: its observation, whatever it is.
        return snapshots::compare(ctx, TARGET, "tiny_synthetic", &text, true);
    }
    let (mean, std) = fixtures::mean_std_of(&image_set(&fixtures::fixed_config())?)?;
    if !(near(got.mean, mean, 1e-4) && near(got.std, std, 1e-4)) {
        let known = snapshots::known_mistake(ctx, TARGET, "tiny_synthetic", &text, true)
            .map(|why| format!("; {why}"))
            .unwrap_or_default();
        let (what, want, have) = if near(got.mean, mean, 1e-4) {
            ("std", std, got.std)
        } else {
            ("mean", mean, got.mean)
        };
        bail!("{what} expected {}, got {}{known}", fmt3(want), fmt3(have));
    }
    snapshots::compare(ctx, TARGET, "tiny_synthetic", &text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sets_separate_the_mistakes() {
        for seed in 0..300 {
            for check in ["known_values", "uneven_last_batch"] {
                let set = KnownSet::draw(seed, check);
                assert_ne!(set.items.len() % BATCH, 0);
                let right = set.mean_std();
                let batchwise = set.mean_of_batch_means();
                let sample = set.sample_std();
                for c in 0..3 {
                    assert!((right.mean[c] - batchwise[c]).abs() > 1e-4, "seed {seed}");
                    assert!((right.std[c] - sample[c]).abs() > 1e-5, "seed {seed}");
                }
            }
        }
    }

    #[test]
    fn known_set_matches_the_library_statistics() {
        let set = KnownSet::draw(7, "known_values");
        let (mean, std) = fixtures::mean_std_of(&set).unwrap();
        let want = set.mean_std();
        assert!(near(mean, want.mean, 1e-9) && near(std, want.std, 1e-9));
    }
}
