//! # Exercise 4 — one pipeline for image and mask (notebook §3.3.4)
//!
//! With separate transforms (exercise 1) a random flip of the image is not the flip
//! of its mask. albumentations applies one pipeline to both with a single random
//! draw per step; here that is `Compose::apply(image, mask, &mut sample_rng())`, which
//! returns `(image [3, H, W], mask [1, H, W])`.
//!
//! Like exercise 1, `new` lists the sorted `.jpg` files and the mask of an image is
//! stem + `_Segmentation.png` in `mask_dir`. Without a transform use a plain
//! `Compose::new(vec![Transform::ToTensor])`.
//!
//! After the transforms, binarise the mask: 1.0 where it is above 0.5, else 0.0.
//! The pipeline already resamples masks with nearest neighbour (Resize and Rotate pick
//! an existing mask pixel instead of blending neighbours), so a clean 0/1 mask stays
//! 0/1. The threshold is still needed: a mask file may hold grey levels, for example
//! anti-aliased edges drawn by an annotation tool, which arrive as fractions such as
//! 0.5 or 0.8; and any transform that does interpolate the mask (a bilinear resize, an
//! elastic warp added later) would create fractions again. The loss and the metrics
//! expect a true 0/1 target.
#![allow(unused_imports)]
use anyhow::Result;
use se05::data::isic::{list_images, mask_path_for};
use se05::data::{sample_rng, Compose, Dataset, ImageFile, Sample, Transform};
use std::path::{Path, PathBuf};
use tch::Kind;

/// ISIC pairs run through one albumentations-style pipeline.
pub struct ISICDatasetAlbumentations {
    pub image_dir: PathBuf,
    pub mask_dir: PathBuf,
    /// Applied to image and mask together; plain ToTensor when None.
    pub transform: Option<Compose>,
    /// The `.jpg` files of `image_dir`, sorted by name.
    pub images: Vec<PathBuf>,
}

impl ISICDatasetAlbumentations {
    pub fn new(
        image_dir: impl AsRef<Path>,
        mask_dir: impl AsRef<Path>,
        transform: Option<Compose>,
    ) -> Result<ISICDatasetAlbumentations> {
        let _ = (image_dir, mask_dir, transform);
        todo!("Exercise 4: list the images and keep the folders and the pipeline")
    }
}

impl Dataset for ISICDatasetAlbumentations {
    fn len(&self) -> usize {
        todo!("Exercise 4: the number of images")
    }

    fn get(&self, index: usize) -> Result<Sample> {
        let _ = index;
        todo!("Exercise 4: one pipeline for image and mask, then binarise the mask")
    }
}
