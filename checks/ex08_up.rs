//! Checks for exercise 8, Up.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_double_conv.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex06_double_conv.rs")]
mod ex06_double_conv;
#[cfg_attr(feature = "solutions", path = "../solutions/ex08_up.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex08_up.rs")]
mod ex08_up;

use ex08_up::Up;
use se05::check::{check, expect_shape, run};
use se05::summary;
use tch::nn;
use tch::Device;

fn block(in_c: i64, out_c: i64) -> (nn::VarStore, Up) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = Up::new(&vs.root(), in_c, out_c);
    (vs, m)
}

/// Runs Up(64, 32) with deterministic weights on x1 and a skip of the given sizes.
fn reference_run(x1_hw: [i64; 2], x2_hw: [i64; 2]) -> String {
    let (vs, m) = block(16, 8);
    summary::fill_deterministic(&vs, 8);
    let x1 = common::fixed_input(&[2, 16, x1_hw[0], x1_hw[1]], 6);
    let x2 = common::fixed_input(&[2, 8, x2_hw[0], x2_hw[1]], 7);
    let eval = summary::fingerprint(&m.forward_t(&x1, &x2, false));
    let train = summary::fingerprint(&m.forward_t(&x1, &x2, true));
    format!("eval\n{eval}train\n{train}")
}

fn main() {
    run(
        8,
        vec![
            check(
                "parameter_table",
                3,
                "`up` is a transposed convolution in → in/2 (kernel 2, stride 2) created under p / \"up\"; `conv` is DoubleConv(in, out) under p / \"conv\".",
                || {
                    let (vs, _m) = block(64, 32);
                    common::snapshot("params_64_32", &summary::param_table(&vs), false)
                },
            ),
            check(
                "output_shape_even",
                2,
                "The transposed convolution doubles height and width; after concatenation the DoubleConv maps in_channels to out_channels.",
                || {
                    let (_vs, m) = block(64, 32);
                    let y = m.forward_t(&common::fixed_input(&[1, 64, 16, 16], 1), &common::fixed_input(&[1, 32, 32, 32], 2), false);
                    expect_shape("Up(64, 32) with x1 [1, 64, 16, 16] and skip [1, 32, 32, 32]", &y, &[1, 32, 32, 32])
                },
            ),
            check(
                "output_shape_odd_skip",
                2,
                "Pad the upsampled map to the skip's height and width before concatenating: diff = skip size − upsampled size, split as diff / 2 and diff − diff / 2.",
                || {
                    let (_vs, m) = block(64, 32);
                    let y = m.forward_t(&common::fixed_input(&[1, 64, 16, 16], 1), &common::fixed_input(&[1, 32, 33, 33], 2), false);
                    expect_shape("Up(64, 32) with x1 [1, 64, 16, 16] and skip [1, 32, 33, 33]", &y, &[1, 32, 33, 33])?;
                    let y = m.forward_t(&common::fixed_input(&[2, 64, 17, 16], 1), &common::fixed_input(&[2, 32, 35, 33], 2), true);
                    expect_shape("Up(64, 32) with x1 [2, 64, 17, 16] and skip [2, 32, 35, 33]", &y, &[2, 32, 35, 33])
                },
            ),
            check(
                "matches_reference_even",
                2,
                "Concatenate along dimension 1 with the skip connection first: [x2, upsampled x1].",
                || common::snapshot("output_even", &reference_run([8, 8], [16, 16]), true),
            ),
            check(
                "matches_reference_odd",
                3,
                "For odd sizes the extra row and column of padding go after (bottom, right): pad [diff_x / 2, diff_x − diff_x / 2, diff_y / 2, diff_y − diff_y / 2] with constant_pad_nd.",
                || common::snapshot("output_odd", &reference_run([8, 7], [19, 17]), true),
            ),
        ],
    )
}
