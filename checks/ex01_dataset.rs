//! Checks for exercise 1, the ISIC dataset.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex01_dataset.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex01_dataset.rs")]
mod ex01_dataset;

use anyhow::ensure;
use ex01_dataset::ISICDataset;
use se05::check::{check, run};
use se05::data::{Compose, Dataset, Transform};
use tch::Kind;

fn plain() -> anyhow::Result<(tempfile::TempDir, se05::data::DataSource, ISICDataset)> {
    let (dir, source) = common::tiny_isic()?;
    let ds = ISICDataset::new(&source.train.images, &source.train.masks, None, None)?;
    Ok((dir, source, ds))
}

fn main() {
    run(
        1,
        vec![
            check("length", 1, "new() lists every .jpg of image_dir (se05::data::isic::list_images); len() is how many there are.", || {
                let (_dir, source, ds) = plain()?;
                ensure!(ds.len() == 12, "the tiny training set has 12 images, len() returned {}", ds.len());
                let test = ISICDataset::new(&source.test.images, &source.test.masks, None, None)?;
                ensure!(test.len() == 4, "the tiny test set has 4 images, len() returned {}", test.len());
                Ok(())
            }),
            check("sorted_and_paired", 2, "Sort the image paths by name, and find each mask as stem + \"_Segmentation.png\" in mask_dir.", || {
                let (_dir, source, ds) = plain()?;
                let pairs = se05::data::isic::pair_split(&source.train)?.pairs;
                ensure!(ds.images.len() == pairs.len(), "images lists {} files, expected {}", ds.images.len(), pairs.len());
                for (i, p) in pairs.iter().enumerate() {
                    ensure!(ds.images[i] == p.image, "item {i} is {}, expected {} (sorted by name)", ds.images[i].display(), p.image.display());
                    ensure!(ds.mask_path(i) == p.mask, "the mask of item {i} is {}, expected {}", ds.mask_path(i).display(), p.mask.display());
                }
                Ok(())
            }),
            check("plain_tensors", 2, "Without transforms use Compose::new(vec![Transform::ToTensor]): the image becomes [3, H, W] and the mask [1, H, W], both f32 in [0, 1].", || {
                let (_dir, _source, ds) = plain()?;
                for i in [0, 5, 11] {
                    let s = ds.get(i)?;
                    ensure!(s.image.size() == [3, 48, 64], "item {i}: image shape {:?}, expected [3, 48, 64]", s.image.size());
                    ensure!(s.mask.size() == [1, 48, 64], "item {i}: mask shape {:?}, expected [1, 48, 64] (open the mask as grayscale)", s.mask.size());
                    ensure!(s.image.kind() == Kind::Float && s.mask.kind() == Kind::Float, "item {i}: expected f32 tensors, got {:?} and {:?}", s.image.kind(), s.mask.kind());
                    let binary = s.mask.eq(0.0).logical_or(&s.mask.eq(1.0)).all().int64_value(&[]) == 1;
                    ensure!(binary, "item {i}: the mask should hold only 0.0 and 1.0");
                    let (lo, hi) = (s.image.min().double_value(&[]), s.image.max().double_value(&[]));
                    ensure!(lo >= 0.0 && hi <= 1.0 && hi > lo, "item {i}: image values span [{lo}, {hi}], expected within [0, 1]");
                }
                Ok(())
            }),
            check("uses_transforms", 2, "Run the image through image_transform and the mask through mask_transform (Compose::apply_image with sample_rng()).", || {
                let (_dir, source, _) = plain()?;
                let resize = |h, w| Compose::new(vec![Transform::Resize { height: h, width: w }, Transform::ToTensor]);
                let ds = ISICDataset::new(&source.train.images, &source.train.masks, Some(resize(32, 40)), Some(resize(16, 20)))?;
                let s = ds.get(3)?;
                ensure!(s.image.size() == [3, 32, 40], "with a 32×40 image transform the image is {:?}", s.image.size());
                ensure!(s.mask.size() == [1, 16, 20], "with a 16×20 mask transform the mask is {:?}", s.mask.size());
                Ok(())
            }),
            check("missing_mask_is_an_error", 1, "Propagate the error of ImageFile::gray with `?`: it names the missing mask file.", || {
                let (_dir, source, _) = plain()?;
                let pairs = se05::data::isic::pair_split(&source.train)?.pairs;
                let gone = &pairs[2].mask;
                std::fs::remove_file(gone)?;
                let name = gone.file_name().unwrap().to_string_lossy().to_string();
                let err = match ISICDataset::new(&source.train.images, &source.train.masks, None, None) {
                    Err(e) => e,
                    Ok(ds) => match ds.get(2) {
                        Err(e) => e,
                        Ok(_) => anyhow::bail!("get(2) succeeded although {name} was deleted"),
                    },
                };
                let text = format!("{err:#}");
                ensure!(text.contains(&name), "the error should name {name}, got: {text}");
                Ok(())
            }),
        ],
    )
}
