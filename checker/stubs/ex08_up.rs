//! # Exercise 8 — the Up block (notebook §4.2)
//!
//! The decoder grows the maps back. One step:
//! 1. `up`: a transposed convolution from `in_channels` to `in_channels / 2` with a
//!    2×2 kernel and stride 2 — it doubles height and width
//!    (`se05::layers::conv_transpose2d`);
//! 2. pad the result with zeros until it is as large as the skip connection `x2`
//!    coming from the encoder. When the encoder met an odd size, max pooling
//!    dropped a row or column, so doubling does not get it back: split the missing
//!    rows as `diff / 2` before and `diff - diff / 2` after (same for columns);
//! 3. concatenate along the channel axis, the skip first: `[x2, upsampled]`;
//! 4. `conv`: a DoubleConv from `in_channels` to `out_channels`.
//!
//! Name the layers `p / "up"` and `p / "conv"`. Example: with `Up::new(p, 64, 32)`, an
//! input `x1` of shape [1, 64, 16, 16] and a skip `x2` of [1, 32, 33, 33] give
//! [1, 32, 33, 33].
//!
//! Useful: `Tensor::size()`, `Tensor::constant_pad_nd([left, right, top, bottom])`,
//! `Tensor::cat(&[a, b], 1)`, `nn::Module::forward`.
#![allow(unused_imports)]
use crate::ex06_double_conv::DoubleConv;
use se05::layers;
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// Upsample, join the skip connection, refine.
#[derive(Debug)]
pub struct Up {
    /// Transposed convolution: in_channels → in_channels / 2, kernel 2, stride 2.
    pub up: nn::ConvTranspose2D,
    /// DoubleConv: in_channels → out_channels.
    pub conv: DoubleConv,
}

impl Up {
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> Up {
        let _ = (p, in_channels, out_channels);
        todo!("Exercise 8: create `up` and `conv`")
    }

    /// `x1` comes from the layer below, `x2` is the skip connection from the encoder.
    pub fn forward_t(&self, x1: &Tensor, x2: &Tensor, train: bool) -> Tensor {
        let _ = (x1, x2, train);
        todo!("Exercise 8: upsample x1, pad it to x2's size, concatenate [x2, x1], apply conv")
    }
}
