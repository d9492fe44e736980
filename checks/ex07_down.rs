//! Observers of exercise 7, Down; the judge is se05::grading::exercises::ex07_down.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex06_double_conv;
    pub mod ex07_down;
}
pub use exercises::*;

use ex07_down::Down;
use se05::grading::exercises::ex07_down::{shape_cases, Shapes};
use se05::grading::exercises::torch_seed;
use se05::grading::observe::{main as observe_main, observe};
use se05::grading::summary;
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

fn block(in_c: i64, out_c: i64) -> (nn::VarStore, Down) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = Down::new(&vs.root(), in_c, out_c);
    (vs, m)
}

/// Normal noise of `shape` from libtorch's generator seeded with `seed`.
fn noise(shape: &[i64], seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn(shape, tch::kind::FLOAT_CPU)
}

fn main() {
    observe_main(
        7,
        with_hidden(vec![
            observe("parameter_table", |_| {
                let (vs, _m) = block(64, 128);
                Ok(summary::param_table(&vs))
            }),
            observe("output_shape_even_and_odd", |ctx| {
                let mut out = Vec::new();
                for c in shape_cases(ctx.seed) {
                    let (_vs, m) = block(c.in_channels, c.out_channels);
                    let x = noise(
                        &c.input_shape(),
                        torch_seed(ctx.seed, "output_shape_even_and_odd"),
                    );
                    out.push(Shapes {
                        eval: m.forward_t(&x, false).size(),
                        train: m.forward_t(&x, true).size(),
                    });
                }
                Ok(out)
            }),
            observe("matches_reference_output", |_| {
                let (vs, m) = block(3, 8);
                summary::fill_deterministic(&vs, 7);
                let x = noise(&[2, 3, 13, 16], 5);
                let eval = summary::fingerprint(&m.forward_t(&x, false));
                let train = summary::fingerprint(&m.forward_t(&x, true));
                Ok(format!("eval\n{eval}train\n{train}"))
            }),
        ]),
    )
}

// The hidden checks (src/grading/registry.rs HIDDEN_CHECKS): not in the student release.
se05::hidden_observers!("hidden/ex07_down.rs");
