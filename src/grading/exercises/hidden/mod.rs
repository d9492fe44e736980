//! Hidden checks: judged here like the others, observed by checks/hidden/, and left
//! out of the student release together with those observers (`checker release`). They
//! are compiled only with the `hidden-checks` feature (on in the instructor's
//! Cargo.toml, off in the release's); `src/grading/registry.rs` `HIDDEN_CHECKS` names them
//! and their points, which is all a student's copy knows of them.
//!
//! Every model exercise has one: inputs from ranges the visible checks never draw
//! (more channels, larger and odd sizes, other channel counts), and a backward pass
//! from the output that must reach every trainable parameter. Code fitted to the
//! visible checks' geometries, or a block that cuts a layer off the graph (a
//! `detach()`, a `no_grad` section, a layer built but not used) passes the visible
//! checks and fails here.
use super::{rng, Real};
use crate::grading::judge::{spec, CheckSpec};
use anyhow::ensure;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// The hidden checks of exercise `number`, in the order their observers run.
pub fn specs(number: u32) -> Vec<CheckSpec> {
    match number {
        6 => vec![spec::<Flow>(
            "larger_inputs_and_gradients",
            2,
            "The block must work for any channel count and size, and every layer must take \
             part in the output: no detach() or no_grad in forward_t.",
            |flow, ctx| {
                let c = double_conv_case(ctx.seed);
                let expected = vec![c.batch, c.out_channels, c.height, c.width];
                judge_flow(&flow, &c.describe("DoubleConv"), &expected)
            },
        )],
        7 => vec![spec::<Flow>(
            "larger_inputs_and_gradients",
            2,
            "Pool first (odd sizes round down), then the DoubleConv; every layer must take \
             part in the output.",
            |flow, ctx| {
                let c = down_case(ctx.seed);
                let expected = vec![c.batch, c.out_channels, c.height / 2, c.width / 2];
                judge_flow(&flow, &c.describe("Down"), &expected)
            },
        )],
        8 => vec![spec::<Flow>(
            "larger_inputs_and_gradients",
            2,
            "Pad the upsampled map to the skip's size on both axes, concatenate [skip, \
             upsampled]; the transposed convolution and the DoubleConv must both take part \
             in the output.",
            |flow, ctx| {
                let c = up_case(ctx.seed);
                let expected = vec![c.batch, c.out_channels, c.skip_height, c.skip_width];
                judge_flow(&flow, &c.describe(), &expected)
            },
        )],
        9 => vec![spec::<Flow>(
            "other_channels_and_gradients",
            2,
            "in_channels and out_channels are parameters, not 3 and 1; every block of the \
             encoder and decoder must take part in the output.",
            |flow, ctx| {
                let c = unet_case(ctx.seed);
                let expected = vec![c.batch, c.out_channels, c.height, c.width];
                judge_flow(&flow, &c.describe("UNet"), &expected)
            },
        )],
        11 => vec![spec::<Flow>(
            "larger_inputs_and_gradients",
            2,
            "The output is resized to the input's size whatever it is; every decoder layer \
             must take part in the output (the frozen encoder has no trainable parameters).",
            |flow, ctx| {
                let c = unet_efficient_case(ctx.seed);
                let expected = vec![c.batch, c.out_channels, c.height, c.width];
                judge_flow(&flow, &c.describe("UNetEfficient"), &expected)
            },
        )],
        _ => Vec::new(),
    }
}

/// What the observer of a hidden check saw: the output's shape on the drawn input,
/// and the gradient of every trainable parameter after a backward pass from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub output_shape: Vec<i64>,
    pub gradients: Vec<Gradient>,
}

/// One trainable parameter's gradient: its largest absolute value, `None` when
/// backward() gave it no gradient at all.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gradient {
    pub name: String,
    pub largest: Option<Real>,
}

/// Observer side: runs backward() from a random projection of `output` (drawn with
/// `seed`) and records the gradient of every trainable variable of `vs`, by name.
pub fn observe_flow(vs: &tch::nn::VarStore, output: &Tensor, seed: i64) -> Flow {
    let output_shape = output.size();
    tch::manual_seed(seed);
    let weights = Tensor::randn_like(output);
    (output * weights).sum(tch::Kind::Float).backward();
    let mut gradients: Vec<Gradient> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .map(|(name, t)| {
            let g = t.grad();
            let largest = g.defined().then(|| Real(g.abs().max().double_value(&[])));
            Gradient { name, largest }
        })
        .collect();
    gradients.sort_by(|a, b| crate::grading::summary::natural_cmp(&a.name, &b.name));
    Flow {
        output_shape,
        gradients,
    }
}

/// Judge side: the shape first, then every parameter's gradient.
fn judge_flow(flow: &Flow, input: &str, expected: &[i64]) -> anyhow::Result<()> {
    ensure!(
        flow.output_shape == expected,
        "{input}: expected output shape {expected:?}, got {:?}",
        flow.output_shape
    );
    ensure!(
        !flow.gradients.is_empty(),
        "{input}: the model has no trainable parameters"
    );
    let without: Vec<&str> = flow
        .gradients
        .iter()
        .filter(|g| g.largest.is_none_or(|v| v.0 == 0.0))
        .map(|g| g.name.as_str())
        .collect();
    let non_finite: Vec<&str> = flow
        .gradients
        .iter()
        .filter(|g| g.largest.is_some_and(|v| !v.0.is_finite()))
        .map(|g| g.name.as_str())
        .collect();
    ensure!(
        non_finite.is_empty(),
        "{input}: after backward() from the output, the gradient of {} is not finite",
        list(&non_finite)
    );
    ensure!(
        without.is_empty(),
        "{input}: after backward() from the output, {} of {} trainable parameters got no \
         gradient ({}): they do not take part in computing the output",
        without.len(),
        flow.gradients.len(),
        list(&without)
    );
    Ok(())
}

fn list(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(4).copied().collect();
    let more = if names.len() > 4 {
        format!(" and {} more", names.len() - 4)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

/// A block's channels and the input it runs on (training mode), drawn from the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCase {
    pub in_channels: i64,
    pub out_channels: i64,
    pub batch: i64,
    pub height: i64,
    pub width: i64,
}

impl BlockCase {
    pub fn input_shape(&self) -> [i64; 4] {
        [self.batch, self.in_channels, self.height, self.width]
    }

    fn describe(&self, what: &str) -> String {
        format!(
            "{what}({}, {}) on {:?} in training mode",
            self.in_channels,
            self.out_channels,
            self.input_shape()
        )
    }
}

/// DoubleConv: more channels (25–40) and larger sizes (41–64) than the visible checks.
pub fn double_conv_case(seed: u64) -> BlockCase {
    let mut r = rng(seed, "hidden/ex06");
    BlockCase {
        in_channels: r.gen_range(25..=40),
        out_channels: r.gen_range(25..=40),
        batch: r.gen_range(2..=3),
        height: r.gen_range(41..=64),
        width: r.gen_range(41..=64),
    }
}

/// Down: larger sizes, at least one of them odd.
pub fn down_case(seed: u64) -> BlockCase {
    let mut r = rng(seed, "hidden/ex07");
    BlockCase {
        in_channels: r.gen_range(9..=24),
        out_channels: r.gen_range(9..=24),
        batch: r.gen_range(2..=3),
        height: r.gen_range(20..=30) * 2 + 1,
        width: r.gen_range(40..=61),
    }
}

/// Up: an even in_channels, and a skip map one row and one column larger than twice
/// the input (padding on both axes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpCase {
    pub in_channels: i64,
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
            self.in_channels / 2,
            self.skip_height,
            self.skip_width,
        ]
    }

    fn describe(&self) -> String {
        format!(
            "Up({}, {}) on x1 {:?} and skip {:?} in training mode",
            self.in_channels,
            self.out_channels,
            self.x1_shape(),
            self.skip_shape()
        )
    }
}

pub fn up_case(seed: u64) -> UpCase {
    let mut r = rng(seed, "hidden/ex08");
    let height = r.gen_range(9..=20);
    let width = r.gen_range(9..=20);
    UpCase {
        in_channels: r.gen_range(10..=20) * 2,
        out_channels: r.gen_range(5..=24),
        batch: r.gen_range(2..=3),
        height,
        width,
        skip_height: 2 * height + 1,
        skip_width: 2 * width + 1,
    }
}

/// A whole model's channels and input (training mode). Batch 2: batch norm in
/// training mode over the few values of the deepest maps of a single image can give
/// a parameter an exactly zero gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelCase {
    pub batch: i64,
    pub in_channels: i64,
    pub out_channels: i64,
    pub height: i64,
    pub width: i64,
}

impl ModelCase {
    pub fn input_shape(&self) -> [i64; 4] {
        [self.batch, self.in_channels, self.height, self.width]
    }

    fn describe(&self, what: &str) -> String {
        format!(
            "{what} with {} input and {} output channel(s) on {:?} in training mode",
            self.in_channels,
            self.out_channels,
            self.input_shape()
        )
    }
}

pub fn unet_case(seed: u64) -> ModelCase {
    let mut r = rng(seed, "hidden/ex09");
    ModelCase {
        batch: 2,
        in_channels: r.gen_range(4..=6),
        out_channels: r.gen_range(2..=4),
        height: r.gen_range(16..=24) * 2 + 1,
        width: r.gen_range(16..=24) * 2 + 1,
    }
}

/// UNetEfficient on a random B0 encoder (3 input channels): odd sizes that are not
/// multiples of 32 (65–97, so the deepest map is at least 3×3), 2 or 3 output channels.
pub fn unet_efficient_case(seed: u64) -> ModelCase {
    let mut r = rng(seed, "hidden/ex11");
    ModelCase {
        batch: 2,
        in_channels: 3,
        out_channels: r.gen_range(2..=3),
        height: r.gen_range(32..=48) * 2 + 1,
        width: r.gen_range(32..=48) * 2 + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(shape: Vec<i64>, grads: &[(&str, Option<f64>)]) -> Flow {
        Flow {
            output_shape: shape,
            gradients: grads
                .iter()
                .map(|(n, g)| Gradient {
                    name: n.to_string(),
                    largest: g.map(Real),
                })
                .collect(),
        }
    }

    #[test]
    fn shape_then_every_gradient_is_judged() {
        let ok = flow(vec![1, 2, 3, 3], &[("a", Some(0.5)), ("b", Some(1e-3))]);
        judge_flow(&ok, "m", &[1, 2, 3, 3]).unwrap();
        let e = judge_flow(&ok, "m", &[1, 2, 4, 3]).unwrap_err().to_string();
        assert!(
            e.contains("[1, 2, 4, 3]") && e.contains("[1, 2, 3, 3]"),
            "{e}"
        );
        let cut = flow(vec![1], &[("a", Some(0.5)), ("b", None), ("c", Some(0.0))]);
        let e = judge_flow(&cut, "m", &[1]).unwrap_err().to_string();
        assert!(e.contains("2 of 3") && e.contains("b, c"), "{e}");
        let nan = flow(vec![1], &[("a", Some(f64::NAN))]);
        assert!(judge_flow(&nan, "m", &[1]).is_err());
        assert!(judge_flow(&flow(vec![1], &[]), "m", &[1]).is_err());
    }

    #[test]
    fn hidden_inputs_lie_outside_the_visible_ranges() {
        for seed in 0..50 {
            let c = double_conv_case(seed);
            assert!(c.in_channels > 24 && c.height > 40 && c.width > 40);
            let d = down_case(seed);
            assert!(d.height % 2 == 1);
            let u = up_case(seed);
            assert!(u.in_channels % 2 == 0 && u.skip_height == 2 * u.height + 1);
            let m = unet_case(seed);
            assert!((m.in_channels, m.out_channels) != (3, 1) && m.height % 2 == 1);
        }
    }

    #[test]
    fn every_registered_hidden_check_has_a_judge() {
        for h in crate::grading::registry::HIDDEN_CHECKS {
            let specs = specs(h.exercise);
            let found = specs.iter().find(|s| s.name == h.name);
            assert_eq!(found.map(|s| s.points), Some(h.points), "{h:?}");
        }
        for n in [6, 7, 8, 9, 11] {
            let points: u32 = specs(n).iter().map(|s| s.points).sum();
            assert_eq!(
                points,
                crate::grading::registry::hidden_points(n),
                "exercise {n}"
            );
        }
    }
}
