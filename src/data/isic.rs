//! The ISIC 2016 Part 1 layout, finding the data set to use, and pairing images with
//! their masks.
//!
//! ```text
//! <root>/ISBI2016_ISIC_Part1_Training_Data/ISIC_0000000.jpg
//! <root>/ISBI2016_ISIC_Part1_Training_GroundTruth/ISIC_0000000_Segmentation.png
//! <root>/ISBI2016_ISIC_Part1_Test_Data/…
//! <root>/ISBI2016_ISIC_Part1_Test_GroundTruth/…
//! ```
//!
//! [`ensure_dataset`] uses the real data at `<repo>/datasets/isic2016` when it is there,
//! and otherwise the synthetic look-alike at `<repo>/datasets/synthetic`, generating it
//! on first use. The environment variable `SE05_DATA` can force the choice
//! (`isic` or `synthetic`), `SE05_DATASETS_DIR` moves the `datasets` folder.
//!
//! [`pair_split`] lists a folder pair. Stray files are skipped (and reported in
//! [`Pairing::skipped`]): hidden files, sub-folders, anything that is not a `.jpg`/`.jpeg`
//! in an image folder or a `*_Segmentation.png` in a mask folder. Everything else that
//! is wrong (missing or empty folder, an image without a mask, a mask without an image)
//! is an error that names the file and says what to do. [`verify_pairs`] also checks each
//! pair's headers (corrupt or truncated JPEG, mask size differing from the image).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::synthetic::{self, SyntheticConfig};

pub const TRAIN_IMAGES: &str = "ISBI2016_ISIC_Part1_Training_Data";
pub const TRAIN_MASKS: &str = "ISBI2016_ISIC_Part1_Training_GroundTruth";
pub const TEST_IMAGES: &str = "ISBI2016_ISIC_Part1_Test_Data";
pub const TEST_MASKS: &str = "ISBI2016_ISIC_Part1_Test_GroundTruth";
/// Suffix that turns an image stem into its mask's file name.
pub const MASK_SUFFIX: &str = "_Segmentation.png";

/// `ISIC_0000000` → `ISIC_0000000_Segmentation.png`.
pub fn mask_file_name(stem: &str) -> String {
    format!("{stem}{MASK_SUFFIX}")
}

/// The mask that belongs to an image: same stem + `_Segmentation.png`, in `mask_dir`.
pub fn mask_path_for(image: &Path, mask_dir: &Path) -> PathBuf {
    let stem = image.file_stem().unwrap_or_default().to_string_lossy();
    mask_dir.join(mask_file_name(&stem))
}

/// An image folder and its mask folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitDirs {
    pub images: PathBuf,
    pub masks: PathBuf,
}

impl SplitDirs {
    pub fn train(root: &Path) -> Self {
        Self {
            images: root.join(TRAIN_IMAGES),
            masks: root.join(TRAIN_MASKS),
        }
    }

    pub fn test(root: &Path) -> Self {
        Self {
            images: root.join(TEST_IMAGES),
            masks: root.join(TEST_MASKS),
        }
    }
}

/// Which data set is in use.
#[derive(Clone, Debug, PartialEq)]
pub enum DataKind {
    /// The real ISIC 2016 Part 1 images.
    Isic2016,
    /// The generated look-alike.
    Synthetic(SyntheticConfig),
}

/// The data set in use, where it is, and what [`ensure_dataset`] did to get it.
#[derive(Clone, Debug)]
pub struct DataSource {
    pub kind: DataKind,
    pub root: PathBuf,
    pub train: SplitDirs,
    pub test: SplitDirs,
    /// True when this call generated the synthetic set.
    pub generated: bool,
    /// Seconds spent generating (0 when nothing was generated).
    pub seconds: f64,
    /// Why the real data was not used although `datasets/isic2016` exists.
    pub note: Option<String>,
}

impl DataSource {
    pub fn is_synthetic(&self) -> bool {
        matches!(self.kind, DataKind::Synthetic(_))
    }

    /// A sentence or two for the checker to print.
    pub fn describe(&self) -> String {
        match &self.kind {
            DataKind::Isic2016 => format!("ISIC 2016 Part 1 data at {}", self.root.display()),
            DataKind::Synthetic(cfg) => {
                let what = format!(
                    "synthetic ISIC-like data ({}) at {}",
                    cfg.describe(),
                    self.root.display()
                );
                let note = self
                    .note
                    .as_ref()
                    .map(|n| format!(" Note: {n}"))
                    .unwrap_or_default();
                let text = if self.generated {
                    format!(
                        "No ISIC 2016 data found, so generated {what} in {:.1} s. Put the real data in {} to use it instead.",
                        self.seconds,
                        self.root
                            .parent()
                            .map_or_else(isic_root, |p| p.join("isic2016"))
                            .display()
                    )
                } else {
                    format!("Using {what} (no ISIC 2016 data found).")
                };
                text + &note
            }
        }
    }
}

/// `<repo>/datasets`, or `$SE05_DATASETS_DIR` when set.
pub fn datasets_dir() -> PathBuf {
    match std::env::var_os("SE05_DATASETS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
    }
}

/// Where the real data would be: `<datasets>/isic2016`.
pub fn isic_root() -> PathBuf {
    datasets_dir().join("isic2016")
}

/// Data set preference: `$SE05_DATA` = `isic`, `synthetic`, or unset (real data when
/// present).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preference {
    Auto,
    Isic,
    Synthetic,
}

impl Preference {
    pub fn from_env() -> Result<Self> {
        match std::env::var("SE05_DATA").as_deref() {
            Err(_) | Ok("") | Ok("auto") => Ok(Self::Auto),
            Ok("isic") | Ok("isic2016") => Ok(Self::Isic),
            Ok("synthetic") => Ok(Self::Synthetic),
            Ok(other) => bail!("SE05_DATA={other}: use `isic`, `synthetic` or `auto`"),
        }
    }
}

/// The data set to use: real ISIC 2016 at `<repo>/datasets/isic2016` when present,
/// else the default synthetic set (generated on first use).
pub fn ensure_dataset() -> Result<DataSource> {
    ensure_dataset_with(
        &datasets_dir(),
        &SyntheticConfig::default(),
        Preference::from_env()?,
    )
}

/// [`ensure_dataset`] with an explicit `datasets` folder, synthetic configuration and
/// preference. The synthetic set goes to `<datasets>/<config.dir_name()>`.
pub fn ensure_dataset_with(
    datasets: &Path,
    config: &SyntheticConfig,
    preference: Preference,
) -> Result<DataSource> {
    let real = datasets.join("isic2016");
    let mut note = None;
    if preference != Preference::Synthetic && real.exists() {
        match check_layout(&real) {
            Ok(()) => {
                return Ok(DataSource {
                    kind: DataKind::Isic2016,
                    train: SplitDirs::train(&real),
                    test: SplitDirs::test(&real),
                    root: real,
                    generated: false,
                    seconds: 0.0,
                    note: None,
                })
            }
            Err(e) if preference == Preference::Isic => {
                return Err(e.context(format!(
                    "{} is not a complete ISIC 2016 Part 1 set; fetch it again (`cargo run --bin checker -- data fetch isic2016`)",
                    real.display()
                )))
            }
            Err(e) => {
                note = Some(format!(
                    "{} is incomplete ({e}), so it is not used; fetch it again or remove it.",
                    real.display()
                ))
            }
        }
    }
    if preference == Preference::Isic {
        bail!(
            "SE05_DATA=isic but {} does not exist: fetch it (`cargo run --bin checker -- data fetch isic2016`) or unpack the four ISIC 2016 Part 1 archives there",
            real.display()
        );
    }
    let root = datasets.join(config.dir_name());
    let start = Instant::now();
    let generated = synthetic::generate(config, &root)?;
    Ok(DataSource {
        kind: DataKind::Synthetic(config.clone()),
        train: SplitDirs::train(&root),
        test: SplitDirs::test(&root),
        root,
        generated,
        seconds: if generated {
            start.elapsed().as_secs_f64()
        } else {
            0.0
        },
        note,
    })
}

/// Regenerates the synthetic set even when an up-to-date copy exists.
pub fn regenerate_synthetic(datasets: &Path, config: &SyntheticConfig) -> Result<DataSource> {
    let root = datasets.join(config.dir_name());
    let marker = root.join(synthetic::MARKER_FILE);
    if marker.exists() {
        fs::remove_file(&marker).with_context(|| format!("cannot remove {}", marker.display()))?;
    }
    ensure_dataset_with(datasets, config, Preference::Synthetic)
}

/// Checks that the four folders exist and hold at least one file of their kind
/// (`.jpg` images, `*_Segmentation.png` masks).
pub fn check_layout(root: &Path) -> Result<()> {
    for (d, is_mask) in [
        (TRAIN_IMAGES, false),
        (TRAIN_MASKS, true),
        (TEST_IMAGES, false),
        (TEST_MASKS, true),
    ] {
        let dir = root.join(d);
        if !dir.is_dir() {
            bail!("missing folder {}", dir.display());
        }
        let found = list_dir(&dir, if is_mask { "mask" } else { "image" })?
            .iter()
            .any(|p| {
                p.is_file()
                    && if is_mask {
                        p.to_string_lossy().ends_with(MASK_SUFFIX)
                    } else {
                        has_extension(p, &["jpg", "jpeg"])
                    }
            });
        if !found {
            bail!(
                "empty folder {} (no {})",
                dir.display(),
                if is_mask { "masks" } else { "images" }
            );
        }
    }
    Ok(())
}

/// An image and its mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// The image's stem, e.g. `ISIC_0000000`.
    pub id: String,
    pub image: PathBuf,
    pub mask: PathBuf,
}

/// The result of [`pair_split`].
#[derive(Clone, Debug, Default)]
pub struct Pairing {
    /// Sorted by image file name.
    pub pairs: Vec<Pair>,
    /// Files that are neither images nor masks, left out.
    pub skipped: Vec<PathBuf>,
}

fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn list_dir(dir: &Path, what: &str) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        bail!(
            "the {what} folder {} does not exist; check the path (run `cargo run --bin checker -- data` to see the data set in use)",
            dir.display()
        );
    }
    if !dir.is_dir() {
        bail!(
            "{} should be the {what} folder but is a file",
            dir.display()
        );
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        files.push(entry.path());
    }
    files.sort();
    Ok(files)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'))
}

/// The `.jpg` files of a folder, sorted by name (the notebook's `sorted(glob("*.jpg"))`).
/// Errors when the folder is missing; an empty list is not an error here.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(list_dir(dir, "image")?
        .into_iter()
        .filter(|p| p.is_file() && !is_hidden(p) && has_extension(p, &["jpg", "jpeg"]))
        .collect())
}

fn summarise(problem: &str, items: &[String], fix: &str) -> String {
    let shown: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
    let more = if items.len() > 3 {
        format!(" (and {} more)", items.len() - 3)
    } else {
        String::new()
    };
    format!("{problem}: {}{more}; {fix}", shown.join(", "))
}

/// Pairs every image of `dirs.images` with its mask in `dirs.masks`.
pub fn pair_split(dirs: &SplitDirs) -> Result<Pairing> {
    let mut skipped = Vec::new();
    let mut images = Vec::new();
    for p in list_dir(&dirs.images, "image")? {
        if p.is_file() && !is_hidden(&p) && has_extension(&p, &["jpg", "jpeg"]) {
            images.push(p);
        } else {
            skipped.push(p);
        }
    }
    if images.is_empty() {
        bail!(
            "the image folder {} holds no .jpg images; unpack the data there or run `cargo run --bin checker -- data`",
            dirs.images.display()
        );
    }
    let mut masks = std::collections::BTreeMap::new();
    for p in list_dir(&dirs.masks, "mask")? {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.strip_suffix(MASK_SUFFIX) {
            Some(stem) if p.is_file() && !is_hidden(&p) => {
                masks.insert(stem.to_string(), p);
            }
            _ => skipped.push(p),
        }
    }
    if masks.is_empty() {
        bail!(
            "the mask folder {} holds no *{MASK_SUFFIX} files; unpack the ground truth there",
            dirs.masks.display()
        );
    }
    let mut pairs = Vec::with_capacity(images.len());
    let mut missing = Vec::new();
    for image in images {
        let id = image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match masks.remove(&id) {
            Some(mask) => pairs.push(Pair { id, image, mask }),
            None => missing.push(format!(
                "{} (expected {})",
                image.display(),
                mask_path_for(&image, &dirs.masks).display()
            )),
        }
    }
    if !missing.is_empty() {
        bail!(summarise(
            &format!("{} image(s) without a mask", missing.len()),
            &missing,
            "add the masks or remove those images"
        ));
    }
    if !masks.is_empty() {
        let orphans: Vec<String> = masks.values().map(|p| p.display().to_string()).collect();
        bail!(summarise(
            &format!("{} mask(s) without an image", orphans.len()),
            &orphans,
            "add the images or remove those masks"
        ));
    }
    Ok(Pairing { pairs, skipped })
}

/// Reads each pair's headers: the image must be a complete JPEG (or PNG) and the mask
/// must have its image's size. Stops at the first problem, naming the file(s).
pub fn verify_pairs(pairs: &[Pair]) -> Result<()> {
    use rayon::prelude::*;
    pairs.par_iter().try_for_each(|pair| -> Result<()> {
        super::image::check_header(&pair.image)?;
        super::image::check_header(&pair.mask)?;
        let dims = |p: &Path| {
            image::image_dimensions(p).map_err(|e| {
                anyhow::anyhow!("{}: unreadable image header ({e}); replace the file", p.display())
            })
        };
        let (iw, ih) = dims(&pair.image)?;
        let (mw, mh) = dims(&pair.mask)?;
        if (iw, ih) != (mw, mh) {
            bail!(
                "mask {} is {mw}×{mh} but its image {} is {iw}×{ih} (width×height): a mask must match its image; replace one of them",
                pair.mask.display(),
                pair.image.display()
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_names() {
        assert_eq!(
            mask_file_name("ISIC_0000000"),
            "ISIC_0000000_Segmentation.png"
        );
        assert_eq!(
            mask_path_for(Path::new("/a/ISIC_0000123.jpg"), Path::new("/m")),
            PathBuf::from("/m/ISIC_0000123_Segmentation.png")
        );
    }
}
