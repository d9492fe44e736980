//! Layer constructors initialised the way PyTorch initialises them.
//!
//! tch's defaults differ from PyTorch's (BatchNorm weight U(0,1) instead of 1, conv
//! weights Kaiming with gain √2, conv bias 0). The workshop compares its figures with
//! the notebook's, so students build their layers with these functions, which play
//! the part of `torch.nn.Conv2d`, `ConvTranspose2d`, `BatchNorm2d` and `Linear`.
use tch::nn::{self, Init};

/// PyTorch's default bound for weights and biases: U(−1/√fan_in, 1/√fan_in).
fn pytorch_uniform(fan_in: i64) -> Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// `torch.nn.Conv2d(in, out, kernel, stride=1, padding)` with a bias.
pub fn conv2d(
    p: nn::Path,
    in_channels: i64,
    out_channels: i64,
    kernel: i64,
    padding: i64,
) -> nn::Conv2D {
    conv2d_with(
        p,
        in_channels,
        out_channels,
        kernel,
        nn::ConvConfig {
            padding,
            ..Default::default()
        },
    )
}

/// `torch.nn.Conv2d` with a full configuration (stride, groups, bias, ...); only the
/// initialisation in `config` is replaced by PyTorch's.
pub fn conv2d_with(
    p: nn::Path,
    in_channels: i64,
    out_channels: i64,
    kernel: i64,
    config: nn::ConvConfig,
) -> nn::Conv2D {
    let init = pytorch_uniform(in_channels / config.groups * kernel * kernel);
    nn::conv2d(
        p,
        in_channels,
        out_channels,
        kernel,
        nn::ConvConfig {
            ws_init: init,
            bs_init: init,
            ..config
        },
    )
}

/// `torch.nn.ConvTranspose2d(in, out, kernel, stride)` with a bias. PyTorch takes the
/// fan-in of a transposed convolution from the weight's second dimension (out).
pub fn conv_transpose2d(
    p: nn::Path,
    in_channels: i64,
    out_channels: i64,
    kernel: i64,
    stride: i64,
) -> nn::ConvTranspose2D {
    let init = pytorch_uniform(out_channels * kernel * kernel);
    let config = nn::ConvTransposeConfig {
        stride,
        ws_init: init,
        bs_init: init,
        ..Default::default()
    };
    nn::conv_transpose2d(p, in_channels, out_channels, kernel, config)
}

/// `torch.nn.BatchNorm2d(channels)`: weight 1, bias 0, eps 1e-5, momentum 0.1.
pub fn batch_norm2d(p: nn::Path, channels: i64) -> nn::BatchNorm {
    batch_norm2d_with(p, channels, 1e-5, 0.1)
}

/// `torch.nn.BatchNorm2d(channels, eps, momentum)` with PyTorch's initial values.
pub fn batch_norm2d_with(p: nn::Path, channels: i64, eps: f64, momentum: f64) -> nn::BatchNorm {
    let config = nn::BatchNormConfig {
        eps,
        momentum,
        ws_init: Init::Const(1.0),
        bs_init: Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, channels, config)
}

/// `torch.nn.Linear(in, out)` with a bias.
pub fn linear(p: nn::Path, in_features: i64, out_features: i64) -> nn::Linear {
    let init = pytorch_uniform(in_features);
    nn::linear(
        p,
        in_features,
        out_features,
        nn::LinearConfig {
            ws_init: init,
            bs_init: Some(init),
            bias: true,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device, Kind};

    fn max_abs(vs: &VarStore, name: &str) -> f64 {
        vs.variables()[name].abs().max().double_value(&[])
    }

    #[test]
    fn conv_weights_and_bias_within_pytorch_bound() {
        let vs = VarStore::new(Device::Cpu);
        let _ = conv2d(vs.root() / "c", 8, 16, 3, 1);
        let bound = 1.0 / (8.0f64 * 9.0).sqrt();
        assert!(max_abs(&vs, "c.weight") <= bound);
        assert!(max_abs(&vs, "c.bias") <= bound);
        assert!(
            max_abs(&vs, "c.weight") > bound * 0.9,
            "weights should spread over the bound"
        );
    }

    #[test]
    fn transposed_conv_uses_output_channels_for_fan_in() {
        let vs = VarStore::new(Device::Cpu);
        let _ = conv_transpose2d(vs.root() / "t", 64, 4, 2, 2);
        assert_eq!(vs.variables()["t.weight"].size(), vec![64, 4, 2, 2]);
        assert!(max_abs(&vs, "t.weight") <= 1.0 / 16f64.sqrt());
        assert!(
            max_abs(&vs, "t.weight") > 0.2,
            "fan-in is out*k*k = 16, not in*k*k = 256"
        );
    }

    #[test]
    fn batch_norm_starts_at_identity() {
        let vs = VarStore::new(Device::Cpu);
        let _ = batch_norm2d(vs.root() / "bn", 5);
        let vars = vs.variables();
        assert!(vars["bn.weight"].eq(1.0).all().int64_value(&[]) == 1);
        assert!(vars["bn.bias"].eq(0.0).all().int64_value(&[]) == 1);
        assert_eq!(vars["bn.running_var"].kind(), Kind::Float);
    }
}
