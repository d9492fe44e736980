//! # Exercise 1 — the ISIC dataset (notebook §3.1)
//!
//! The notebook's `ISICDataset(image_dir, mask_dir, transform, mask_transform)`:
//!
//! * `new` lists the `.jpg` files of `image_dir`, sorted by name
//!   (`se05::data::isic::list_images` does exactly that);
//! * the mask of `ISIC_0000000.jpg` is `ISIC_0000000_Segmentation.png` in `mask_dir`
//!   (`se05::data::isic::mask_path_for`);
//! * `get` opens the image as RGB (`ImageFile::rgb`) and the mask as grayscale
//!   (`ImageFile::gray`), and turns each into a tensor with its transform
//!   (`Compose::apply_image(input, &mut sample_rng())`), or with a plain
//!   `Compose::new(vec![Transform::ToTensor])` when the transform is `None`.
//!   The image comes out as `[3, H, W]`, the mask as `[1, H, W]`, both `f32`.
//!
//! An image without its mask must give an error that names the missing file (the
//! `ImageFile` constructors already do, so propagate their errors with `?`).
#![allow(unused_imports)]
use anyhow::Result;
use se05::data::isic::{list_images, mask_path_for};
use se05::data::{sample_rng, Compose, Dataset, ImageFile, Sample, Transform};
use std::path::{Path, PathBuf};

/// Image/mask pairs of one ISIC folder pair, with optional separate transforms.
pub struct ISICDataset {
    pub image_dir: PathBuf,
    pub mask_dir: PathBuf,
    /// Applied to the RGB image; plain ToTensor when None.
    pub image_transform: Option<Compose>,
    /// Applied to the grayscale mask; plain ToTensor when None.
    pub mask_transform: Option<Compose>,
    /// The `.jpg` files of `image_dir`, sorted by name.
    pub images: Vec<PathBuf>,
}

impl ISICDataset {
    pub fn new(
        image_dir: impl AsRef<Path>,
        mask_dir: impl AsRef<Path>,
        image_transform: Option<Compose>,
        mask_transform: Option<Compose>,
    ) -> Result<ISICDataset> {
        let _ = (image_dir, mask_dir, image_transform, mask_transform);
        todo!("Exercise 1: list the images and keep the folders and transforms")
    }

    /// The mask file of item `index`: same stem + `_Segmentation.png` in `mask_dir`.
    pub fn mask_path(&self, index: usize) -> PathBuf {
        let _ = index;
        todo!("Exercise 1: the mask that belongs to image `index`")
    }
}

impl Dataset for ISICDataset {
    fn len(&self) -> usize {
        todo!("Exercise 1: the number of images")
    }

    fn get(&self, index: usize) -> Result<Sample> {
        let _ = index;
        todo!("Exercise 1: load image and mask, apply the transforms")
    }
}
