//! Checks for exercise 5, the train/validation split and its loaders.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex05_split.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex05_split.rs")]
mod ex05_split;

use anyhow::ensure;
use common::IndexSet;
use ex05_split::split_and_loaders;
use se05::check::{check, run};
use se05::data::{DataLoader, Dataset};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The original indices behind a loader's data set (IndexSet items carry them).
fn indices(loader: &DataLoader) -> anyhow::Result<Vec<usize>> {
    let ds = loader.dataset();
    (0..ds.len())
        .map(|i| Ok(ds.get(i)?.image.double_value(&[0, 0, 0]) as usize))
        .collect()
}

fn main() {
    run(
        5,
        vec![
            check("sizes_80_20", 2, "n_train = 80 % of the items (n * 8 / 10), the validation part takes the rest.", || {
                for n in [10usize, 50, 51, 99, 7] {
                    let (train, valid) = split_and_loaders(Arc::new(IndexSet(n)), 42)?;
                    let (a, b) = (train.dataset().len(), valid.dataset().len());
                    ensure!(a + b == n, "{n} items split into {a} + {b}");
                    let target = n as f64 * 0.8;
                    ensure!((a as f64 - target).abs() <= 1.0, "{n} items: {a} for training, expected 80 % ≈ {target:.1} (±1)");
                }
                Ok(())
            }),
            check("disjoint_and_covering", 2, "Use random_split: each item lands in exactly one of the two parts.", || {
                for (n, seed) in [(50usize, 1u64), (37, 7), (120, 42)] {
                    let (train, valid) = split_and_loaders(Arc::new(IndexSet(n)), seed)?;
                    let (a, b) = (indices(&train)?, indices(&valid)?);
                    let sa: BTreeSet<_> = a.iter().copied().collect();
                    let sb: BTreeSet<_> = b.iter().copied().collect();
                    ensure!(sa.len() == a.len() && sb.len() == b.len(), "{n} items: an item appears twice within a part");
                    ensure!(sa.is_disjoint(&sb), "{n} items: {} items are in both parts", sa.intersection(&sb).count());
                    ensure!(sa.union(&sb).count() == n, "{n} items: the two parts cover only {} items", sa.union(&sb).count());
                }
                Ok(())
            }),
            check("random_and_reproducible", 1, "Split at random with the given seed: the same seed gives the same split, and the split is not simply the first 80 %.", || {
                let split = |seed| -> anyhow::Result<Vec<usize>> { indices(&split_and_loaders(Arc::new(IndexSet(60)), seed)?.1) };
                ensure!(split(3)? == split(3)?, "two splits with seed 3 differ");
                let first: Vec<usize> = (48..60).collect();
                ensure!(split(3)? != first || split(4)? != first, "the validation part is always the last 20 %: shuffle with random_split");
                Ok(())
            }),
            check("loader_settings", 1, "Training: DataLoader::new(train, 16).shuffle(seed); validation: DataLoader::new(valid, 16) without shuffle.", || {
                let (train, valid) = split_and_loaders(Arc::new(IndexSet(100)), 42)?;
                ensure!(train.batch_size() == 16 && valid.batch_size() == 16, "batch sizes {} and {}, expected 16 and 16", train.batch_size(), valid.batch_size());
                ensure!(train.is_shuffled(), "the training loader must shuffle");
                ensure!(!valid.is_shuffled(), "the validation loader must not shuffle");
                ensure!(train.len() == 5 && valid.len() == 2, "80 + 20 items in batches of 16 make 5 and 2 batches, got {} and {}", train.len(), valid.len());
                let mut seen = 0;
                for batch in &valid {
                    let (x, _) = batch?;
                    seen += x.size()[0];
                }
                ensure!(seen == 20, "the validation loader yielded {seen} items, expected 20");
                Ok(())
            }),
        ],
    )
}
