//! Checks for exercise 6, DoubleConv.
#![allow(dead_code)] // stubs leave fields and functions unused until solved
mod common;
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_double_conv.rs")]
#[cfg_attr(not(feature = "solutions"), path = "../exercises/ex06_double_conv.rs")]
mod ex06_double_conv;

use anyhow::ensure;
use ex06_double_conv::DoubleConv;
use se05::check::{check, expect_shape, run};
use se05::summary;
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

fn block(in_c: i64, out_c: i64) -> (nn::VarStore, DoubleConv) {
    let vs = nn::VarStore::new(Device::Cpu);
    let m = DoubleConv::new(&vs.root(), in_c, out_c);
    (vs, m)
}

fn main() {
    run(
        6,
        vec![
            check(
                "parameter_table",
                3,
                "Expected conv.0 (conv 3×3), conv.1 (batch norm), conv.3 (conv 3×3), conv.4 (batch norm): create each layer under p / \"conv\" / position.",
                || {
                    let (vs, _m) = block(3, 64);
                    common::snapshot("params_3_64", &summary::param_table(&vs), false)
                },
            ),
            check(
                "parameter_count_any_size",
                1,
                "The second convolution maps out_channels to out_channels; both convolutions have a bias.",
                || {
                    for (i, o) in [(5i64, 7i64), (16, 8)] {
                        let (vs, _m) = block(i, o);
                        let expected = 9 * i * o + o + 2 * o + 9 * o * o + o + 2 * o;
                        let got = summary::count_trainable(&vs);
                        ensure!(got == expected, "DoubleConv({i}, {o}) should have {expected} trainable parameters, yours has {got}");
                    }
                    Ok(())
                },
            ),
            check(
                "output_shape",
                1,
                "Padding 1 keeps height and width; the channel count becomes out_channels.",
                || {
                    let (_vs, m) = block(3, 64);
                    expect_shape("DoubleConv(3, 64) on [2, 3, 32, 32]", &m.forward_t(&Tensor::zeros([2, 3, 32, 32], tch::kind::FLOAT_CPU), false), &[2, 64, 32, 32])?;
                    expect_shape("DoubleConv(3, 64) on [1, 3, 17, 23]", &m.forward_t(&common::fixed_input(&[1, 3, 17, 23], 1), true), &[1, 64, 17, 23])
                },
            ),
            check(
                "relu_output_non_negative",
                1,
                "The block must end with a ReLU, after the second batch norm.",
                || {
                    let (_vs, m) = block(3, 8);
                    for train in [true, false] {
                        let y = m.forward_t(&common::fixed_input(&[2, 3, 16, 16], 2), train);
                        let min = y.min().double_value(&[]);
                        let max = y.max().double_value(&[]);
                        ensure!(min >= 0.0, "output has negative values (min {min:.4}, train = {train}): is the last layer a ReLU?");
                        ensure!(max > 0.0, "output is all zeros (train = {train})");
                    }
                    Ok(())
                },
            ),
            check(
                "batchnorm_running_statistics",
                2,
                "Use se05::layers::batch_norm2d and pass `train` to forward_t of an nn::seq_t(); running statistics change only in training mode.",
                || {
                    let (vs, m) = block(3, 8);
                    let names = ["conv.1.running_mean", "conv.1.running_var", "conv.4.running_mean", "conv.4.running_var"];
                    let vars = vs.variables();
                    for n in names {
                        ensure!(vars.contains_key(n), "no buffer named {n}: is the batch norm at position 1 and 4 of `conv`?");
                        ensure!(!vars[n].requires_grad(), "{n} should be a running statistic, not a trainable parameter");
                    }
                    let before: Vec<Tensor> = names.iter().map(|n| vars[*n].copy()).collect();
                    let x = common::fixed_input(&[4, 3, 8, 8], 3) * 3.0 + 1.0;
                    let _ = m.forward_t(&x, false);
                    for (n, b) in names.iter().zip(&before) {
                        ensure!(vars[*n].equal(b), "{n} changed during an evaluation-mode forward (train = false)");
                    }
                    let _ = m.forward_t(&x, true);
                    for (n, b) in names.iter().zip(&before) {
                        ensure!(!vars[*n].equal(b), "{n} did not change during a training-mode forward (train = true)");
                    }
                    Ok(())
                },
            ),
            check(
                "pytorch_initialisation",
                1,
                "Build the layers with se05::layers::conv2d and se05::layers::batch_norm2d, which initialise as PyTorch does (tch's nn::conv2d does not).",
                || {
                    let (vs, _m) = block(4, 6);
                    let vars = vs.variables();
                    for bn in ["conv.1", "conv.4"] {
                        ensure!(vars[&format!("{bn}.weight")].eq(1.0).all().int64_value(&[]) == 1, "{bn}.weight should start at 1");
                        ensure!(vars[&format!("{bn}.bias")].eq(0.0).all().int64_value(&[]) == 1, "{bn}.bias should start at 0");
                    }
                    for (conv, fan_in) in [("conv.0", 4.0 * 9.0), ("conv.3", 6.0 * 9.0)] {
                        let bound = 1.0 / f64::sqrt(fan_in);
                        for part in ["weight", "bias"] {
                            let max = vars[&format!("{conv}.{part}")].abs().max().double_value(&[]);
                            ensure!(max <= bound + 1e-6 && max > 0.0, "{conv}.{part}: largest |value| is {max:.4}, PyTorch draws from ±{bound:.4}");
                        }
                    }
                    Ok(())
                },
            ),
            check(
                "matches_reference_output",
                1,
                "With the same weights your block must compute what the reference computes: conv → norm → relu → conv → norm → relu.",
                || {
                    let (vs, m) = block(3, 8);
                    summary::fill_deterministic(&vs, 6);
                    let x = common::fixed_input(&[2, 3, 12, 12], 4);
                    let eval = summary::fingerprint(&m.forward_t(&x, false));
                    let train = summary::fingerprint(&m.forward_t(&x, true));
                    common::snapshot("output_3_8", &format!("eval\n{eval}train\n{train}"), true)
                },
            ),
        ],
    )
}
