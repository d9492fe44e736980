//! EfficientNet-B0 and EfficientNet-Lite0 feature extractors.
//!
//! Both are laid out like torchvision's `efficientnet_b0().features[0..8]`, with the
//! same variable names, so torchvision's state dict loads by name:
//!
//! | stage | content                         | channels | resolution |
//! |-------|---------------------------------|----------|------------|
//! | 0     | 3×3 conv, stride 2 (the stem)   | 32       | /2         |
//! | 1     | 1 MBConv, k3, expand 1          | 16       | /2         |
//! | 2     | 2 MBConv, k3, expand 6          | 24       | /4         |
//! | 3     | 2 MBConv, k5, expand 6          | 40       | /8         |
//! | 4     | 3 MBConv, k3, expand 6          | 80       | /16        |
//! | 5     | 3 MBConv, k5, expand 6          | 112      | /16        |
//! | 6     | 4 MBConv, k5, expand 6          | 192      | /32        |
//! | 7     | 1 MBConv, k3, expand 6          | 320      | /32        |
//!
//! Names: `features.0.0.weight` (stem conv), `features.0.1.{weight,bias,running_mean,
//! running_var}` (stem BatchNorm), `features.S.J.block.K.0.weight` / `.K.1.*` for the
//! K-th conv+BatchNorm of block J of stage S, and `features.S.J.block.K.fc1/fc2.*` for
//! B0's squeeze-excitation. In a block with expansion, K runs expand, depthwise, (SE),
//! project; without expansion (stage 1) it starts at the depthwise conv. Lite0 has no
//! squeeze-excitation, so its project conv sits one index lower than B0's.
//!
//! | variant | activation | squeeze-excitation | BatchNorm eps / momentum | padding          |
//! |---------|------------|--------------------|--------------------------|------------------|
//! | B0      | SiLU       | yes                | 1e-5 / 0.1               | symmetric (k−1)/2 |
//! | Lite0   | ReLU6      | no                 | 1e-3 / 0.01              | TensorFlow "same" |
//!
//! TensorFlow "same" padding (Lite0's weights were trained with it) pads
//! `max((⌈n/s⌉−1)·s + k − n, 0)` in total, the smaller half before and the larger after,
//! computed from each input's size.
//!
//! In train mode the residual branch of each block is dropped per sample with
//! probability `0.2 · b / 16` (b = index of the block, 0…15), as torchvision does.

use std::ops::Range;

use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Which EfficientNet flavour to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// torchvision's `efficientnet_b0` (SiLU, squeeze-excitation).
    B0,
    /// EfficientNet-Lite0 (ReLU6, no squeeze-excitation, TF "same" padding).
    Lite0,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::B0 => "EfficientNet-B0",
            Variant::Lite0 => "EfficientNet-Lite0",
        }
    }

    pub fn bn_eps(self) -> f64 {
        match self {
            Variant::B0 => 1e-5,
            Variant::Lite0 => 1e-3,
        }
    }

    pub fn bn_momentum(self) -> f64 {
        match self {
            Variant::B0 => 0.1,
            Variant::Lite0 => 0.01,
        }
    }
}

/// Output channels of stages 0–7.
pub const STAGE_CHANNELS: [i64; 8] = [32, 16, 24, 40, 80, 112, 192, 320];
/// Spatial reduction of stages 0–7 relative to the input.
pub const STAGE_REDUCTION: [i64; 8] = [2, 2, 4, 8, 16, 16, 32, 32];
/// Number of MBConv blocks in stages 1–7.
pub const BLOCKS_PER_STAGE: [usize; 7] = [1, 2, 2, 3, 3, 4, 1];
/// Trainable parameters of B0's `features[0..8]` (torchvision counts the same).
pub const B0_ENCODER_PARAMS: i64 = 3_595_388;
/// Drop probability of the last block's residual branch in train mode.
pub const STOCHASTIC_DEPTH_PROB: f64 = 0.2;

/// (expand ratio, kernel, stride of the first block) of stages 1–7.
const STAGE_SHAPE: [(i64, i64, i64); 7] = [
    (1, 3, 1),
    (6, 3, 2),
    (6, 5, 2),
    (6, 3, 2),
    (6, 5, 1),
    (6, 5, 2),
    (6, 3, 1),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    None,
    Silu,
    Relu6,
}

impl Activation {
    fn apply(self, x: Tensor) -> Tensor {
        match self {
            Activation::None => x,
            Activation::Silu => x.silu(),
            Activation::Relu6 => x.clamp(0.0, 6.0),
        }
    }
}

/// Collects the encoder's variables under torchvision's names (relative to the
/// encoder's path), in creation order, for loading and saving checkpoints.
#[derive(Default)]
struct TorchvisionNames {
    params: Vec<(String, Tensor)>,
    buffers: Vec<(String, Tensor)>,
}

fn join(prefix: &[String], leaf: &str) -> String {
    let mut s = prefix.join(".");
    s.push('.');
    s.push_str(leaf);
    s
}

/// The shape of one [`ConvBnAct`]: channels, kernel, stride, groups, activation.
#[derive(Debug, Clone, Copy)]
struct ConvSpec {
    c_in: i64,
    c_out: i64,
    kernel: i64,
    stride: i64,
    groups: i64,
    act: Activation,
}

/// The shape of one [`MBConv`] block and its stochastic-depth probability.
#[derive(Debug, Clone, Copy)]
struct MBConvSpec {
    c_in: i64,
    c_out: i64,
    expand_ratio: i64,
    kernel: i64,
    stride: i64,
    drop_prob: f64,
}

/// Conv (no bias) + BatchNorm + activation, torchvision's `Conv2dNormActivation`.
#[derive(Debug)]
pub struct ConvBnAct {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    act: Activation,
    kernel: i64,
    stride: i64,
    tf_same: bool,
}

impl ConvBnAct {
    fn new(
        p: &nn::Path,
        names: &[String],
        reg: &mut TorchvisionNames,
        variant: Variant,
        spec: ConvSpec,
    ) -> Self {
        let ConvSpec {
            c_in,
            c_out,
            kernel,
            stride,
            groups,
            act,
        } = spec;
        let tf_same = variant == Variant::Lite0;
        let cfg = nn::ConvConfig {
            stride,
            padding: if tf_same { 0 } else { (kernel - 1) / 2 },
            groups,
            bias: false,
            ws_init: nn::Init::Kaiming {
                dist: nn::init::NormalOrUniform::Normal,
                fan: nn::init::FanInOut::FanOut,
                non_linearity: nn::init::NonLinearity::ReLU,
            },
            ..Default::default()
        };
        let conv = nn::conv2d(p / "0", c_in, c_out, kernel, cfg);
        let bn_cfg = nn::BatchNormConfig {
            eps: variant.bn_eps(),
            momentum: variant.bn_momentum(),
            ws_init: nn::Init::Const(1.0),
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        };
        let bn = nn::batch_norm2d(p / "1", c_out, bn_cfg);
        let conv_name = [names, &["0".to_string()]].concat();
        let bn_name = [names, &["1".to_string()]].concat();
        reg.params
            .push((join(&conv_name, "weight"), conv.ws.shallow_clone()));
        if let Some(w) = &bn.ws {
            reg.params
                .push((join(&bn_name, "weight"), w.shallow_clone()));
        }
        if let Some(b) = &bn.bs {
            reg.params.push((join(&bn_name, "bias"), b.shallow_clone()));
        }
        reg.buffers.push((
            join(&bn_name, "running_mean"),
            bn.running_mean.shallow_clone(),
        ));
        reg.buffers.push((
            join(&bn_name, "running_var"),
            bn.running_var.shallow_clone(),
        ));
        ConvBnAct {
            conv,
            bn,
            act,
            kernel,
            stride,
            tf_same,
        }
    }
}

/// TensorFlow "same" padding of a (N, C, H, W) tensor for a kernel and stride.
pub fn pad_same(x: &Tensor, kernel: i64, stride: i64) -> Tensor {
    let size = x.size();
    let (h, w) = (size[size.len() - 2], size[size.len() - 1]);
    let total = |n: i64| {
        let out = (n + stride - 1) / stride;
        ((out - 1) * stride + kernel - n).max(0)
    };
    let (ph, pw) = (total(h), total(w));
    if ph == 0 && pw == 0 {
        return x.shallow_clone();
    }
    x.constant_pad_nd([pw / 2, pw - pw / 2, ph / 2, ph - ph / 2])
}

impl ModuleT for ConvBnAct {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = if self.tf_same {
            pad_same(x, self.kernel, self.stride).apply(&self.conv)
        } else {
            x.apply(&self.conv)
        };
        self.act.apply(y.apply_t(&self.bn, train))
    }
}

/// Squeeze-excitation: global average → 1×1 conv → SiLU → 1×1 conv → sigmoid → scale.
#[derive(Debug)]
pub struct SqueezeExcitation {
    fc1: nn::Conv2D,
    fc2: nn::Conv2D,
}

impl SqueezeExcitation {
    fn new(
        p: &nn::Path,
        names: &[String],
        reg: &mut TorchvisionNames,
        channels: i64,
        squeeze: i64,
    ) -> Self {
        let cfg = nn::ConvConfig {
            ws_init: nn::Init::Kaiming {
                dist: nn::init::NormalOrUniform::Normal,
                fan: nn::init::FanInOut::FanOut,
                non_linearity: nn::init::NonLinearity::ReLU,
            },
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        };
        let fc1 = nn::conv2d(p / "fc1", channels, squeeze, 1, cfg);
        let fc2 = nn::conv2d(p / "fc2", squeeze, channels, 1, cfg);
        for (leaf, conv) in [("fc1", &fc1), ("fc2", &fc2)] {
            let n = [names, &[leaf.to_string()]].concat();
            reg.params
                .push((join(&n, "weight"), conv.ws.shallow_clone()));
            if let Some(b) = &conv.bs {
                reg.params.push((join(&n, "bias"), b.shallow_clone()));
            }
        }
        SqueezeExcitation { fc1, fc2 }
    }
}

impl nn::Module for SqueezeExcitation {
    fn forward(&self, x: &Tensor) -> Tensor {
        let s = x
            .adaptive_avg_pool2d([1, 1])
            .apply(&self.fc1)
            .silu()
            .apply(&self.fc2)
            .sigmoid();
        x * s
    }
}

/// Inverted residual block (MBConv): expand 1×1 → depthwise k×k → (SE) → project 1×1,
/// plus the input when the shape is kept.
#[derive(Debug)]
pub struct MBConv {
    expand: Option<ConvBnAct>,
    depthwise: ConvBnAct,
    se: Option<SqueezeExcitation>,
    project: ConvBnAct,
    residual: bool,
    drop_prob: f64,
}

impl MBConv {
    fn new(
        p: &nn::Path,
        names: &[String],
        reg: &mut TorchvisionNames,
        variant: Variant,
        spec: MBConvSpec,
    ) -> Self {
        let MBConvSpec {
            c_in,
            c_out,
            expand_ratio,
            kernel,
            stride,
            drop_prob,
        } = spec;
        let p = p / "block";
        let names = [names, &["block".to_string()]].concat();
        let act = match variant {
            Variant::B0 => Activation::Silu,
            Variant::Lite0 => Activation::Relu6,
        };
        let hidden = c_in * expand_ratio;
        let mut k = 0usize;
        let next = |k: &mut usize| {
            let i = *k;
            *k += 1;
            (&p / i, [names.as_slice(), &[i.to_string()]].concat())
        };
        let expand = (expand_ratio != 1).then(|| {
            let (pp, nn_) = next(&mut k);
            let spec = ConvSpec {
                c_in,
                c_out: hidden,
                kernel: 1,
                stride: 1,
                groups: 1,
                act,
            };
            ConvBnAct::new(&pp, &nn_, reg, variant, spec)
        });
        let (pp, nn_) = next(&mut k);
        let depthwise = ConvBnAct::new(
            &pp,
            &nn_,
            reg,
            variant,
            ConvSpec {
                c_in: hidden,
                c_out: hidden,
                kernel,
                stride,
                groups: hidden,
                act,
            },
        );
        let se = (variant == Variant::B0).then(|| {
            let (pp, nn_) = next(&mut k);
            SqueezeExcitation::new(&pp, &nn_, reg, hidden, (c_in / 4).max(1))
        });
        let (pp, nn_) = next(&mut k);
        let project = ConvBnAct::new(
            &pp,
            &nn_,
            reg,
            variant,
            ConvSpec {
                c_in: hidden,
                c_out,
                kernel: 1,
                stride: 1,
                groups: 1,
                act: Activation::None,
            },
        );
        MBConv {
            expand,
            depthwise,
            se,
            project,
            residual: stride == 1 && c_in == c_out,
            drop_prob,
        }
    }
}

/// Drops whole samples of `x` with probability `p` and rescales the survivors
/// (torchvision's `stochastic_depth`, mode "row").
pub fn stochastic_depth(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    let survival = 1.0 - p;
    let mut shape = vec![1i64; x.dim()];
    shape[0] = x.size()[0];
    let noise = Tensor::empty(shape.as_slice(), (x.kind(), x.device())).bernoulli_float_(survival);
    let noise = if survival > 0.0 {
        noise / survival
    } else {
        noise
    };
    x * noise
}

impl ModuleT for MBConv {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = match &self.expand {
            Some(e) => e.forward_t(x, train),
            None => x.shallow_clone(),
        };
        h = self.depthwise.forward_t(&h, train);
        if let Some(se) = &self.se {
            h = h.apply(se);
        }
        h = self.project.forward_t(&h, train);
        if self.residual {
            stochastic_depth(&h, self.drop_prob, train) + x
        } else {
            h
        }
    }
}

/// One of the eight `features` stages.
#[derive(Debug)]
pub enum Stage {
    /// Stage 0: the stride-2 3×3 conv stem.
    Stem(Box<ConvBnAct>),
    /// Stages 1–7: a sequence of MBConv blocks.
    Blocks(Vec<MBConv>),
}

impl ModuleT for Stage {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Stage::Stem(c) => c.forward_t(x, train),
            Stage::Blocks(blocks) => {
                let mut h = x.shallow_clone();
                for b in blocks {
                    h = b.forward_t(&h, train);
                }
                h
            }
        }
    }
}

/// The eight `features` stages of EfficientNet-B0 or -Lite0 (no classifier head).
///
/// ```no_run
/// use se05::models::{EfficientNetEncoder, Variant};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let enc = EfficientNetEncoder::new(&(vs.root() / "encoder"), Variant::B0);
/// let x = Tensor::zeros([1, 3, 64, 64], (Kind::Float, Device::Cpu));
/// let skip = enc.forward_range(0..2, &x, false); // 16 × 32 × 32
/// let deep = enc.forward_range(2..4, &skip, false); // 40 × 8 × 8
/// ```
#[derive(Debug)]
pub struct EfficientNetEncoder {
    variant: Variant,
    stages: Vec<Stage>,
    params: Vec<(String, Tensor)>,
    buffers: Vec<(String, Tensor)>,
}

impl EfficientNetEncoder {
    /// Creates the encoder's variables under `p` (as `p/features/...`), initialised as
    /// torchvision does: conv weights N(0, 2/fan_out), conv biases 0, BatchNorm weight 1,
    /// bias 0, running mean 0, running variance 1.
    pub fn new(p: &nn::Path, variant: Variant) -> Self {
        let mut reg = TorchvisionNames::default();
        let f = p / "features";
        let act = match variant {
            Variant::B0 => Activation::Silu,
            Variant::Lite0 => Activation::Relu6,
        };
        let names =
            |parts: &[&dyn ToString]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let stem = ConvBnAct::new(
            &(&f / 0),
            &names(&[&"features", &0]),
            &mut reg,
            variant,
            ConvSpec {
                c_in: 3,
                c_out: STAGE_CHANNELS[0],
                kernel: 3,
                stride: 2,
                groups: 1,
                act,
            },
        );
        let mut stages = vec![Stage::Stem(Box::new(stem))];
        let total_blocks: usize = BLOCKS_PER_STAGE.iter().sum();
        let mut block_id = 0usize;
        for s in 1..8 {
            let (expand, kernel, stride) = STAGE_SHAPE[s - 1];
            let mut blocks = Vec::new();
            for j in 0..BLOCKS_PER_STAGE[s - 1] {
                let c_in = if j == 0 {
                    STAGE_CHANNELS[s - 1]
                } else {
                    STAGE_CHANNELS[s]
                };
                let stride = if j == 0 { stride } else { 1 };
                let drop = STOCHASTIC_DEPTH_PROB * block_id as f64 / total_blocks as f64;
                blocks.push(MBConv::new(
                    &(&f / s / j),
                    &names(&[&"features", &s, &j]),
                    &mut reg,
                    variant,
                    MBConvSpec {
                        c_in,
                        c_out: STAGE_CHANNELS[s],
                        expand_ratio: expand,
                        kernel,
                        stride,
                        drop_prob: drop,
                    },
                ));
                block_id += 1;
            }
            stages.push(Stage::Blocks(blocks));
        }
        EfficientNetEncoder {
            variant,
            stages,
            params: reg.params,
            buffers: reg.buffers,
        }
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The outputs of all eight stages, each fed to the next.
    pub fn forward_stages(&self, x: &Tensor, train: bool) -> Vec<Tensor> {
        let mut outs: Vec<Tensor> = Vec::with_capacity(8);
        for stage in &self.stages {
            let y = stage.forward_t(outs.last().unwrap_or(x), train);
            outs.push(y);
        }
        outs
    }

    /// Runs stage `i` (0–7) alone.
    pub fn forward_stage(&self, i: usize, x: &Tensor, train: bool) -> Tensor {
        self.stages[i].forward_t(x, train)
    }

    /// Runs the stages in `range` one after the other (`0..2` is the notebook's `inc`,
    /// `5..8` its `down4`).
    pub fn forward_range(&self, range: Range<usize>, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for stage in &self.stages[range] {
            h = stage.forward_t(&h, train);
        }
        h
    }

    /// Stage `i` as a module.
    pub fn stage(&self, i: usize) -> &dyn ModuleT {
        &self.stages[i]
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Gives the stages away, e.g. to place them into `nn::seq_t()` containers.
    pub fn into_stages(self) -> Vec<Stage> {
        self.stages
    }

    /// Trainable tensors (conv weights and biases, BatchNorm weights and biases), named
    /// relative to the encoder's path (`features.0.0.weight`, ...).
    pub fn named_parameters(&self) -> &[(String, Tensor)] {
        &self.params
    }

    /// BatchNorm running means and variances, named like the parameters.
    pub fn named_buffers(&self) -> &[(String, Tensor)] {
        &self.buffers
    }

    /// Parameters and buffers: everything a state dict holds for the encoder.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .chain(&self.buffers)
            .map(|(n, t)| (n.clone(), t.shallow_clone()))
            .collect()
    }

    /// Number of parameter elements (3,595,388 for B0).
    pub fn num_params(&self) -> i64 {
        self.params.iter().map(|(_, t)| t.numel() as i64).sum()
    }

    /// Stops gradients for every encoder parameter (the optimizer then leaves them alone).
    /// BatchNorm running statistics are frozen separately: call the encoder with
    /// `train = false`.
    pub fn freeze(&self) {
        self.set_requires_grad(false)
    }

    /// Undoes [`freeze`](Self::freeze).
    pub fn unfreeze(&self) {
        self.set_requires_grad(true)
    }

    pub fn set_requires_grad(&self, on: bool) {
        for (_, t) in &self.params {
            let _ = t.set_requires_grad(on);
        }
    }

    /// Whether every parameter is frozen.
    pub fn is_frozen(&self) -> bool {
        self.params.iter().all(|(_, t)| !t.requires_grad())
    }

    /// A copy of every parameter and buffer, to compare before/after training.
    pub fn snapshot(&self) -> Vec<(String, Tensor)> {
        self.named_tensors()
            .into_iter()
            .map(|(n, t)| (n, t.detach().copy()))
            .collect()
    }

    /// Expected output shape of stage `i` for a (N, 3, H, W) input (ceil division at
    /// each stride, as the convolutions do for odd sizes).
    pub fn stage_shape(i: usize, n: i64, h: i64, w: i64) -> [i64; 4] {
        let mut hw = (h, w);
        for s in 0..=i {
            let stride = if s == 0 { 2 } else { STAGE_SHAPE[s - 1].2 };
            hw = ((hw.0 + stride - 1) / stride, (hw.1 + stride - 1) / stride);
        }
        [n, STAGE_CHANNELS[i], hw.0, hw.1]
    }
}
