//! Observers of exercise 4, ISICDatasetAlbumentations; the judge is
//! se05::grading::exercises::ex04_augmented_dataset.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex04_augmented_dataset;
}
pub use exercises::*;

use ex04_augmented_dataset::ISICDatasetAlbumentations;
use se05::data::{with_sample_seed, Compose, Dataset, SplitDirs};
use se05::grading::exercises::ex04_augmented_dataset::{
    flips, grey_pair, grey_pipelines, plain_items, rotate, sample_seeds, GreyMask, Item, Plain,
};
use se05::grading::exercises::fixtures::{self, Summary};
use se05::grading::observe::{main as observe_main, observe};

/// The tiny training set of one check, written into a fresh scratch folder.
fn tiny_train(seed: u64, check: &str) -> anyhow::Result<(tempfile::TempDir, SplitDirs)> {
    let dir = tempfile::tempdir()?;
    let (train, _) = fixtures::write_set(&fixtures::tiny_config(seed, check), dir.path())?;
    Ok((dir, train))
}

fn dataset(
    dirs: &SplitDirs,
    transform: Option<Compose>,
) -> anyhow::Result<ISICDatasetAlbumentations> {
    ISICDatasetAlbumentations::new(&dirs.images, &dirs.masks, transform)
}

/// Item `index` under sample seed `seed`, summarised.
fn item(ds: &ISICDatasetAlbumentations, index: usize, seed: u64) -> anyhow::Result<Item> {
    let s = with_sample_seed(seed, || ds.get(index))?;
    Ok(Item {
        index,
        seed,
        image: Summary::of(&s.image),
        mask: Summary::of(&s.mask),
    })
}

/// Every (item, seed) of a check through one pipeline.
fn items(seed: u64, check: &str, pipeline: Compose, per_item: usize) -> anyhow::Result<Vec<Item>> {
    let (_dir, train) = tiny_train(seed, check)?;
    let ds = dataset(&train, Some(pipeline))?;
    let n = fixtures::tiny_config(seed, check).train;
    sample_seeds(seed, check, n, per_item)
        .into_iter()
        .map(|(i, s)| item(&ds, i, s))
        .collect()
}

fn main() {
    observe_main(
        4,
        vec![
            observe("length_and_plain_items", |ctx| {
                let (_dir, train) = tiny_train(ctx.seed, "length_and_plain_items")?;
                let ds = dataset(&train, None)?;
                Ok(Plain {
                    len: ds.len(),
                    items: plain_items(ctx.seed)
                        .into_iter()
                        .map(|i| item(&ds, i, 0))
                        .collect::<anyhow::Result<_>>()?,
                })
            }),
            observe("binary_masks", |ctx| {
                let dir = tempfile::tempdir()?;
                let dirs = SplitDirs::train(dir.path());
                let (pair, _, _) = grey_pair(ctx.seed)?;
                fixtures::write_pair(&dirs, &pair)?;
                grey_pipelines(ctx.seed)
                    .into_iter()
                    .map(|(pipeline, transform, seed)| {
                        let ds = dataset(&dirs, transform)?;
                        let s = with_sample_seed(seed, || ds.get(0))?;
                        Ok(GreyMask {
                            pipeline,
                            mask: Summary::of(&s.mask),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            }),
            observe("aligned_flips", |ctx| {
                items(ctx.seed, "aligned_flips", flips(), 3)
            }),
            observe("aligned_rotation", |ctx| {
                items(ctx.seed, "aligned_rotation", rotate(), 1)
            }),
        ],
    )
}
