//! Exercise 6 — DoubleConv (reference solution).
use se05::layers;
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Two rounds of 3×3 convolution → batch normalisation → ReLU.
#[derive(Debug)]
pub struct DoubleConv {
    /// The six layers in order: conv, norm, relu, conv, norm, relu.
    pub conv: nn::SequentialT,
}

impl DoubleConv {
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> DoubleConv {
        let q = p / "conv";
        let conv = nn::seq_t()
            .add(layers::conv2d(&q / 0, in_channels, out_channels, 3, 1))
            .add(layers::batch_norm2d(&q / 1, out_channels))
            .add_fn(|x| x.relu())
            .add(layers::conv2d(&q / 3, out_channels, out_channels, 3, 1))
            .add(layers::batch_norm2d(&q / 4, out_channels))
            .add_fn(|x| x.relu());
        DoubleConv { conv }
    }
}

impl ModuleT for DoubleConv {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.conv.forward_t(xs, train)
    }
}
