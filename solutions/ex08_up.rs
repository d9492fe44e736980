//! Exercise 8 — Up (reference solution).
use crate::ex06_double_conv::DoubleConv;
use se05::layers;
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// Doubles the spatial size, joins the encoder's skip connection and mixes both.
#[derive(Debug)]
pub struct Up {
    /// Transposed convolution: in_channels → in_channels / 2, kernel 2, stride 2.
    pub up: nn::ConvTranspose2D,
    /// DoubleConv: in_channels → out_channels, applied to [skip, upsampled].
    pub conv: DoubleConv,
}

impl Up {
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> Up {
        Up {
            up: layers::conv_transpose2d(p / "up", in_channels, in_channels / 2, 2, 2),
            conv: DoubleConv::new(&(p / "conv"), in_channels, out_channels),
        }
    }

    /// `x1` comes from the layer below, `x2` is the skip connection from the encoder.
    pub fn forward_t(&self, x1: &Tensor, x2: &Tensor, train: bool) -> Tensor {
        let x1 = self.up.forward(x1);
        let diff_y = x2.size()[2] - x1.size()[2];
        let diff_x = x2.size()[3] - x1.size()[3];
        let x1 = x1.constant_pad_nd([
            diff_x / 2,
            diff_x - diff_x / 2,
            diff_y / 2,
            diff_y - diff_y / 2,
        ]);
        let x = Tensor::cat(&[x2, &x1], 1);
        self.conv.forward_t(&x, train)
    }
}
