//! Observers of exercise 10, the Dice loss; the judge is
//! se05::grading::exercises::ex10_dice_loss, which also draws every input and checks
//! the properties.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex10_dice_loss;
}
pub use exercises::*;

use ex10_dice_loss::DiceLoss;
use se05::grading::exercises::ex10_dice_loss::{
    clamp_cases, disjoint_pairs, drawn_smooth, gradient_shape, hand_cases, identical_masks,
    path_inputs, symmetry_inputs, unit_interval_inputs, Eval, Gradient, Pair, PathEval, Smoothing,
    Summary, SymEval,
};
use se05::grading::exercises::{torch_seed, Real};
use se05::grading::observe::{attempt, main as observe_main, observe};
use tch::{Kind, Tensor};

/// The loss on two flat vectors, as a number.
fn loss(d: &DiceLoss, pred: &[f32], truth: &[f32]) -> Real {
    Real(
        d.forward(&Tensor::from_slice(pred), &Tensor::from_slice(truth))
            .double_value(&[]),
    )
}

/// The loss on a pair given in its shape.
fn loss_shaped(d: &DiceLoss, p: &Pair) -> Real {
    let pred = Tensor::from_slice(&p.pred).view(p.shape.as_slice());
    let truth = Tensor::from_slice(&p.truth).view(p.shape.as_slice());
    Real(d.forward(&pred, &truth).double_value(&[]))
}

fn main() {
    observe_main(
        10,
        vec![
            observe("default_smoothing", |ctx| {
                Ok(Smoothing {
                    default: Real(DiceLoss::default().smooth),
                    new: Real(DiceLoss::new(drawn_smooth(ctx.seed)).smooth),
                })
            }),
            observe("identical_masks_give_zero", |ctx| {
                let (mask, empty) = identical_masks(ctx.seed);
                let d = DiceLoss::default();
                Ok(vec![loss(&d, &mask, &mask), loss(&d, &empty, &empty)])
            }),
            observe("disjoint_masks_near_one", |ctx| {
                let d = DiceLoss::default();
                let losses = disjoint_pairs(ctx.seed)
                    .iter()
                    .map(|p| loss_shaped(&d, p))
                    .collect::<Vec<Real>>();
                Ok(losses)
            }),
            observe("hand_computed_values", |ctx| {
                let losses = hand_cases(ctx.seed)
                    .iter()
                    .map(|(p, smooth)| loss_shaped(&DiceLoss::new(*smooth), p))
                    .collect::<Vec<Real>>();
                Ok(losses)
            }),
            observe("clamped_to_unit_interval", |ctx| {
                let d = DiceLoss::default();
                let losses = clamp_cases(ctx.seed)
                    .iter()
                    .map(|p| loss_shaped(&d, p))
                    .collect::<Vec<Real>>();
                Ok(losses)
            }),
            observe("scalar_loss_with_gradient", |ctx| {
                let shape = gradient_shape(ctx.seed);
                tch::manual_seed(torch_seed(ctx.seed, "scalar_loss_with_gradient"));
                let pred =
                    Tensor::rand(shape.as_slice(), tch::kind::FLOAT_CPU).set_requires_grad(true);
                let truth = Tensor::rand(shape.as_slice(), tch::kind::FLOAT_CPU)
                    .gt(0.5)
                    .to_kind(Kind::Int64);
                let d = DiceLoss::default();
                Ok(attempt(|| {
                    let l = d.forward(&pred, &truth);
                    let requires_grad = l.requires_grad();
                    let mut grad_shape = None;
                    let mut grad_abs_sum = Real(0.0);
                    if requires_grad && l.dim() == 0 {
                        l.backward();
                        let grad = pred.grad();
                        if grad.defined() {
                            grad_shape = Some(grad.size());
                            grad_abs_sum = Real(grad.abs().sum(Kind::Double).double_value(&[]));
                        }
                    }
                    Gradient {
                        shape: l.size(),
                        requires_grad,
                        grad_shape,
                        grad_abs_sum,
                    }
                }))
            }),
            observe("property_within_unit_interval", |ctx| {
                let d = DiceLoss::default();
                let evals = unit_interval_inputs(ctx.seed)
                    .iter()
                    .map(|(pred, truth)| Eval {
                        input: Summary::of(pred, truth),
                        loss: loss(&d, pred, truth),
                    })
                    .collect::<Vec<_>>();
                Ok(evals)
            }),
            observe("property_symmetric_for_binary_masks", |ctx| {
                let d = DiceLoss::default();
                let evals = symmetry_inputs(ctx.seed)
                    .iter()
                    .map(|(a, b)| SymEval {
                        input: Summary::of(a, b),
                        ab: loss(&d, a, b),
                        ba: loss(&d, b, a),
                    })
                    .collect::<Vec<_>>();
                Ok(evals)
            }),
            observe("property_non_increasing_with_overlap", |ctx| {
                let d = DiceLoss::default();
                let evals = path_inputs(ctx.seed)
                    .iter()
                    .map(|(truth, order)| {
                        let mut pred: Vec<f32> = truth.iter().map(|t| 1.0 - t).collect();
                        let input = Summary::of(&pred, truth);
                        let mut losses = vec![loss(&d, &pred, truth)];
                        for &i in order {
                            pred[i] = truth[i];
                            losses.push(loss(&d, &pred, truth));
                        }
                        PathEval { input, losses }
                    })
                    .collect::<Vec<_>>();
                Ok(evals)
            }),
        ],
    )
}
