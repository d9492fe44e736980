//! Exercise 8, Up: transposed convolution, pad to the skip's size, concatenate
//! [skip, upsampled], DoubleConv.
//!
//! A padding mistake makes libtorch's `cat` fail inside Up ("Sizes of tensors must
//! match except in dimension 1. Expected size A but got size B …"); the observers
//! record that text and [`explain_cat_error`] turns it into which axis was not
//! padded to the skip's size, by how much it was padded, and by how much it should
//! have been.
use super::rng;
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use crate::grading::snapshots;
use anyhow::ensure;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Name of the check target, and prefix of its snapshots.
pub const TARGET: &str = "ex08_up";

/// The text libtorch's `cat` fails with when the maps differ in height or width.
pub const CAT_MISMATCH: &str = "Sizes of tensors must match except in dimension 1";

/// One Up block and its two inputs: `x1` of [batch, in, height, width] and a skip of
/// [batch, in / 2, 2·height + diff_y, 2·width + diff_x].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub in_channels: i64,
    pub out_channels: i64,
    pub batch: i64,
    pub height: i64,
    pub width: i64,
    pub diff_y: i64,
    pub diff_x: i64,
    /// Run in training mode (else evaluation mode).
    pub train: bool,
}

impl Case {
    pub fn x1_shape(&self) -> [i64; 4] {
        [self.batch, self.in_channels, self.height, self.width]
    }

    pub fn skip_shape(&self) -> [i64; 4] {
        [
            self.batch,
            self.in_channels / 2,
            2 * self.height + self.diff_y,
            2 * self.width + self.diff_x,
        ]
    }

    pub fn expected_shape(&self) -> Vec<i64> {
        let s = self.skip_shape();
        vec![self.batch, self.out_channels, s[2], s[3]]
    }

    fn describe(&self) -> String {
        format!(
            "Up({}, {}) with x1 {:?} and skip {:?}",
            self.in_channels,
            self.out_channels,
            self.x1_shape(),
            self.skip_shape()
        )
    }
}

/// The reference comparison where no padding is needed (snapshot `output_even`).
pub const REFERENCE_EVEN: Case = Case {
    in_channels: 16,
    out_channels: 8,
    batch: 2,
    height: 8,
    width: 8,
    diff_y: 0,
    diff_x: 0,
    train: false,
};

/// The reference comparison with padding (snapshot `output_odd`): 3 rows and 1
/// column, each split unevenly, so both the split and the axes matter.
pub const REFERENCE_ODD: Case = Case {
    in_channels: 16,
    out_channels: 8,
    batch: 2,
    height: 8,
    width: 7,
    diff_y: 3,
    diff_x: 1,
    train: false,
};

fn draw_case(r: &mut impl Rng, diff_y: i64, diff_x: i64) -> Case {
    // Heights and widths at least 4 apart keep the two axes' sizes (2·size + 0…3)
    // distinct, so a size in libtorch's error tells which axis it belongs to.
    let height: i64 = r.gen_range(2..=14);
    let width = loop {
        let w: i64 = r.gen_range(2..=14);
        if (w - height).abs() >= 4 {
            break w;
        }
    };
    Case {
        in_channels: 2 * r.gen_range(1..=16),
        out_channels: r.gen_range(1..=16),
        batch: r.gen_range(1..=2),
        height,
        width,
        diff_y,
        diff_x,
        train: r.gen_bool(0.5),
    }
}

/// Cases of `output_shape_even`: the skip is exactly twice x1's size.
pub fn even_cases(seed: u64) -> Vec<Case> {
    let mut r = rng(seed, "output_shape_even");
    (0..2).map(|_| draw_case(&mut r, 0, 0)).collect()
}

/// Cases of `output_shape_odd_skip`: only the height needs padding, only the width
/// does, and both do by different amounts (1–3 each).
pub fn odd_cases(seed: u64) -> Vec<Case> {
    let mut r = rng(seed, "output_shape_odd_skip");
    let only_y = r.gen_range(1..=3);
    let only_x = r.gen_range(1..=3);
    let both_y = r.gen_range(1..=3);
    let both_x = loop {
        let d = r.gen_range(1..=3);
        if d != both_y {
            break d;
        }
    };
    vec![
        draw_case(&mut r, only_y, 0),
        draw_case(&mut r, 0, only_x),
        draw_case(&mut r, both_y, both_x),
    ]
}

/// What one call of Up gave: its output's shape, or the error it stopped on.
pub type Outcome = Result<Vec<i64>, String>;

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "cat_order_swapped",
        title: "the concatenation in the order [upsampled, skip]",
        fix: "Concatenate the skip connection first: Tensor::cat(&[x2, &x1], 1).",
    },
    Mistake {
        id: "pad_axes_swapped",
        title: "the pad amounts of the height and the width swapped",
        fix: "constant_pad_nd takes the last axis (width, x) first: [diff_x / 2, diff_x − diff_x / 2, diff_y / 2, diff_y − diff_y / 2].",
    },
    Mistake {
        id: "pad_split_reversed",
        title: "the odd extra row and column padded first (top, left)",
        fix: "The larger half goes after: [diff_x / 2, diff_x − diff_x / 2, diff_y / 2, diff_y − diff_y / 2].",
    },
    Mistake {
        id: "no_padding",
        title: "the upsampled map not padded to the skip's size",
        fix: "Pad x1 by diff_y rows and diff_x columns (constant_pad_nd) before the concatenation.",
    },
    Mistake {
        id: "up_keeps_channels",
        title: "a transposed convolution that keeps in_channels",
        fix: "`up` maps in_channels to in_channels / 2, so the concatenation has in_channels channels.",
    },
    Mistake {
        id: "train_flag_ignored",
        title: "`train` not passed on to the DoubleConv",
        fix: "Call self.conv.forward_t(&x, train).",
    },
    Mistake {
        id: "pad_the_skip",
        title: "the skip cropped instead of the upsampled map padded",
        fix: "Keep the skip as it is and pad the upsampled map to its size.",
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
            "`up` is a transposed convolution in → in/2 (kernel 2, stride 2) created under \
             p / \"up\"; `conv` is DoubleConv(in, out) under p / \"conv\".",
            |table, ctx| snapshots::compare(ctx, TARGET, "params_64_32", &table, false),
        ),
        spec::<Vec<Outcome>>(
            "output_shape_even",
            2,
            "The transposed convolution doubles height and width; after concatenation the \
             DoubleConv maps in_channels to out_channels.",
            |outcomes, ctx| judge_shapes(&even_cases(ctx.seed), outcomes),
        ),
        spec::<Vec<Outcome>>(
            "output_shape_odd_skip",
            2,
            "Pad the upsampled map to the skip's height and width before concatenating: \
             diff_y = skip height − upsampled height, diff_x = skip width − upsampled \
             width; constant_pad_nd takes the width's amounts first: [diff_x / 2, \
             diff_x − diff_x / 2, diff_y / 2, diff_y − diff_y / 2].",
            |outcomes, ctx| judge_shapes(&odd_cases(ctx.seed), outcomes),
        ),
        spec::<Result<String, String>>(
            "matches_reference_even",
            2,
            "Concatenate along dimension 1 with the skip connection first: [x2, upsampled \
             x1].",
            |outcome, ctx| judge_reference(&REFERENCE_EVEN, "output_even", outcome, ctx),
        ),
        spec::<Result<String, String>>(
            "matches_reference_odd",
            3,
            "For odd sizes the extra row and column of padding go after (bottom, right): \
             pad [diff_x / 2, diff_x − diff_x / 2, diff_y / 2, diff_y − diff_y / 2] with \
             constant_pad_nd.",
            |outcome, ctx| judge_reference(&REFERENCE_ODD, "output_odd", outcome, ctx),
        ),
    ]
}

/// The two sizes of libtorch's `cat` error ("Expected size A but got size B").
pub fn cat_sizes(error: &str) -> Option<(i64, i64)> {
    let (_, rest) = error.split_once("Expected size ")?;
    let (a, rest) = rest.split_once(" but got size ")?;
    let b: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((a.trim().parse().ok()?, b.parse().ok()?))
}

/// One axis of a case: its names and sizes.
struct Axis {
    name: &'static str,
    diff_name: &'static str,
    other_diff_name: &'static str,
    sides: &'static str,
    /// Size after `up`, before padding.
    upsampled: i64,
    skip: i64,
    diff: i64,
    other_diff: i64,
}

fn axes(c: &Case) -> [Axis; 2] {
    let skip = c.skip_shape();
    [
        Axis {
            name: "height",
            diff_name: "diff_y",
            other_diff_name: "diff_x",
            sides: "top, bottom",
            upsampled: 2 * c.height,
            skip: skip[2],
            diff: c.diff_y,
            other_diff: c.diff_x,
        },
        Axis {
            name: "width",
            diff_name: "diff_x",
            other_diff_name: "diff_y",
            sides: "left, right",
            upsampled: 2 * c.width,
            skip: skip[3],
            diff: c.diff_x,
            other_diff: c.diff_y,
        },
    ]
}

/// What the pad amounts of the two axes swapped make `cat` fail with: the height
/// padded by diff_x (libtorch checks the height first), where diff_x ≠ diff_y.
fn is_swap_error(c: &Case, error: &str) -> bool {
    let [h, _] = axes(c);
    c.diff_y != c.diff_x
        && error.contains(CAT_MISMATCH)
        && cat_sizes(error).is_some_and(|(a, b)| {
            let swapped = h.upsampled + c.diff_x;
            (a, b) == (h.skip, swapped) || (a, b) == (swapped, h.skip)
        })
}

/// Turns a `cat` size error of Up on case `c` into which axis of the upsampled map
/// does not match the skip and how it was padded; `None` for any other error.
pub fn explain_cat_error(c: &Case, error: &str) -> Option<String> {
    if !error.contains(CAT_MISMATCH) {
        return None;
    }
    let (a, b) = cat_sizes(error)?;
    // One of the two sizes is the skip's on the axis that differs (which one depends
    // on the order of the concatenation); the other is the upsampled map's.
    let axis = axes(c)
        .into_iter()
        .find(|ax| (a == ax.skip && b != ax.skip) || (b == ax.skip && a != ax.skip))?;
    let got = if a == axis.skip { b } else { a };
    let padded = got - axis.upsampled;
    let mut text = format!(
        "the upsampled map's {} is {got} but the skip's is {}, so `cat` failed: the {} was \
         not padded to the skip's size. After `up` it is {}, so it needs {} = {} more ({}: \
         {} and {})",
        axis.name,
        axis.skip,
        axis.name,
        axis.upsampled,
        axis.diff_name,
        axis.diff,
        axis.sides,
        axis.diff / 2,
        axis.diff - axis.diff / 2
    );
    if padded == 0 {
        text.push_str(&format!(
            "; it got no padding ({})",
            crate::grading::mistakes::get(MISTAKES, "no_padding").title
        ));
    } else {
        text.push_str(&format!("; it got {padded}"));
        if padded == axis.other_diff && axis.other_diff != axis.diff {
            text.push_str(&format!(
                ", which is {}, the {} difference",
                axis.other_diff_name,
                if axis.name == "height" {
                    "width's"
                } else {
                    "height's"
                }
            ));
        }
    }
    text.push_str(
        ". constant_pad_nd's list pads the last axis first: [left, right, top, bottom] = \
         [diff_x / 2, diff_x − diff_x / 2, diff_y / 2, diff_y − diff_y / 2]",
    );
    Some(text)
}

/// What is wrong with one outcome of Up on case `c`.
fn outcome_problem(c: &Case, outcome: &Outcome) -> Option<String> {
    let mode = if c.train { "training" } else { "evaluation" };
    match outcome {
        Ok(shape) if *shape == c.expected_shape() => None,
        Ok(shape) => {
            let expected = c.expected_shape();
            let mut notes = Vec::new();
            if shape.len() != 4 {
                notes.push(format!("{} dimensions instead of 4", shape.len()));
            } else {
                if shape[1] != c.out_channels {
                    notes.push(format!(
                        "{} channels instead of out_channels = {}",
                        shape[1], c.out_channels
                    ));
                }
                for (ax, got) in axes(c).iter().zip([shape[2], shape[3]]) {
                    if got != ax.skip {
                        notes.push(format!(
                            "{} {got} instead of the skip's {}",
                            ax.name, ax.skip
                        ));
                    }
                }
            }
            Some(format!(
                "{} in {mode} mode: expected shape {expected:?}, got {shape:?} ({})",
                c.describe(),
                notes.join("; ")
            ))
        }
        Err(error) => Some(match explain_cat_error(c, error) {
            Some(why) => format!("{}: {why}", c.describe()),
            None => format!(
                "{} in {mode} mode stopped on an error: {error}",
                c.describe()
            ),
        }),
    }
}

fn judge_shapes(cases: &[Case], outcomes: Vec<Outcome>) -> anyhow::Result<()> {
    ensure!(
        outcomes.len() == cases.len(),
        "expected {} results, got {}",
        cases.len(),
        outcomes.len()
    );
    let swapped = cases.iter().all(|c| c.diff_y != c.diff_x)
        && cases
            .iter()
            .zip(&outcomes)
            .all(|(c, o)| matches!(o, Err(e) if is_swap_error(c, e)));
    if swapped {
        let examples: Vec<String> = cases
            .iter()
            .take(2)
            .map(|c| {
                format!(
                    "with x1 {:?} and skip {:?} (diff_y = {}, diff_x = {}) the upsampled \
                     map's height became {} instead of {}",
                    c.x1_shape(),
                    c.skip_shape(),
                    c.diff_y,
                    c.diff_x,
                    2 * c.height + c.diff_x,
                    2 * c.height + c.diff_y
                )
            })
            .collect();
        anyhow::bail!(
            "every case failed in `cat` exactly as padding the height by diff_x and the \
             width by diff_y does: {}. {}",
            examples.join("; "),
            named("pad_axes_swapped")
        );
    }
    for (c, outcome) in cases.iter().zip(&outcomes) {
        if let Some(problem) = outcome_problem(c, outcome) {
            anyhow::bail!("{problem}");
        }
    }
    Ok(())
}

fn judge_reference(
    case: &Case,
    snapshot: &str,
    outcome: Result<String, String>,
    ctx: &JudgeCtx,
) -> anyhow::Result<()> {
    match outcome {
        Ok(text) => snapshots::compare(ctx, TARGET, snapshot, &text, true),
        Err(error) => match explain_cat_error(case, &error) {
            Some(why) => anyhow::bail!("{}: {why}", case.describe()),
            None => anyhow::bail!("{} stopped on an error: {error}", case.describe()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get_title(id: &str) -> &'static str {
        crate::grading::mistakes::get(MISTAKES, id).title
    }

    fn cat_error(expected: i64, got: i64) -> String {
        format!(
            "called `Result::unwrap()` on an `Err` value: Torch(\"{CAT_MISMATCH}. Expected \
             size {expected} but got size {got} for tensor number 1 in the list.\")"
        )
    }

    #[test]
    fn odd_cases_pad_one_axis_then_both_unequally() {
        for seed in 0..100 {
            let cases = odd_cases(seed);
            assert_eq!(cases, odd_cases(seed));
            assert!(cases[0].diff_y > 0 && cases[0].diff_x == 0);
            assert!(cases[1].diff_y == 0 && cases[1].diff_x > 0);
            assert!(cases[2].diff_y > 0 && cases[2].diff_x > 0);
            for c in cases.iter().chain(&even_cases(seed)) {
                assert!(c.diff_y != c.diff_x || c.diff_y == 0);
                assert!(c.in_channels % 2 == 0 && c.in_channels >= 2);
                let s = c.skip_shape();
                // the heights' and widths' possible sizes never meet
                assert!((s[2] - s[3]).abs() > 3, "{c:?}");
            }
        }
    }

    #[test]
    fn sizes_are_read_from_libtorch_errors() {
        assert_eq!(cat_sizes(&cat_error(33, 32)), Some((33, 32)));
        assert_eq!(cat_sizes("something else"), None);
    }

    #[test]
    fn unpadded_and_swapped_axes_are_named() {
        // x1 10×4 → 20×8; skip 21×8: only the height needs one row.
        let c = Case {
            in_channels: 8,
            out_channels: 4,
            batch: 1,
            height: 10,
            width: 4,
            diff_y: 1,
            diff_x: 0,
            train: false,
        };
        let m = explain_cat_error(&c, &cat_error(21, 20)).unwrap();
        assert!(m.contains("height is 20 but the skip's is 21"), "{m}");
        assert!(m.contains("no padding"), "{m}");
        // the order [x1, x2] swaps the two sizes of the message
        let m = explain_cat_error(&c, &cat_error(20, 21)).unwrap();
        assert!(m.contains("height is 20 but the skip's is 21"), "{m}");
        // only the width needs padding but the height got it
        let c2 = Case {
            diff_y: 0,
            diff_x: 2,
            ..c
        };
        let m = explain_cat_error(&c2, &cat_error(20, 22)).unwrap();
        assert!(m.contains("height is 22 but the skip's is 20"), "{m}");
        assert!(m.contains("the width's difference"), "{m}");
        assert!(is_swap_error(&c2, &cat_error(20, 22)));
        assert!(!is_swap_error(&c2, &cat_error(20, 21)));
        // width mismatch, height fine
        let m = explain_cat_error(&c2, &cat_error(10, 8)).unwrap();
        assert!(m.contains("width is 8 but the skip's is 10"), "{m}");
        assert_eq!(explain_cat_error(&c, "mat1 and mat2 shapes"), None);
    }

    #[test]
    fn a_swap_everywhere_is_named_as_such() {
        let cases = odd_cases(7);
        let swapped: Vec<Outcome> = cases
            .iter()
            .map(|c| Err(cat_error(c.skip_shape()[2], 2 * c.height + c.diff_x)))
            .collect();
        let m = judge_shapes(&cases, swapped).unwrap_err().to_string();
        assert!(m.contains(get_title("pad_axes_swapped")), "{m}");
        let unpadded: Vec<Outcome> = cases
            .iter()
            .map(|c| Err(cat_error(c.skip_shape()[2], 2 * c.height)))
            .collect();
        let m = judge_shapes(&cases, unpadded).unwrap_err().to_string();
        assert!(m.contains("the height was not padded"), "{m}");
        assert!(!m.contains(get_title("pad_axes_swapped")), "{m}");
        let right: Vec<Outcome> = cases.iter().map(|c| Ok(c.expected_shape())).collect();
        assert!(judge_shapes(&cases, right).is_ok());
    }
}
