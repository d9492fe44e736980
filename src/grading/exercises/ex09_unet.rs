//! Exercise 9, the U-Net: inc, down1..down4, up1..up4 with skips, outc, sigmoid.
use super::ex06_double_conv::expected_trainable as double_conv;
use super::ex08_up::CAT_MISMATCH;
pub use super::Range;
use super::{judge_probability_range, rng};
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use crate::grading::snapshots;
use crate::grading::summary::thousands;
use anyhow::ensure;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Name of the check target, and prefix of its snapshots.
pub const TARGET: &str = "ex09_unet";

/// The model of the snapshots: UNet(3, 1).
pub const REFERENCE_CHANNELS: (i64, i64) = (3, 1);

/// Trainable parameters of Up(i, o): the transposed convolution i → i/2 (2×2, with
/// bias) and DoubleConv(i, o).
pub fn up_trainable(i: i64, o: i64) -> i64 {
    i * (i / 2) * 4 + i / 2 + double_conv(i, o)
}

/// Trainable parameters of UNet(in, out).
pub fn expected_trainable(in_channels: i64, out_channels: i64) -> i64 {
    let encoder = double_conv(in_channels, 64)
        + double_conv(64, 128)
        + double_conv(128, 256)
        + double_conv(256, 512)
        + double_conv(512, 1024);
    let decoder = up_trainable(1024, 512)
        + up_trainable(512, 256)
        + up_trainable(256, 128)
        + up_trainable(128, 64);
    encoder + decoder + 64 * out_channels + out_channels
}

/// The channel counts of the models the parameter count checks: the reference's
/// (3, 1) and one drawn per run (1–4 in, 1–3 out, never (3, 1)); the shape check
/// uses the drawn one too.
pub fn count_cases(seed: u64) -> Vec<(i64, i64)> {
    let mut r = rng(seed, "parameter_count");
    let drawn = loop {
        let c = (r.gen_range(1..=4), r.gen_range(1..=3));
        if c != REFERENCE_CHANNELS {
            break c;
        }
    };
    vec![REFERENCE_CHANNELS, drawn]
}

/// Input sizes (height, width) of the shape check: one a multiple of 16 on both axes
/// (no padding anywhere), one whose halvings meet odd sizes (padding in Up).
pub fn shape_sizes(seed: u64) -> Vec<(i64, i64)> {
    let mut r = rng(seed, "output_shape_even_and_odd");
    let even = (16 * r.gen_range(1..=4), 16 * r.gen_range(1..=4));
    let odd = loop {
        let (h, w) = (r.gen_range(17..=79), r.gen_range(17..=79));
        if h % 16 != 0 && w % 16 != 0 && (h % 2 == 1 || w % 2 == 1) && h != w {
            break (h, w);
        }
    };
    vec![even, odd]
}

/// The model the shape check runs: the drawn one of [`count_cases`].
pub fn shape_channels(seed: u64) -> (i64, i64) {
    count_cases(seed)[1]
}

/// What `matches_reference_output` observes on fixed weights and input: the model's
/// output in both modes, and the output of each of its blocks (evaluation mode) when
/// the struct's fields run one by one in the reference's order ([`STAGES`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct Outputs {
    pub output: String,
    pub stages: String,
}

/// The U-Net's fields in the order the reference's forward_t runs them.
pub const STAGES: [&str; 10] = [
    "inc", "down1", "down2", "down3", "down4", "up1", "up2", "up3", "up4", "outc",
];

/// What one forward pass gave: the output's shape, or the error it stopped on.
pub type Outcome = Result<Vec<i64>, String>;

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "no_sigmoid",
        title: "no sigmoid at the end",
        fix: "Finish forward_t with self.outc.forward(&x).sigmoid().",
    },
    Mistake {
        id: "relu_instead_of_sigmoid",
        title: "a ReLU instead of the sigmoid at the end",
        fix: "The output must be a probability: use .sigmoid(), not .relu().",
    },
    Mistake {
        id: "softmax_instead_of_sigmoid",
        title: "a softmax over the channels instead of the sigmoid",
        fix: "With one output channel a softmax is always 1: use .sigmoid().",
    },
    Mistake {
        id: "channels_hard_coded",
        title: "inc and outc built for 3 and 1 channels whatever is asked",
        fix: "Build inc from in_channels and outc from out_channels.",
    },
    Mistake {
        id: "outc_kernel_3",
        title: "outc with a 3×3 kernel",
        fix: "outc is a 1×1 convolution: layers::conv2d(p / \"outc\", 64, out_channels, 1, 0).",
    },
    Mistake {
        id: "train_flag_ignored",
        title: "`train` not passed on to the blocks (always evaluation mode)",
        fix: "Pass `train` to every block's forward_t.",
    },
    Mistake {
        id: "always_training_mode",
        title: "`train` not passed on to the blocks (always training mode)",
        fix: "Pass `train`, not true, to every block's forward_t.",
    },
];

/// The sentence naming catalogued mistake `id` (established by the caller).
fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<Vec<i64>>(
            "parameter_count",
            3,
            "inc in→64, down 64→128→256→512→1024, up 1024→512→256→128→64, outc a 1×1 \
             convolution 64→out_channels; use in_channels and out_channels, not 3 and 1.",
            judge_counts,
        ),
        spec::<String>(
            "parameter_table",
            3,
            "Create each block under p / \"<field name>\" (inc, down1, ..., up4, outc).",
            |table, ctx| snapshots::compare(ctx, TARGET, "params_3_1", &table, false),
        ),
        spec::<Vec<Outcome>>(
            "output_shape_even_and_odd",
            3,
            "The output has out_channels channels and the input's height and width; odd \
             sizes work because Up pads to the skip's size.",
            judge_shapes,
        ),
        spec::<Range>(
            "output_is_probability",
            2,
            "Finish forward_t with .sigmoid() after outc, so every pixel is a probability \
             in (0, 1).",
            judge_probability_range,
        ),
        spec::<Outputs>(
            "matches_reference_output",
            4,
            "With the same weights your U-Net must compute what the reference does: check \
             the skip pairs up1(x5, x4), up2(x, x3), up3(x, x2), up4(x, x1).",
            judge_output,
        ),
    ]
}

/// The whole output against the reference's; when it differs and no catalogued
/// mistake explains it, the first block that differs when the blocks run in the
/// reference's order, or, when every block matches, forward_t's wiring.
fn judge_output(got: Outputs, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let output = snapshots::compare(ctx, TARGET, "output_3_1", &got.output, true);
    if ctx.bless {
        snapshots::compare(ctx, TARGET, "stages_3_1", &got.stages, true)?;
    }
    let Err(error) = output else {
        return Ok(());
    };
    let text = error.to_string();
    if text.contains("known mistake") {
        return Err(error);
    }
    let stages = match snapshots::first_differing_stage(ctx, TARGET, "stages_3_1", &got.stages)? {
        Some(stage) => format!(
            "Run one by one in the reference's order on the same weights, {stage}\nLook at \
             that block (its construction in UNet::new, or its exercise)."
        ),
        None => format!(
            "Run one by one in the reference's order on the same weights, every block \
             ({}) gives the reference's output: the difference lies in forward_t, in \
             the skip pairs up1(x5, x4), up2(x, x3), up3(x, x2), up4(x, x1), the train \
             flag or the final sigmoid.",
            STAGES.join(", ")
        ),
    };
    anyhow::bail!("{text}\n{stages}")
}

fn judge_counts(counts: Vec<i64>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = count_cases(ctx.seed);
    ensure!(
        counts.len() == cases.len(),
        "expected {} counts, got {}",
        cases.len(),
        counts.len()
    );
    for ((i, o), got) in cases.into_iter().zip(counts) {
        let expected = expected_trainable(i, o);
        if got == expected {
            continue;
        }
        let mut text = format!(
            "UNet({i}, {o}) should have {} trainable parameters, yours has {}",
            thousands(expected),
            thousands(got)
        );
        // Established by the numbers: the count is that of another channel pair.
        for (a, b) in [(3, o), (i, 1), (3, 1)] {
            if (a, b) != (i, o) && got == expected_trainable(a, b) {
                text.push_str(&format!(
                    ", the count of UNet({a}, {b}); {}",
                    named("channels_hard_coded")
                ));
                break;
            }
        }
        anyhow::bail!("{text}");
    }
    Ok(())
}

fn judge_shapes(outcomes: Vec<Outcome>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let sizes = shape_sizes(ctx.seed);
    let (i, o) = shape_channels(ctx.seed);
    ensure!(
        outcomes.len() == sizes.len(),
        "expected {} results, got {}",
        sizes.len(),
        outcomes.len()
    );
    for ((h, w), outcome) in sizes.into_iter().zip(outcomes) {
        let what = format!("UNet({i}, {o}) on [1, {i}, {h}, {w}]");
        let expected = vec![1, o, h, w];
        match outcome {
            Ok(shape) => ensure!(
                shape == expected,
                "{what}: expected shape {expected:?}, got {shape:?}"
            ),
            Err(error) if error.contains(CAT_MISMATCH) => anyhow::bail!(
                "{what}: `cat` failed because the two maps an Up block joins differ in \
                 height or width ({}). Up (exercise 8) must pad the upsampled map to the \
                 skip's size on both axes; `checker 8` names the axis",
                error
                    .split_once(CAT_MISMATCH)
                    .map_or(error.as_str(), |(_, rest)| rest)
                    .trim_start_matches('.')
                    .trim()
                    .split(" for tensor")
                    .next()
                    .unwrap_or_default()
            ),
            Err(error) => anyhow::bail!("{what} stopped on an error: {error}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_notebook() {
        assert_eq!(expected_trainable(3, 1), 31_043_521);
        assert_eq!(expected_trainable(1, 2), 31_042_434);
    }

    #[test]
    fn drawn_inputs() {
        for seed in 0..100 {
            let cases = count_cases(seed);
            assert_eq!(cases[0], REFERENCE_CHANNELS);
            assert_ne!(cases[1], REFERENCE_CHANNELS);
            let sizes = shape_sizes(seed);
            assert!(sizes[0].0 % 16 == 0 && sizes[0].1 % 16 == 0);
            assert!(sizes[1].0 % 16 != 0 && sizes[1].1 % 16 != 0);
            assert!(sizes[1].0 % 2 == 1 || sizes[1].1 % 2 == 1);
        }
    }

    /// The reference's observation of `matches_reference_output`, from its snapshots.
    fn reference_outputs(ctx: &JudgeCtx) -> Outputs {
        Outputs {
            output: snapshots::read(ctx, TARGET, "output_3_1").unwrap(),
            stages: snapshots::read(ctx, TARGET, "stages_3_1").unwrap(),
        }
    }

    /// `text` with the first `sum` line after the line `section` changed.
    fn with_sum_changed(text: &str, section: &str) -> String {
        let mut inside = false;
        let mut done = false;
        text.lines()
            .map(|l| {
                if l == section {
                    inside = true;
                }
                if inside && !done && l.starts_with("sum ") {
                    done = true;
                    return "sum 9.999999e9".to_string();
                }
                l.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }

    #[test]
    fn a_differing_output_names_the_first_differing_block() {
        let ctx = JudgeCtx {
            bless: false,
            bless_mistake: None,
            ..JudgeCtx::for_tests(0)
        };
        let reference = reference_outputs(&ctx);
        judge_output(
            Outputs {
                output: reference.output.clone(),
                stages: reference.stages.clone(),
            },
            &ctx,
        )
        .unwrap();
        let output = with_sum_changed(&reference.output, "eval");
        let m = judge_output(
            Outputs {
                output: output.clone(),
                stages: with_sum_changed(&reference.stages, "up2"),
            },
            &ctx,
        )
        .unwrap_err()
        .to_string();
        assert!(
            m.contains("the output of up2 differs (inc, down1, down2, down3, down4, up1 match)"),
            "{m}"
        );
        // Every block as the reference's: the wiring of forward_t.
        let m = judge_output(
            Outputs {
                output,
                stages: reference.stages,
            },
            &ctx,
        )
        .unwrap_err()
        .to_string();
        assert!(
            m.contains("every block") && m.contains("the difference lies in forward_t"),
            "{m}"
        );
    }

    #[test]
    fn cat_errors_point_to_up() {
        let seed = 3;
        let error = format!(
            "Torch(\"{CAT_MISMATCH}. Expected size 9 but got size 8 for tensor number 1 in \
             the list.\")"
        );
        let m = judge_shapes(vec![Ok(vec![]), Err(error)], &JudgeCtx::for_tests(seed));
        // the first (even) case fails first on its shape
        assert!(m.unwrap_err().to_string().contains("expected shape"));
        let (i, o) = shape_channels(seed);
        let (h, w) = shape_sizes(seed)[0];
        let error = format!("{CAT_MISMATCH}. Expected size 9 but got size 8 for tensor");
        let m = judge_shapes(
            vec![Ok(vec![1, o, h, w]), Err(error)],
            &JudgeCtx::for_tests(seed),
        )
        .unwrap_err()
        .to_string();
        assert!(m.contains("Expected size 9 but got size 8)"), "{m}");
        assert!(m.contains(&format!("UNet({i}, {o})")), "{m}");
    }
}
