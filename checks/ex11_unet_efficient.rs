//! Checks for exercise 11, SmartUp and UNetEfficient.
//!
//! Every check builds the encoder with random (or deterministic) weights: no weights
//! file is needed.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_double_conv.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex06_double_conv.rs")]
mod ex06_double_conv;
#[cfg_attr(feature = "solutions", path = "../solutions/ex11_unet_efficient.rs")]
#[cfg_attr(
    not(feature = "solutions"),
    path = "../exercises/ex11_unet_efficient.rs"
)]
mod ex11_unet_efficient;

use anyhow::ensure;
use ex11_unet_efficient::{SmartUp, UNetEfficient};
use se05::check::{check, expect_shape, run};
use se05::models::{EfficientNetEncoder, Variant};
use se05::summary;
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Trainable parameters of the decoder of UNetEfficient(out_channels = 1).
const DECODER_PARAMS: i64 = 4_258_545;
/// Stages whose outputs are x1 … x5.
const SKIP_STAGES: [usize; 5] = [1, 2, 3, 4, 7];

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
        .filter(|(n, t)| !vars[n].equal(t))
        .map(|(n, _)| n.clone())
        .collect()
}

fn first_few(names: &[String]) -> String {
    let mut s = names.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 4 {
        s.push_str(&format!(" and {} more", names.len() - 4));
    }
    s
}

fn smart_up_reference_run() -> String {
    let _guard = tch::no_grad_guard();
    let (vs, m) = smart_up(32, 16, 8);
    summary::fill_deterministic(&vs, 11);
    let odd = m.forward_t(
        &common::fixed_input(&[1, 32, 17, 17], 1),
        &common::fixed_input(&[1, 16, 35, 33], 2),
        false,
    );
    let even = m.forward_t(
        &common::fixed_input(&[2, 32, 8, 8], 3),
        &common::fixed_input(&[2, 16, 16, 16], 4),
        true,
    );
    format!(
        "resized\n{}same size\n{}",
        summary::fingerprint(&odd),
        summary::fingerprint(&even)
    )
}

fn main() {
    run(
        11,
        vec![
            check(
                "smartup_shapes",
                1,
                "`up` maps in_channels to skip_channels and doubles the size; when that size differs from the skip's, resize the upsampled map to the skip's height and width (upsample_bilinear2d) before concatenating.",
                || {
                    let (vs, m) = smart_up(32, 16, 8);
                    let y = m.forward_t(&common::fixed_input(&[1, 32, 17, 17], 1), &common::fixed_input(&[1, 16, 35, 33], 2), false);
                    expect_shape("SmartUp(32, 16, 8) with x1 [1, 32, 17, 17] (34×34 after `up`) and skip [1, 16, 35, 33]", &y, &[1, 8, 35, 33])?;
                    let y = m.forward_t(&common::fixed_input(&[2, 32, 8, 8], 3), &common::fixed_input(&[2, 16, 16, 16], 4), true);
                    expect_shape("SmartUp(32, 16, 8) with x1 [2, 32, 8, 8] and skip [2, 16, 16, 16]", &y, &[2, 8, 16, 16])?;
                    let y = m.forward_t(&common::fixed_input(&[1, 32, 3, 2], 5), &common::fixed_input(&[1, 16, 5, 4], 6), false);
                    expect_shape("SmartUp(32, 16, 8) with x1 [1, 32, 3, 2] and skip [1, 16, 5, 4]", &y, &[1, 8, 5, 4])?;
                    // up: 32·16·4 + 16; conv: DoubleConv(32, 8).
                    let expected = 32 * 16 * 4 + 16 + (9 * 32 * 8 + 8 + 16) + (9 * 8 * 8 + 8 + 16);
                    let got = summary::count_trainable(&vs);
                    ensure!(got == expected, "SmartUp(32, 16, 8) should have {expected} trainable parameters, yours has {got}: `up` is in → skip, `conv` is DoubleConv(2 · skip, out)");
                    Ok(())
                },
            ),
            check(
                "smartup_matches_reference",
                2,
                "Name the layers p / \"up\" and p / \"conv\"; concatenate [skip, upsampled] along dimension 1; resize with upsample_bilinear2d(skip size, align_corners = false, None, None) only when the sizes differ.",
                || {
                    let (vs, _m) = smart_up(32, 16, 8);
                    common::snapshot("params_smartup_32_16_8", &summary::param_table(&vs), false)?;
                    common::snapshot("output_smartup", &smart_up_reference_run(), true)
                },
            ),
            check(
                "encoder_stages",
                2,
                "encode returns the outputs of stages 0–1, 2, 3, 4 and 5–7 of the encoder `new` was given (forward_range / forward_stage), with 16, 24, 40, 80 and 320 channels at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input size.",
                || {
                    let _guard = tch::no_grad_guard();
                    let vs = nn::VarStore::new(Device::Cpu);
                    let encoder = EfficientNetEncoder::new(&(vs.root() / "encoder"), Variant::B0);
                    summary::fill_deterministic(&vs, 5);
                    let sizes = [(2i64, 64i64, 64i64), (1, 70, 50)];
                    let inputs: Vec<Tensor> = sizes.iter().enumerate().map(|(i, &(n, h, w))| common::fixed_input(&[n, 3, h, w], 20 + i as i64)).collect();
                    let expected: Vec<Vec<Tensor>> = inputs.iter().map(|x| encoder.forward_stages(x, false)).collect();
                    let m = UNetEfficient::new(&vs.root(), encoder, 1);
                    for (((n, h, w), x), stages) in sizes.iter().zip(&inputs).zip(&expected) {
                        let got = m.encode(x, false);
                        for (k, (g, &s)) in got.iter().zip(&SKIP_STAGES).enumerate() {
                            let shape = EfficientNetEncoder::stage_shape(s, *n, *h, *w);
                            expect_shape(&format!("x{} of a [{n}, 3, {h}, {w}] input", k + 1), g, &shape)?;
                            let e = &stages[s];
                            ensure!(
                                g.allclose(e, 1e-5, 1e-6, false),
                                "x{} of a [{n}, 3, {h}, {w}] input differs from the output of the encoder's stage {s} (largest difference {:.3e}): use the encoder given to `new`, in evaluation mode",
                                k + 1,
                                (g - e).abs().max().double_value(&[])
                            );
                        }
                    }
                    Ok(())
                },
            ),
            check(
                "encoder_frozen_after_adam_step",
                4,
                "In `new` call encoder.freeze() so its parameters get no gradient, and run the encoder with train = false (unless update_encoder_bn_stats) so its BatchNorm running statistics stay put; the decoder must still learn.",
                || {
                    let (vs, m) = model(1);
                    // A random encoder's features nearly vanish in evaluation mode;
                    // these weights keep them large enough for every decoder
                    // parameter to get a gradient.
                    summary::fill_deterministic(&vs, 3);
                    let encoder_before = copies(&vs, "encoder.");
                    let decoder_before = copies(&vs, "");
                    let decoder_before: Vec<(String, Tensor)> = decoder_before.into_iter().filter(|(n, _)| !n.starts_with("encoder.")).collect();
                    ensure!(!encoder_before.is_empty(), "the store has no variables under encoder.: build the model on the encoder given to `new`");
                    let mut opt = nn::Adam::default().build(&vs, 1e-2)?;
                    let x = common::fixed_input(&[2, 3, 64, 64], 7);
                    let target = common::fixed_input(&[2, 1, 64, 64], 8).gt(0.0).to_kind(Kind::Float);
                    let y = m.forward_t(&x, true);
                    let loss = (y - target).square().mean(Kind::Float);
                    opt.zero_grad();
                    loss.backward();
                    let vars = vs.variables();
                    let with_grad: Vec<String> = encoder_before
                        .iter()
                        .filter(|(n, _)| vars[n].requires_grad() || vars[n].grad().defined())
                        .map(|(n, _)| n.clone())
                        .collect();
                    ensure!(with_grad.is_empty(), "encoder variables still take part in training (require or received a gradient): {}", first_few(&with_grad));
                    opt.step();
                    let moved = changed(&vs, &encoder_before);
                    let (stats, weights): (Vec<String>, Vec<String>) = moved.into_iter().partition(|n| n.contains("running_"));
                    ensure!(weights.is_empty(), "encoder parameters changed during an Adam step: {}", first_few(&weights));
                    ensure!(stats.is_empty(), "encoder BatchNorm running statistics changed during a training-mode forward: {}. Run the encoder with train = false", first_few(&stats));
                    let decoder_moved = changed(&vs, &decoder_before);
                    let still: Vec<String> = decoder_before
                        .iter()
                        .filter(|(n, _)| !decoder_moved.contains(n))
                        .map(|(n, _)| n.clone())
                        .collect();
                    ensure!(still.is_empty(), "decoder variables did not change after a training step: {}", first_few(&still));
                    Ok(())
                },
            ),
            check(
                "encoder_bn_stats_flag",
                1,
                "In encode, run the encoder with `train && self.update_encoder_bn_stats`; `new` sets the flag to false.",
                || {
                    let _guard = tch::no_grad_guard();
                    let (vs, mut m) = model(1);
                    ensure!(!m.update_encoder_bn_stats, "update_encoder_bn_stats should start false");
                    let x = common::fixed_input(&[2, 3, 32, 32], 9) * 2.0 + 0.5;
                    let before = copies(&vs, "encoder.");
                    let _ = m.forward_t(&x, true);
                    let moved = changed(&vs, &before);
                    ensure!(moved.is_empty(), "with update_encoder_bn_stats = false a training-mode forward changed {}", first_few(&moved));
                    m.update_encoder_bn_stats = true;
                    let _ = m.forward_t(&x, false);
                    let moved = changed(&vs, &before);
                    ensure!(moved.is_empty(), "an evaluation-mode forward changed {}", first_few(&moved));
                    let _ = m.forward_t(&x, true);
                    let moved = changed(&vs, &before);
                    ensure!(
                        moved.iter().any(|n| n == "encoder.features.0.1.running_mean"),
                        "with update_encoder_bn_stats = true a training-mode forward should update the encoder's running statistics (encoder.features.0.1.running_mean did not change)"
                    );
                    Ok(())
                },
            ),
            check(
                "trainable_parameter_count",
                2,
                "Only the decoder trains: center 320→512, up1 (512, 80, 80), up2 (80, 40, 40), up3 (40, 24, 24), up4 (24, 16, 16), outc 1×1 16→out_channels; the encoder is frozen.",
                || {
                    for (o, expected) in [(1i64, DECODER_PARAMS), (2, DECODER_PARAMS + 17)] {
                        let (vs, _m) = model(o);
                        let got = summary::count_trainable(&vs);
                        ensure!(
                            got == expected,
                            "UNetEfficient with out_channels = {o} should have {} trainable parameters, yours has {} (an unfrozen B0 encoder adds {})",
                            summary::thousands(expected),
                            summary::thousands(got),
                            summary::thousands(se05::models::B0_ENCODER_PARAMS)
                        );
                    }
                    Ok(())
                },
            ),
            check(
                "parameter_table",
                1,
                "Create each decoder block under p / \"<field name>\" (center, up1, ..., up4, outc), SmartUp's layers under \"up\" and \"conv\".",
                || {
                    let (vs, _m) = model(1);
                    let table: String = summary::param_table(&vs)
                        .lines()
                        .filter(|l| !l.starts_with("encoder."))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    common::snapshot("params_decoder", &table, false)
                },
            ),
            check(
                "output_shape_even_and_odd",
                2,
                "The decoder ends at half the input size: resize outc's output to the input's height and width (upsample_bilinear2d, align_corners = false) before the sigmoid. Take sizes from the tensors, not from constants: the encoder may be B0 or Lite0.",
                || {
                    let _guard = tch::no_grad_guard();
                    for variant in [Variant::B0, Variant::Lite0] {
                        let (_vs, m) = model_on(variant, 1);
                        for (h, w) in [(64i64, 64i64), (70, 50)] {
                            let y = m.forward_t(&common::fixed_input(&[1, 3, h, w], 1), false);
                            expect_shape(&format!("UNetEfficient(out 1) with a {variant:?} encoder on [1, 3, {h}, {w}]"), &y, &[1, 1, h, w])?;
                        }
                    }
                    let (_vs, m) = model(2);
                    let y = m.forward_t(&common::fixed_input(&[2, 3, 64, 64], 2), true);
                    expect_shape("UNetEfficient(out 2) on [2, 3, 64, 64]", &y, &[2, 2, 64, 64])
                },
            ),
            check(
                "output_is_probability",
                1,
                "Finish forward_t with .sigmoid(), after the resize, so every pixel is a probability in (0, 1).",
                || {
                    let _guard = tch::no_grad_guard();
                    let (_vs, m) = model(1);
                    let y = m.forward_t(&(common::fixed_input(&[2, 3, 64, 64], 2) * 4.0), true);
                    let (min, max) = (y.min().double_value(&[]), y.max().double_value(&[]));
                    ensure!(min > 0.0 && max < 1.0, "output ranges over [{min:.4}, {max:.4}], expected strictly inside (0, 1)");
                    ensure!(max - min > 1e-6, "output is constant ({min:.4}): is the input reaching the output?");
                    Ok(())
                },
            ),
            check(
                "matches_reference_output",
                4,
                "With the same weights your model must compute what the reference does: skips up1(center, x4), up2(·, x3), up3(·, x2), up4(·, x1); the encoder in evaluation mode; resize, then sigmoid.",
                || {
                    let _guard = tch::no_grad_guard();
                    let (vs, m) = model(1);
                    summary::fill_deterministic(&vs, 11);
                    let x = common::fixed_input(&[2, 3, 64, 64], 3);
                    let eval = summary::fingerprint(&m.forward_t(&x, false));
                    let train = summary::fingerprint(&m.forward_t(&x, true));
                    let odd = summary::fingerprint(&m.forward_t(&common::fixed_input(&[1, 3, 70, 50], 4), false));
                    common::snapshot("output_3_1", &format!("eval\n{eval}train\n{train}odd eval\n{odd}"), true)
                },
            ),
        ],
    )
}
