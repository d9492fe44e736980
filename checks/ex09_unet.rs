//! Checks for exercise 9, the U-Net.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_double_conv.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex06_double_conv.rs")]
mod ex06_double_conv;
#[cfg_attr(feature = "solutions", path = "../solutions/ex07_down.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex07_down.rs")]
mod ex07_down;
#[cfg_attr(feature = "solutions", path = "../solutions/ex08_up.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex08_up.rs")]
mod ex08_up;
#[cfg_attr(feature = "solutions", path = "../solutions/ex09_unet.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex09_unet.rs")]
mod ex09_unet;

use anyhow::ensure;
use ex09_unet::UNet;
use se05::check::{check, expect_shape, run};
use se05::summary;
use tch::nn::{self, ModuleT};
use tch::Device;

fn model(in_c: i64, out_c: i64) -> (nn::VarStore, UNet) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = UNet::new(&vs.root(), in_c, out_c);
    (vs, m)
}

fn main() {
    run(
        9,
        vec![
            check(
                "parameter_count",
                3,
                "inc 3→64, down 64→128→256→512→1024, up 1024→512→256→128→64, outc a 1×1 convolution 64→out_channels.",
                || {
                    for (i, o, expected) in [(3i64, 1i64, 31_043_521i64), (1, 2, 31_042_434)] {
                        let (vs, _m) = model(i, o);
                        let got = summary::count_trainable(&vs);
                        ensure!(
                            got == expected,
                            "UNet({i}, {o}) should have {} trainable parameters, yours has {}",
                            summary::thousands(expected),
                            summary::thousands(got)
                        );
                    }
                    Ok(())
                },
            ),
            check(
                "parameter_table",
                3,
                "Create each block under p / \"<field name>\" (inc, down1, ..., up4, outc).",
                || {
                    let (vs, _m) = model(3, 1);
                    common::snapshot("params_3_1", &summary::param_table(&vs), false)
                },
            ),
            check(
                "output_shape_even_and_odd",
                3,
                "The output has out_channels channels and the input's height and width; odd sizes work because Up pads to the skip's size.",
                || {
                    let _guard = tch::no_grad_guard();
                    let (_vs, m) = model(3, 1);
                    for (h, w) in [(64i64, 64i64), (70, 50)] {
                        let y = m.forward_t(&common::fixed_input(&[1, 3, h, w], 1), false);
                        expect_shape(&format!("UNet(3, 1) on [1, 3, {h}, {w}]"), &y, &[1, 1, h, w])?;
                    }
                    Ok(())
                },
            ),
            check(
                "output_is_probability",
                2,
                "Finish forward_t with .sigmoid() after outc, so every pixel is a probability in (0, 1).",
                || {
                    let _guard = tch::no_grad_guard();
                    let (_vs, m) = model(3, 1);
                    let y = m.forward_t(&(common::fixed_input(&[2, 3, 32, 32], 2) * 4.0), true);
                    let (min, max) = (y.min().double_value(&[]), y.max().double_value(&[]));
                    ensure!(min > 0.0 && max < 1.0, "output ranges over [{min:.4}, {max:.4}], expected strictly inside (0, 1)");
                    ensure!(max - min > 1e-6, "output is constant ({min:.4}): is the input reaching the output?");
                    Ok(())
                },
            ),
            check(
                "matches_reference_output",
                4,
                "With the same weights your U-Net must compute what the reference does: check the skip pairs up1(x5, x4), up2(x, x3), up3(x, x2), up4(x, x1).",
                || {
                    let _guard = tch::no_grad_guard();
                    let (vs, m) = model(3, 1);
                    summary::fill_deterministic(&vs, 9);
                    let x = common::fixed_input(&[2, 3, 32, 32], 3);
                    let eval = summary::fingerprint(&m.forward_t(&x, false));
                    let train = summary::fingerprint(&m.forward_t(&x, true));
                    common::snapshot("output_3_1", &format!("eval\n{eval}train\n{train}"), true)
                },
            ),
        ],
    )
}
