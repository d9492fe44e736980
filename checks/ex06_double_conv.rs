//! Observers of exercise 6, DoubleConv; the judge is se05::grading::exercises::ex06_double_conv.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex06_double_conv;
}
pub use exercises::*;

use ex06_double_conv::DoubleConv;
use se05::grading::exercises::ex06_double_conv::{cases, Buffer, InitStat, Range, Shapes, BUFFERS};
use se05::grading::exercises::torch_seed;
use se05::grading::observe::{main as observe_main, observe};
use se05::grading::summary;
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

fn block(in_c: i64, out_c: i64) -> (nn::VarStore, DoubleConv) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = DoubleConv::new(&vs.root(), in_c, out_c);
    (vs, m)
}

/// Normal noise of `shape` from libtorch's generator seeded with `seed`.
fn noise(shape: &[i64], seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn(shape, tch::kind::FLOAT_CPU)
}

fn main() {
    observe_main(
        6,
        with_hidden(vec![
            observe("parameter_table", |_| {
                let (vs, _m) = block(3, 64);
                Ok(summary::param_table(&vs))
            }),
            observe("parameter_count_any_size", |ctx| {
                let counts = cases(ctx.seed, "parameter_count_any_size", 2)
                    .into_iter()
                    .map(|c| summary::count_trainable(&block(c.in_channels, c.out_channels).0))
                    .collect::<Vec<i64>>();
                Ok(counts)
            }),
            observe("output_shape", |ctx| {
                let mut out = Vec::new();
                for c in cases(ctx.seed, "output_shape", 2) {
                    let (_vs, m) = block(c.in_channels, c.out_channels);
                    let x = noise(
                        &[c.batch, c.in_channels, c.height, c.width],
                        torch_seed(ctx.seed, "output_shape"),
                    );
                    out.push(Shapes {
                        eval: m.forward_t(&x, false).size(),
                        train: m.forward_t(&x, true).size(),
                    });
                }
                Ok(out)
            }),
            observe("relu_output_non_negative", |ctx| {
                let c = cases(ctx.seed, "relu_output_non_negative", 1)[0];
                let (_vs, m) = block(c.in_channels, c.out_channels);
                let x = noise(
                    &[c.batch.max(2), c.in_channels, c.height, c.width],
                    torch_seed(ctx.seed, "relu_output_non_negative"),
                );
                let ranges = [true, false]
                    .into_iter()
                    .map(|train| {
                        let y = m.forward_t(&x, train);
                        Range {
                            train,
                            min: y.min().double_value(&[]),
                            max: y.max().double_value(&[]),
                        }
                    })
                    .collect::<Vec<_>>();
                Ok(ranges)
            }),
            observe("batchnorm_running_statistics", |ctx| {
                let c = cases(ctx.seed, "batchnorm_running_statistics", 1)[0];
                let (vs, m) = block(c.in_channels, c.out_channels);
                let vars = vs.variables();
                let before: Vec<Option<Tensor>> = BUFFERS
                    .iter()
                    .map(|n| vars.get(*n).map(|t| t.copy()))
                    .collect();
                let x = noise(
                    &[c.batch.max(2), c.in_channels, c.height, c.width],
                    torch_seed(ctx.seed, "batchnorm_running_statistics"),
                ) * 3.0
                    + 1.0;
                let _ = m.forward_t(&x, false);
                let after_eval: Vec<Option<Tensor>> = BUFFERS
                    .iter()
                    .map(|n| vars.get(*n).map(|t| t.copy()))
                    .collect();
                let _ = m.forward_t(&x, true);
                let buffers = BUFFERS
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let now = vars.get(*name);
                        let changed = |a: &Option<Tensor>, b: Option<&Tensor>| match (a, b) {
                            (Some(a), Some(b)) => !a.equal(b),
                            _ => false,
                        };
                        Buffer {
                            name: name.to_string(),
                            present: now.is_some(),
                            trainable: now.is_some_and(|t| t.requires_grad()),
                            changed_in_eval: changed(&before[i], after_eval[i].as_ref()),
                            changed_in_train: changed(&after_eval[i], now),
                        }
                    })
                    .collect::<Vec<_>>();
                Ok(buffers)
            }),
            observe("pytorch_initialisation", |ctx| {
                let c = cases(ctx.seed, "pytorch_initialisation", 1)[0];
                let (vs, _m) = block(c.in_channels, c.out_channels);
                let stats = summary::param_rows(&vs)
                    .into_iter()
                    .map(|row| {
                        let t = &vs.variables()[&row.name];
                        InitStat {
                            min: t.min().double_value(&[]),
                            max: t.max().double_value(&[]),
                            name: row.name,
                        }
                    })
                    .collect::<Vec<_>>();
                Ok(stats)
            }),
            observe("matches_reference_output", |_| {
                let (vs, m) = block(3, 8);
                summary::fill_deterministic(&vs, 6);
                let x = noise(&[2, 3, 12, 12], 4);
                let eval = summary::fingerprint(&m.forward_t(&x, false));
                let train = summary::fingerprint(&m.forward_t(&x, true));
                Ok(format!("eval\n{eval}train\n{train}"))
            }),
        ]),
    )
}

// The hidden checks (src/grading/registry.rs HIDDEN_CHECKS): not in the student release.
se05::hidden_observers!("hidden/ex06_double_conv.rs");
