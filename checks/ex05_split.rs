//! Observers of exercise 5, split_and_loaders; the judge is se05::grading::exercises::ex05_split.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex05_split;
}
pub use exercises::*;

use ex05_split::split_and_loaders;
use se05::data::DataLoader;
use se05::grading::exercises::ex05_split::{
    cases, loader_size, reproducible_case, IndexSet, Loaders, Split,
};
use se05::grading::observe::{main as observe_main, observe};
use std::sync::Arc;

/// The original indices behind a loader's data set (IndexSet items carry them).
fn indices(loader: &DataLoader) -> anyhow::Result<Vec<usize>> {
    let ds = loader.dataset();
    (0..ds.len().min(100_000))
        .map(|i| Ok(ds.get(i)?.image.double_value(&[0, 0, 0]) as usize))
        .collect()
}

fn split(n: usize, seed: u64) -> anyhow::Result<Split> {
    let (train, valid) = split_and_loaders(Arc::new(IndexSet(n)), seed)?;
    Ok(Split {
        n,
        seed,
        train: indices(&train)?,
        valid: indices(&valid)?,
    })
}

fn main() {
    observe_main(
        5,
        vec![
            observe("sizes_80_20", |ctx| {
                cases(ctx.seed, "sizes_80_20", 5, 5..=300)
                    .into_iter()
                    .map(|(n, seed)| {
                        let (train, valid) = split_and_loaders(Arc::new(IndexSet(n)), seed)?;
                        Ok((train.dataset().len(), valid.dataset().len()))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            }),
            observe("disjoint_and_covering", |ctx| {
                cases(ctx.seed, "disjoint_and_covering", 3, 20..=150)
                    .into_iter()
                    .map(|(n, seed)| split(n, seed))
                    .collect::<anyhow::Result<Vec<_>>>()
            }),
            observe("random_and_reproducible", |ctx| {
                let (n, a, b) = reproducible_case(ctx.seed);
                [a, a, b]
                    .into_iter()
                    .map(|seed| split(n, seed))
                    .collect::<anyhow::Result<Vec<_>>>()
            }),
            observe("loader_settings", |ctx| {
                let n = loader_size(ctx.seed);
                let (train, valid) = split_and_loaders(Arc::new(IndexSet(n)), ctx.seed)?;
                let mut valid_yielded = Vec::new();
                for batch in &valid {
                    valid_yielded.push(batch?.0.size()[0]);
                    if valid_yielded.len() > 1000 {
                        break;
                    }
                }
                Ok(Loaders {
                    n,
                    train_items: train.dataset().len(),
                    valid_items: valid.dataset().len(),
                    train_batch_size: train.batch_size(),
                    valid_batch_size: valid.batch_size(),
                    train_shuffled: train.is_shuffled(),
                    valid_shuffled: valid.is_shuffled(),
                    train_batches: train.len(),
                    valid_batches: valid.len(),
                    valid_yielded,
                })
            }),
        ],
    )
}
