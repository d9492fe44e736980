//! # Exercise 11 — a U-Net on a pretrained EfficientNet (notebook §5.4)
//!
//! Transfer learning: instead of learning an encoder from 720 images, borrow one that
//! learnt to see on ImageNet, keep it fixed, and train only a decoder on top of it.
//!
//! ## Part 1: `SmartUp`
//! Like your `Up` block, with two changes:
//! 1. `up`: a transposed convolution from `in_channels` to `skip_channels` (not
//!    `in_channels / 2`: the encoder's channel counts do not halve), 2×2 kernel,
//!    stride 2 (`se05::layers::conv_transpose2d`);
//! 2. when the upsampled map and the skip connection `x2` differ in height or width,
//!    resize the upsampled map to the skip's size by bilinear interpolation (with
//!    `align_corners = false`) instead of padding it;
//! 3. concatenate `[x2, upsampled]` along the channels and apply
//! 4. `conv`: a DoubleConv from `2 * skip_channels` to `out_channels`.
//!
//! Example: `SmartUp::new(p, 32, 16, 8)`, `x1` of shape [1, 32, 17, 17] (→ 34×34 after
//! `up`) and a skip of [1, 16, 35, 33] give [1, 8, 35, 33].
//!
//! ## Part 2: `UNetEfficient`
//! `new` receives an EfficientNet encoder already built (and, for training, already
//! loaded with pretrained weights) under `p / "encoder"`; see the provided
//! [`UNetEfficient::random`] and [`UNetEfficient::pretrained`]. Its eight stages are
//! grouped as the notebook groups them (`EfficientNetEncoder::forward_range` and
//! `forward_stage` run them):
//!
//! | map | stages | channels | size  |
//! |-----|--------|----------|-------|
//! | x1  | 0–1    | 16       | 1/2   |
//! | x2  | 2      | 24       | 1/4   |
//! | x3  | 3      | 40       | 1/8   |
//! | x4  | 4      | 80       | 1/16  |
//! | x5  | 5–7    | 320      | 1/32  |
//!
//! The decoder, each part under `p / "<field name>"`:
//! - `center`: DoubleConv 320 → 512;
//! - `up1`: SmartUp(512, 80, 80) with skip x4; `up2`: (80, 40, 40) with x3;
//!   `up3`: (40, 24, 24) with x2; `up4`: (24, 16, 16) with x1;
//! - `outc`: 1×1 convolution (padding 0) 16 → `out_channels`;
//! - the output is 1/2 of the input's size: resize it bilinearly (align_corners =
//!   false) to the input's height and width whenever they differ, then apply a sigmoid.
//!
//! Freezing, in two parts:
//! - the encoder's parameters must not get gradients (`EfficientNetEncoder::freeze`), so
//!   the optimiser leaves them alone;
//! - its BatchNorm running statistics must not move either: they describe ImageNet
//!   features and the frozen weights rely on them. Run the encoder with `train = false`
//!   always, unless the public flag `update_encoder_bn_stats` is set (then it follows
//!   the model's `train`), which exists to compare both behaviours.
//!
//! This is stricter than the notebook, on purpose. The notebook only sets
//! `requires_grad = False` on the encoder and then trains the whole model under
//! `model.train()`: its encoder's BatchNorm layers normalise with batch statistics and
//! keep moving their running statistics towards the lesion images, and EfficientNet's
//! stochastic depth (dropping residual branches at random) stays active in the encoder.
//! Setting `update_encoder_bn_stats = true` reproduces the notebook's behaviour; the
//! default `false` keeps the whole encoder in evaluation mode.
//!
//! The decoder alone has 4,258,545 trainable parameters.
//!
//! Run `cargo run --bin checker -- 11` after every change; `--hint 11` when stuck.
#![allow(unused_imports)]
use crate::ex06_double_conv::DoubleConv;
use se05::layers;
use se05::models::{EfficientNetEncoder, ResolvedWeights, Variant, WeightsChoice, WeightsError};
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// Upsample, match the skip connection's size, join it, refine.
#[derive(Debug)]
pub struct SmartUp {
    /// Transposed convolution: in_channels → skip_channels, kernel 2, stride 2.
    pub up: nn::ConvTranspose2D,
    /// DoubleConv: 2 · skip_channels → out_channels.
    pub conv: DoubleConv,
}

impl SmartUp {
    pub fn new(p: &nn::Path, in_channels: i64, skip_channels: i64, out_channels: i64) -> SmartUp {
        let _ = (p, in_channels, skip_channels, out_channels);
        todo!("Exercise 11: create `up` and `conv`")
    }

    /// `x1` comes from the layer below, `x2` is the skip connection from the encoder.
    pub fn forward_t(&self, x1: &Tensor, x2: &Tensor, train: bool) -> Tensor {
        // Useful: `Tensor::size()`, `Tensor::upsample_bilinear2d(size, false, None, None)`,
        // `Tensor::cat(&[a, b], 1)`.
        let _ = (x1, x2, train);
        todo!("Exercise 11: upsample x1, resize it to x2's size if needed, concatenate [x2, x1], apply conv")
    }
}

/// A U-Net whose encoder is a frozen, pretrained EfficientNet.
#[derive(Debug)]
pub struct UNetEfficient {
    /// The eight EfficientNet stages, frozen.
    pub encoder: EfficientNetEncoder,
    /// False (the default): the encoder runs in evaluation mode even while training.
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
    /// created under `p`. Freeze the encoder here.
    pub fn new(p: &nn::Path, encoder: EfficientNetEncoder, out_channels: i64) -> UNetEfficient {
        let _ = (p, encoder, out_channels);
        todo!("Exercise 11: freeze the encoder, create center, up1..up4 and outc")
    }

    /// (Provided, keep as is.) A model whose encoder has random weights: no weights
    /// file needed.
    pub fn random(p: &nn::Path, variant: Variant, out_channels: i64) -> UNetEfficient {
        let encoder = EfficientNetEncoder::new(&(p / "encoder"), variant);
        UNetEfficient::new(p, encoder, out_channels)
    }

    /// (Provided, keep as is.) A model whose encoder carries the weights `choice`
    /// resolves to (`WeightsChoice::Auto`: B0 if downloaded, else Lite0, else random,
    /// loudly). Print the returned description so the user knows which.
    pub fn pretrained(
        p: &nn::Path,
        choice: &WeightsChoice,
        out_channels: i64,
    ) -> Result<(UNetEfficient, ResolvedWeights), WeightsError> {
        let (encoder, weights) = EfficientNetEncoder::pretrained(&(p / "encoder"), choice)?;
        Ok((UNetEfficient::new(p, encoder, out_channels), weights))
    }

    /// The five encoder feature maps x1 … x5 of the table above, finest first.
    /// `train` is the model's mode; the encoder itself runs in training mode only if
    /// `update_encoder_bn_stats` is set.
    pub fn encode(&self, xs: &Tensor, train: bool) -> [Tensor; 5] {
        let _ = (xs, train);
        todo!("Exercise 11: run the encoder's stages in five groups")
    }
}

impl ModuleT for UNetEfficient {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let _ = (xs, train);
        todo!("Exercise 11: encode, center, up1..up4 with skips, outc, resize, sigmoid")
    }
}
