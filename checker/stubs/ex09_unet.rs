//! # Exercise 9 — the U-Net (notebook §4.2)
//!
//! Put your blocks together into the full network:
//!
//! | field          | block                       | channels            |
//! |----------------|-----------------------------|---------------------|
//! | `inc`          | DoubleConv                  | in_channels → 64    |
//! | `down1..down4` | Down                        | 64→128→256→512→1024 |
//! | `up1..up4`     | Up                          | 1024→512→256→128→64 |
//! | `outc`         | 1×1 convolution, padding 0  | 64 → out_channels   |
//!
//! In `forward_t` keep each encoder output (x1 … x5) and hand them to the decoder as
//! skip connections: up1(x5, x4), up2(·, x3), up3(·, x2), up4(·, x1). Finish with a
//! sigmoid so every output pixel is a probability of "lesion".
//!
//! Create each block under `p / "<field name>"`. `UNet::new(p, 3, 1)` has
//! 31,043,521 trainable parameters.
#![allow(unused_imports)]
use crate::ex06_double_conv::DoubleConv;
use crate::ex07_down::Down;
use crate::ex08_up::Up;
use se05::layers;
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// Encoder, decoder with skip connections, 1×1 output convolution, sigmoid.
#[derive(Debug)]
pub struct UNet {
    pub inc: DoubleConv,
    pub down1: Down,
    pub down2: Down,
    pub down3: Down,
    pub down4: Down,
    pub up1: Up,
    pub up2: Up,
    pub up3: Up,
    pub up4: Up,
    pub outc: nn::Conv2D,
}

impl UNet {
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> UNet {
        let _ = (p, in_channels, out_channels);
        todo!("Exercise 9: create the ten blocks of the U-Net")
    }
}

impl ModuleT for UNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let _ = (xs, train);
        todo!("Exercise 9: encoder, decoder with skips, outc, sigmoid")
    }
}
