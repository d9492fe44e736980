//! Checks for exercise 3, the augmentation pipelines.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex03_transforms.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex03_transforms.rs")]
mod ex03_transforms;

use anyhow::ensure;
use common::PairSet;
use ex03_transforms::{train_transforms, valid_transforms};
use se05::check::{check, run};
use se05::data::{with_sample_seed, Compose, Dataset, ImageFile, Transform};

const MEAN: [f64; 3] = [0.6, 0.5, 0.4];
const STD: [f64; 3] = [0.15, 0.125, 0.1];

fn steps(c: &Compose) -> String {
    c.describe().join("\n") + "\n"
}

fn main() {
    run(
        3,
        vec![
            check("training_steps", 2, "Training: Resize 64×64, HorizontalFlip 0.5, VerticalFlip 0.5, Rotate (10, 0.5), ColorJitter (0.2, 0.2, 0.2, 0.1, p 0.5), Normalize, ToTensor, in that order.", || {
                let t = train_transforms(MEAN, STD);
                let kinds = t.kinds();
                let expected = ["Resize", "HorizontalFlip", "VerticalFlip", "Rotate", "ColorJitter", "Normalize", "ToTensor"];
                ensure!(kinds.len() == expected.len(), "the training pipeline has the steps {kinds:?}, expected {expected:?}");
                common::snapshot("train_steps", &steps(&t), true)
            }),
            check("validation_steps", 2, "Validation: Resize 64×64, Normalize, ToTensor; no random step, and the same mean and std as training.", || {
                let v = valid_transforms(MEAN, STD);
                ensure!(v.kinds() == ["Resize", "Normalize", "ToTensor"], "the validation pipeline has the steps {:?}, expected [Resize, Normalize, ToTensor]", v.kinds());
                ensure!(v.steps().iter().all(|s| !s.is_random()), "the validation pipeline must not hold a random step");
                common::snapshot("valid_steps", &steps(&v), true)
            }),
            check("output_shapes", 1, "Both pipelines give a [3, 64, 64] image and a [1, 64, 64] mask, whatever the input size.", || {
                let (_dir, source) = common::tiny_isic()?;
                let pair = &se05::data::isic::pair_split(&source.train)?.pairs[0];
                for (name, c) in [("training", train_transforms(MEAN, STD)), ("validation", valid_transforms(MEAN, STD))] {
                    for seed in 0..4 {
                        let (img, mask) = with_sample_seed(seed, || c.apply(ImageFile::rgb(&pair.image)?, ImageFile::gray(&pair.mask)?, &mut se05::data::sample_rng()))?;
                        ensure!(img.size() == [3, 64, 64], "{name}: image shape {:?}, expected [3, 64, 64]", img.size());
                        ensure!(mask.size() == [1, 64, 64], "{name}: mask shape {:?}, expected [1, 64, 64]", mask.size());
                    }
                }
                Ok(())
            }),
            check("validation_deterministic", 1, "The validation pipeline draws nothing at random: the same image gives the same tensor every time.", || {
                let (_dir, source) = common::tiny_isic()?;
                let pair = &se05::data::isic::pair_split(&source.train)?.pairs[1];
                let v = valid_transforms(MEAN, STD);
                let a = with_sample_seed(1, || v.apply_image(ImageFile::rgb(&pair.image)?, &mut se05::data::sample_rng()))?;
                let b = with_sample_seed(2, || v.apply_image(ImageFile::rgb(&pair.image)?, &mut se05::data::sample_rng()))?;
                ensure!(a.equal(&b), "two runs of the validation pipeline on the same image differ");
                Ok(())
            }),
            check("normalized_statistics", 2, "Normalize with the data set's own mean and std: the validation output then has per-channel mean ≈ 0 and std ≈ 1.", || {
                let (_dir, source) = common::tiny_isic()?;
                let plain = PairSet::new(&source.train, Compose::new(vec![Transform::Resize { height: 64, width: 64 }, Transform::ToTensor]))?;
                let (m, s) = common::reference_mean_std(&plain)?;
                let normed = PairSet::new(&source.train, valid_transforms(m, s))?;
                let (m2, s2) = common::reference_mean_std(&normed)?;
                for c in 0..3 {
                    ensure!(m2[c].abs() < 1e-3, "channel {c}: mean after Normalize is {:.4}, expected ≈ 0 (subtract the mean, divide by the std)", m2[c]);
                    ensure!((s2[c] - 1.0).abs() < 1e-3, "channel {c}: std after Normalize is {:.4}, expected ≈ 1", s2[c]);
                }
                let _ = normed.len();
                Ok(())
            }),
        ],
    )
}
