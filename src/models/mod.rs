//! Pretrained encoders for transfer learning: EfficientNet-B0 (torchvision layout) and
//! EfficientNet-Lite0, with the weight files they load from.

pub mod efficientnet;
pub mod weights;

pub use efficientnet::{
    EfficientNetEncoder, Stage, Variant, B0_ENCODER_PARAMS, STAGE_CHANNELS, STAGE_REDUCTION,
};
pub use weights::{
    b0_weights_path, lite0_rename, lite0_weights_path, torchvision_rename, verify_hash_prefix,
    ResolvedWeights, WeightsChoice, WeightsError, WeightsSource,
};
