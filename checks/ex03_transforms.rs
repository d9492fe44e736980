//! Observers of exercise 3, the pipelines; the judge is se05::grading::exercises::ex03_transforms.
//!
//! The exercise returns data (a Compose of Transform values): each observer sends the
//! steps, and the judge runs them itself on images drawn from the seed.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
#[cfg_attr(feature = "solutions", path = "../solutions")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises")]
#[rustfmt::skip]
mod exercises {
    pub mod ex03_transforms;
}
pub use exercises::*;

use ex03_transforms::{train_transforms, valid_transforms};
use se05::grading::exercises::ex03_transforms::{
    normalization_data, steps_of, Pipelines, MEAN, STD,
};
use se05::grading::observe::{main as observe_main, observe};

fn main() {
    observe_main(
        3,
        vec![
            observe("training_steps", |_| {
                Ok(steps_of(&train_transforms(MEAN, STD)))
            }),
            observe("validation_steps", |_| {
                Ok(steps_of(&valid_transforms(MEAN, STD)))
            }),
            observe("output_shapes", |_| {
                Ok(Pipelines {
                    train: steps_of(&train_transforms(MEAN, STD)),
                    valid: steps_of(&valid_transforms(MEAN, STD)),
                })
            }),
            observe("validation_deterministic", |_| {
                Ok(steps_of(&valid_transforms(MEAN, STD)))
            }),
            observe("normalized_statistics", |ctx| {
                let (_, mean, std) = normalization_data(ctx.seed)?;
                Ok(steps_of(&valid_transforms(mean, std)))
            }),
        ],
    )
}
