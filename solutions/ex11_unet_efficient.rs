//! Exercise 11 — SmartUp and UNetEfficient (reference solution).
use crate::ex06_double_conv::DoubleConv;
use se05::layers;
use se05::models::{EfficientNetEncoder, ResolvedWeights, Variant, WeightsChoice, WeightsError};
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// Doubles the spatial size, resizes to the skip connection when needed, joins it and
/// mixes both.
#[derive(Debug)]
pub struct SmartUp {
    /// Transposed convolution: in_channels → skip_channels, kernel 2, stride 2.
    pub up: nn::ConvTranspose2D,
    /// DoubleConv: 2 · skip_channels → out_channels, applied to [skip, upsampled].
    pub conv: DoubleConv,
}

impl SmartUp {
    pub fn new(p: &nn::Path, in_channels: i64, skip_channels: i64, out_channels: i64) -> SmartUp {
        SmartUp {
            up: layers::conv_transpose2d(p / "up", in_channels, skip_channels, 2, 2),
            conv: DoubleConv::new(&(p / "conv"), 2 * skip_channels, out_channels),
        }
    }

    /// `x1` comes from the layer below, `x2` is the skip connection from the encoder.
    pub fn forward_t(&self, x1: &Tensor, x2: &Tensor, train: bool) -> Tensor {
        let mut x1 = self.up.forward(x1);
        let skip_hw = &x2.size()[2..];
        if x1.size()[2..] != *skip_hw {
            x1 = x1.upsample_bilinear2d(skip_hw, false, None, None);
        }
        let x = Tensor::cat(&[x2, &x1], 1);
        self.conv.forward_t(&x, train)
    }
}

/// A U-Net whose encoder is a frozen, pretrained EfficientNet.
#[derive(Debug)]
pub struct UNetEfficient {
    /// The eight EfficientNet stages; frozen by `new`.
    pub encoder: EfficientNetEncoder,
    /// Leave false: the encoder always runs in evaluation mode, so its BatchNorm
    /// statistics stay those learnt on ImageNet. True lets a training-mode forward
    /// update them (and use batch statistics), for comparison.
    pub update_encoder_bn_stats: bool,
    pub center: DoubleConv,
    pub up1: SmartUp,
    pub up2: SmartUp,
    pub up3: SmartUp,
    pub up4: SmartUp,
    pub outc: nn::Conv2D,
}

impl UNetEfficient {
    /// Channels of the five feature maps [`encode`](Self::encode) returns.
    pub const SKIP_CHANNELS: [i64; 5] = [16, 24, 40, 80, 320];

    /// Wraps `encoder` (built under `p / "encoder"`) into a U-Net whose decoder is
    /// created under `p`. The encoder is frozen.
    pub fn new(p: &nn::Path, encoder: EfficientNetEncoder, out_channels: i64) -> UNetEfficient {
        encoder.freeze();
        let [c1, c2, c3, c4, c5] = Self::SKIP_CHANNELS;
        UNetEfficient {
            encoder,
            update_encoder_bn_stats: false,
            center: DoubleConv::new(&(p / "center"), c5, 512),
            up1: SmartUp::new(&(p / "up1"), 512, c4, c4),
            up2: SmartUp::new(&(p / "up2"), c4, c3, c3),
            up3: SmartUp::new(&(p / "up3"), c3, c2, c2),
            up4: SmartUp::new(&(p / "up4"), c2, c1, c1),
            outc: layers::conv2d(p / "outc", c1, out_channels, 1, 0),
        }
    }

    /// (Provided.) A model whose encoder has random weights: no weights file needed.
    pub fn random(p: &nn::Path, variant: Variant, out_channels: i64) -> UNetEfficient {
        let encoder = EfficientNetEncoder::new(&(p / "encoder"), variant);
        UNetEfficient::new(p, encoder, out_channels)
    }

    /// (Provided.) A model whose encoder carries the weights `choice` resolves to
    /// (`WeightsChoice::Auto`: B0 if downloaded, else Lite0, else random, loudly).
    /// Print the returned description so the user knows which.
    pub fn pretrained(
        p: &nn::Path,
        choice: &WeightsChoice,
        out_channels: i64,
    ) -> Result<(UNetEfficient, ResolvedWeights), WeightsError> {
        let (encoder, weights) = EfficientNetEncoder::pretrained(&(p / "encoder"), choice)?;
        Ok((UNetEfficient::new(p, encoder, out_channels), weights))
    }

    /// The five encoder feature maps the decoder uses, from the finest to the
    /// coarsest: stages 0–1, 2, 3, 4 and 5–7 of the EfficientNet.
    pub fn encode(&self, xs: &Tensor, train: bool) -> [Tensor; 5] {
        let train = train && self.update_encoder_bn_stats;
        let x1 = self.encoder.forward_range(0..2, xs, train);
        let x2 = self.encoder.forward_stage(2, &x1, train);
        let x3 = self.encoder.forward_stage(3, &x2, train);
        let x4 = self.encoder.forward_stage(4, &x3, train);
        let x5 = self.encoder.forward_range(5..8, &x4, train);
        [x1, x2, x3, x4, x5]
    }
}

impl ModuleT for UNetEfficient {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let [x1, x2, x3, x4, x5] = self.encode(xs, train);
        let x = self.center.forward_t(&x5, train);
        let x = self.up1.forward_t(&x, &x4, train);
        let x = self.up2.forward_t(&x, &x3, train);
        let x = self.up3.forward_t(&x, &x2, train);
        let x = self.up4.forward_t(&x, &x1, train);
        let mut out = self.outc.forward(&x);
        let input_hw = &xs.size()[2..];
        if out.size()[2..] != *input_hw {
            out = out.upsample_bilinear2d(input_hw, false, None, None);
        }
        out.sigmoid()
    }
}
