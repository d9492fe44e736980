//! Exercise 7 — Down (reference solution).
use crate::ex06_double_conv::DoubleConv;
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Halves the spatial size with max pooling, then applies a DoubleConv.
#[derive(Debug)]
pub struct Down {
    /// Max pooling (position 0) then DoubleConv (position 1).
    pub maxpool_conv: nn::SequentialT,
}

impl Down {
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> Down {
        let q = p / "maxpool_conv";
        let maxpool_conv = nn::seq_t()
            .add_fn(|x| x.max_pool2d_default(2))
            .add(DoubleConv::new(&(&q / 1), in_channels, out_channels));
        Down { maxpool_conv }
    }
}

impl ModuleT for Down {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.maxpool_conv.forward_t(xs, train)
    }
}
