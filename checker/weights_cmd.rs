//! `checker weights`: which pretrained encoder the final stage will use, and getting
//! torchvision's EfficientNet-B0 ImageNet weights (download or a local file).
use colored::Colorize;
use se05::models::weights::{self as w, WeightsChoice};
use std::path::{Path, PathBuf};

/// Prints what `auto` resolves to.
pub fn show() -> anyhow::Result<()> {
    let resolved = WeightsChoice::Auto.resolve()?;
    if resolved.is_pretrained() {
        println!("{} {}", "encoder weights:".bold(), resolved.description);
    } else {
        println!(
            "{} {}",
            "encoder weights:".bold(),
            resolved.description.red().bold()
        );
    }
    println!(
        "B0 is looked for at {} (override with {}).",
        w::b0_weights_path().display(),
        w::B0_ENV
    );
    Ok(())
}

/// Downloads B0 from `url` next to its expected place, checking the SHA-256 prefix
/// the file name carries, as torchvision does.
pub fn fetch(url: &str) -> anyhow::Result<()> {
    let expected = w::b0_weights_path();
    let dir = expected.parent().unwrap_or(Path::new("."));
    let outcome = w::fetch_checkpoint(url, dir, true)?;
    if outcome.already_present {
        println!(
            "{} is already present and its hash checks out.",
            outcome.path.display()
        );
    } else {
        println!(
            "downloaded {} ({} bytes), hash verified.",
            outcome.path.display(),
            outcome.bytes
        );
    }
    if outcome.path != expected {
        println!(
            "This is not torchvision's {}; train with it using `checker train --weights {}`.",
            w::B0_FILE_NAME,
            outcome.path.display()
        );
    }
    show()
}

/// Copies a local B0 file into place after checking its hash prefix.
pub fn use_file(file: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        file.is_file(),
        "{} does not exist or is not a file",
        file.display()
    );
    let dest: PathBuf = w::b0_weights_path();
    let digest = w::sha256_file(file)?;
    let expected = w::hash_prefix_from_name(w::B0_FILE_NAME).unwrap_or_default();
    anyhow::ensure!(
        digest.starts_with(expected),
        "{} has SHA-256 {digest}, which does not start with {expected}: it is not torchvision's {}. \
         Download it with `checker weights fetch`.",
        file.display(),
        w::B0_FILE_NAME
    );
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    se05::io::fsutil::write_atomic(&dest, &bytes)?;
    println!("copied {} to {}", file.display(), dest.display());
    show()
}
