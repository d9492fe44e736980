//! Exercise 4 — dataset with one pipeline for image and mask (reference solution).
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
        Ok(ISICDatasetAlbumentations {
            images: list_images(image_dir.as_ref())?,
            image_dir: image_dir.as_ref().to_path_buf(),
            mask_dir: mask_dir.as_ref().to_path_buf(),
            transform,
        })
    }
}

impl Dataset for ISICDatasetAlbumentations {
    fn len(&self) -> usize {
        self.images.len()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        let image_path = &self.images[index];
        let image = ImageFile::rgb(image_path)?;
        let mask = ImageFile::gray(mask_path_for(image_path, &self.mask_dir))?;
        let plain = Compose::new(vec![Transform::ToTensor]);
        let (image, mask) =
            self.transform
                .as_ref()
                .unwrap_or(&plain)
                .apply(image, mask, &mut sample_rng())?;
        Ok(Sample::new(image, mask.gt(0.5).to_kind(Kind::Float)))
    }
}
