//! Observers of exercise 2, mean_std; the judge is se05::grading::exercises::ex02_mean_std.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex02_mean_std;
}
pub use exercises::*;

use ex02_mean_std::mean_std;
use se05::data::Dataset;
use se05::grading::exercises::ex02_mean_std::{image_set, KnownSet, MeanStd};
use se05::grading::exercises::fixtures;
use se05::grading::observe::{main as observe_main, observe};
use std::sync::Arc;

fn run(set: impl Dataset + 'static) -> anyhow::Result<MeanStd> {
    let (mean, std) = mean_std(Arc::new(set))?;
    anyhow::ensure!(
        mean.iter().chain(&std).all(|v| v.is_finite()),
        "mean_std returned NaN or infinite values: mean {mean:?}, std {std:?}"
    );
    Ok(MeanStd { mean, std })
}

fn main() {
    observe_main(
        2,
        vec![
            observe("known_values", |ctx| {
                run(KnownSet::draw(ctx.seed, "known_values"))
            }),
            observe("uneven_last_batch", |ctx| {
                run(KnownSet::draw(ctx.seed, "uneven_last_batch"))
            }),
            observe("ranges_on_images", |ctx| {
                run(image_set(&fixtures::tiny_config(
                    ctx.seed,
                    "ranges_on_images",
                ))?)
            }),
            observe("matches_reference", |_| {
                run(image_set(&fixtures::fixed_config())?)
            }),
        ],
    )
}
