//! Observers of exercise 8, Up; the judge is se05::grading::exercises::ex08_up.
//!
//! Calls of Up record their error text instead of crashing, so the judge can read a
//! libtorch `cat` error and say which axis was not padded.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex06_double_conv;
    pub mod ex08_up;
}
pub use exercises::*;

use ex08_up::Up;
use se05::grading::exercises::ex08_up::{
    even_cases, odd_cases, Case, Outcome, REFERENCE_EVEN, REFERENCE_ODD,
};
use se05::grading::exercises::torch_seed;
use se05::grading::observe::{attempt, main as observe_main, observe};
use se05::grading::summary;
use tch::nn;
use tch::{Device, Tensor};

fn block(in_c: i64, out_c: i64) -> (nn::VarStore, Up) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = Up::new(&vs.root(), in_c, out_c);
    (vs, m)
}

/// Normal noise of `shape` from libtorch's generator seeded with `seed`.
fn noise(shape: &[i64], seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn(shape, tch::kind::FLOAT_CPU)
}

/// The output shape of Up on each case, or the error it stopped on.
fn shapes(cases: Vec<Case>, seed: i64) -> Vec<Outcome> {
    cases
        .into_iter()
        .map(|c| {
            let (_vs, m) = block(c.in_channels, c.out_channels);
            let x1 = noise(&c.x1_shape(), seed);
            let x2 = noise(&c.skip_shape(), seed + 1);
            attempt(|| m.forward_t(&x1, &x2, c.train).size())
        })
        .collect()
}

/// Up(16, 8) with deterministic weights on fixed inputs of the case's geometry.
fn reference_run(c: &Case) -> Result<String, String> {
    let (vs, m) = block(c.in_channels, c.out_channels);
    summary::fill_deterministic(&vs, 8);
    let x1 = noise(&c.x1_shape(), 6);
    let x2 = noise(&c.skip_shape(), 7);
    attempt(|| {
        let eval = summary::fingerprint(&m.forward_t(&x1, &x2, false));
        let train = summary::fingerprint(&m.forward_t(&x1, &x2, true));
        format!("eval\n{eval}train\n{train}")
    })
}

fn main() {
    observe_main(
        8,
        with_hidden(vec![
            observe("parameter_table", |_| {
                let (vs, _m) = block(64, 32);
                Ok(summary::param_table(&vs))
            }),
            observe("output_shape_even", |ctx| {
                Ok(shapes(
                    even_cases(ctx.seed),
                    torch_seed(ctx.seed, "output_shape_even") / 2,
                ))
            }),
            observe("output_shape_odd_skip", |ctx| {
                Ok(shapes(
                    odd_cases(ctx.seed),
                    torch_seed(ctx.seed, "output_shape_odd_skip") / 2,
                ))
            }),
            observe("matches_reference_even", |_| {
                Ok(reference_run(&REFERENCE_EVEN))
            }),
            observe("matches_reference_odd", |_| {
                Ok(reference_run(&REFERENCE_ODD))
            }),
        ]),
    )
}

// The hidden checks (src/grading/registry.rs HIDDEN_CHECKS): not in the student release.
se05::hidden_observers!("hidden/ex08_up.rs");
