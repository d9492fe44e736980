//! Exercise 11, SmartUp and UNetEfficient: a U-Net decoder on a frozen EfficientNet.
//!
//! `encoder_stages` compares the student's `encode` with the library's encoder: the
//! observer sends fingerprints of x1 … x5, and the judge rebuilds the same encoder
//! (same deterministic weights, same input drawn from the seed) with library code and
//! fingerprints its stages itself, so no reference value comes from the process the
//! student's code ran in.
use super::ex06_double_conv::expected_trainable as double_conv;
use super::ex08_up::CAT_MISMATCH;
pub use super::Range;
use super::{judge_probability_range, rng, torch_seed};
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use crate::grading::snapshots;
use crate::grading::summary::{self, thousands};
use crate::models::{EfficientNetEncoder, Variant, B0_ENCODER_PARAMS};
use anyhow::{bail, ensure};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Name of the check target, and prefix of its snapshots.
pub const TARGET: &str = "ex11_unet_efficient";
/// Encoder stages whose outputs are x1 … x5.
pub const SKIP_STAGES: [usize; 5] = [1, 2, 3, 4, 7];
/// Seed of the deterministic encoder weights of `encoder_stages`.
pub const ENCODER_FILL_SEED: i64 = 5;

/// Trainable parameters of SmartUp(in, skip, out): the transposed convolution
/// in → skip (2×2, with bias) and DoubleConv(2 · skip, out).
pub fn smart_up_trainable(i: i64, skip: i64, o: i64) -> i64 {
    i * skip * 4 + skip + double_conv(2 * skip, o)
}

/// Trainable parameters of UNetEfficient's decoder (the encoder is frozen).
pub fn decoder_trainable(out_channels: i64) -> i64 {
    double_conv(320, 512)
        + smart_up_trainable(512, 80, 80)
        + smart_up_trainable(80, 40, 40)
        + smart_up_trainable(40, 24, 24)
        + smart_up_trainable(24, 16, 16)
        + 16 * out_channels
        + out_channels
}

/// One SmartUp and its inputs: x1 of [batch, in, height, width] and a skip of
/// [batch, skip, skip_height, skip_width].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UpCase {
    pub in_channels: i64,
    pub skip_channels: i64,
    pub out_channels: i64,
    pub batch: i64,
    pub height: i64,
    pub width: i64,
    pub skip_height: i64,
    pub skip_width: i64,
}

impl UpCase {
    pub fn x1_shape(&self) -> [i64; 4] {
        [self.batch, self.in_channels, self.height, self.width]
    }

    pub fn skip_shape(&self) -> [i64; 4] {
        [
            self.batch,
            self.skip_channels,
            self.skip_height,
            self.skip_width,
        ]
    }

    fn describe(&self) -> String {
        format!(
            "SmartUp({}, {}, {}) with x1 {:?} ({}×{} after `up`) and skip {:?}",
            self.in_channels,
            self.skip_channels,
            self.out_channels,
            self.x1_shape(),
            2 * self.height,
            2 * self.width,
            self.skip_shape()
        )
    }
}

/// Cases of `smartup_shapes`: the skip exactly twice x1's size; one row fewer (what an
/// odd size gives in the encoder, whose strides round up); 1–3 rows more and one
/// column fewer.
pub fn smart_up_cases(seed: u64) -> Vec<UpCase> {
    let mut r = rng(seed, "smartup_shapes");
    let more = r.gen_range(1..=3);
    [(0, 0), (-1, 0), (more, -1)]
        .into_iter()
        .map(|(dh, dw)| {
            let (height, width) = (r.gen_range(2..=12), r.gen_range(2..=12));
            UpCase {
                in_channels: r.gen_range(2..=32),
                skip_channels: r.gen_range(1..=16),
                out_channels: r.gen_range(1..=16),
                batch: r.gen_range(1..=2),
                height,
                width,
                skip_height: 2 * height + dh,
                skip_width: 2 * width + dw,
            }
        })
        .collect()
}

/// Inputs of `encoder_stages`: a batch of 2 whose sides are multiples of 32, and a
/// single image with odd sides.
pub fn encoder_inputs(seed: u64) -> Vec<[i64; 4]> {
    let mut r = rng(seed, "encoder_stages");
    let even = [2, 3, 32 * r.gen_range(1..=3), 32 * r.gen_range(1..=3)];
    let odd = [
        1,
        3,
        2 * r.gen_range(16..=45) + 1,
        2 * r.gen_range(16..=45) + 1,
    ];
    vec![even, odd]
}

/// The noise seed of input `k` of `encoder_stages`.
pub fn encoder_input_seed(seed: u64, k: usize) -> i64 {
    torch_seed(seed, "encoder_stages").wrapping_add(k as i64)
}

/// `trainable_parameter_count`: out_channels 1 and one drawn from 2–4.
pub fn count_outputs(seed: u64) -> Vec<i64> {
    vec![1, rng(seed, "trainable_parameter_count").gen_range(2..=4)]
}

/// `output_shape_even_and_odd`: input sizes (height, width), one multiple of 32 on
/// both sides, one odd; and the out_channels of the extra training-mode case.
pub fn output_sizes(seed: u64) -> (Vec<(i64, i64)>, i64) {
    let mut r = rng(seed, "output_shape_even_and_odd");
    let even = (32 * r.gen_range(1..=3), 32 * r.gen_range(1..=3));
    let odd = (2 * r.gen_range(16..=45) + 1, 2 * r.gen_range(16..=45) + 1);
    (vec![even, odd], r.gen_range(2..=4))
}

/// Shape, or the error the call stopped on.
pub type Outcome = Result<Vec<i64>, String>;

/// What `smartup_shapes` saw.
#[derive(Debug, Serialize, Deserialize)]
pub struct SmartUpShapes {
    pub outcomes: Vec<Outcome>,
    /// Trainable parameters of the first case's SmartUp.
    pub trainable: i64,
}

/// The reference comparison of SmartUp: its parameter table and outputs.
#[derive(Debug, Serialize, Deserialize)]
pub struct SmartUpReference {
    pub table: String,
    pub output: Result<String, String>,
}

/// One of x1 … x5.
#[derive(Debug, Serialize, Deserialize)]
pub struct StageOutput {
    pub shape: Vec<i64>,
    pub fingerprint: String,
}

/// What one Adam step did to the model.
#[derive(Debug, Serialize, Deserialize)]
pub struct AdamStep {
    pub encoder_variables: usize,
    /// Encoder variables that require or received a gradient.
    pub encoder_with_grad: Vec<String>,
    /// Encoder variables changed by the forward and the step.
    pub encoder_changed: Vec<String>,
    pub decoder_variables: usize,
    /// Decoder variables the step left unchanged.
    pub decoder_unchanged: Vec<String>,
}

/// What happened to the encoder's variables around `update_encoder_bn_stats`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BnFlag {
    pub initial_flag: bool,
    /// Encoder variables changed by a training-mode forward with the flag false.
    pub changed_train_flag_off: Vec<String>,
    /// … by an evaluation-mode forward with the flag true.
    pub changed_eval_flag_on: Vec<String>,
    /// … by a training-mode forward with the flag true.
    pub changed_train_flag_on: Vec<String>,
}

/// One output shape case: what ran and what it gave.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShapeRun {
    pub variant: String,
    pub out_channels: i64,
    pub input: Vec<i64>,
    pub train: bool,
    pub outcome: Outcome,
}

/// The cases of `output_shape_even_and_odd`: each size on B0 and Lite0 with one
/// output channel, then a batch of 2 with the drawn out_channels in training mode.
pub fn shape_runs(seed: u64) -> Vec<(Variant, i64, [i64; 4], bool)> {
    let (sizes, out) = output_sizes(seed);
    let mut runs = Vec::new();
    for variant in [Variant::B0, Variant::Lite0] {
        for &(h, w) in &sizes {
            runs.push((variant, 1, [1, 3, h, w], false));
        }
    }
    runs.push((Variant::B0, out, [2, 3, sizes[0].0, sizes[0].1], true));
    runs
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "align_corners_true",
        title: "SmartUp resizes with align_corners = true",
        fix: "Resize with upsample_bilinear2d(skip size, false, None, None): align_corners = false, as the notebook's interpolate.",
    },
    Mistake {
        id: "nearest_resize",
        title: "SmartUp resizes with nearest neighbour",
        fix: "Resize bilinearly: upsample_bilinear2d, not upsample_nearest2d.",
    },
    Mistake {
        id: "smartup_cat_order_swapped",
        title: "SmartUp concatenates [upsampled, skip]",
        fix: "Concatenate the skip connection first: Tensor::cat(&[x2, &x1], 1).",
    },
    Mistake {
        id: "encoder_not_frozen",
        title: "the encoder not frozen",
        fix: "Call encoder.freeze() in `new`, before building the decoder.",
    },
    Mistake {
        id: "encoder_bn_in_training_mode",
        title: "the encoder run in training mode",
        fix: "In encode use `train && self.update_encoder_bn_stats`, so the pretrained BatchNorm statistics stay put.",
    },
    Mistake {
        id: "no_final_resize",
        title: "the output not resized to the input's size",
        fix: "Resize outc's output to the input's height and width (upsample_bilinear2d) before the sigmoid.",
    },
    Mistake {
        id: "no_sigmoid",
        title: "no sigmoid at the end",
        fix: "Finish forward_t with .sigmoid(), after the resize.",
    },
];

/// The sentence naming catalogued mistake `id` (established by the caller).
fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<SmartUpShapes>(
            "smartup_shapes",
            1,
            "`up` maps in_channels to skip_channels and doubles the size; when that size \
             differs from the skip's, resize the upsampled map to the skip's height and \
             width (upsample_bilinear2d) before concatenating.",
            judge_smart_up_shapes,
        ),
        spec::<SmartUpReference>(
            "smartup_matches_reference",
            2,
            "Name the layers p / \"up\" and p / \"conv\"; concatenate [skip, upsampled] \
             along dimension 1; resize with upsample_bilinear2d(skip size, align_corners = \
             false, None, None) only when the sizes differ.",
            judge_smart_up_reference,
        ),
        spec::<Vec<Result<Vec<StageOutput>, String>>>(
            "encoder_stages",
            2,
            "encode returns the outputs of stages 0–1, 2, 3, 4 and 5–7 of the encoder `new` \
             was given (forward_range / forward_stage), with 16, 24, 40, 80 and 320 \
             channels at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input size.",
            judge_encoder_stages,
        ),
        spec::<AdamStep>(
            "encoder_frozen_after_adam_step",
            4,
            "In `new` call encoder.freeze() so its parameters get no gradient, and run the \
             encoder with train = false (unless update_encoder_bn_stats) so its BatchNorm \
             running statistics stay put; the decoder must still learn.",
            judge_adam_step,
        ),
        spec::<BnFlag>(
            "encoder_bn_stats_flag",
            1,
            "In encode, run the encoder with `train && self.update_encoder_bn_stats`; `new` \
             sets the flag to false.",
            judge_bn_flag,
        ),
        spec::<Vec<i64>>(
            "trainable_parameter_count",
            2,
            "Only the decoder trains: center 320→512, up1 (512, 80, 80), up2 (80, 40, 40), \
             up3 (40, 24, 24), up4 (24, 16, 16), outc 1×1 16→out_channels; the encoder is \
             frozen.",
            judge_counts,
        ),
        spec::<String>(
            "parameter_table",
            1,
            "Create each decoder block under p / \"<field name>\" (center, up1, ..., up4, \
             outc), SmartUp's layers under \"up\" and \"conv\".",
            |table, ctx| {
                let decoder: String = table
                    .lines()
                    .filter(|l| !l.starts_with("encoder."))
                    .map(|l| format!("{l}\n"))
                    .collect();
                snapshots::compare(ctx, TARGET, "params_decoder", &decoder, false)
            },
        ),
        spec::<Vec<ShapeRun>>(
            "output_shape_even_and_odd",
            2,
            "The decoder ends at half the input size: resize outc's output to the input's \
             height and width (upsample_bilinear2d, align_corners = false) before the \
             sigmoid. Take sizes from the tensors, not from constants: the encoder may be \
             B0 or Lite0.",
            judge_shapes,
        ),
        spec::<Range>(
            "output_is_probability",
            1,
            "Finish forward_t with .sigmoid(), after the resize, so every pixel is a \
             probability in (0, 1).",
            judge_probability_range,
        ),
        spec::<String>(
            "matches_reference_output",
            4,
            "With the same weights your model must compute what the reference does: skips \
             up1(center, x4), up2(·, x3), up3(·, x2), up4(·, x1); the encoder in evaluation \
             mode; resize, then sigmoid.",
            |text, ctx| snapshots::compare(ctx, TARGET, "output_3_1", &text, true),
        ),
    ]
}

/// The first few names of a list, for a message.
pub fn first_few(names: &[String]) -> String {
    let mut s = names.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 4 {
        s.push_str(&format!(" and {} more", names.len() - 4));
    }
    s
}

fn judge_smart_up_shapes(seen: SmartUpShapes, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = smart_up_cases(ctx.seed);
    ensure!(
        seen.outcomes.len() == cases.len(),
        "expected {} results, got {}",
        cases.len(),
        seen.outcomes.len()
    );
    for (c, outcome) in cases.iter().zip(&seen.outcomes) {
        let expected = vec![c.batch, c.out_channels, c.skip_height, c.skip_width];
        match outcome {
            Ok(shape) => ensure!(
                *shape == expected,
                "{}: expected shape {expected:?}, got {shape:?}",
                c.describe()
            ),
            Err(e) if e.contains(CAT_MISMATCH) => bail!(
                "{}: `cat` failed because the upsampled map ({}×{}) and the skip ({}×{}) \
                 still differ in size: resize the upsampled map to the skip's height and \
                 width when they differ",
                c.describe(),
                2 * c.height,
                2 * c.width,
                c.skip_height,
                c.skip_width
            ),
            Err(e) => bail!("{} stopped on an error: {e}", c.describe()),
        }
    }
    let c = cases[0];
    let expected = smart_up_trainable(c.in_channels, c.skip_channels, c.out_channels);
    ensure!(
        seen.trainable == expected,
        "SmartUp({}, {}, {}) should have {expected} trainable parameters, yours has {}: `up` \
         is in → skip, `conv` is DoubleConv(2 · skip, out)",
        c.in_channels,
        c.skip_channels,
        c.out_channels,
        seen.trainable
    );
    Ok(())
}

fn judge_smart_up_reference(seen: SmartUpReference, ctx: &JudgeCtx) -> anyhow::Result<()> {
    snapshots::compare(ctx, TARGET, "params_smartup_32_16_8", &seen.table, false)?;
    match seen.output {
        Ok(text) => snapshots::compare(ctx, TARGET, "output_smartup", &text, true),
        Err(e) => bail!(
            "SmartUp(32, 16, 8) with x1 [1, 32, 17, 17] and skip [1, 16, 35, 33] stopped on \
             an error: {e}"
        ),
    }
}

/// Fingerprints of the library encoder's stages x1 … x5 for input `k` of
/// `encoder_stages`, computed here from the same weights and input as the observer's.
fn reference_stages(seed: u64) -> Vec<Vec<String>> {
    let _guard = tch::no_grad_guard();
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let encoder = EfficientNetEncoder::new(&(vs.root() / "encoder"), Variant::B0);
    summary::fill_deterministic(&vs, ENCODER_FILL_SEED);
    encoder_inputs(seed)
        .iter()
        .enumerate()
        .map(|(k, shape)| {
            tch::manual_seed(encoder_input_seed(seed, k));
            let x = tch::Tensor::randn(shape.as_slice(), tch::kind::FLOAT_CPU);
            let stages = encoder.forward_stages(&x, false);
            SKIP_STAGES
                .iter()
                .map(|&s| summary::fingerprint(&stages[s]))
                .collect()
        })
        .collect()
}

fn judge_encoder_stages(
    seen: Vec<Result<Vec<StageOutput>, String>>,
    ctx: &JudgeCtx,
) -> anyhow::Result<()> {
    let inputs = encoder_inputs(ctx.seed);
    ensure!(
        seen.len() == inputs.len(),
        "expected {} results, got {}",
        inputs.len(),
        seen.len()
    );
    let mut reference: Option<Vec<Vec<String>>> = None;
    for (k, (input, outputs)) in inputs.iter().zip(seen).enumerate() {
        let [n, _, h, w] = *input;
        let outputs = outputs
            .map_err(|e| anyhow::anyhow!("encode on a {input:?} input stopped on an error: {e}"))?;
        ensure!(
            outputs.len() == 5,
            "encode returned {} maps, expected 5",
            outputs.len()
        );
        for (j, (out, &s)) in outputs.iter().zip(&SKIP_STAGES).enumerate() {
            let expected = EfficientNetEncoder::stage_shape(s, n, h, w).to_vec();
            if out.shape != expected {
                let mut text = format!(
                    "x{} of a {input:?} input has shape {:?}, expected {expected:?} (the \
                     output of stage {s})",
                    j + 1,
                    out.shape
                );
                if let Some(other) = (0..8)
                    .find(|&i| EfficientNetEncoder::stage_shape(i, n, h, w).to_vec() == out.shape)
                {
                    text.push_str(&format!(", which is the shape of stage {other}'s output"));
                }
                bail!("{text}");
            }
        }
        let reference = reference.get_or_insert_with(|| reference_stages(ctx.seed));
        for (j, (out, &s)) in outputs.iter().zip(&SKIP_STAGES).enumerate() {
            if let Err(diff) =
                summary::compare_numeric_text(&reference[k][j], &out.fingerprint, 1e-4, 1e-6)
            {
                bail!(
                    "x{} of a {input:?} input differs from the output of the encoder's stage \
                     {s}: use the encoder given to `new`, in evaluation mode (train = false \
                     unless update_encoder_bn_stats), each stage fed the previous one's \
                     output. {diff}",
                    j + 1
                );
            }
        }
    }
    Ok(())
}

fn judge_adam_step(s: AdamStep, _ctx: &JudgeCtx) -> anyhow::Result<()> {
    ensure!(
        s.encoder_variables > 0,
        "the store has no variables under encoder.: build the model on the encoder given \
         to `new`"
    );
    ensure!(
        s.encoder_with_grad.is_empty(),
        "encoder variables still take part in training (require or received a gradient): \
         {}; {}",
        first_few(&s.encoder_with_grad),
        named("encoder_not_frozen")
    );
    let (stats, weights): (Vec<String>, Vec<String>) = s
        .encoder_changed
        .into_iter()
        .partition(|n| n.contains("running_"));
    ensure!(
        weights.is_empty(),
        "encoder parameters changed during an Adam step: {}",
        first_few(&weights)
    );
    ensure!(
        stats.is_empty(),
        "encoder BatchNorm running statistics changed during a training-mode forward: {}; {}",
        first_few(&stats),
        named("encoder_bn_in_training_mode")
    );
    ensure!(
        s.decoder_variables > 0,
        "the model has no decoder variables"
    );
    ensure!(
        s.decoder_unchanged.is_empty(),
        "decoder variables did not change after a training step: {}",
        first_few(&s.decoder_unchanged)
    );
    Ok(())
}

fn judge_bn_flag(f: BnFlag, _ctx: &JudgeCtx) -> anyhow::Result<()> {
    ensure!(
        !f.initial_flag,
        "update_encoder_bn_stats should start false"
    );
    ensure!(
        f.changed_train_flag_off.is_empty(),
        "with update_encoder_bn_stats = false a training-mode forward changed {}; {}",
        first_few(&f.changed_train_flag_off),
        named("encoder_bn_in_training_mode")
    );
    ensure!(
        f.changed_eval_flag_on.is_empty(),
        "an evaluation-mode forward changed {}",
        first_few(&f.changed_eval_flag_on)
    );
    ensure!(
        f.changed_train_flag_on
            .iter()
            .any(|n| n == "encoder.features.0.1.running_mean"),
        "with update_encoder_bn_stats = true a training-mode forward should update the \
         encoder's running statistics (encoder.features.0.1.running_mean did not change)"
    );
    Ok(())
}

fn judge_counts(counts: Vec<i64>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let outs = count_outputs(ctx.seed);
    ensure!(
        counts.len() == outs.len(),
        "expected {} counts, got {}",
        outs.len(),
        counts.len()
    );
    for (o, got) in outs.into_iter().zip(counts) {
        let expected = decoder_trainable(o);
        if got == expected {
            continue;
        }
        let mut text = format!(
            "UNetEfficient with out_channels = {o} should have {} trainable parameters, \
             yours has {}",
            thousands(expected),
            thousands(got)
        );
        if got == expected + B0_ENCODER_PARAMS {
            text.push_str(": exactly the B0 encoder's parameters more, so it is not frozen");
        } else if got == decoder_trainable(1) {
            text.push_str(": the count for out_channels = 1; build outc from out_channels");
        }
        bail!("{text}");
    }
    Ok(())
}

fn judge_shapes(runs: Vec<ShapeRun>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let expected_runs = shape_runs(ctx.seed);
    ensure!(
        runs.len() == expected_runs.len(),
        "expected {} results, got {}",
        expected_runs.len(),
        runs.len()
    );
    for ((variant, out, input, train), run) in expected_runs.into_iter().zip(runs) {
        ensure!(
            run.variant == variant.name()
                && run.out_channels == out
                && run.input == input
                && run.train == train,
            "the check target ran {} {:?} instead of the case drawn for this run",
            run.variant,
            run.input
        );
        let what = format!(
            "UNetEfficient(out {out}) with a {} encoder on {input:?} in {} mode",
            variant.name(),
            if train { "training" } else { "evaluation" }
        );
        let expected = vec![input[0], out, input[2], input[3]];
        match run.outcome {
            Ok(shape) => {
                if shape == expected {
                    continue;
                }
                let mut text = format!("{what}: expected shape {expected:?}, got {shape:?}");
                if shape.len() == 4 && shape[2] * 2 == input[2] && shape[3] * 2 == input[3] {
                    text.push_str(": half the input's size, so the output was not resized");
                } else if shape.len() == 4
                    && (shape[2] != input[2] || shape[3] != input[3])
                    && (shape[2] * 2 - input[2]).abs() <= 1
                    && (shape[3] * 2 - input[3]).abs() <= 1
                {
                    text.push_str(
                        ": about half the input's size, so the output was not resized to \
                         the input's height and width",
                    );
                }
                bail!("{text}");
            }
            Err(e) => bail!("{what} stopped on an error: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_notebook() {
        assert_eq!(decoder_trainable(1), 4_258_545);
        assert_eq!(decoder_trainable(2), 4_258_545 + 17);
        // SmartUp(32, 16, 8)
        assert_eq!(
            smart_up_trainable(32, 16, 8),
            32 * 16 * 4 + 16 + (9 * 32 * 8 + 8 + 16) + (9 * 8 * 8 + 8 + 16)
        );
    }

    #[test]
    fn drawn_cases() {
        for seed in 0..50 {
            let cases = smart_up_cases(seed);
            assert_eq!(cases[0].skip_height, 2 * cases[0].height);
            assert_eq!(cases[1].skip_height, 2 * cases[1].height - 1);
            assert!(cases[2].skip_height > 2 * cases[2].height);
            assert!(cases
                .iter()
                .all(|c| c.skip_height >= 3 && c.skip_width >= 3));
            let inputs = encoder_inputs(seed);
            assert!(inputs[0][2] % 32 == 0 && inputs[1][2] % 2 == 1);
            let runs = shape_runs(seed);
            assert_eq!(runs.len(), 5);
            assert!(count_outputs(seed)[1] >= 2);
        }
    }
}
