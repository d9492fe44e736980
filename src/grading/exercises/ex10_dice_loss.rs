//! Exercise 10, the Dice loss: 1 − (2·Σ(p·t) + s) / (Σp + Σt + s), clamped to [0, 1].
//!
//! The three properties that were proptest runs are now judge-side: the observer
//! evaluates the loss on inputs drawn here from the run's seed (small ones first) and
//! returns a summary of each input with what the loss gave; the judge draws the same
//! inputs, checks the summaries match them and the property holds, and names the
//! first input that breaks it.
use super::{rng, Real};
use crate::grading::judge::{spec, CheckSpec, JudgeCtx};
use crate::grading::mistakes::Mistake;
use anyhow::{bail, ensure};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Inputs per property.
pub const PROPERTY_CASES: usize = 96;
/// Inputs of the monotonicity property (each is up to 120 evaluations).
pub const PATH_CASES: usize = 48;

/// A prediction and a truth of the same length, with the shape they are given in.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub shape: Vec<i64>,
    pub pred: Vec<f32>,
    pub truth: Vec<f32>,
}

/// The reference Dice loss of two flat vectors, in f64.
pub fn dice_loss(pred: &[f32], truth: &[f32], smooth: f64) -> f64 {
    let inter: f64 = pred
        .iter()
        .zip(truth)
        .map(|(p, t)| *p as f64 * *t as f64)
        .sum();
    let total: f64 = pred.iter().chain(truth).map(|v| *v as f64).sum();
    (1.0 - (2.0 * inter + smooth) / (total + smooth)).clamp(0.0, 1.0)
}

fn bits(r: &mut impl Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| if r.gen_bool(0.5) { 1.0 } else { 0.0 })
        .collect()
}

/// Sizes that start small and grow to `max`, so the first failing input reported is
/// a small one.
fn growing_size(r: &mut impl Rng, index: usize, count: usize, max: usize) -> usize {
    r.gen_range(1..=(2 + index * max / count).min(max))
}

/// The smoothing factor `default_smoothing` passes to `DiceLoss::new`.
pub fn drawn_smooth(seed: u64) -> f64 {
    (rng(seed, "default_smoothing").gen_range(1..=400) as f64) / 100.0
}

/// `identical_masks_give_zero`: a binary mask with both values, and an all-zero one.
pub fn identical_masks(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut r = rng(seed, "identical_masks_give_zero");
    let n = r.gen_range(4..=64);
    let mut mask = bits(&mut r, n);
    mask[0] = 1.0;
    mask[1] = 0.0;
    mask.shuffle(&mut r);
    (mask, vec![0.0; r.gen_range(1..=64)])
}

/// `disjoint_masks_near_one`: a [1, 1, h, w] mask against its complement, then two
/// disjoint masks that leave some pixels out of both.
pub fn disjoint_pairs(seed: u64) -> Vec<Pair> {
    let mut r = rng(seed, "disjoint_masks_near_one");
    let (h, w) = (r.gen_range(2..=10), r.gen_range(2..=10));
    let pred = bits(&mut r, (h * w) as usize);
    let truth = pred.iter().map(|p| 1.0 - p).collect();
    let complement = Pair {
        shape: vec![1, 1, h, w],
        pred,
        truth,
    };
    let n = r.gen_range(6..=40);
    let (mut pred, mut truth) = (vec![0.0f32; n], vec![0.0f32; n]);
    for i in 0..n {
        match r.gen_range(0..3) {
            0 => pred[i] = 1.0,
            1 => truth[i] = 1.0,
            _ => {}
        }
    }
    let partial = Pair {
        shape: vec![n as i64],
        pred,
        truth,
    };
    vec![complement, partial]
}

/// `hand_computed_values`: the fixed cases (pred, truth, smooth, shape) with their
/// values worked out by hand, then one drawn batch of [2–3, 1, h, w].
pub fn hand_cases(seed: u64) -> Vec<(Pair, f64)> {
    let p = vec![0.5f32, 1.0, 0.0, 0.25];
    let t = vec![1.0f32, 1.0, 0.0, 0.0];
    let flat = |pred: &Vec<f32>, truth: &Vec<f32>| Pair {
        shape: vec![pred.len() as i64],
        pred: pred.clone(),
        truth: truth.clone(),
    };
    let batch = Pair {
        shape: vec![2, 1, 2, 2],
        pred: vec![0.9, 0.1, 0.8, 0.0, 0.2, 0.7, 0.0, 1.0],
        truth: vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
    };
    let mut r = rng(seed, "hand_computed_values");
    let (b, h, w) = (r.gen_range(2..=3), r.gen_range(2..=6), r.gen_range(2..=6));
    let n = (b * h * w) as usize;
    let drawn = Pair {
        shape: vec![b, 1, h, w],
        pred: (0..n).map(|_| r.gen_range(0.0f32..=1.0)).collect(),
        truth: bits(&mut r, n),
    };
    let smooth = [0.5, 1.0, 2.0][r.gen_range(0..3)];
    vec![
        (flat(&p, &t), 1.0),
        (flat(&p, &t), 0.0),
        // I = 0.9 + 0.8 + 0.7 + 1.0 = 3.4; Σp = 3.7; Σt = 4
        (batch, 1.0),
        (drawn, smooth),
    ]
}

/// The hand-worked values of the first three cases of [`hand_cases`].
const HAND_VALUES: [f64; 3] = [1.0 - 4.0 / 4.75, 0.2, 1.0 - 7.8 / 8.7];

/// `clamped_to_unit_interval`: all c (c ≥ 1.5) against all ones, and all −c against
/// all zeros, of length n.
pub fn clamp_cases(seed: u64) -> Vec<Pair> {
    let mut r = rng(seed, "clamped_to_unit_interval");
    let n = r.gen_range(2..=32);
    let c = r.gen_range(1.5f32..=3.0);
    vec![
        Pair {
            shape: vec![n as i64],
            pred: vec![c; n],
            truth: vec![1.0; n],
        },
        Pair {
            shape: vec![n as i64],
            pred: vec![-c; n],
            truth: vec![0.0; n],
        },
    ]
}

/// `scalar_loss_with_gradient`: the shape of the batch ([2–3, 1, 3–8, 3–8]).
pub fn gradient_shape(seed: u64) -> Vec<i64> {
    let mut r = rng(seed, "scalar_loss_with_gradient");
    vec![
        r.gen_range(2..=3),
        1,
        r.gen_range(3..=8),
        r.gen_range(3..=8),
    ]
}

/// `property_within_unit_interval`: predictions in [0, 1] against binary masks.
pub fn unit_interval_inputs(seed: u64) -> Vec<(Vec<f32>, Vec<f32>)> {
    let mut r = rng(seed, "property_within_unit_interval");
    (0..PROPERTY_CASES)
        .map(|i| {
            let n = growing_size(&mut r, i, PROPERTY_CASES, 199);
            let pred = (0..n).map(|_| r.gen_range(0.0f32..=1.0)).collect();
            (pred, bits(&mut r, n))
        })
        .collect()
}

/// `property_symmetric_for_binary_masks`: two binary masks.
pub fn symmetry_inputs(seed: u64) -> Vec<(Vec<f32>, Vec<f32>)> {
    let mut r = rng(seed, "property_symmetric_for_binary_masks");
    (0..PROPERTY_CASES)
        .map(|i| {
            let n = growing_size(&mut r, i, PROPERTY_CASES, 199);
            (bits(&mut r, n), bits(&mut r, n))
        })
        .collect()
}

/// `property_non_increasing_with_overlap`: a binary truth and the order in which the
/// pixels of its inverse are corrected.
pub fn path_inputs(seed: u64) -> Vec<(Vec<f32>, Vec<usize>)> {
    let mut r = rng(seed, "property_non_increasing_with_overlap");
    (0..PATH_CASES)
        .map(|i| {
            let n = growing_size(&mut r, i, PATH_CASES, 119);
            let truth = bits(&mut r, n);
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut r);
            (truth, order)
        })
        .collect()
}

/// What identifies an input: its length and the sums of its two vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub sum_a: f64,
    pub sum_b: f64,
}

impl Summary {
    pub fn of(a: &[f32], b: &[f32]) -> Summary {
        Summary {
            n: a.len(),
            sum_a: a.iter().map(|v| *v as f64).sum(),
            sum_b: b.iter().map(|v| *v as f64).sum(),
        }
    }

    /// Whether two summaries describe the same input (sums may differ in their last
    /// digit: JSON text does not always read back to the very same f64).
    pub fn same_as(&self, other: &Summary) -> bool {
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()));
        self.n == other.n && close(self.sum_a, other.sum_a) && close(self.sum_b, other.sum_b)
    }
}

/// The smoothing factors read back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Smoothing {
    pub default: Real,
    pub new: Real,
}

/// What a loss on a float prediction and an Int64 truth looked like.
#[derive(Debug, Serialize, Deserialize)]
pub struct Gradient {
    pub shape: Vec<i64>,
    pub requires_grad: bool,
    /// Shape of y_pred's gradient after backward, when backward could run.
    pub grad_shape: Option<Vec<i64>>,
    pub grad_abs_sum: Real,
}

/// One input of a property and the loss on it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Eval {
    pub input: Summary,
    pub loss: Real,
}

/// One input of the symmetry property: loss(a, b) and loss(b, a).
#[derive(Debug, Serialize, Deserialize)]
pub struct SymEval {
    pub input: Summary,
    pub ab: Real,
    pub ba: Real,
}

/// One input of the monotonicity property: the loss of the inverted mask, then after
/// each correction.
#[derive(Debug, Serialize, Deserialize)]
pub struct PathEval {
    pub input: Summary,
    pub losses: Vec<Real>,
}

/// Known mistakes of this exercise (their variants: solutions/mistakes/, instructors).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "no_smoothing",
        title: "smooth left out of the formula",
        fix: "dice = (2·Σ(p·t) + smooth) / (Σp + Σt + smooth).",
    },
    Mistake {
        id: "smooth_numerator_only",
        title: "smooth added to the numerator only",
        fix: "Add smooth to the numerator and to the denominator.",
    },
    Mistake {
        id: "squared_denominator",
        title: "squared terms in the denominator (Σp² + Σt²)",
        fix: "This workshop's Dice sums the values: Σp + Σt, not Σp² + Σt².",
    },
    Mistake {
        id: "per_sample_mean",
        title: "the mean of per-item losses instead of one loss over the batch",
        fix: "Flatten the whole batch into one vector before summing.",
    },
    Mistake {
        id: "no_factor_two",
        title: "the intersection not doubled",
        fix: "The numerator is 2·Σ(p·t) + smooth.",
    },
    Mistake {
        id: "returns_dice",
        title: "the Dice coefficient returned instead of the loss",
        fix: "Return 1 − dice.",
    },
    Mistake {
        id: "iou_instead_of_dice",
        title: "the IoU (Jaccard) instead of the Dice coefficient",
        fix: "Dice is 2·Σ(p·t) / (Σp + Σt); the IoU divides by the union Σp + Σt − Σ(p·t).",
    },
    Mistake {
        id: "no_clamp",
        title: "the loss not clamped to [0, 1]",
        fix: "Finish with loss.clamp(0.0, 1.0).",
    },
];

/// The sentence naming catalogued mistake `id` (established by the caller).
fn named(id: &str) -> String {
    crate::grading::mistakes::get(MISTAKES, id).named()
}

/// What the variant of mistake `id` gives on one hand case (flat sums unless
/// `per_sample_mean`), or None for mistakes these cases do not show.
fn variant_value(id: &str, p: &Pair, smooth: f64) -> Option<f64> {
    let sums = |pred: &[f32], truth: &[f32]| {
        let f = |v: &f32| *v as f64;
        let inter: f64 = pred.iter().zip(truth).map(|(a, b)| f(a) * f(b)).sum();
        let (sp, st) = (
            pred.iter().map(f).sum::<f64>(),
            truth.iter().map(f).sum::<f64>(),
        );
        let (sp2, st2) = (
            pred.iter().map(|v| f(v) * f(v)).sum::<f64>(),
            truth.iter().map(|v| f(v) * f(v)).sum::<f64>(),
        );
        (inter, sp, st, sp2, st2)
    };
    let (i, sp, st, sp2, st2) = sums(&p.pred, &p.truth);
    let s = smooth;
    let loss = |dice: f64| (1.0 - dice).clamp(0.0, 1.0);
    Some(match id {
        "no_smoothing" => loss(2.0 * i / (sp + st)),
        "smooth_numerator_only" => loss((2.0 * i + s) / (sp + st)),
        "squared_denominator" => loss((2.0 * i + s) / (sp2 + st2 + s)),
        "no_factor_two" => loss((i + s) / (sp + st + s)),
        "returns_dice" => ((2.0 * i + s) / (sp + st + s)).clamp(0.0, 1.0),
        "iou_instead_of_dice" => loss((i + s) / (sp + st - i + s)),
        "per_sample_mean" => {
            let items = if p.shape.len() == 4 {
                p.shape[0] as usize
            } else {
                1
            };
            let n = p.pred.len() / items;
            p.pred
                .chunks(n)
                .zip(p.truth.chunks(n))
                .map(|(a, b)| dice_loss(a, b, smooth))
                .sum::<f64>()
                / items as f64
        }
        _ => return None,
    })
}

pub fn specs() -> Vec<CheckSpec> {
    vec![
        spec::<Smoothing>(
            "default_smoothing",
            1,
            "DiceLoss::default() uses smooth = 1.0; DiceLoss::new(s) stores s.",
            judge_smoothing,
        ),
        spec::<Vec<Real>>(
            "identical_masks_give_zero",
            1,
            "Identical masks overlap perfectly: dice = 1 and the loss is 0, also for two \
             empty masks thanks to smooth.",
            judge_identical,
        ),
        spec::<Vec<Real>>(
            "disjoint_masks_near_one",
            1,
            "With no overlap the intersection is 0, so dice = smooth / (Σpred + Σtrue + \
             smooth).",
            judge_disjoint,
        ),
        spec::<Vec<Real>>(
            "hand_computed_values",
            2,
            "dice = (2·Σ(pred·true) + smooth) / (Σpred + Σtrue + smooth), summed over the \
             whole batch after flattening.",
            judge_hand,
        ),
        spec::<Vec<Real>>(
            "clamped_to_unit_interval",
            1,
            "Clamp 1 − dice to [0, 1]: predictions outside [0, 1] must not push the loss \
             outside it.",
            judge_clamp,
        ),
        spec::<Result<Gradient, String>>(
            "scalar_loss_with_gradient",
            1,
            "Return a zero-dimensional tensor computed from y_pred with tensor operations \
             (no double_value), and convert an integer y_true to float.",
            judge_gradient,
        ),
        spec::<Vec<Eval>>(
            "property_within_unit_interval",
            1,
            "For any prediction in [0, 1] and any binary mask the loss stays within [0, 1].",
            judge_unit_interval,
        ),
        spec::<Vec<SymEval>>(
            "property_symmetric_for_binary_masks",
            1,
            "Intersection and total are symmetric in the two masks, so swapping prediction \
             and truth must not change the loss.",
            judge_symmetry,
        ),
        spec::<Vec<PathEval>>(
            "property_non_increasing_with_overlap",
            1,
            "Correcting pixels of the prediction one by one must never increase the loss.",
            judge_path,
        ),
    ]
}

/// A vector for a message: its first values, and its length when longer.
pub fn show(v: &[f32]) -> String {
    let head: Vec<String> = v.iter().take(8).map(|x| format!("{x}")).collect();
    if v.len() > 8 {
        format!("[{}, … ({} values)]", head.join(", "), v.len())
    } else {
        format!("[{}]", head.join(", "))
    }
}

fn close(what: &str, got: f64, expected: f64, tol: f64) -> anyhow::Result<()> {
    ensure!(
        got.is_finite() && (got - expected).abs() <= tol,
        "{what}: expected {expected:.6}, got {got:.6}"
    );
    Ok(())
}

fn count(what: &str, got: usize, expected: usize) -> anyhow::Result<()> {
    ensure!(
        got == expected,
        "expected {expected} {what}, the check target reported {got}"
    );
    Ok(())
}

fn judge_smoothing(s: Smoothing, ctx: &JudgeCtx) -> anyhow::Result<()> {
    ensure!(
        s.default.0 == 1.0,
        "DiceLoss::default().smooth is {}, expected 1.0",
        s.default
    );
    let want = drawn_smooth(ctx.seed);
    ensure!(
        (s.new.0 - want).abs() <= 1e-12,
        "DiceLoss::new({want}).smooth is {}, expected {want}",
        s.new
    );
    Ok(())
}

fn judge_identical(losses: Vec<Real>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    count("losses", losses.len(), 2)?;
    let (mask, empty) = identical_masks(ctx.seed);
    close(
        &format!("loss of the mask {} against itself", show(&mask)),
        losses[0].0,
        0.0,
        1e-6,
    )?;
    close(
        &format!(
            "loss of two empty masks of {} pixels (dice = smooth / smooth)",
            empty.len()
        ),
        losses[1].0,
        0.0,
        1e-6,
    )
}

fn judge_disjoint(losses: Vec<Real>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let pairs = disjoint_pairs(ctx.seed);
    count("losses", losses.len(), pairs.len())?;
    for (p, got) in pairs.iter().zip(losses) {
        let (sp, st) = (
            p.pred.iter().sum::<f32>() as f64,
            p.truth.iter().sum::<f32>() as f64,
        );
        close(
            &format!(
                "loss of the disjoint masks {} and {} (shape {:?}; Σpred = {sp}, Σtrue = \
                 {st}, so dice = 1 / {})",
                show(&p.pred),
                show(&p.truth),
                p.shape,
                sp + st + 1.0
            ),
            got.0,
            (sp + st) / (sp + st + 1.0),
            1e-5,
        )?;
    }
    Ok(())
}

fn judge_hand(losses: Vec<Real>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = hand_cases(ctx.seed);
    count("losses", losses.len(), cases.len())?;
    let expected: Vec<f64> = cases
        .iter()
        .enumerate()
        .map(|(k, (p, smooth))| {
            HAND_VALUES
                .get(k)
                .copied()
                .unwrap_or_else(|| dice_loss(&p.pred, &p.truth, *smooth))
        })
        .collect();
    // Established by the numbers: every value is that of one known mistake's formula.
    let known = MISTAKES.iter().find(|m| {
        let values: Option<Vec<f64>> = cases
            .iter()
            .map(|(p, s)| variant_value(m.id, p, *s))
            .collect();
        values.is_some_and(|v| {
            v.iter()
                .zip(&losses)
                .all(|(a, Real(b))| (a - b).abs() <= 1e-5)
                && v.iter().zip(&expected).any(|(a, e)| (a - e).abs() > 1e-4)
        })
    });
    for (k, ((p, smooth), Real(got))) in cases.iter().zip(losses).enumerate() {
        let expected = expected[k];
        let mut what = format!(
            "pred {} vs true {} of shape {:?}, smooth {smooth}",
            show(&p.pred),
            show(&p.truth),
            p.shape
        );
        if let Some(m) = known {
            what.push_str(&format!(
                " (every value of this check is what the formula gives with a {})",
                m.named()
            ));
        }
        close(&what, got, expected, 1e-5)?;
    }
    Ok(())
}

fn judge_clamp(losses: Vec<Real>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let cases = clamp_cases(ctx.seed);
    count("losses", losses.len(), cases.len())?;
    for ((p, expected), Real(got)) in cases.iter().zip([0.0, 1.0]).zip(losses) {
        // Established by the value: a loss outside [0, 1] was not clamped.
        let outside = if got.is_nan() || (0.0..=1.0).contains(&got) {
            String::new()
        } else {
            format!(" ({})", named("no_clamp"))
        };
        close(
            &format!(
                "pred all {} vs true all {} ({} values){outside}",
                p.pred[0],
                p.truth[0],
                p.pred.len()
            ),
            got,
            expected,
            1e-6,
        )?;
    }
    Ok(())
}

fn judge_gradient(g: Result<Gradient, String>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let shape = gradient_shape(ctx.seed);
    let g = g.map_err(|e| {
        anyhow::anyhow!(
            "DiceLoss on a float y_pred of {shape:?} and an integer (Int64) y_true stopped \
             on an error: {e}"
        )
    })?;
    ensure!(
        g.shape.is_empty(),
        "the loss should be a zero-dimensional tensor, got shape {:?}",
        g.shape
    );
    ensure!(
        g.requires_grad,
        "the loss is not connected to y_pred: backward() could not train anything"
    );
    let grad_shape = g
        .grad_shape
        .ok_or_else(|| anyhow::anyhow!("backward() left y_pred without a gradient"))?;
    ensure!(
        grad_shape == shape,
        "y_pred's gradient has shape {grad_shape:?}, expected {shape:?}"
    );
    ensure!(
        g.grad_abs_sum.0 > 0.0,
        "the gradient with respect to y_pred is zero"
    );
    Ok(())
}

/// Checks that the summaries describe the inputs drawn for this run.
fn same_inputs<'a>(
    drawn: impl Iterator<Item = (&'a [f32], &'a [f32])>,
    seen: impl Iterator<Item = &'a Summary>,
    expected_len: usize,
) -> anyhow::Result<()> {
    let mut n = 0;
    for ((a, b), s) in drawn.zip(seen) {
        ensure!(
            s.same_as(&Summary::of(a, b)),
            "the check target reported input {n} as {s:?}, which is not the input drawn \
             for this run"
        );
        n += 1;
    }
    count("inputs", n, expected_len)
}

fn judge_unit_interval(evals: Vec<Eval>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let inputs = unit_interval_inputs(ctx.seed);
    count("inputs", evals.len(), inputs.len())?;
    same_inputs(
        inputs.iter().map(|(p, t)| (p.as_slice(), t.as_slice())),
        evals.iter().map(|e| &e.input),
        inputs.len(),
    )?;
    for ((pred, truth), e) in inputs.iter().zip(&evals) {
        if !(0.0..=1.0).contains(&e.loss.0) {
            bail!(
                "loss {} outside [0, 1] for pred {} vs true {} (the loss should be {:.6})",
                e.loss,
                show(pred),
                show(truth),
                dice_loss(pred, truth, 1.0)
            );
        }
    }
    Ok(())
}

fn judge_symmetry(evals: Vec<SymEval>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let inputs = symmetry_inputs(ctx.seed);
    count("inputs", evals.len(), inputs.len())?;
    same_inputs(
        inputs.iter().map(|(a, b)| (a.as_slice(), b.as_slice())),
        evals.iter().map(|e| &e.input),
        inputs.len(),
    )?;
    for ((a, b), e) in inputs.iter().zip(&evals) {
        let gap = (e.ab.0 - e.ba.0).abs();
        if gap.is_nan() || gap >= 1e-6 {
            bail!(
                "loss(a, b) = {} but loss(b, a) = {} for the binary masks a = {} and b = {} \
                 (both should be {:.6})",
                e.ab,
                e.ba,
                show(a),
                show(b),
                dice_loss(a, b, 1.0)
            );
        }
    }
    Ok(())
}

fn judge_path(evals: Vec<PathEval>, ctx: &JudgeCtx) -> anyhow::Result<()> {
    let inputs = path_inputs(ctx.seed);
    count("inputs", evals.len(), inputs.len())?;
    let starts: Vec<Vec<f32>> = inputs
        .iter()
        .map(|(t, _)| t.iter().map(|v| 1.0 - v).collect())
        .collect();
    same_inputs(
        starts
            .iter()
            .zip(&inputs)
            .map(|(p, (t, _))| (p.as_slice(), t.as_slice())),
        evals.iter().map(|e| &e.input),
        inputs.len(),
    )?;
    for ((truth, order), e) in inputs.iter().zip(&evals) {
        count("losses", e.losses.len(), order.len() + 1)?;
        for (step, pair) in e.losses.windows(2).enumerate() {
            if pair[1].0 > pair[0].0 + 1e-6 || pair[1].0.is_nan() {
                bail!(
                    "the loss rose from {} to {} when pixel {} of the prediction was \
                     corrected (truth {}, starting from its inverse, {} pixels corrected \
                     before)",
                    pair[0],
                    pair[1],
                    order[step],
                    show(truth),
                    step
                );
            }
        }
        let last = e.losses.last().map_or(f64::NAN, |l| l.0);
        ensure!(
            last.abs() < 1e-6,
            "a perfect prediction of {} should give 0, got {last}",
            show(truth)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values_agree_with_the_formula() {
        let cases = hand_cases(1);
        for (k, v) in HAND_VALUES.iter().enumerate() {
            let (p, s) = &cases[k];
            assert!(
                (dice_loss(&p.pred, &p.truth, *s) - v).abs() < 1e-7,
                "case {k}"
            );
        }
    }

    #[test]
    fn drawn_inputs_are_reproducible_and_small_first() {
        assert_eq!(unit_interval_inputs(5), unit_interval_inputs(5));
        assert_ne!(symmetry_inputs(5), symmetry_inputs(6));
        let paths = path_inputs(9);
        assert!(paths[0].0.len() <= 2);
        for (t, o) in &paths {
            let mut sorted = o.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..t.len()).collect::<Vec<_>>());
        }
        let (mask, _) = identical_masks(3);
        assert!(mask.contains(&0.0) && mask.contains(&1.0));
    }

    #[test]
    fn summaries_survive_json_text() {
        for (pred, truth) in unit_interval_inputs(4) {
            let s = Summary::of(&pred, &truth);
            let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
            assert!(back.same_as(&s));
        }
        let s = Summary::of(&[0.5], &[1.0]);
        assert!(!s.same_as(&Summary::of(&[0.25], &[1.0])));
    }

    #[test]
    fn a_loss_outside_the_interval_is_reported_with_its_input() {
        let seed = 11;
        let evals: Vec<Eval> = unit_interval_inputs(seed)
            .iter()
            .map(|(p, t)| Eval {
                input: Summary::of(p, t),
                loss: Real(1.0 - (2.0 * 0.0 + 1.0) / (p.len() as f64 * 0.1)),
            })
            .collect();
        let m = judge_unit_interval(evals, &JudgeCtx::for_tests(seed))
            .unwrap_err()
            .to_string();
        assert!(
            m.starts_with("loss ") && m.contains("outside [0, 1]"),
            "{m}"
        );
    }
}
