//! Observers of exercise 1, ISICDataset; the judge is se05::grading::exercises::ex01_dataset.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex01_dataset;
}
pub use exercises::*;

use ex01_dataset::ISICDataset;
use se05::data::{Compose, Dataset, SplitDirs, Transform};
use se05::grading::exercises::ex01_dataset::{
    deleted_item, plain_items, transform_sizes, Item, Lengths, Listing, MissingMask, Shapes,
};
use se05::grading::exercises::fixtures::{self, Summary};
use se05::grading::judge::short_error;
use se05::grading::observe::{main as observe_main, observe};
use std::path::Path;

/// The tiny set of one check, written into a fresh folder of the scratch space.
fn tiny_set(seed: u64, check: &str) -> anyhow::Result<(tempfile::TempDir, SplitDirs, SplitDirs)> {
    let dir = tempfile::tempdir()?;
    let (train, test) = fixtures::write_set(&fixtures::tiny_config(seed, check), dir.path())?;
    Ok((dir, train, test))
}

fn plain(dirs: &SplitDirs) -> anyhow::Result<ISICDataset> {
    ISICDataset::new(&dirs.images, &dirs.masks, None, None)
}

/// A path relative to the set's root, or the whole path when it lies elsewhere.
fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn resize(height: usize, width: usize) -> Compose {
    Compose::new(vec![
        Transform::Resize { height, width },
        Transform::ToTensor,
    ])
}

fn main() {
    observe_main(
        1,
        vec![
            observe("length", |ctx| {
                let (_dir, train, test) = tiny_set(ctx.seed, "length")?;
                Ok(Lengths {
                    train: plain(&train)?.len(),
                    test: plain(&test)?.len(),
                })
            }),
            observe("sorted_and_paired", |ctx| {
                let (dir, train, _) = tiny_set(ctx.seed, "sorted_and_paired")?;
                let ds = plain(&train)?;
                let root = dir.path();
                Ok(Listing {
                    images: ds.images.iter().map(|p| relative(p, root)).collect(),
                    masks: (0..ds.images.len())
                        .map(|i| relative(&ds.mask_path(i), root))
                        .collect(),
                })
            }),
            observe("plain_tensors", |ctx| {
                let (_dir, train, _) = tiny_set(ctx.seed, "plain_tensors")?;
                let ds = plain(&train)?;
                plain_items(ctx.seed)
                    .into_iter()
                    .map(|index| {
                        let s = ds.get(index)?;
                        Ok(Item {
                            index,
                            image: Summary::of(&s.image),
                            mask: Summary::of(&s.mask),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            }),
            observe("uses_transforms", |ctx| {
                let (_dir, train, _) = tiny_set(ctx.seed, "uses_transforms")?;
                let (item, (ih, iw), (mh, mw)) = transform_sizes(ctx.seed);
                let ds = ISICDataset::new(
                    &train.images,
                    &train.masks,
                    Some(resize(ih, iw)),
                    Some(resize(mh, mw)),
                )?;
                let s = ds.get(item)?;
                Ok(Shapes {
                    image: s.image.size(),
                    mask: s.mask.size(),
                })
            }),
            observe("missing_mask_is_an_error", |ctx| {
                let (_dir, train, _) = tiny_set(ctx.seed, "missing_mask_is_an_error")?;
                let index = deleted_item(ctx.seed);
                let pairs = se05::data::isic::pair_split(&train)?.pairs;
                std::fs::remove_file(&pairs[index].mask)?;
                Ok(match plain(&train) {
                    Err(e) => MissingMask::NewFailed(short_error(&format!("{e:#}"))),
                    Ok(ds) => match ds.get(index) {
                        Err(e) => MissingMask::GetFailed(short_error(&format!("{e:#}"))),
                        Ok(_) => MissingMask::GetSucceeded {
                            image: ds
                                .images
                                .get(index)
                                .and_then(|p| p.file_name())
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default(),
                        },
                    },
                })
            }),
        ],
    )
}
