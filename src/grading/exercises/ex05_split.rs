//! Exercise 5, split_and_loaders: an 80/20 random split and its two loaders.
//!
//! The observer runs the student's function on [`IndexSet`]s (items that carry their
//! own index) of sizes and with split seeds drawn from the run's seed, and reports
//! which original items landed where.
use super::rng;
use crate::data::{Dataset, Sample};
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use anyhow::{bail, ensure};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Name of the check target.
pub const TARGET: &str = "ex05_split";
/// The batch size of both loaders.
pub const BATCH: usize = 16;

/// `n` items whose image is a `[1, 1, 1]` tensor holding their index, to trace a split.
pub struct IndexSet(pub usize);

impl Dataset for IndexSet {
    fn len(&self) -> usize {
        self.0
    }
    fn get(&self, index: usize) -> anyhow::Result<Sample> {
        anyhow::ensure!(
            index < self.0,
            "index {index} out of range for {} items",
            self.0
        );
        let t = tch::Tensor::full([1, 1, 1], index as f64, tch::kind::FLOAT_CPU);
        Ok(Sample::new(t.shallow_clone(), t))
    }
}

/// One split: the data set size and seed, and the original indices of each part.
#[derive(Debug, Serialize, Deserialize)]
pub struct Split {
    pub n: usize,
    pub seed: u64,
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
}

/// The loaders' settings, and what iterating the validation loader gave.
#[derive(Debug, Serialize, Deserialize)]
pub struct Loaders {
    pub n: usize,
    pub train_items: usize,
    pub valid_items: usize,
    pub train_batch_size: usize,
    pub valid_batch_size: usize,
    pub train_shuffled: bool,
    pub valid_shuffled: bool,
    pub train_batches: usize,
    pub valid_batches: usize,
    /// Batch sizes the validation loader yielded, in order.
    pub valid_yielded: Vec<i64>,
}

/// (n, seed) pairs of a check: `count` sizes in `range`, seeds drawn; the first size
/// is a multiple of 10 and one is odd, so rounding is exercised.
pub fn cases(
    seed: u64,
    check: &str,
    count: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Vec<(usize, u64)> {
    let mut r = rng(seed, check);
    (0..count)
        .map(|k| {
            let mut n = r.gen_range(range.clone());
            if k == 0 {
                n -= n % 10;
                n = n.max(10);
            } else if k == 1 && n % 2 == 0 {
                n += 1;
            }
            (n, r.gen_range(0..1_000_000))
        })
        .collect()
}

/// The two seeds of `random_and_reproducible` (different) and its data set size.
pub fn reproducible_case(seed: u64) -> (usize, u64, u64) {
    let mut r = rng(seed, "random_and_reproducible");
    let n = r.gen_range(40..=120);
    let a = r.gen_range(0..1_000_000u64);
    let b = (a + r.gen_range(1..1_000_000u64)) % 1_000_000;
    (n, a, b)
}

/// The data set size of `loader_settings`: 40–200 items.
pub fn loader_size(seed: u64) -> usize {
    rng(seed, "loader_settings").gen_range(40..=200)
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "ratio_reversed",
        title: "the 80/20 split reversed (20 % for training)",
        fix: "n_train = n * 8 / 10 is the first length given to random_split; validation takes the rest.",
    },
    Mistake {
        id: "first_80_percent",
        title: "the first 80 % taken in order instead of a random split",
        fix: "The files are sorted by name: split with random_split(dataset, &[n_train, n - n_train], seed).",
    },
    Mistake {
        id: "fixed_seed",
        title: "a fixed seed instead of the seed passed in",
        fix: "Give random_split the `seed` argument, so the caller chooses the split.",
    },
    Mistake {
        id: "overlapping_parts",
        title: "training and validation parts that share items",
        fix: "Take both parts from one random_split call: its parts never overlap.",
    },
    Mistake {
        id: "validation_shuffled",
        title: "a shuffled validation loader",
        fix: "DataLoader::new(valid, 16) without .shuffle: validation goes through the items in order.",
    },
    Mistake {
        id: "training_not_shuffled",
        title: "a training loader that does not shuffle",
        fix: "DataLoader::new(train, 16).shuffle(seed): a new order every epoch.",
    },
    Mistake {
        id: "batch_size_not_16",
        title: "a batch size other than 16",
        fix: "Both loaders use batches of 16 (the notebook's BATCH_SIZE).",
    },
];

fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<Vec<(usize, usize)>>(
            "sizes_80_20",
            2,
            "n_train = 80 % of the items (n * 8 / 10), the validation part takes the rest.",
            judge_sizes,
        ),
        spec::<Vec<Split>>(
            "disjoint_and_covering",
            2,
            "Use random_split: each item lands in exactly one of the two parts.",
            judge_disjoint,
        ),
        spec::<Vec<Split>>(
            "random_and_reproducible",
            1,
            "Split at random with the given seed (random_split(dataset, lengths, seed)): the \
             same seed gives the same split, another seed another split, and the split is \
             not simply the first 80 %.",
            judge_random,
        ),
        spec::<Loaders>(
            "loader_settings",
            1,
            "Training: DataLoader::new(train, 16).shuffle(seed); validation: \
             DataLoader::new(valid, 16) without shuffle.",
            judge_loaders,
        ),
    ]
}

fn judge_sizes(got: Vec<(usize, usize)>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = cases(ctx.seed, "sizes_80_20", 5, 5..=300);
    ensure!(
        got.len() == cases.len(),
        "expected {} splits, got {}",
        cases.len(),
        got.len()
    );
    for ((n, _), (a, b)) in cases.iter().zip(got) {
        ensure!(a + b == *n, "{n} items split into {a} + {b}");
        let target = *n as f64 * 0.8;
        if (a as f64 - *n as f64 * 0.2).abs() <= 1.0 && (a as f64 - target).abs() > 1.0 {
            bail!(
                "{n} items: {a} for training, expected 80 % ≈ {target:.1} (±1): {}",
                named("ratio_reversed")
            );
        }
        ensure!(
            (a as f64 - target).abs() <= 1.0,
            "{n} items: {a} for training, expected 80 % ≈ {target:.1} (±1)"
        );
    }
    Ok(())
}

fn judge_disjoint(got: Vec<Split>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = cases(ctx.seed, "disjoint_and_covering", 3, 20..=150);
    ensure!(
        got.len() == cases.len(),
        "expected {} splits, got {}",
        cases.len(),
        got.len()
    );
    for ((n, seed), s) in cases.iter().zip(got) {
        ensure!(
            s.n == *n && s.seed == *seed,
            "expected the split of {n} items with seed {seed}, got {} items with seed {}",
            s.n,
            s.seed
        );
        let sa: BTreeSet<usize> = s.train.iter().copied().collect();
        let sb: BTreeSet<usize> = s.valid.iter().copied().collect();
        ensure!(
            sa.len() == s.train.len() && sb.len() == s.valid.len(),
            "{n} items (seed {seed}): an item appears twice within a part"
        );
        if let Some(bad) = sa.union(&sb).find(|i| **i >= *n) {
            bail!("{n} items (seed {seed}): item {bad} does not exist");
        }
        let both = sa.intersection(&sb).count();
        ensure!(
            both == 0,
            "{n} items (seed {seed}): {both} items are in both parts: {}",
            named("overlapping_parts")
        );
        let covered = sa.len() + sb.len();
        ensure!(
            covered == *n,
            "{n} items (seed {seed}): the two parts cover only {covered} items"
        );
    }
    Ok(())
}

fn judge_random(got: Vec<Split>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let (n, a, b) = reproducible_case(ctx.seed);
    let seeds: Vec<u64> = got.iter().map(|s| s.seed).collect();
    ensure!(
        got.len() == 3 && seeds == [a, a, b] && got.iter().all(|s| s.n == n),
        "expected three splits of {n} items with seeds {a}, {a}, {b}, got seeds {seeds:?}"
    );
    ensure!(
        got[0].valid == got[1].valid && got[0].train == got[1].train,
        "two splits of {n} items with seed {a} differ"
    );
    let tail: Vec<usize> = ((n - got[0].valid.len())..n).collect();
    ensure!(
        got[0].valid != tail,
        "with seed {a} the validation part is the last {} items in order: {}",
        tail.len(),
        named("first_80_percent")
    );
    ensure!(
        got[0].valid != got[2].valid,
        "seeds {a} and {b} gave the same validation part: {}",
        named("fixed_seed")
    );
    Ok(())
}

fn judge_loaders(got: Loaders, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let n = loader_size(ctx.seed);
    ensure!(got.n == n, "expected loaders over {n} items, got {}", got.n);
    ensure!(
        got.train_batch_size == BATCH && got.valid_batch_size == BATCH,
        "batch sizes {} and {}, expected {BATCH} and {BATCH}: {}",
        got.train_batch_size,
        got.valid_batch_size,
        named("batch_size_not_16")
    );
    ensure!(
        got.train_shuffled,
        "the training loader does not shuffle: {}",
        named("training_not_shuffled")
    );
    ensure!(
        !got.valid_shuffled,
        "the validation loader shuffles: {}",
        named("validation_shuffled")
    );
    let (a, b) = (got.train_items, got.valid_items);
    ensure!(a + b == n, "{n} items split into {a} + {b}");
    let batches = |k: usize| k.div_ceil(BATCH);
    ensure!(
        got.train_batches == batches(a) && got.valid_batches == batches(b),
        "{a} + {b} items in batches of {BATCH} make {} and {} batches, got {} and {}",
        batches(a),
        batches(b),
        got.train_batches,
        got.valid_batches
    );
    let seen: i64 = got.valid_yielded.iter().sum();
    ensure!(
        seen == b as i64,
        "the validation loader yielded {seen} items in batches of {:?}, expected {b}",
        got.valid_yielded
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_cases_cover_rounding_and_distinct_seeds() {
        for seed in 0..200 {
            let c = cases(seed, "sizes_80_20", 5, 5..=300);
            assert_eq!(c[0].0 % 10, 0);
            assert_eq!(c[1].0 % 2, 1);
            assert!(c.iter().all(|(n, _)| *n >= 5));
            let (n, a, b) = reproducible_case(seed);
            assert!(n >= 40 && a != b);
        }
    }
}
