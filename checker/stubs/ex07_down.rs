//! # Exercise 7 — the Down block (notebook §4.2)
//!
//! The encoder of a U-Net shrinks the image step by step while it grows the number
//! of feature maps. One step: a 2×2 max pooling (halves height and width; odd sizes
//! round down) followed by your DoubleConv from exercise 6.
//!
//! What the checks expect:
//! - a public field `maxpool_conv`: an `nn::SequentialT` with the pooling at
//!   position 0 and the DoubleConv at position 1;
//! - the DoubleConv created under `p / "maxpool_conv" / 1`, so its parameters are
//!   named `maxpool_conv.1.conv.0.weight`, ... as in PyTorch.
//!
//! Hint: `Tensor::max_pool2d_default(2)` pools with a 2×2 window and stride 2.
#![allow(unused_imports)]
use crate::ex06_double_conv::DoubleConv;
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Max pooling, then a DoubleConv.
#[derive(Debug)]
pub struct Down {
    /// Pooling (position 0) then DoubleConv (position 1).
    pub maxpool_conv: nn::SequentialT,
}

impl Down {
    /// A step mapping `in_channels` feature maps to `out_channels` at half the size.
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> Down {
        let _ = (p, in_channels, out_channels);
        todo!("Exercise 7: build `maxpool_conv`")
    }
}

impl ModuleT for Down {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let _ = (xs, train);
        todo!("Exercise 7: apply `maxpool_conv` to the input")
    }
}
