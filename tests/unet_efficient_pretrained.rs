//! The reference UNetEfficient (exercise 11) built with real pretrained weights, as the
//! final training stage builds it. Runs with `--features solutions` only (the stub
//! would panic) and skips when the Lite0 checkpoint is not installed.
#![cfg(feature = "solutions")]
#![allow(dead_code)]
#[path = "../solutions/ex06_double_conv.rs"]
mod ex06_double_conv;
#[path = "../solutions/ex11_unet_efficient.rs"]
mod ex11_unet_efficient;

use ex11_unet_efficient::UNetEfficient;
use se05::models::{lite0_weights_path, EfficientNetEncoder, Variant, WeightsChoice};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

#[test]
fn lite0_weights_reach_the_model_and_stay_frozen() {
    if lite0_weights_path().is_none() {
        eprintln!("SKIPPED: the Lite0 checkpoint is not installed (run ./setup.sh)");
        return;
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let (m, weights) = UNetEfficient::pretrained(&vs.root(), &WeightsChoice::Lite0, 1).unwrap();
    assert!(weights.is_pretrained());
    assert_eq!(m.encoder.variant(), Variant::Lite0);
    assert!(m.encoder.is_frozen());
    assert!(!m.update_encoder_bn_stats);

    // Every encoder tensor holds the checkpoint's values, under `encoder.`.
    let ref_vs = nn::VarStore::new(Device::Cpu);
    let (reference, _) =
        EfficientNetEncoder::pretrained(&ref_vs.root(), &WeightsChoice::Lite0).unwrap();
    let vars = vs.variables();
    let expected = reference.named_tensors();
    assert_eq!(expected.len(), 240);
    for (name, t) in &expected {
        let ours = &vars[&format!("encoder.{name}")];
        assert!(ours.equal(t), "encoder.{name} differs from the checkpoint");
    }
    assert_eq!(
        vars.keys().filter(|n| n.starts_with("encoder.")).count(),
        expected.len()
    );
    assert_eq!(se05::grading::summary::count_trainable(&vs), 4_258_545);

    let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    let y = m.forward_t(&x, false);
    assert_eq!(y.size(), [2, 1, 64, 64]);
    let (min, max) = (y.min().double_value(&[]), y.max().double_value(&[]));
    assert!(min > 0.0 && max < 1.0 && max > min);
}
