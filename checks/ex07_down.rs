//! Checks for exercise 7, Down.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_double_conv.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex06_double_conv.rs")]
mod ex06_double_conv;
#[cfg_attr(feature = "solutions", path = "../solutions/ex07_down.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex07_down.rs")]
mod ex07_down;

use ex07_down::Down;
use se05::check::{check, expect_shape, run};
use se05::summary;
use tch::nn::{self, ModuleT};
use tch::Device;

fn block(in_c: i64, out_c: i64) -> (nn::VarStore, Down) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = Down::new(&vs.root(), in_c, out_c);
    (vs, m)
}

fn main() {
    run(
        7,
        vec![
            check(
                "parameter_table",
                3,
                "The DoubleConv sits at position 1 of `maxpool_conv`: create it under p / \"maxpool_conv\" / 1.",
                || {
                    let (vs, _m) = block(64, 128);
                    common::snapshot("params_64_128", &summary::param_table(&vs), false)
                },
            ),
            check(
                "output_shape_even_and_odd",
                2,
                "Max pooling with a 2×2 window and stride 2 halves height and width, rounding down; the DoubleConv sets the channels.",
                || {
                    let (_vs, m) = block(3, 8);
                    for (input, expected) in [
                        ([1i64, 3, 32, 32], [1i64, 8, 16, 16]),
                        ([1, 3, 33, 33], [1, 8, 16, 16]),
                        ([2, 3, 9, 14], [2, 8, 4, 7]),
                    ] {
                        let y = m.forward_t(&common::fixed_input(&input, 1), false);
                        expect_shape(&format!("Down(3, 8) on {input:?}"), &y, &expected)?;
                    }
                    Ok(())
                },
            ),
            check(
                "matches_reference_output",
                3,
                "Pool first (max, not average), then apply the DoubleConv; pass `train` on.",
                || {
                    let (vs, m) = block(3, 8);
                    summary::fill_deterministic(&vs, 7);
                    let x = common::fixed_input(&[2, 3, 13, 16], 5);
                    let eval = summary::fingerprint(&m.forward_t(&x, false));
                    let train = summary::fingerprint(&m.forward_t(&x, true));
                    common::snapshot("output_3_8", &format!("eval\n{eval}train\n{train}"), true)
                },
            ),
        ],
    )
}
