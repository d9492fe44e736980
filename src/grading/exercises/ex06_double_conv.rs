//! Exercise 6, DoubleConv: conv → batch norm → ReLU, twice.
use super::rng;
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use crate::grading::snapshots;
use anyhow::ensure;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Name of the check target, and prefix of its snapshots.
pub const TARGET: &str = "ex06_double_conv";
/// Names of the running statistics, by position in `conv`.
pub const BUFFERS: [&str; 4] = [
    "conv.1.running_mean",
    "conv.1.running_var",
    "conv.4.running_mean",
    "conv.4.running_var",
];

/// One DoubleConv and the input it is run on, drawn from the seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub in_channels: i64,
    pub out_channels: i64,
    pub batch: i64,
    pub height: i64,
    pub width: i64,
}

/// Cases of a check: sizes 1–24 channels, 5–40 pixels (odd and even), batch 1–3.
pub fn cases(seed: u64, check: &str, count: usize) -> Vec<Case> {
    let mut r = rng(seed, check);
    (0..count)
        .map(|_| Case {
            in_channels: r.gen_range(1..=24),
            out_channels: r.gen_range(1..=24),
            batch: r.gen_range(1..=3),
            height: r.gen_range(5..=40),
            width: r.gen_range(5..=40),
        })
        .collect()
}

/// Trainable parameters of DoubleConv(i, o): two 3×3 convolutions with bias and two
/// batch norms (weight and bias).
pub fn expected_trainable(i: i64, o: i64) -> i64 {
    (9 * i * o + o) + 2 * o + (9 * o * o + o) + 2 * o
}

/// Output shapes in evaluation and training mode.
#[derive(Debug, Serialize, Deserialize)]
pub struct Shapes {
    pub eval: Vec<i64>,
    pub train: Vec<i64>,
}

/// Smallest and largest output value in one mode.
#[derive(Debug, Serialize, Deserialize)]
pub struct Range {
    pub train: bool,
    pub min: f64,
    pub max: f64,
}

/// What happened to one running statistic.
#[derive(Debug, Serialize, Deserialize)]
pub struct Buffer {
    pub name: String,
    pub present: bool,
    pub trainable: bool,
    pub changed_in_eval: bool,
    pub changed_in_train: bool,
}

/// Smallest and largest value of one variable right after construction.
#[derive(Debug, Serialize, Deserialize)]
pub struct InitStat {
    pub name: String,
    pub min: f64,
    pub max: f64,
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "relu_before_norm",
        title: "each ReLU before its batch norm",
        fix: "The order is conv → batch norm → ReLU, twice.",
    },
    Mistake {
        id: "no_first_relu",
        title: "no ReLU after the first batch norm",
        fix: "Add .add_fn(|x| x.relu()) between the first batch norm and the second convolution.",
    },
    Mistake {
        id: "no_last_relu",
        title: "no ReLU at the end",
        fix: "The block ends with a ReLU after the second batch norm.",
    },
    Mistake {
        id: "no_batch_norm",
        title: "no batch norm",
        fix: "Put a se05::layers::batch_norm2d after each convolution (positions 1 and 4).",
    },
    Mistake {
        id: "no_padding",
        title: "convolutions without padding",
        fix: "Use padding 1 in both 3×3 convolutions so height and width stay the same.",
    },
    Mistake {
        id: "train_flag_ignored",
        title: "`train` not passed on (always evaluation mode)",
        fix: "Call self.conv.forward_t(xs, train), not forward_t(xs, false).",
    },
    Mistake {
        id: "always_training_mode",
        title: "`train` not passed on (always training mode)",
        fix: "Call self.conv.forward_t(xs, train), not forward_t(xs, true).",
    },
];

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<String>(
            "parameter_table",
            3,
            "Expected conv.0 (conv 3×3), conv.1 (batch norm), conv.3 (conv 3×3), conv.4 \
             (batch norm): create each layer under p / \"conv\" / position.",
            |table, ctx| snapshots::compare(ctx, TARGET, "params_3_64", &table, false),
        ),
        spec::<Vec<i64>>(
            "parameter_count_any_size",
            1,
            "The second convolution maps out_channels to out_channels; both convolutions \
             have a bias.",
            judge_counts,
        ),
        spec::<Vec<Shapes>>(
            "output_shape",
            1,
            "Padding 1 keeps height and width; the channel count becomes out_channels.",
            judge_shapes,
        ),
        spec::<Vec<Range>>(
            "relu_output_non_negative",
            1,
            "The block must end with a ReLU, after the second batch norm.",
            judge_ranges,
        ),
        spec::<Vec<Buffer>>(
            "batchnorm_running_statistics",
            2,
            "Use se05::layers::batch_norm2d and pass `train` to forward_t of an \
             nn::seq_t(); running statistics change only in training mode.",
            judge_buffers,
        ),
        spec::<Vec<InitStat>>(
            "pytorch_initialisation",
            1,
            "Build the layers with se05::layers::conv2d and se05::layers::batch_norm2d, \
             which initialise as PyTorch does (tch's nn::conv2d does not).",
            judge_init,
        ),
        spec::<String>(
            "matches_reference_output",
            1,
            "With the same weights your block must compute what the reference computes: \
             conv → norm → relu → conv → norm → relu.",
            |text, ctx| snapshots::compare(ctx, TARGET, "output_3_8", &text, true),
        ),
    ]
}

fn judge_counts(counts: Vec<i64>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = cases(ctx.seed, "parameter_count_any_size", 2);
    ensure!(
        counts.len() == cases.len(),
        "expected {} counts, got {}",
        cases.len(),
        counts.len()
    );
    for (c, got) in cases.iter().zip(counts) {
        let expected = expected_trainable(c.in_channels, c.out_channels);
        ensure!(
            got == expected,
            "DoubleConv({}, {}) should have {expected} trainable parameters, yours has {got}",
            c.in_channels,
            c.out_channels
        );
    }
    Ok(())
}

fn judge_shapes(shapes: Vec<Shapes>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = cases(ctx.seed, "output_shape", 2);
    ensure!(
        shapes.len() == cases.len(),
        "expected {} results, got {}",
        cases.len(),
        shapes.len()
    );
    for (c, got) in cases.iter().zip(shapes) {
        let expected = vec![c.batch, c.out_channels, c.height, c.width];
        for (mode, shape) in [("evaluation", &got.eval), ("training", &got.train)] {
            ensure!(
                *shape == expected,
                "DoubleConv({}, {}) on [{}, {}, {}, {}] in {mode} mode: expected shape \
                 {expected:?}, got {shape:?}",
                c.in_channels,
                c.out_channels,
                c.batch,
                c.in_channels,
                c.height,
                c.width
            );
        }
    }
    Ok(())
}

fn judge_ranges(ranges: Vec<Range>, _ctx: &JudgeCtx) -> anyhow::Result<()> {
    ensure!(
        ranges.len() == 2,
        "expected a result per mode, got {}",
        ranges.len()
    );
    for r in ranges {
        ensure!(
            r.min >= 0.0,
            "output has negative values (min {:.4}, train = {}): is the last layer a ReLU?",
            r.min,
            r.train
        );
        ensure!(r.max > 0.0, "output is all zeros (train = {})", r.train);
    }
    Ok(())
}

fn judge_buffers(buffers: Vec<Buffer>, _ctx: &JudgeCtx) -> anyhow::Result<()> {
    for name in BUFFERS {
        let b = buffers
            .iter()
            .find(|b| b.name == name)
            .filter(|b| b.present)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no buffer named {name}: is the batch norm at position 1 and 4 of `conv`?"
                )
            })?;
        ensure!(
            !b.trainable,
            "{name} should be a running statistic, not a trainable parameter"
        );
        ensure!(
            !b.changed_in_eval,
            "{name} changed during an evaluation-mode forward (train = false)"
        );
        ensure!(
            b.changed_in_train,
            "{name} did not change during a training-mode forward (train = true)"
        );
    }
    Ok(())
}

fn judge_init(stats: Vec<InitStat>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let case = cases(ctx.seed, "pytorch_initialisation", 1)[0];
    let find = |name: &str| {
        stats
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| anyhow::anyhow!("no variable named {name}"))
    };
    for bn in ["conv.1", "conv.4"] {
        let w = find(&format!("{bn}.weight"))?;
        ensure!(
            w.min == 1.0 && w.max == 1.0,
            "{bn}.weight should start at 1, it lies in [{:.4}, {:.4}]",
            w.min,
            w.max
        );
        let b = find(&format!("{bn}.bias"))?;
        ensure!(
            b.min == 0.0 && b.max == 0.0,
            "{bn}.bias should start at 0, it lies in [{:.4}, {:.4}]",
            b.min,
            b.max
        );
    }
    let fans = [
        ("conv.0", case.in_channels as f64 * 9.0),
        ("conv.3", case.out_channels as f64 * 9.0),
    ];
    for (conv, fan_in) in fans {
        let bound = 1.0 / fan_in.sqrt();
        for part in ["weight", "bias"] {
            let s = find(&format!("{conv}.{part}"))?;
            let largest = s.min.abs().max(s.max.abs());
            ensure!(
                largest <= bound + 1e-6 && largest > 0.0,
                "{conv}.{part}: largest |value| is {largest:.4}, PyTorch draws from ±{bound:.4}"
            );
        }
    }
    Ok(())
}
