//! Exercise 1 — the ISIC dataset (reference solution).
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
        let images = list_images(image_dir.as_ref())?;
        Ok(ISICDataset {
            image_dir: image_dir.as_ref().to_path_buf(),
            mask_dir: mask_dir.as_ref().to_path_buf(),
            image_transform,
            mask_transform,
            images,
        })
    }

    /// The mask file of item `index`: same stem + `_Segmentation.png` in `mask_dir`.
    pub fn mask_path(&self, index: usize) -> PathBuf {
        mask_path_for(&self.images[index], &self.mask_dir)
    }
}

impl Dataset for ISICDataset {
    fn len(&self) -> usize {
        self.images.len()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        let plain = Compose::new(vec![Transform::ToTensor]);
        let image = ImageFile::rgb(&self.images[index])?;
        let mask = ImageFile::gray(self.mask_path(index))?;
        let image = self
            .image_transform
            .as_ref()
            .unwrap_or(&plain)
            .apply_image(image, &mut sample_rng())?;
        let mask = self
            .mask_transform
            .as_ref()
            .unwrap_or(&plain)
            .apply_image(mask, &mut sample_rng())?;
        Ok(Sample::new(image, mask))
    }
}
