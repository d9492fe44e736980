//! The final training stage's target: the only code of the stage that includes
//! exercise files. It plugs the student's data pipeline (exercises 1–5), U-Net
//! (exercise 9), Dice loss (exercise 10) and EfficientNet U-Net (exercise 11) into
//! `se05::train::stage`, which trains, evaluates and writes the outputs; the checker
//! judges them (`checker train` runs this with `--stage`).
//!
//! Run by `cargo test` without arguments, it trains both models for a few batches on
//! a tiny generated data set and checks that every output is written.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex01_dataset;
    pub mod ex02_mean_std;
    pub mod ex03_transforms;
    pub mod ex04_augmented_dataset;
    pub mod ex05_split;
    pub mod ex06_double_conv;
    pub mod ex07_down;
    pub mod ex08_up;
    pub mod ex09_unet;
    pub mod ex10_dice_loss;
    pub mod ex11_unet_efficient;
}
pub use exercises::*;

use ex04_augmented_dataset::ISICDatasetAlbumentations;
use se05::data::{Compose, DataLoader, Dataset, SplitDirs};
use se05::models::weights::{ResolvedWeights, WeightsChoice};
use se05::train::stage::{self, StudentCode};
use std::sync::Arc;
use tch::{nn, Tensor};

/// The exercises, as the stage calls them.
struct Exercises {
    loss: ex10_dice_loss::DiceLoss,
}

impl StudentCode for Exercises {
    type UNet = ex09_unet::UNet;
    type UNetEfficient = ex11_unet_efficient::UNetEfficient;

    fn mean_std(&self, train: &SplitDirs, resize: Compose) -> anyhow::Result<([f64; 3], [f64; 3])> {
        let dataset = ex01_dataset::ISICDataset::new(
            &train.images,
            &train.masks,
            Some(resize.clone()),
            Some(resize),
        )?;
        ex02_mean_std::mean_std(Arc::new(dataset))
    }

    fn train_val_loaders(
        &self,
        train: &SplitDirs,
        mean: [f64; 3],
        std: [f64; 3],
        seed: u64,
    ) -> anyhow::Result<(DataLoader, DataLoader)> {
        let transforms = ex03_transforms::train_transforms(mean, std);
        let full = ISICDatasetAlbumentations::new(&train.images, &train.masks, Some(transforms))?;
        ex05_split::split_and_loaders(Arc::new(full), seed)
    }

    fn test_set(
        &self,
        test: &SplitDirs,
        mean: [f64; 3],
        std: [f64; 3],
    ) -> anyhow::Result<Box<dyn Dataset>> {
        let transforms = ex03_transforms::valid_transforms(mean, std);
        let set = ISICDatasetAlbumentations::new(&test.images, &test.masks, Some(transforms))?;
        Ok(Box::new(set))
    }

    fn unet(&self, p: &nn::Path) -> Self::UNet {
        ex09_unet::UNet::new(p, 3, 1)
    }

    fn dice_loss(&self, pred: &Tensor, truth: &Tensor) -> Tensor {
        self.loss.forward(pred, truth)
    }

    fn unet_efficient(
        &self,
        p: &nn::Path,
        weights: &WeightsChoice,
    ) -> anyhow::Result<(Self::UNetEfficient, ResolvedWeights)> {
        Ok(ex11_unet_efficient::UNetEfficient::pretrained(
            p, weights, 1,
        )?)
    }
}

fn main() -> std::process::ExitCode {
    stage::target_main(&Exercises {
        loss: ex10_dice_loss::DiceLoss::default(),
    })
}
