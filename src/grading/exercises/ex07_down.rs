//! Exercise 7, Down: max pooling 2×2, then a DoubleConv.
use super::rng;
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use crate::grading::snapshots;
use anyhow::ensure;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Name of the check target, and prefix of its snapshots.
pub const TARGET: &str = "ex07_down";

/// One Down block and the input it is run on, drawn from the seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub in_channels: i64,
    pub out_channels: i64,
    pub batch: i64,
    pub height: i64,
    pub width: i64,
}

impl Case {
    pub fn input_shape(&self) -> [i64; 4] {
        [self.batch, self.in_channels, self.height, self.width]
    }

    /// What PyTorch's `MaxPool2d(2)` then `DoubleConv(in, out)` give: halved, rounded down.
    pub fn expected_shape(&self) -> Vec<i64> {
        vec![
            self.batch,
            self.out_channels,
            self.height / 2,
            self.width / 2,
        ]
    }
}

/// Cases of the shape check: the first has an even height and width, the second odd
/// ones, the third one of each; sizes 4–41, 1–24 channels, batch 1–3.
pub fn shape_cases(seed: u64) -> Vec<Case> {
    let mut r = rng(seed, "output_shape_even_and_odd");
    let parities = [(0, 0), (1, 1), (1, 0)];
    parities
        .iter()
        .map(|&(odd_h, odd_w)| {
            let flip = r.gen_bool(0.5);
            let (odd_h, odd_w) = if flip { (odd_w, odd_h) } else { (odd_h, odd_w) };
            Case {
                in_channels: r.gen_range(1..=24),
                out_channels: r.gen_range(1..=24),
                batch: r.gen_range(1..=3),
                height: 2 * r.gen_range(2..=20) + odd_h,
                width: 2 * r.gen_range(2..=20) + odd_w,
            }
        })
        .collect()
}

/// Output shapes of one case in evaluation and training mode.
#[derive(Debug, Serialize, Deserialize)]
pub struct Shapes {
    pub eval: Vec<i64>,
    pub train: Vec<i64>,
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "average_pooling",
        title: "average pooling instead of max pooling",
        fix: "Pool with x.max_pool2d_default(2).",
    },
    Mistake {
        id: "pool_after_conv",
        title: "the pooling after the DoubleConv",
        fix: "Pool first, then apply the DoubleConv to the pooled map.",
    },
    Mistake {
        id: "no_pooling",
        title: "no pooling",
        fix: "Add the 2×2 max pooling before the DoubleConv: it halves height and width.",
    },
    Mistake {
        id: "pool_stride_one",
        title: "pooling with stride 1",
        fix: "A 2×2 window with stride 2 halves the size: max_pool2d_default(2).",
    },
    Mistake {
        id: "pool_ceil_mode",
        title: "pooling that rounds odd sizes up (ceil_mode)",
        fix: "Max pooling drops the odd last row or column: ceil_mode = false, as max_pool2d_default does.",
    },
    Mistake {
        id: "train_flag_ignored",
        title: "`train` not passed on (always evaluation mode)",
        fix: "Call self.maxpool_conv.forward_t(xs, train).",
    },
    Mistake {
        id: "doubleconv_at_position_0",
        title: "the DoubleConv created at position 0",
        fix: "Create the DoubleConv under p / \"maxpool_conv\" / 1: the pooling is position 0.",
    },
];

/// The sentence naming catalogued mistake `id` (established by the caller).
fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<String>(
            "parameter_table",
            3,
            "The DoubleConv sits at position 1 of `maxpool_conv`: create it under \
             p / \"maxpool_conv\" / 1 (the pooling at position 0 has no parameters).",
            |table, ctx| snapshots::compare(ctx, TARGET, "params_64_128", &table, false),
        ),
        spec::<Vec<Shapes>>(
            "output_shape_even_and_odd",
            2,
            "Max pooling with a 2×2 window and stride 2 halves height and width, rounding \
             down (max_pool2d_default(2)); the DoubleConv sets the channels.",
            judge_shapes,
        ),
        spec::<String>(
            "matches_reference_output",
            3,
            "With the same weights your block must compute what the reference computes: \
             pool first (max, not average), then the DoubleConv, passing `train` on.",
            |text, ctx| snapshots::compare(ctx, TARGET, "output_3_8", &text, true),
        ),
    ]
}

/// What is wrong with `got`, an output shape, for the input of `case`.
fn shape_problem(case: &Case, got: &[i64]) -> Option<String> {
    let expected = case.expected_shape();
    if got == expected.as_slice() {
        return None;
    }
    if got.len() != 4 {
        return Some(format!(
            "a 4-dimensional output {expected:?}, got {} dimensions {got:?}",
            got.len()
        ));
    }
    let mut notes = Vec::new();
    if got[0] != case.batch {
        notes.push(format!("batch size {} instead of {}", got[0], case.batch));
    }
    if got[1] != case.out_channels {
        notes.push(format!(
            "{} channels instead of out_channels = {}",
            got[1], case.out_channels
        ));
    }
    for (axis, input, out) in [
        ("height", case.height, got[2]),
        ("width", case.width, got[3]),
    ] {
        if out == input / 2 {
            continue;
        }
        let why = if out == input {
            "not halved".to_string()
        } else if input % 2 == 1 && out == input / 2 + 1 {
            format!("rounded up; {}", named("pool_ceil_mode"))
        } else {
            format!("expected {}", input / 2)
        };
        notes.push(format!("{axis} {input} became {out} ({why})"));
    }
    Some(format!("{expected:?}, got {got:?}: {}", notes.join("; ")))
}

fn judge_shapes(shapes: Vec<Shapes>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = shape_cases(ctx.seed);
    ensure!(
        shapes.len() == cases.len(),
        "expected {} results, got {}",
        cases.len(),
        shapes.len()
    );
    for (c, got) in cases.iter().zip(shapes) {
        for (mode, shape) in [("evaluation", &got.eval), ("training", &got.train)] {
            if let Some(problem) = shape_problem(c, shape) {
                anyhow::bail!(
                    "Down({}, {}) on {:?} in {mode} mode: expected {problem}",
                    c.in_channels,
                    c.out_channels,
                    c.input_shape()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_cover_both_parities_and_stay_poolable() {
        for seed in 0..50 {
            let cases = shape_cases(seed);
            assert_eq!(cases, shape_cases(seed));
            assert!(cases.iter().any(|c| c.height % 2 == 1 || c.width % 2 == 1));
            assert!(cases[0].height % 2 == 0 && cases[0].width % 2 == 0);
            assert!(cases[1].height % 2 == 1 && cases[1].width % 2 == 1);
            assert!(cases.iter().all(|c| c.height >= 4 && c.width >= 4));
        }
    }

    #[test]
    fn shape_messages_name_the_axis() {
        let c = Case {
            in_channels: 3,
            out_channels: 8,
            batch: 1,
            height: 33,
            width: 20,
        };
        assert_eq!(shape_problem(&c, &[1, 8, 16, 10]), None);
        let m = shape_problem(&c, &[1, 8, 17, 10]).unwrap();
        assert!(m.contains("height 33 became 17 (rounded up"), "{m}");
        let m = shape_problem(&c, &[1, 8, 33, 20]).unwrap();
        assert!(m.contains("not halved"), "{m}");
        let m = shape_problem(&c, &[1, 3, 16, 10]).unwrap();
        assert!(m.contains("3 channels instead of out_channels = 8"), "{m}");
    }
}
