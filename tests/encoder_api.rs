//! The encoders' structure and behaviour: parameter names and counts, stage shapes,
//! freezing, BatchNorm statistics, stochastic depth, weight files.

use std::path::PathBuf;

use se05::models::weights::{hash_prefix_from_name, sha256_file, B0_FILE_NAME};
use se05::models::{
    lite0_rename, lite0_weights_path, torchvision_rename, verify_hash_prefix, EfficientNetEncoder,
    Variant, WeightsChoice, WeightsError, WeightsSource, B0_ENCODER_PARAMS, STAGE_CHANNELS,
};
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

fn encoder(variant: Variant) -> (nn::VarStore, EfficientNetEncoder) {
    let vs = nn::VarStore::new(Device::Cpu);
    let enc = EfficientNetEncoder::new(&(vs.root() / "encoder"), variant);
    (vs, enc)
}

#[test]
fn b0_has_torchvision_parameter_count_and_names() {
    let (vs, enc) = encoder(Variant::B0);
    assert_eq!(enc.num_params(), B0_ENCODER_PARAMS);
    assert_eq!(B0_ENCODER_PARAMS, 3_595_388);
    let trainable: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    assert_eq!(trainable, 3_595_388);
    let vars = vs.variables();
    for name in [
        "encoder.features.0.0.weight",
        "encoder.features.0.1.running_mean",
        "encoder.features.1.0.block.0.0.weight",
        "encoder.features.1.0.block.1.fc1.weight",
        "encoder.features.1.0.block.1.fc2.bias",
        "encoder.features.1.0.block.2.1.running_var",
        "encoder.features.2.0.block.0.0.weight",
        "encoder.features.2.0.block.2.fc1.weight",
        "encoder.features.2.0.block.3.0.weight",
        "encoder.features.7.0.block.3.1.bias",
    ] {
        assert!(vars.contains_key(name), "missing {name}");
    }
    assert_eq!(
        vars["encoder.features.1.0.block.1.fc1.weight"].size(),
        [8, 32, 1, 1]
    );
    assert_eq!(
        vars["encoder.features.2.0.block.2.fc1.weight"].size(),
        [4, 96, 1, 1]
    );
    assert_eq!(
        vars["encoder.features.3.0.block.1.0.weight"].size(),
        [144, 1, 5, 5]
    );
    // Every variable of the store belongs to the encoder's tables.
    assert_eq!(vars.len(), enc.named_tensors().len());
}

#[test]
fn lite0_has_no_squeeze_excitation() {
    let (vs, enc) = encoder(Variant::Lite0);
    let vars = vs.variables();
    assert!(vars.keys().all(|k| !k.contains("fc1")));
    assert!(vars.contains_key("encoder.features.2.0.block.2.0.weight"));
    assert!(!vars.contains_key("encoder.features.2.0.block.3.0.weight"));
    // 240 tensors: what the Lite0 checkpoint holds for stages 0-7.
    assert_eq!(enc.named_tensors().len(), 240);
}

#[test]
fn pytorch_style_initialisation() {
    let (vs, _) = encoder(Variant::B0);
    let vars = vs.variables();
    let bn_w = &vars["encoder.features.0.1.weight"];
    assert_eq!(bn_w.min().double_value(&[]), 1.0);
    assert_eq!(bn_w.max().double_value(&[]), 1.0);
    assert_eq!(
        vars["encoder.features.0.1.running_var"]
            .mean(Kind::Float)
            .double_value(&[]),
        1.0
    );
    assert_eq!(
        vars["encoder.features.1.0.block.1.fc1.bias"]
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    // Kaiming normal, fan_out: std = sqrt(2 / (out · k · k)).
    let w = &vars["encoder.features.4.0.block.0.0.weight"]; // 480 × 40 × 1 × 1
    let want = (2.0f64 / 240.0).sqrt();
    let std = w.std(true).double_value(&[]);
    assert!((std / want - 1.0).abs() < 0.05, "std {std}, want {want}");
}

#[test]
fn stage_shapes_for_even_and_odd_inputs() {
    for variant in [Variant::B0, Variant::Lite0] {
        let (_vs, enc) = encoder(variant);
        for (h, w) in [(64, 64), (70, 50), (33, 47)] {
            let x = Tensor::randn([2, 3, h, w], (Kind::Float, Device::Cpu));
            let outs = tch::no_grad(|| enc.forward_stages(&x, false));
            assert_eq!(outs.len(), 8);
            for (i, y) in outs.iter().enumerate() {
                assert_eq!(
                    y.size(),
                    EfficientNetEncoder::stage_shape(i, 2, h, w),
                    "{variant:?} {h}x{w} stage {i}"
                );
                assert_eq!(y.size()[1], STAGE_CHANNELS[i]);
            }
            // Slicing the stages as the notebook does gives the same result.
            let inc = enc.forward_range(0..2, &x, false);
            let d1 = enc.forward_stage(2, &inc, false);
            let d2 = enc.stage(3).forward_t(&d1, false);
            let d3 = enc.forward_range(4..5, &d2, false);
            let d4 = enc.forward_range(5..8, &d3, false);
            for (a, b) in [
                (&inc, &outs[1]),
                (&d1, &outs[2]),
                (&d2, &outs[3]),
                (&d3, &outs[4]),
                (&d4, &outs[7]),
            ] {
                assert!(a.allclose(b, 1e-6, 1e-6, false));
            }
        }
        let s64 = EfficientNetEncoder::stage_shape(7, 1, 64, 64);
        assert_eq!(s64, [1, 320, 2, 2]);
    }
}

#[test]
fn frozen_encoder_is_untouched_by_training_in_eval_mode() {
    let (vs, enc) = encoder(Variant::B0);
    // Freshly initialised stages shrink activations in eval mode (as in PyTorch), so the
    // head reads stage 1; every stage still takes part in the loss.
    let head = nn::conv2d(vs.root() / "head", 16, 1, 1, Default::default());
    enc.freeze();
    assert!(enc.is_frozen());
    let before = enc.snapshot();
    let head_before = head.ws.detach().copy();
    let mut opt = nn::Adam::default().build(&vs, 1e-2).unwrap();
    let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    for _ in 0..2 {
        let outs = enc.forward_stages(&x, false);
        let mut loss = outs[1].apply(&head).square().mean(Kind::Float);
        for o in &outs {
            loss += o.mean(Kind::Float);
        }
        opt.backward_step(&loss);
    }
    for ((name, a), (_, b)) in before.iter().zip(enc.named_tensors()) {
        assert!(a.equal(&b), "{name} changed");
    }
    assert!(!head.ws.equal(&head_before), "the head should train");
    enc.unfreeze();
    assert!(!enc.is_frozen());
}

#[test]
fn train_mode_updates_running_stats_with_momentum_0_1() {
    let (_vs, enc) = encoder(Variant::B0);
    enc.freeze(); // frozen parameters still see BatchNorm statistics move in train mode
    let x = Tensor::randn([4, 3, 32, 32], (Kind::Float, Device::Cpu));
    let named = enc.named_tensors();
    let get = |n: &str| {
        named
            .iter()
            .find(|(k, _)| k == n)
            .unwrap()
            .1
            .shallow_clone()
    };
    let w = get("features.0.0.weight");
    let conv = x.conv2d(&w, None::<Tensor>, [2, 2], [1, 1], [1, 1], 1);
    let batch_mean = conv.mean_dim([0, 2, 3].as_slice(), false, Kind::Float);
    let _ = tch::no_grad(|| enc.forward_stage(0, &x, true));
    let rm = get("features.0.1.running_mean");
    assert!(rm.allclose(&(batch_mean * 0.1), 1e-5, 1e-6, false));
    // Eval mode leaves them alone.
    let before = rm.copy();
    let _ = tch::no_grad(|| enc.forward_stages(&x, false));
    assert!(rm.equal(&before));
}

#[test]
fn stochastic_depth_only_in_train_mode() {
    let (_vs, enc) = encoder(Variant::B0);
    let x = Tensor::randn([8, 3, 32, 32], (Kind::Float, Device::Cpu));
    let run = |train: bool| tch::no_grad(|| enc.forward_stages(&x, train).pop().unwrap());
    assert!(run(false).equal(&run(false)));
    // Train mode: BatchNorm uses batch statistics (deterministic), so only dropped paths
    // can make two runs differ; with 8 samples and 13 residual blocks they almost surely do.
    let differ = (0..3).any(|_| !run(true).equal(&run(true)));
    assert!(differ, "drop paths should be random in train mode");

    // The drop itself: whole samples zeroed with probability p, survivors scaled by 1/(1-p).
    let h = Tensor::ones([4000, 2, 2, 2], (Kind::Float, Device::Cpu));
    let y = se05::models::efficientnet::stochastic_depth(&h, 0.25, true);
    let per_sample =
        Vec::<f32>::try_from(y.sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Float))
            .unwrap();
    let kept = per_sample.iter().filter(|&&v| v != 0.0).count() as f64 / 4000.0;
    assert!((kept - 0.75).abs() < 0.04, "kept {kept}");
    assert!(per_sample
        .iter()
        .all(|&v| v == 0.0 || (v - 8.0 / 0.75).abs() < 1e-4));
    assert!(se05::models::efficientnet::stochastic_depth(&h, 0.25, false).equal(&h));
}

#[test]
fn hash_prefixes_are_read_from_file_names() {
    assert_eq!(hash_prefix_from_name(B0_FILE_NAME), Some("7f5810bc"));
    assert_eq!(
        hash_prefix_from_name("efficientnet-lite0-57934424.pth"),
        Some("57934424")
    );
    assert_eq!(
        hash_prefix_from_name("resnet18-f37072fd.pth"),
        Some("f37072fd")
    );
    assert_eq!(hash_prefix_from_name("model.pth"), None);
    assert_eq!(hash_prefix_from_name("my-model.pth"), None);
}

#[test]
fn hash_verification_accepts_good_and_names_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.bin");
    std::fs::write(&probe, b"weights").unwrap();
    let digest = sha256_file(&probe).unwrap();
    let good = dir.path().join(format!("w-{}.pth", &digest[..8]));
    std::fs::write(&good, b"weights").unwrap();
    assert_eq!(verify_hash_prefix(&good).unwrap(), digest);
    let bad = dir.path().join("w-00000000.pth");
    std::fs::write(&bad, b"weights").unwrap();
    let e = verify_hash_prefix(&bad).unwrap_err();
    assert!(matches!(e, WeightsError::HashMismatch { .. }));
    assert!(e.to_string().contains("w-00000000.pth"), "{e}");
}

#[test]
fn weight_choices_resolve_and_explain_themselves() {
    assert_eq!(WeightsChoice::parse("auto"), WeightsChoice::Auto);
    assert_eq!(WeightsChoice::parse("lite0"), WeightsChoice::Lite0);
    assert_eq!(WeightsChoice::parse("random"), WeightsChoice::Random);
    assert_eq!(
        WeightsChoice::parse("/x/y.pth"),
        WeightsChoice::B0(PathBuf::from("/x/y.pth"))
    );

    let e = WeightsChoice::B0(PathBuf::from("/nonexistent/b0.pth"))
        .resolve()
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/b0.pth"), "{e}");

    let r = WeightsChoice::Random.resolve().unwrap();
    assert!(!r.is_pretrained());
    assert!(
        r.description.contains("NOT transfer learning"),
        "{}",
        r.description
    );

    let auto = WeightsChoice::Auto.resolve().unwrap();
    println!("auto: {}", auto.description);
    match &auto.source {
        WeightsSource::B0(_) => assert_eq!(auto.variant(), Variant::B0),
        WeightsSource::Lite0(_) => assert_eq!(auto.variant(), Variant::Lite0),
        WeightsSource::Random => assert!(lite0_weights_path().is_none()),
    }
}

#[test]
fn wrong_variant_is_refused() {
    let Some(_) = lite0_weights_path() else {
        eprintln!("SKIPPED: the Lite0 checkpoint is not installed (run ./setup.sh)");
        return;
    };
    let (_vs, enc) = encoder(Variant::B0);
    let w = WeightsChoice::Lite0.resolve().unwrap();
    let e = enc.load_weights(&w).unwrap_err();
    assert!(matches!(e, WeightsError::Incompatible { .. }), "{e}");
}

#[test]
fn pretrained_lite0_loads_completely() {
    let Some(path) = lite0_weights_path() else {
        eprintln!("SKIPPED: the Lite0 checkpoint is not installed (run ./setup.sh)");
        return;
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let (enc, w) =
        EfficientNetEncoder::pretrained(&(vs.root() / "enc"), &WeightsChoice::Lite0).unwrap();
    assert_eq!(enc.variant(), Variant::Lite0);
    assert_eq!(w.path(), Some(path.as_path()));
    // The pretrained statistics are not the initial ones.
    let rv = &vs.variables()["enc.features.0.1.running_var"];
    assert!((rv.mean(Kind::Float).double_value(&[]) - 1.0).abs() > 1e-3);
}

#[test]
fn rename_tables() {
    assert_eq!(
        lite0_rename("_conv_stem.weight").as_deref(),
        Some("features.0.0.weight")
    );
    assert_eq!(
        lite0_rename("_bn0.running_var").as_deref(),
        Some("features.0.1.running_var")
    );
    assert_eq!(
        lite0_rename("_blocks.0._depthwise_conv.weight").as_deref(),
        Some("features.1.0.block.0.0.weight")
    );
    assert_eq!(
        lite0_rename("_blocks.0._bn2.bias").as_deref(),
        Some("features.1.0.block.1.1.bias")
    );
    assert_eq!(
        lite0_rename("_blocks.2._expand_conv.weight").as_deref(),
        Some("features.2.1.block.0.0.weight")
    );
    assert_eq!(
        lite0_rename("_blocks.15._project_conv.weight").as_deref(),
        Some("features.7.0.block.2.0.weight")
    );
    assert_eq!(lite0_rename("_blocks.3._bn1.num_batches_tracked"), None);
    assert_eq!(lite0_rename("_conv_head.weight"), None);
    assert_eq!(lite0_rename("_fc.bias"), None);
    assert_eq!(
        lite0_rename("_blocks.16._bn1.bias").as_deref(),
        Some("_blocks.16._bn1.bias")
    );
    assert_eq!(
        torchvision_rename("features.7.0.block.3.1.weight").as_deref(),
        Some("features.7.0.block.3.1.weight")
    );
    assert_eq!(torchvision_rename("features.8.0.weight"), None);
    assert_eq!(torchvision_rename("classifier.1.weight"), None);
    assert_eq!(torchvision_rename("features.0.1.num_batches_tracked"), None);
}
