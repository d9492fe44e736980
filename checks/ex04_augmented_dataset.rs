//! Checks for exercise 4, the dataset with one pipeline for image and mask.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex04_augmented_dataset.rs")]
#[cfg_attr(
    not(feature = "solutions"),
    path = "../exercises/ex04_augmented_dataset.rs"
)]
mod ex04_augmented_dataset;

#[path = "../tests/support/pipelines.rs"]
mod pipelines;
use anyhow::ensure;
use common::PairSet;
use ex04_augmented_dataset::ISICDatasetAlbumentations;
use pipelines::notebook_train_pipeline;
use se05::check::{check, run};
use se05::data::{with_sample_seed, Compose, Dataset, Transform};
use tch::Tensor;

fn is_binary(mask: &Tensor) -> bool {
    mask.eq(0.0)
        .logical_or(&mask.eq(1.0))
        .all()
        .int64_value(&[])
        == 1
}

fn main() {
    run(
        4,
        vec![
            check("length_and_plain_items", 1, "List the sorted .jpg files as in exercise 1; without a transform use Compose::new(vec![Transform::ToTensor]).", || {
                let (_dir, source) = common::tiny_isic()?;
                let ds = ISICDatasetAlbumentations::new(&source.train.images, &source.train.masks, None)?;
                ensure!(ds.len() == 12, "the tiny training set has 12 images, len() returned {}", ds.len());
                let plain = PairSet::new(&source.train, Compose::new(vec![Transform::ToTensor]))?;
                for i in [0, 7] {
                    let (got, want) = (ds.get(i)?, plain.get(i)?);
                    ensure!(got.image.size() == [3, 48, 64] && got.mask.size() == [1, 48, 64], "item {i}: shapes {:?} and {:?}, expected [3, 48, 64] and [1, 48, 64]", got.image.size(), got.mask.size());
                    ensure!(got.image.equal(&want.image) && got.mask.equal(&want.mask), "item {i} is not the image and mask of {} (sorted order, stem + _Segmentation.png)", plain.pairs[i].image.display());
                }
                Ok(())
            }),
            check("binary_masks", 3, "Resize and Rotate interpolate the mask: binarise it after the transforms with mask.gt(0.5).to_kind(Kind::Float).", || {
                let (_dir, source) = common::tiny_isic()?;
                let ds = ISICDatasetAlbumentations::new(&source.train.images, &source.train.masks, Some(notebook_train_pipeline(64, [0.6, 0.5, 0.4], [0.15, 0.125, 0.1])))?;
                for seed in 0..6u64 {
                    for i in 0..ds.len() {
                        let s = with_sample_seed(seed * 100 + i as u64, || ds.get(i))?;
                        ensure!(s.image.size() == [3, 64, 64] && s.mask.size() == [1, 64, 64], "item {i}: shapes {:?} and {:?}, expected [3, 64, 64] and [1, 64, 64]", s.image.size(), s.mask.size());
                        ensure!(s.mask.kind() == tch::Kind::Float, "item {i}: mask kind {:?}, expected Float", s.mask.kind());
                        ensure!(is_binary(&s.mask), "item {i}: the mask holds values other than 0.0 and 1.0");
                    }
                }
                Ok(())
            }),
            check("aligned_flips", 2, "One Compose::apply call for image and mask together: a flip of the image must be the same flip of its mask.", || {
                let (_dir, source) = common::tiny_isic()?;
                let flips = Compose::new(vec![Transform::HorizontalFlip { p: 0.5 }, Transform::VerticalFlip { p: 0.5 }, Transform::ToTensor]);
                let ds = ISICDatasetAlbumentations::new(&source.train.images, &source.train.masks, Some(flips))?;
                let plain = PairSet::new(&source.train, Compose::new(vec![Transform::ToTensor]))?;
                for i in 0..ds.len() {
                    let base = plain.get(i)?;
                    let mask = base.mask.gt(0.5).to_kind(tch::Kind::Float);
                    for seed in 0..4u64 {
                        let s = with_sample_seed(seed * 31 + i as u64, || ds.get(i))?;
                        let found = [vec![], vec![2i64], vec![1i64], vec![1i64, 2]].into_iter().find(|d| {
                            let (img, m) = if d.is_empty() { (base.image.shallow_clone(), mask.shallow_clone()) } else { (base.image.flip(d.as_slice()), mask.flip(d.as_slice())) };
                            s.image.equal(&img) && s.mask.equal(&m)
                        });
                        ensure!(found.is_some(), "item {i}: image and mask were not flipped the same way (or the mask is not binarised)");
                    }
                }
                Ok(())
            }),
            check("aligned_rotation", 2, "Rotate image and mask with the same angle in one apply call: the lesion pixels of the image must stay under the mask.", || {
                let (_dir, source) = common::tiny_isic()?;
                let tf = Compose::new(vec![Transform::Rotate { limit: 10.0, p: 1.0 }, Transform::ToTensor]);
                let ds = ISICDatasetAlbumentations::new(&source.train.images, &source.train.masks, Some(tf.clone()))?;
                let reference = PairSet::new(&source.train, tf)?;
                for i in 0..ds.len() {
                    let seed = 7 + i as u64;
                    let s = with_sample_seed(seed, || ds.get(i))?;
                    let r = with_sample_seed(seed, || reference.get(i))?;
                    ensure!(s.image.allclose(&r.image, 1e-6, 1e-6, false), "item {i}: the rotated image differs from a single draw for image and mask");
                    ensure!(s.mask.equal(&r.mask.gt(0.5).to_kind(tch::Kind::Float)), "item {i}: the rotated mask differs from a single draw for image and mask, binarised at 0.5");
                }
                Ok(())
            }),
        ],
    )
}
