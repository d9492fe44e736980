//! Observers of exercise 9, the U-Net; the judge is se05::grading::exercises::ex09_unet.
//!
//! A UNet has 31 M parameters and takes a while to build, so the observers share the
//! two models they need, each built once on first use: UNet(3, 1) and the drawn
//! UNet(in, out). Only `matches_reference_output`, the last check, changes weights,
//! and it overwrites every variable (buffers included) with deterministic values
//! first, so no check's observation depends on which checks ran before it.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex06_double_conv;
    pub mod ex07_down;
    pub mod ex08_up;
    pub mod ex09_unet;
}
pub use exercises::*;

use ex09_unet::UNet;
use se05::grading::exercises::ex09_unet::{
    count_cases, shape_channels, shape_sizes, Outputs, Range, REFERENCE_CHANNELS, STAGES,
};
use se05::grading::exercises::{torch_seed, Real};
use se05::grading::observe::{attempt, main as observe_main, observe};
use se05::grading::summary;
use std::sync::{Mutex, PoisonError};
use tch::nn::{self, Module, ModuleT};
use tch::{Device, Tensor};

type Built = ((i64, i64), nn::VarStore, UNet);

/// Runs `f` on the UNet(in_c, out_c) of this process, building it on first use.
fn with_model<T>(in_c: i64, out_c: i64, f: impl FnOnce(&nn::VarStore, &UNet) -> T) -> T {
    static MODELS: Mutex<Vec<Built>> = Mutex::new(Vec::new());
    // A check that panicked while holding the lock leaves the models intact.
    let mut models = MODELS.lock().unwrap_or_else(PoisonError::into_inner);
    let index = match models.iter().position(|(c, _, _)| *c == (in_c, out_c)) {
        Some(i) => i,
        None => {
            let vs = nn::VarStore::new(Device::Cpu);
            let m = UNet::new(&vs.root(), in_c, out_c);
            models.push(((in_c, out_c), vs, m));
            models.len() - 1
        }
    };
    let (_, vs, m) = &models[index];
    f(vs, m)
}

/// The output of each block of `m` (evaluation mode) run one by one in the
/// reference's order, one section per block; a block that fails ends the text with
/// its error.
fn stages(m: &UNet, x: &Tensor) -> String {
    let mut text = String::new();
    let mut outputs: Vec<Tensor> = Vec::new();
    for (k, stage) in STAGES.iter().enumerate() {
        let out = attempt(|| {
            let at = |i: usize| &outputs[i];
            match k {
                0 => m.inc.forward_t(x, false),
                1..=4 => {
                    let down = [&m.down1, &m.down2, &m.down3, &m.down4][k - 1];
                    down.forward_t(at(k - 1), false)
                }
                // up1(x5, x4), up2(u1, x3), up3(u2, x2), up4(u3, x1)
                5..=8 => {
                    let up = [&m.up1, &m.up2, &m.up3, &m.up4][k - 5];
                    up.forward_t(at(k - 1), at(8 - k), false)
                }
                _ => m.outc.forward(at(8)),
            }
        });
        text.push_str(stage);
        text.push('\n');
        match out {
            Ok(t) => {
                text.push_str(&summary::fingerprint(&t));
                outputs.push(t);
            }
            Err(e) => {
                text.push_str(&format!("error {e}\n"));
                break;
            }
        }
    }
    text
}

/// Normal noise of `shape` from libtorch's generator seeded with `seed`.
fn noise(shape: &[i64], seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn(shape, tch::kind::FLOAT_CPU)
}

fn main() {
    let (ref_in, ref_out) = REFERENCE_CHANNELS;
    observe_main(
        9,
        with_hidden(vec![
            observe("parameter_count", |ctx| {
                let counts = count_cases(ctx.seed)
                    .into_iter()
                    .map(|(i, o)| with_model(i, o, |vs, _| summary::count_trainable(vs)))
                    .collect::<Vec<i64>>();
                Ok(counts)
            }),
            observe("parameter_table", move |_| {
                Ok(with_model(ref_in, ref_out, |vs, _| {
                    summary::param_table(vs)
                }))
            }),
            observe("output_shape_even_and_odd", |ctx| {
                let _guard = tch::no_grad_guard();
                let (i, o) = shape_channels(ctx.seed);
                let seed = torch_seed(ctx.seed, "output_shape_even_and_odd");
                let outcomes = with_model(i, o, |_, m| {
                    shape_sizes(ctx.seed)
                        .into_iter()
                        .map(|(h, w)| {
                            let x = noise(&[1, i, h, w], seed);
                            attempt(|| m.forward_t(&x, false).size())
                        })
                        .collect::<Vec<_>>()
                });
                Ok(outcomes)
            }),
            observe("output_is_probability", move |ctx| {
                let _guard = tch::no_grad_guard();
                let x = noise(
                    &[2, ref_in, 32, 32],
                    torch_seed(ctx.seed, "output_is_probability"),
                ) * 4.0;
                Ok(with_model(ref_in, ref_out, |_, m| {
                    let y = m.forward_t(&x, true);
                    Range {
                        min: Real(y.min().double_value(&[])),
                        max: Real(y.max().double_value(&[])),
                    }
                }))
            }),
            observe("matches_reference_output", move |_| {
                let _guard = tch::no_grad_guard();
                let x = noise(&[2, ref_in, 32, 32], 3);
                Ok(with_model(ref_in, ref_out, |vs, m| {
                    summary::fill_deterministic(vs, 9);
                    let eval = summary::fingerprint(&m.forward_t(&x, false));
                    // Before the training-mode pass, which moves the batch norms'
                    // running statistics.
                    let stages = stages(m, &x);
                    let train = summary::fingerprint(&m.forward_t(&x, true));
                    Outputs {
                        output: format!("eval\n{eval}train\n{train}"),
                        stages,
                    }
                }))
            }),
        ]),
    )
}

// The hidden checks (src/grading/registry.rs HIDDEN_CHECKS): not in the student release.
se05::hidden_observers!("hidden/ex09_unet.rs");
