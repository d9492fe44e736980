//! # Exercise 6 — the DoubleConv block (notebook §4.2)
//!
//! Every stage of a U-Net refines its feature maps with the same little recipe,
//! applied twice: a 3×3 convolution (padding 1, so height and width stay put), a
//! batch normalisation, and a ReLU. Build that recipe here.
//!
//! What the checks expect:
//! - a public field `conv`: one `nn::SequentialT` holding the six layers in order
//!   conv → batch norm → relu → conv → batch norm → relu;
//! - each layer created under `p / "conv" / i`, where `i` is its position (0..=5),
//!   so the parameters are named `conv.0.weight`, `conv.1.running_mean`, ... exactly
//!   as PyTorch names them;
//! - layers made with `se05::layers` (`conv2d`, `batch_norm2d`), which start from
//!   the same random ranges as PyTorch, so your numbers compare with the notebook's;
//! - `forward_t` passing `train` on, so batch norm uses batch statistics in training
//!   and its running averages in evaluation.
//!
//! Run `cargo run --bin checker -- 6` after every change; `--hint 6` when stuck.
#![allow(unused_imports)]
use se05::layers;
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Two rounds of 3×3 convolution → batch normalisation → ReLU.
#[derive(Debug)]
pub struct DoubleConv {
    /// The six layers, in order, as one sequential block.
    pub conv: nn::SequentialT,
}

impl DoubleConv {
    /// A block mapping `in_channels` feature maps to `out_channels`.
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> DoubleConv {
        // Start from `nn::seq_t()` and `.add(...)` the layers; a ReLU has no
        // parameters and is added with `.add_fn(|x| x.relu())`.
        let _ = (p, in_channels, out_channels);
        todo!("Exercise 6: build the sequential block `conv`")
    }
}

impl ModuleT for DoubleConv {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let _ = (xs, train);
        todo!("Exercise 6: apply `conv` to the input")
    }
}
