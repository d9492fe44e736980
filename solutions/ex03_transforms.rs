//! Exercise 3 — training and validation pipelines (reference solution).
use se05::data::{Compose, Transform};

fn resize() -> Transform {
    Transform::Resize {
        height: 64,
        width: 64,
    }
}

fn normalize(mean: [f64; 3], std: [f64; 3]) -> Transform {
    Transform::Normalize {
        mean: mean.iter().map(|v| *v as f32).collect(),
        std: std.iter().map(|v| *v as f32).collect(),
    }
}

/// Resize, random flips, rotation and colour jitter, Normalize, ToTensor.
pub fn train_transforms(mean: [f64; 3], std: [f64; 3]) -> Compose {
    Compose::new(vec![
        resize(),
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
        normalize(mean, std),
        Transform::ToTensor,
    ])
}

/// Resize, Normalize, ToTensor: no random step.
pub fn valid_transforms(mean: [f64; 3], std: [f64; 3]) -> Compose {
    Compose::new(vec![resize(), normalize(mean, std), Transform::ToTensor])
}
