//! Exercise 9 — U-Net (reference solution).
use crate::ex06_double_conv::DoubleConv;
use crate::ex07_down::Down;
use crate::ex08_up::Up;
use se05::layers;
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// The U-Net of Ronneberger et al. with padded convolutions and a sigmoid output.
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
        UNet {
            inc: DoubleConv::new(&(p / "inc"), in_channels, 64),
            down1: Down::new(&(p / "down1"), 64, 128),
            down2: Down::new(&(p / "down2"), 128, 256),
            down3: Down::new(&(p / "down3"), 256, 512),
            down4: Down::new(&(p / "down4"), 512, 1024),
            up1: Up::new(&(p / "up1"), 1024, 512),
            up2: Up::new(&(p / "up2"), 512, 256),
            up3: Up::new(&(p / "up3"), 256, 128),
            up4: Up::new(&(p / "up4"), 128, 64),
            outc: layers::conv2d(p / "outc", 64, out_channels, 1, 0),
        }
    }
}

impl ModuleT for UNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let x1 = self.inc.forward_t(xs, train);
        let x2 = self.down1.forward_t(&x1, train);
        let x3 = self.down2.forward_t(&x2, train);
        let x4 = self.down3.forward_t(&x3, train);
        let x5 = self.down4.forward_t(&x4, train);
        let x = self.up1.forward_t(&x5, &x4, train);
        let x = self.up2.forward_t(&x, &x3, train);
        let x = self.up3.forward_t(&x, &x2, train);
        let x = self.up4.forward_t(&x, &x1, train);
        self.outc.forward(&x).sigmoid()
    }
}
