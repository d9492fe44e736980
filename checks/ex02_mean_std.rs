//! Checks for exercise 2, the data set's mean and std.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex02_mean_std.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex02_mean_std.rs")]
mod ex02_mean_std;

use anyhow::ensure;
use common::{IndexSet, PairSet};
use ex02_mean_std::mean_std;
use se05::check::{check, run};
use se05::data::{Compose, Dataset, Sample, Transform};
use std::sync::Arc;
use tch::Tensor;

fn tiny_set() -> anyhow::Result<(tempfile::TempDir, Arc<dyn Dataset>)> {
    let (dir, source) = common::tiny_isic()?;
    let tf = Compose::new(vec![
        Transform::Resize {
            height: 64,
            width: 64,
        },
        Transform::ToTensor,
    ]);
    Ok((dir, Arc::new(PairSet::new(&source.train, tf)?)))
}

/// 20 images of 2×2 pixels: channel c of item i holds (i + c) / 40 everywhere
/// but one pixel, which holds 1.
struct Known;
impl Dataset for Known {
    fn len(&self) -> usize {
        20
    }
    fn get(&self, i: usize) -> anyhow::Result<Sample> {
        let img = Tensor::zeros([3, 2, 2], tch::kind::FLOAT_CPU);
        for c in 0..3i64 {
            let _ = img.get(c).fill_((i as f64 + c as f64) / 40.0);
        }
        let _ = img.get(0).get(0).get(0).fill_(1.0);
        Ok(Sample::new(
            img,
            Tensor::zeros([1, 2, 2], tch::kind::FLOAT_CPU),
        ))
    }
}

fn close(what: &str, got: [f64; 3], expected: [f64; 3], tol: f64) -> anyhow::Result<()> {
    for c in 0..3 {
        ensure!(
            (got[c] - expected[c]).abs() <= tol,
            "{what}, channel {c}: expected {:.6}, got {:.6}",
            expected[c],
            got[c]
        );
    }
    Ok(())
}

fn main() {
    let _ = IndexSet(0);
    run(
        2,
        vec![
            check("known_values", 2, "Per channel: mean = Σx / n and population std = sqrt(Σx²/n − mean²), with n counting every pixel of every image.", || {
                let (m, s) = mean_std(Arc::new(Known))?;
                let (em, es) = common::reference_mean_std(&Known)?;
                close("mean", m, em, 1e-6)?;
                close("std (population, not sample)", s, es, 1e-6)
            }),
            check("uneven_last_batch", 1, "With 20 items and batches of 16 the last batch holds 4: count pixels per batch instead of averaging batch means.", || {
                let (m, _) = mean_std(Arc::new(Known))?;
                ensure!((m[1] - common::reference_mean_std(&Known)?.0[1]).abs() < 1e-6, "channel 1 mean {:.6} is off: averaging the two batch means weights the last 4 items like 16", m[1]);
                Ok(())
            }),
            check("ranges_on_images", 1, "Images from ToTensor lie in [0, 1], so every mean is in [0, 1] and every std in (0, 1).", || {
                let (_dir, set) = tiny_set()?;
                let (m, s) = mean_std(set)?;
                for c in 0..3 {
                    ensure!((0.0..=1.0).contains(&m[c]), "channel {c}: mean {} outside [0, 1]", m[c]);
                    ensure!(s[c] > 0.0 && s[c] < 1.0, "channel {c}: std {} outside (0, 1)", s[c]);
                }
                Ok(())
            }),
            check("matches_reference", 2, "On the synthetic set (Resize 64 + ToTensor) the values must match the reference to 1e-4.", || {
                let (_dir, set) = tiny_set()?;
                let (m, s) = mean_std(set.clone())?;
                let (em, es) = common::reference_mean_std(set.as_ref())?;
                close("mean", m, em, 1e-4)?;
                close("std", s, es, 1e-4)?;
                let text = format!("mean {:.6} {:.6} {:.6}\nstd {:.6} {:.6} {:.6}\n", m[0], m[1], m[2], s[0], s[1], s[2]);
                common::snapshot("tiny_synthetic", &text, true)
            }),
        ],
    )
}
