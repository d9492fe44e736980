//! Checks for exercise 10, the Dice loss.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex10_dice_loss.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex10_dice_loss.rs")]
mod ex10_dice_loss;

use anyhow::{anyhow, ensure};
use ex10_dice_loss::DiceLoss;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use se05::check::{check, run};
use tch::{Kind, Tensor};

fn loss(d: &DiceLoss, pred: &[f32], truth: &[f32]) -> f64 {
    d.forward(&Tensor::from_slice(pred), &Tensor::from_slice(truth))
        .double_value(&[])
}

fn close(what: &str, got: f64, expected: f64, tol: f64) -> anyhow::Result<()> {
    ensure!(
        (got - expected).abs() <= tol,
        "{what}: expected {expected:.6}, got {got:.6}"
    );
    Ok(())
}

/// Runs a proptest property and turns a counter-example into a failed check.
fn property<S: Strategy>(
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> anyhow::Result<()>
where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    runner.run(&strategy, test).map_err(|e| anyhow!("{e}"))
}

fn binary(bits: &[bool]) -> Vec<f32> {
    bits.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect()
}

fn main() {
    run(
        10,
        vec![
            check("default_smoothing", 1, "DiceLoss::default() uses smooth = 1.0; DiceLoss::new(s) stores s.", || {
                ensure!(DiceLoss::default().smooth == 1.0, "DiceLoss::default().smooth is {}, expected 1.0", DiceLoss::default().smooth);
                ensure!(DiceLoss::new(0.25).smooth == 0.25, "DiceLoss::new(0.25).smooth should be 0.25");
                Ok(())
            }),
            check("identical_masks_give_zero", 1, "Identical masks overlap perfectly: dice = 1 and the loss is 0, also for two empty masks thanks to smooth.", || {
                let mask = [1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0];
                close("loss of a mask against itself", loss(&DiceLoss::default(), &mask, &mask), 0.0, 1e-6)?;
                close("loss of two empty masks", loss(&DiceLoss::default(), &[0.0; 4], &[0.0; 4]), 0.0, 1e-6)
            }),
            check("disjoint_masks_near_one", 1, "With no overlap the intersection is 0, so dice = smooth / (Σpred + Σtrue + smooth).", || {
                let pred = Tensor::zeros([1, 1, 8, 8], tch::kind::FLOAT_CPU);
                let _ = pred.narrow(3, 0, 4).fill_(1.0);
                let truth = Tensor::ones([1, 1, 8, 8], tch::kind::FLOAT_CPU) - &pred;
                let got = DiceLoss::default().forward(&pred, &truth).double_value(&[]);
                close("loss of two disjoint 32-pixel masks", got, 64.0 / 65.0, 1e-5)
            }),
            check("hand_computed_values", 2, "dice = (2·Σ(pred·true) + smooth) / (Σpred + Σtrue + smooth), summed over the whole batch after flattening.", || {
                let pred = [0.5f32, 1.0, 0.0, 0.25];
                let truth = [1.0f32, 1.0, 0.0, 0.0];
                close("pred [0.5, 1, 0, 0.25] vs true [1, 1, 0, 0], smooth 1", loss(&DiceLoss::new(1.0), &pred, &truth), 1.0 - 4.0 / 4.75, 1e-5)?;
                close("the same with smooth 0", loss(&DiceLoss::new(0.0), &pred, &truth), 0.2, 1e-5)?;
                let p = Tensor::from_slice(&[0.9f32, 0.1, 0.8, 0.0, 0.2, 0.7, 0.0, 1.0]).view([2, 1, 2, 2]);
                let t = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]).view([2, 1, 2, 2]);
                // I = 0.9 + 0.8 + 0.7 + 1.0 = 3.4; Σp = 3.7; Σt = 4
                let got = DiceLoss::new(1.0).forward(&p, &t).double_value(&[]);
                close("a [2, 1, 2, 2] batch", got, 1.0 - 7.8 / 8.7, 1e-5)
            }),
            check("clamped_to_unit_interval", 1, "Clamp 1 − dice to [0, 1]: predictions outside [0, 1] must not push the loss outside it.", || {
                close("pred all 2.0 vs true all 1", loss(&DiceLoss::default(), &[2.0; 4], &[1.0; 4]), 0.0, 1e-6)?;
                close("pred all −1.0 vs true all 0", loss(&DiceLoss::default(), &[-1.0; 4], &[0.0; 4]), 1.0, 1e-6)
            }),
            check("scalar_loss_with_gradient", 1, "Return a zero-dimensional tensor computed from y_pred with tensor operations (no double_value), and convert an integer y_true to float.", || {
                let pred = (Tensor::ones([2, 1, 4, 4], tch::kind::FLOAT_CPU) * 0.5).set_requires_grad(true);
                let truth = Tensor::ones([2, 1, 4, 4], (Kind::Int64, tch::Device::Cpu));
                let l = DiceLoss::default().forward(&pred, &truth);
                ensure!(l.dim() == 0, "the loss should be a zero-dimensional tensor, got shape {:?}", l.size());
                ensure!(l.requires_grad(), "the loss is not connected to y_pred: backward() could not train anything");
                l.backward();
                let grad = pred.grad();
                ensure!(grad.size() == pred.size(), "gradient shape {:?}", grad.size());
                ensure!(grad.abs().sum(Kind::Float).double_value(&[]) > 0.0, "the gradient with respect to y_pred is zero");
                Ok(())
            }),
            check("property_within_unit_interval", 1, "For any prediction in [0, 1] and any binary mask the loss stays within [0, 1].", || {
                let strategy = (1usize..200).prop_flat_map(|n| (prop::collection::vec(0.0f32..=1.0, n), prop::collection::vec(any::<bool>(), n)));
                property(strategy, |(pred, bits)| {
                    let l = loss(&DiceLoss::default(), &pred, &binary(&bits));
                    prop_assert!((0.0..=1.0).contains(&l), "loss {l} outside [0, 1]");
                    Ok(())
                })
            }),
            check("property_symmetric_for_binary_masks", 1, "Intersection and total are symmetric in the two masks, so swapping prediction and truth must not change the loss.", || {
                let strategy = (1usize..200).prop_flat_map(|n| (prop::collection::vec(any::<bool>(), n), prop::collection::vec(any::<bool>(), n)));
                property(strategy, |(a, b)| {
                    let d = DiceLoss::default();
                    let (ab, ba) = (loss(&d, &binary(&a), &binary(&b)), loss(&d, &binary(&b), &binary(&a)));
                    prop_assert!((ab - ba).abs() < 1e-6, "loss(a, b) = {ab} but loss(b, a) = {ba}");
                    Ok(())
                })
            }),
            check("property_non_increasing_with_overlap", 1, "Correcting pixels of the prediction one by one must never increase the loss.", || {
                let strategy = (1usize..120).prop_flat_map(|n| (prop::collection::vec(any::<bool>(), n), Just((0..n).collect::<Vec<_>>()).prop_shuffle()));
                property(strategy, |(truth, order)| {
                    let d = DiceLoss::default();
                    let truth = binary(&truth);
                    let mut pred: Vec<f32> = truth.iter().map(|t| 1.0 - t).collect();
                    let mut last = loss(&d, &pred, &truth);
                    for i in order {
                        pred[i] = truth[i];
                        let now = loss(&d, &pred, &truth);
                        prop_assert!(now <= last + 1e-6, "loss rose from {last} to {now} after correcting pixel {i}");
                        last = now;
                    }
                    prop_assert!(last.abs() < 1e-6, "a perfect prediction should give 0, got {last}");
                    Ok(())
                })
            }),
        ],
    )
}
