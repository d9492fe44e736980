//! The Rust encoders against PyTorch: same weights, same input, stage outputs within 1e-4.
//!
//! References come from `scripts/encoder_parity.py`, run with the project's `.venv`
//! (torch 2.11, torchvision 0.26). Without the venv the tests print why and pass.

#[path = "support/http_server.rs"]
mod http_server;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use se05::io::checkpoint;
use se05::models::{
    lite0_rename, lite0_weights_path, torchvision_rename, EfficientNetEncoder, Variant,
};
use tch::{nn, Device, Tensor};

const TOLERANCE: f64 = 1e-4;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the reference script once per test binary; None (with the reason printed) when
/// the venv is missing.
fn references() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DIR.get_or_init(|| {
        let python = repo().join(".venv/bin/python");
        if !python.exists() {
            eprintln!(
                "SKIPPED: {} not found (run ./setup.sh to create it)",
                python.display()
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().to_path_buf();
        let mut cmd = Command::new(&python);
        cmd.arg(repo().join("scripts/encoder_parity.py")).arg(&out);
        if let Some(lite0) = lite0_weights_path() {
            cmd.arg(lite0);
        }
        let res = cmd.output().expect("run the parity script");
        assert!(
            res.status.success(),
            "encoder_parity.py failed:\n{}",
            String::from_utf8_lossy(&res.stderr)
        );
        Some((dir, out))
    })
    .as_ref()
    .map(|(_, p)| p)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

/// Compares all eight stages for both inputs; returns the largest error.
fn compare(enc: &EfficientNetEncoder, reference: &checkpoint::StateDict, label: &str) -> f64 {
    let mut worst = 0.0f64;
    for tag in ["a", "b"] {
        let x = reference
            .get(&format!("input_{tag}"))
            .expect("input in reference");
        let outs = tch::no_grad(|| enc.forward_stages(x, false));
        assert_eq!(outs.len(), 8);
        for (i, y) in outs.iter().enumerate() {
            let want = reference
                .get(&format!("{tag}.stage{i}"))
                .expect("stage in reference");
            let err = max_abs_diff(y, want);
            println!(
                "{label} input {tag} stage {i} {:?}: max abs error {err:.3e}",
                y.size()
            );
            worst = worst.max(err);
        }
    }
    println!("{label}: max abs error over all stages {worst:.3e}");
    worst
}

#[test]
fn b0_matches_torchvision() {
    let Some(dir) = references() else { return };
    let vs = nn::VarStore::new(Device::Cpu);
    let enc = EfficientNetEncoder::new(&(vs.root() / "encoder"), Variant::B0);
    let sd = checkpoint::load(dir.join("b0.pth")).unwrap();
    assert_eq!(sd.format, checkpoint::Format::Zip);
    let report = enc.load_state_dict(&sd, torchvision_rename).unwrap();
    assert!(report.is_exact(), "{}", report.summary());
    assert_eq!(report.loaded.len(), enc.named_tensors().len());
    let reference = checkpoint::load(dir.join("b0_ref.pth")).unwrap();
    let worst = compare(&enc, &reference, "B0");
    assert!(worst < TOLERANCE, "B0 differs from torchvision by {worst}");
}

#[test]
fn lite0_matches_pytorch_with_the_pretrained_checkpoint() {
    let Some(dir) = references() else { return };
    let Some(path) = lite0_weights_path() else {
        eprintln!("SKIPPED: the Lite0 checkpoint is not installed (run ./setup.sh)");
        return;
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let enc = EfficientNetEncoder::new(&(vs.root() / "encoder"), Variant::Lite0);
    let sd = checkpoint::load(&path).unwrap();
    assert_eq!(sd.format, checkpoint::Format::Legacy);
    let report = enc.load_state_dict(&sd, lite0_rename).unwrap();
    assert!(report.is_exact(), "{}", report.summary());
    let reference = checkpoint::load(dir.join("lite0_ref.pth")).unwrap();
    let worst = compare(&enc, &reference, "Lite0");
    assert!(worst < TOLERANCE, "Lite0 differs from PyTorch by {worst}");
}

#[test]
fn b0_file_loads_through_weights_choice_with_hash_check() {
    use se05::models::{weights::sha256_file, WeightsChoice, WeightsError};
    let Some(dir) = references() else { return };
    let digest = sha256_file(&dir.join("b0.pth")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let named = tmp
        .path()
        .join(format!("efficientnet_b0_test-{}.pth", &digest[..8]));
    std::fs::copy(dir.join("b0.pth"), &named).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let (enc, w) =
        EfficientNetEncoder::pretrained(&(vs.root() / "enc"), &WeightsChoice::B0(named.clone()))
            .unwrap();
    assert_eq!(enc.variant(), Variant::B0);
    assert!(
        w.description.contains("EfficientNet-B0"),
        "{}",
        w.description
    );
    let reference = checkpoint::load(dir.join("b0_ref.pth")).unwrap();
    assert!(compare(&enc, &reference, "B0 via WeightsChoice") < TOLERANCE);

    // The same bytes under a name whose hash prefix is wrong are refused, naming the file.
    let wrong = tmp.path().join("efficientnet_b0_test-00000000.pth");
    std::fs::copy(dir.join("b0.pth"), &wrong).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let e = EfficientNetEncoder::pretrained(&vs.root(), &WeightsChoice::B0(wrong)).unwrap_err();
    assert!(matches!(e, WeightsError::HashMismatch { .. }), "{e}");
    assert!(e.to_string().contains("efficientnet_b0_test-00000000.pth"));
}

/// `checker weights fetch` end to end on a loopback server: torchvision's B0 layout,
/// written by the venv's torch, arrives through an interrupted transfer, passes the
/// hash check its name carries and loads; under a name with the wrong hash it is
/// refused and nothing is left behind.
#[test]
fn b0_checkpoint_downloads_resumes_and_is_hash_checked() {
    use http_server::{Served, TestServer};
    use se05::models::weights::{fetch_checkpoint, sha256_file};
    use se05::models::WeightsChoice;
    let Some(dir) = references() else { return };
    let bytes = std::fs::read(dir.join("b0.pth")).unwrap();
    let digest = sha256_file(&dir.join("b0.pth")).unwrap();
    let good = format!("/efficientnet_b0_test-{}.pth", &digest[..8]);
    let server = TestServer::start();
    server.serve_with(
        &good,
        Served {
            body: bytes.clone(),
            cut_first_after: Some(bytes.len() / 3),
            ..Served::default()
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let got = fetch_checkpoint(&server.url(&good), tmp.path(), false).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), bytes, "byte-identical");
    let requests = server.requests_for(&good);
    assert_eq!(requests.len(), 2, "cut, then resumed: {requests:?}");
    assert!(requests[1].range.is_some(), "{requests:?}");
    let vs = nn::VarStore::new(Device::Cpu);
    let (enc, _) =
        EfficientNetEncoder::pretrained(&vs.root(), &WeightsChoice::B0(got.path.clone())).unwrap();
    let reference = checkpoint::load(dir.join("b0_ref.pth")).unwrap();
    assert!(compare(&enc, &reference, "B0 downloaded") < TOLERANCE);

    let wrong = "/efficientnet_b0_test-00000000.pth";
    server.serve(wrong, bytes);
    let e = fetch_checkpoint(&server.url(wrong), tmp.path(), false).unwrap_err();
    let message = format!("{e:#}");
    assert!(
        message.contains("efficientnet_b0_test-00000000.pth") && message.contains("00000000"),
        "{message}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec![got.path.file_name().unwrap().to_string_lossy().into_owned()]
    );

    let e = fetch_checkpoint(&server.url("/no_hash.pth"), tmp.path(), false).unwrap_err();
    assert!(format!("{e:#}").contains("no hash prefix"), "{e:#}");
}
