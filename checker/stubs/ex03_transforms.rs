//! # Exercise 3 — augmentation pipelines (notebook §3.3)
//!
//! Build the notebook's two albumentations pipelines as `Compose`s of `Transform`s:
//!
//! * training: Resize 64×64, HorizontalFlip (p 0.5), VerticalFlip (p 0.5),
//!   Rotate (limit 10°, p 0.5), ColorJitter (brightness 0.2, contrast 0.2,
//!   saturation 0.2, hue 0.1, p 0.5), Normalize with the data set's mean and std,
//!   ToTensor;
//! * validation: Resize 64×64, Normalize, ToTensor — nothing random, so the same
//!   image always gives the same tensor.
//!
//! `Transform::Normalize` takes its mean and std as `Vec<f32>`.
#![allow(unused_imports)]
use se05::data::{Compose, Transform};

/// Resize, random flips, rotation and colour jitter, Normalize, ToTensor.
pub fn train_transforms(mean: [f64; 3], std: [f64; 3]) -> Compose {
    let _ = (mean, std);
    todo!("Exercise 3: the training pipeline")
}

/// Resize, Normalize, ToTensor: no random step.
pub fn valid_transforms(mean: [f64; 3], std: [f64; 3]) -> Compose {
    let _ = (mean, std);
    todo!("Exercise 3: the validation pipeline")
}
