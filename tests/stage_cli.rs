//! `checker train` refuses unusable encoder weights before it compiles or trains
//! anything, with one message per refusal, and writes nothing.
use std::path::Path;
use std::process::{Command, Output};

fn train(dir: &Path, weights: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_checker"))
        .env("NO_COLOR", "1")
        .env("SE05_PROGRESS", dir.join("progress.json"))
        .arg("train")
        .arg("--weights")
        .arg(weights)
        .arg("--out")
        .arg(dir.join("results"))
        .arg("--models")
        .arg(dir.join("models"))
        .output()
        .unwrap()
}

/// The refusal's text; asserts it came alone, before any compiling or training.
fn refusal(dir: &Path, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches("cannot start").count(),
        1,
        "{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("compiling"), "{stdout}");
    assert!(!stdout.contains("epoch"), "{stdout}");
    for written in ["results", "models", "progress.json"] {
        assert!(!dir.join(written).exists(), "{written} was written");
    }
    stdout
}

#[test]
fn a_missing_weights_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("efficientnet_b0_copy.pth");
    let out = train(dir.path(), &missing);
    let text = refusal(dir.path(), &out);
    assert!(text.contains("not found"), "{text}");
    assert!(text.contains("efficientnet_b0_copy.pth"), "{text}");
}

#[test]
fn a_file_that_is_not_a_checkpoint_is_refused_once() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"these bytes are not a PyTorch checkpoint").unwrap();
    let out = train(dir.path(), &junk);
    let text = refusal(dir.path(), &out);
    assert!(text.contains("cannot load"), "{text}");
    // The checkpoint reader's reason, said once however deep it was nested.
    let reason = text.trim_end().rsplit(": ").next().unwrap();
    assert_eq!(text.matches(reason).count(), 1, "{text}");
}
