//! Observers of exercise 11, SmartUp and UNetEfficient; the judge is
//! se05::grading::exercises::ex11_unet_efficient.
//!
//! Every check builds the encoder with random (or deterministic) weights: no weights
//! file is needed.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex06_double_conv;
    pub mod ex11_unet_efficient;
}
pub use exercises::*;

use ex11_unet_efficient::{SmartUp, UNetEfficient};
use se05::grading::exercises::ex11_unet_efficient::{
    count_outputs, encoder_input_seed, encoder_inputs, shape_runs, smart_up_cases, AdamStep,
    BnFlag, Range, ShapeRun, SmartUpReference, SmartUpShapes, StageOutput, ENCODER_FILL_SEED,
};
use se05::grading::exercises::{torch_seed, Real};
use se05::grading::observe::{attempt, main as observe_main, observe};
use se05::grading::summary;
use se05::models::{EfficientNetEncoder, Variant};
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn smart_up(in_c: i64, skip_c: i64, out_c: i64) -> (nn::VarStore, SmartUp) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = SmartUp::new(&vs.root(), in_c, skip_c, out_c);
    (vs, m)
}

/// The model on a randomly initialised B0 encoder built under `encoder`.
fn model(out_c: i64) -> (nn::VarStore, UNetEfficient) {
    model_on(Variant::B0, out_c)
}

/// The model on a randomly initialised encoder of either variant (B0 or Lite0: the
/// student's code must not depend on which).
fn model_on(variant: Variant, out_c: i64) -> (nn::VarStore, UNetEfficient) {
    let vs = nn::VarStore::new(Device::Cpu);
    let encoder = EfficientNetEncoder::new(&(vs.root() / "encoder"), variant);
    let m = UNetEfficient::new(&vs.root(), encoder, out_c);
    (vs, m)
}

/// Normal noise of `shape` from libtorch's generator seeded with `seed`.
fn noise(shape: &[i64], seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn(shape, tch::kind::FLOAT_CPU)
}

/// Copies of the store's variables whose names start with `prefix`.
fn copies(vs: &nn::VarStore, prefix: &str) -> Vec<(String, Tensor)> {
    let mut out: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(n, _)| n.starts_with(prefix))
        .map(|(n, t)| (n, t.detach().copy()))
        .collect();
    out.sort_by(|a, b| summary::natural_cmp(&a.0, &b.0));
    out
}

/// Names of the variables that differ from their copies.
fn changed(vs: &nn::VarStore, before: &[(String, Tensor)]) -> Vec<String> {
    let vars = vs.variables();
    before
        .iter()
        .filter(|(n, t)| vars.get(n).is_none_or(|v| !v.equal(t)))
        .map(|(n, _)| n.clone())
        .collect()
}

fn smart_up_reference_run() -> SmartUpReference {
    let _guard = tch::no_grad_guard();
    let (vs, m) = smart_up(32, 16, 8);
    let table = summary::param_table(&vs);
    summary::fill_deterministic(&vs, 11);
    let x1_odd = noise(&[1, 32, 17, 17], 1);
    let x2_odd = noise(&[1, 16, 35, 33], 2);
    let x1_even = noise(&[2, 32, 8, 8], 3);
    let x2_even = noise(&[2, 16, 16, 16], 4);
    let output = attempt(|| {
        let odd = m.forward_t(&x1_odd, &x2_odd, false);
        let even = m.forward_t(&x1_even, &x2_even, true);
        format!(
            "resized\n{}same size\n{}",
            summary::fingerprint(&odd),
            summary::fingerprint(&even)
        )
    });
    SmartUpReference { table, output }
}

fn main() {
    observe_main(
        11,
        with_hidden(vec![
            observe("smartup_shapes", |ctx| {
                let seed = torch_seed(ctx.seed, "smartup_shapes");
                let cases = smart_up_cases(ctx.seed);
                let mut outcomes = Vec::new();
                let mut trainable = None;
                for (k, c) in cases.iter().enumerate() {
                    let (vs, m) = smart_up(c.in_channels, c.skip_channels, c.out_channels);
                    trainable.get_or_insert_with(|| summary::count_trainable(&vs));
                    let x1 = noise(&c.x1_shape(), seed);
                    let x2 = noise(&c.skip_shape(), seed + 1);
                    outcomes.push(attempt(|| m.forward_t(&x1, &x2, k == 0).size()));
                }
                Ok(SmartUpShapes {
                    outcomes,
                    trainable: trainable.unwrap_or_default(),
                })
            }),
            observe(
                "smartup_matches_reference",
                |_| Ok(smart_up_reference_run()),
            ),
            observe("encoder_stages", |ctx| {
                let _guard = tch::no_grad_guard();
                let vs = nn::VarStore::new(Device::Cpu);
                let encoder = EfficientNetEncoder::new(&(vs.root() / "encoder"), Variant::B0);
                summary::fill_deterministic(&vs, ENCODER_FILL_SEED);
                let m = UNetEfficient::new(&vs.root(), encoder, 1);
                let seen = encoder_inputs(ctx.seed)
                    .iter()
                    .enumerate()
                    .map(|(k, shape)| {
                        let x = noise(shape, encoder_input_seed(ctx.seed, k));
                        attempt(|| {
                            m.encode(&x, false)
                                .iter()
                                .map(|t| StageOutput {
                                    shape: t.size(),
                                    fingerprint: summary::fingerprint(t),
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect::<Vec<_>>();
                Ok(seen)
            }),
            observe("encoder_frozen_after_adam_step", |ctx| {
                let (vs, m) = model(1);
                // A random encoder's features nearly vanish in evaluation mode; these
                // weights keep them large enough for every decoder parameter to get a
                // gradient.
                summary::fill_deterministic(&vs, 3);
                let encoder_before = copies(&vs, "encoder.");
                let decoder_before: Vec<(String, Tensor)> = copies(&vs, "")
                    .into_iter()
                    .filter(|(n, _)| !n.starts_with("encoder."))
                    .collect();
                let seed = torch_seed(ctx.seed, "encoder_frozen_after_adam_step");
                let x = noise(&[2, 3, 64, 64], seed);
                let target = noise(&[2, 1, 64, 64], seed + 1)
                    .gt(0.0)
                    .to_kind(Kind::Float);
                let mut opt = nn::Adam::default().build(&vs, 1e-2)?;
                let y = m.forward_t(&x, true);
                let loss = (y - target).square().mean(Kind::Float);
                opt.zero_grad();
                loss.backward();
                let vars = vs.variables();
                let encoder_with_grad = encoder_before
                    .iter()
                    .filter(|(n, _)| vars[n].requires_grad() || vars[n].grad().defined())
                    .map(|(n, _)| n.clone())
                    .collect();
                opt.step();
                let decoder_changed = changed(&vs, &decoder_before);
                Ok(AdamStep {
                    encoder_variables: encoder_before.len(),
                    encoder_with_grad,
                    encoder_changed: changed(&vs, &encoder_before),
                    decoder_variables: decoder_before.len(),
                    decoder_unchanged: decoder_before
                        .iter()
                        .filter(|(n, _)| !decoder_changed.contains(n))
                        .map(|(n, _)| n.clone())
                        .collect(),
                })
            }),
            observe("encoder_bn_stats_flag", |ctx| {
                let _guard = tch::no_grad_guard();
                let (vs, mut m) = model(1);
                let initial_flag = m.update_encoder_bn_stats;
                let x = noise(
                    &[2, 3, 32, 32],
                    torch_seed(ctx.seed, "encoder_bn_stats_flag"),
                ) * 2.0
                    + 0.5;
                let before = copies(&vs, "encoder.");
                m.update_encoder_bn_stats = false;
                let _ = m.forward_t(&x, true);
                let changed_train_flag_off = changed(&vs, &before);
                m.update_encoder_bn_stats = true;
                let before = copies(&vs, "encoder.");
                let _ = m.forward_t(&x, false);
                let changed_eval_flag_on = changed(&vs, &before);
                let _ = m.forward_t(&x, true);
                Ok(BnFlag {
                    initial_flag,
                    changed_train_flag_off,
                    changed_eval_flag_on,
                    changed_train_flag_on: changed(&vs, &before),
                })
            }),
            observe("trainable_parameter_count", |ctx| {
                let counts = count_outputs(ctx.seed)
                    .into_iter()
                    .map(|o| summary::count_trainable(&model(o).0))
                    .collect::<Vec<i64>>();
                Ok(counts)
            }),
            observe("parameter_table", |_| {
                let (vs, _m) = model(1);
                Ok(summary::param_table(&vs))
            }),
            observe("output_shape_even_and_odd", |ctx| {
                let _guard = tch::no_grad_guard();
                let seed = torch_seed(ctx.seed, "output_shape_even_and_odd");
                let runs = shape_runs(ctx.seed)
                    .into_iter()
                    .map(|(variant, out, input, train)| {
                        let (_vs, m) = model_on(variant, out);
                        let x = noise(&input, seed);
                        ShapeRun {
                            variant: variant.name().to_string(),
                            out_channels: out,
                            input: input.to_vec(),
                            train,
                            outcome: attempt(|| m.forward_t(&x, train).size()),
                        }
                    })
                    .collect::<Vec<_>>();
                Ok(runs)
            }),
            observe("output_is_probability", |ctx| {
                let _guard = tch::no_grad_guard();
                let (_vs, m) = model(1);
                let x = noise(
                    &[2, 3, 64, 64],
                    torch_seed(ctx.seed, "output_is_probability"),
                ) * 4.0;
                let y = m.forward_t(&x, true);
                Ok(Range {
                    min: Real(y.min().double_value(&[])),
                    max: Real(y.max().double_value(&[])),
                })
            }),
            observe("matches_reference_output", |_| {
                let _guard = tch::no_grad_guard();
                let (vs, m) = model(1);
                summary::fill_deterministic(&vs, 11);
                let x = noise(&[2, 3, 64, 64], 3);
                let eval = summary::fingerprint(&m.forward_t(&x, false));
                let train = summary::fingerprint(&m.forward_t(&x, true));
                let odd = summary::fingerprint(&m.forward_t(&noise(&[1, 3, 70, 50], 4), false));
                Ok(format!("eval\n{eval}train\n{train}odd eval\n{odd}"))
            }),
        ]),
    )
}

// The hidden checks (src/grading/registry.rs HIDDEN_CHECKS): not in the student release.
se05::hidden_observers!("hidden/ex11_unet_efficient.rs");
