//! The notebook's training pipeline (albumentations in §3.3) as the tests and benches
//! build it, so that its parameters are written down once outside the solutions.
#![allow(dead_code)]
use se05::data::{Compose, Transform};

/// ISIC 2016 training-set mean and std recorded by the notebook's runs.
pub const NOTEBOOK_MEAN: [f32; 3] = [0.7239, 0.6187, 0.5673];
pub const NOTEBOOK_STD: [f32; 3] = [0.1625, 0.1694, 0.1897];

/// Resize to `size`×`size`, flips (p 0.5), Rotate(10°, p 0.5), ColorJitter(0.2, 0.2,
/// 0.2, 0.1, p 0.5), Normalize(`mean`, `std`), ToTensor.
pub fn notebook_train_pipeline(size: usize, mean: [f32; 3], std: [f32; 3]) -> Compose {
    Compose::new(vec![
        Transform::Resize {
            height: size,
            width: size,
        },
        Transform::HorizontalFlip { p: 0.5 },
        Transform::VerticalFlip { p: 0.5 },
        Transform::Rotate {
            limit: 10.0,
            p: 0.5,
        },
        Transform::ColorJitter {
            brightness: 0.2,
            contrast: 0.2,
            saturation: 0.2,
            hue: 0.1,
            p: 0.5,
        },
        Transform::Normalize {
            mean: mean.to_vec(),
            std: std.to_vec(),
        },
        Transform::ToTensor,
    ])
}
