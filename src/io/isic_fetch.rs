//! Fetch the ISIC 2016 Part 1 (lesion segmentation) data set: download the four
//! archives, verify them, extract them safely, and check that every image has its mask.
//!
//! Layout, with `datasets` the folder passed as `dest_root`:
//! ```text
//! datasets/downloads/ISBI2016_ISIC_Part1_Training_Data.zip       (kept: a re-run resumes)
//! datasets/isic2016/ISBI2016_ISIC_Part1_Training_Data/ISIC_0000000.jpg
//! datasets/isic2016/ISBI2016_ISIC_Part1_Training_GroundTruth/ISIC_0000000_Segmentation.png
//! datasets/isic2016/ISBI2016_ISIC_Part1_Test_Data/*.jpg
//! datasets/isic2016/ISBI2016_ISIC_Part1_Test_GroundTruth/*_Segmentation.png
//! ```
//!
//! Each archive is checked before anything lands in those folders: every entry name must
//! stay inside the extraction folder (no absolute paths, no `..`, no symbolic links),
//! every entry's CRC-32 must match, and the number of images (`.jpg`) or masks
//! (`_Segmentation.png`) must be the expected one. A single root folder inside an archive
//! is dropped. Archives are extracted into a staging folder under `datasets/isic2016/`
//! and renamed into place only once all four are good and every image has its mask, so
//! an interrupted or failed fetch never leaves a half-filled data set behind.
//! A folder that is already in place with the expected number of files is kept and its
//! archive is not downloaded again.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::io::download::{download_file, DownloadOptions, DownloadOutcome};

/// The ISIC challenge's public storage for the 2016 data.
pub const ISIC2016_BASE_URL: &str = "https://isic-challenge-data.s3.amazonaws.com/2016/";
/// Folder (under the datasets root) that receives the extracted data set.
pub const ISIC2016_DIR: &str = "isic2016";
/// Folder (under the datasets root) that keeps the downloaded archives.
pub const DOWNLOADS_DIR: &str = "downloads";

/// Extracted folder of the 900 training images.
pub const TRAIN_IMAGES_DIR: &str = "ISBI2016_ISIC_Part1_Training_Data";
/// Extracted folder of the 900 training masks.
pub const TRAIN_MASKS_DIR: &str = "ISBI2016_ISIC_Part1_Training_GroundTruth";
/// Extracted folder of the 379 test images.
pub const TEST_IMAGES_DIR: &str = "ISBI2016_ISIC_Part1_Test_Data";
/// Extracted folder of the 379 test masks.
pub const TEST_MASKS_DIR: &str = "ISBI2016_ISIC_Part1_Test_GroundTruth";

/// Suffix of a mask file: `ISIC_0000000.jpg` ↔ `ISIC_0000000_Segmentation.png`.
pub const MASK_SUFFIX: &str = "_Segmentation.png";

/// Entries that archivers add and that are never part of the data.
fn is_junk(components: &[&str]) -> bool {
    components
        .iter()
        .any(|c| *c == "__MACOSX" || *c == ".DS_Store" || *c == "Thumbs.db")
}

/// What one archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Images,
    Masks,
}

impl Kind {
    fn matches(self, file_name: &str) -> bool {
        match self {
            Kind::Images => image_stem(file_name).is_some(),
            Kind::Masks => mask_stem(file_name).is_some(),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Images => "images (.jpg)",
            Kind::Masks => "masks (*_Segmentation.png)",
        }
    }
}

/// `ISIC_0000000.jpg` → `ISIC_0000000` (extension in any case; `.jpeg` accepted).
fn image_stem(file_name: &str) -> Option<&str> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    (!stem.is_empty() && (ext == "jpg" || ext == "jpeg")).then_some(stem)
}

/// `ISIC_0000000_Segmentation.png` → `ISIC_0000000`.
fn mask_stem(file_name: &str) -> Option<&str> {
    file_name
        .strip_suffix(MASK_SUFFIX)
        .filter(|stem| !stem.is_empty())
}

/// How many images / masks each archive must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedCounts {
    pub train_images: usize,
    pub train_masks: usize,
    pub test_images: usize,
    pub test_masks: usize,
}

impl ExpectedCounts {
    /// The real ISIC 2016 Part 1 figures: 900 training and 379 test pairs.
    pub const ISIC2016: ExpectedCounts = ExpectedCounts {
        train_images: 900,
        train_masks: 900,
        test_images: 379,
        test_masks: 379,
    };
}

impl Default for ExpectedCounts {
    fn default() -> Self {
        ExpectedCounts::ISIC2016
    }
}

/// Options for [`fetch_isic2016`].
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Passed to [`download_file`] for every archive (progress, retries). Its size and
    /// hash fields apply to all four archives, so leave them `None`.
    pub download: DownloadOptions,
    /// Files each archive must contain; tests use small archives.
    pub expected_counts: ExpectedCounts,
}

/// What happened to one archive.
#[derive(Debug, Clone)]
pub struct ArchiveReport {
    /// Archive file name, e.g. `ISBI2016_ISIC_Part1_Training_Data.zip`.
    pub archive: String,
    /// Where the archive is kept (`datasets/downloads/...`).
    pub zip_path: PathBuf,
    /// The extracted folder (`datasets/isic2016/...`).
    pub dir: PathBuf,
    /// Number of images or masks in the folder.
    pub files: usize,
    /// The download, or `None` when the folder was already in place and was kept.
    pub download: Option<DownloadOutcome>,
}

impl ArchiveReport {
    /// The extracted folder was already complete; nothing was downloaded or extracted.
    pub fn reused(&self) -> bool {
        self.download.is_none()
    }
}

/// What [`fetch_isic2016`] did.
#[derive(Debug, Clone)]
pub struct FetchReport {
    /// `datasets/isic2016`.
    pub root: PathBuf,
    /// The four archives, in the order training images, training masks, test images,
    /// test masks.
    pub archives: Vec<ArchiveReport>,
    /// Image/mask pairs in the training folders.
    pub train_pairs: usize,
    /// Image/mask pairs in the test folders.
    pub test_pairs: usize,
}

impl fmt::Display for FetchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ISIC 2016 Part 1 in {}:", self.root.display())?;
        for a in &self.archives {
            let how = match &a.download {
                None => "already in place".to_string(),
                Some(d) if d.already_present => "extracted from the kept archive".to_string(),
                Some(d) if d.resumed_from > 0 => {
                    format!(
                        "downloaded (resumed at byte {}) and extracted",
                        d.resumed_from
                    )
                }
                Some(_) => "downloaded and extracted".to_string(),
            };
            let folder = a.dir.file_name().unwrap_or_default().to_string_lossy();
            writeln!(f, "  {folder}: {} files, {how}", a.files)?;
        }
        write!(
            f,
            "  {} training and {} test image/mask pairs",
            self.train_pairs, self.test_pairs
        )
    }
}

struct ArchiveSpec {
    stem: &'static str,
    kind: Kind,
    expected: usize,
}

fn archive_specs(counts: &ExpectedCounts) -> [ArchiveSpec; 4] {
    [
        ArchiveSpec {
            stem: TRAIN_IMAGES_DIR,
            kind: Kind::Images,
            expected: counts.train_images,
        },
        ArchiveSpec {
            stem: TRAIN_MASKS_DIR,
            kind: Kind::Masks,
            expected: counts.train_masks,
        },
        ArchiveSpec {
            stem: TEST_IMAGES_DIR,
            kind: Kind::Images,
            expected: counts.test_images,
        },
        ArchiveSpec {
            stem: TEST_MASKS_DIR,
            kind: Kind::Masks,
            expected: counts.test_masks,
        },
    ]
}

/// `datasets/isic2016` for a datasets root.
pub fn isic2016_dir(dest_root: &Path) -> PathBuf {
    dest_root.join(ISIC2016_DIR)
}

/// Are the four ISIC 2016 folders in place under `dest_root` (each holding at least one
/// file of its kind)? A cheap test for "use ISIC if present"; [`fetch_isic2016`] does
/// the thorough checks.
pub fn isic2016_present(dest_root: &Path) -> bool {
    let root = isic2016_dir(dest_root);
    archive_specs(&ExpectedCounts::ISIC2016)
        .iter()
        .all(|spec| matches!(count_kind(&root.join(spec.stem), spec.kind), Ok(n) if n > 0))
}

/// Top-level files of `kind` in `dir` (`Err` when `dir` is unreadable or absent).
fn count_kind(dir: &Path, kind: Kind) -> io::Result<usize> {
    Ok(list_files(dir)?
        .iter()
        .filter(|name| kind.matches(name))
        .count())
}

fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Download, verify and extract the four ISIC 2016 Part 1 archives from `base_url`
/// (normally [`ISIC2016_BASE_URL`]) into `dest_root/isic2016/`, keeping the archives in
/// `dest_root/downloads/`. `dest_root` is the repository's `datasets/` folder.
pub fn fetch_isic2016(
    dest_root: &Path,
    base_url: &str,
    opts: &FetchOptions,
) -> Result<FetchReport> {
    let root = isic2016_dir(dest_root);
    let downloads = dest_root.join(DOWNLOADS_DIR);
    for dir in [&root, &downloads] {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    remove_stale_staging(&root);
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(&root)
        .with_context(|| format!("cannot create a staging folder in {}", root.display()))?;
    let say = |msg: &str| {
        if opts.download.show_progress {
            eprintln!("{msg}");
        }
    };

    let specs = archive_specs(&opts.expected_counts);
    let mut reports = Vec::new();
    // For each archive: the folder that holds its files now (in place or staged).
    let mut current_dirs = Vec::new();
    let mut staged = Vec::new();
    for spec in &specs {
        let archive = format!("{}.zip", spec.stem);
        let zip_path = downloads.join(&archive);
        let final_dir = root.join(spec.stem);
        if let Ok(n) = count_kind(&final_dir, spec.kind) {
            if n == spec.expected {
                say(&format!("{}: already in place ({n} files)", spec.stem));
                reports.push(ArchiveReport {
                    archive,
                    zip_path,
                    dir: final_dir.clone(),
                    files: n,
                    download: None,
                });
                current_dirs.push(final_dir);
                continue;
            }
        }

        let url = format!("{}/{}", base_url.trim_end_matches('/'), archive);
        let outcome = download_file(&url, &zip_path, &opts.download)
            .with_context(|| format!("could not download the ISIC 2016 archive {archive}"))?;
        say(&format!("{archive}: verifying and extracting"));
        let stage_dir = staging.path().join(spec.stem);
        let files = extract_archive(&zip_path, &stage_dir, spec)?;
        reports.push(ArchiveReport {
            archive,
            zip_path,
            dir: final_dir.clone(),
            files,
            download: Some(outcome),
        });
        current_dirs.push(stage_dir.clone());
        staged.push((stage_dir, final_dir));
    }

    let train_pairs = check_pairs(&current_dirs[0], &current_dirs[1], &specs[0], &specs[1])?;
    let test_pairs = check_pairs(&current_dirs[2], &current_dirs[3], &specs[2], &specs[3])?;

    // Everything checks out: move the staged folders into place.
    for (stage_dir, final_dir) in &staged {
        if final_dir.exists() || final_dir.is_symlink() {
            // Incomplete leftovers: move them aside (into staging, deleted below).
            let name = final_dir.file_name().unwrap_or_default();
            let aside = staging
                .path()
                .join(format!("old-{}", name.to_string_lossy()));
            fs::rename(final_dir, &aside).with_context(|| {
                format!(
                    "cannot replace the incomplete folder {}; delete it and run again",
                    final_dir.display()
                )
            })?;
        }
        fs::rename(stage_dir, final_dir).with_context(|| {
            format!(
                "cannot move {} into place at {}",
                stage_dir.display(),
                final_dir.display()
            )
        })?;
    }
    drop(staging);

    Ok(FetchReport {
        root,
        archives: reports,
        train_pairs,
        test_pairs,
    })
}

/// Staging folders left behind by a run that was killed.
fn remove_stale_staging(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let is_staging = entry.file_name().to_string_lossy().starts_with(".staging-");
        if is_staging && entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The path of an archive entry as safe relative components, or an error saying why
/// the entry is refused.
fn safe_components(name: &str) -> std::result::Result<Vec<&str>, &'static str> {
    if name.contains('\0') {
        return Err("its name contains a NUL byte");
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Err("it has an absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("it has an absolute (drive-letter) path");
    }
    let mut parts = Vec::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err("its path contains a `..` component"),
            p => parts.push(p),
        }
    }
    // Belt and braces: the platform's own reading of what is left must be plain names.
    let joined: PathBuf = parts.iter().collect();
    if !joined
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err("its path is not a plain relative path");
    }
    Ok(parts)
}

struct Entry {
    index: usize,
    name: String,
    parts: Vec<String>,
    is_dir: bool,
}

/// Verify `zip_path` entry by entry and extract it into `out_dir` (which must not
/// exist). Returns the number of files of the archive's kind.
fn extract_archive(zip_path: &Path, out_dir: &Path, spec: &ArchiveSpec) -> Result<usize> {
    let archive_name = zip_path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let corrupt = |what: String| -> anyhow::Error {
        // A damaged download: drop it so that the next run fetches it afresh.
        let _ = fs::remove_file(zip_path);
        anyhow!(
            "the archive {archive_name} is corrupt: {what}. The file has been deleted; run \
             `checker data fetch isic2016` again to download it afresh"
        )
    };
    let not_expected = |what: String| -> anyhow::Error {
        anyhow!(
            "the archive {} is not the expected ISIC 2016 archive: {what}. Nothing was \
             extracted. Check the download URL; if you put this file there yourself, \
             delete it and run `checker data fetch isic2016` again",
            zip_path.display()
        )
    };

    let file = File::open(zip_path)
        .with_context(|| format!("cannot open the archive {}", zip_path.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| corrupt(format!("it cannot be read as a zip file ({e})")))?;

    // Pass 1: names only (the central directory). Refuse the archive before writing.
    let mut entries = Vec::new();
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|e| corrupt(format!("entry #{index} cannot be read ({e})")))?;
        let name = entry.name().to_string();
        let parts: Vec<String> = safe_components(&name)
            .map_err(|why| not_expected(format!("entry `{name}` is refused because {why}")))?
            .into_iter()
            .map(str::to_string)
            .collect();
        if entry.is_symlink() {
            return Err(not_expected(format!(
                "entry `{name}` is refused because it is a symbolic link"
            )));
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        if parts.is_empty() || is_junk(&refs) {
            continue;
        }
        entries.push(Entry {
            index,
            is_dir: entry.is_dir(),
            name,
            parts,
        });
    }

    // A single root folder holding everything is dropped.
    let strip = match entries.first() {
        Some(first) => {
            let root = &first.parts[0];
            entries
                .iter()
                .all(|e| &e.parts[0] == root && (e.is_dir || e.parts.len() > 1))
        }
        None => false,
    };

    // Pass 2: extract, checking every entry's CRC on the way.
    fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the folder {}", out_dir.display()))?;
    let mut counted = 0usize;
    let mut seen = BTreeSet::new();
    for e in &entries {
        let parts = if strip { &e.parts[1..] } else { &e.parts[..] };
        if parts.is_empty() {
            continue;
        }
        let target: PathBuf = std::iter::once(out_dir.to_path_buf())
            .chain(parts.iter().map(PathBuf::from))
            .collect();
        if e.is_dir {
            fs::create_dir_all(&target)
                .with_context(|| format!("cannot create the folder {}", target.display()))?;
            continue;
        }
        if !seen.insert(parts.join("/")) {
            return Err(not_expected(format!("entry `{}` appears twice", e.name)));
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the folder {}", parent.display()))?;
        }
        let mut entry = zip
            .by_index(e.index)
            .map_err(|err| corrupt(format!("entry `{}` cannot be read ({err})", e.name)))?;
        let mut out = File::options()
            .write(true)
            .create_new(true)
            .open(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        if let Err(err) = copy_entry(&mut entry, &mut out) {
            return Err(match err {
                CopyError::Read(err) => {
                    let what = if err.to_string().contains("Invalid checksum") {
                        "its CRC-32 checksum does not match".to_string()
                    } else {
                        format!("it cannot be decompressed ({err})")
                    };
                    corrupt(format!("entry `{}`: {what}", e.name))
                }
                CopyError::Write(err) => anyhow!(err).context(format!(
                    "cannot write {} (is the disk full?)",
                    target.display()
                )),
            });
        }
        if parts.len() == 1 && spec.kind.matches(parts[0].as_str()) {
            counted += 1;
        }
    }

    if counted != spec.expected {
        return Err(not_expected(format!(
            "it holds {counted} {} at its top level, {} were expected",
            spec.kind.noun(),
            spec.expected
        )));
    }
    Ok(counted)
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// `io::copy` that tells read (decompression, CRC) errors from write errors.
fn copy_entry(src: &mut impl Read, dst: &mut File) -> std::result::Result<(), CopyError> {
    use std::io::Write;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        dst.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
    dst.flush().map_err(CopyError::Write)
}

/// Every image in `images` must have its mask in `masks`, and the other way round.
/// Returns the number of pairs.
fn check_pairs(
    images: &Path,
    masks: &Path,
    image_spec: &ArchiveSpec,
    mask_spec: &ArchiveSpec,
) -> Result<usize> {
    let image_names =
        list_files(images).with_context(|| format!("cannot list {}", images.display()))?;
    let mask_names =
        list_files(masks).with_context(|| format!("cannot list {}", masks.display()))?;
    let image_stems: BTreeSet<&str> = image_names.iter().filter_map(|n| image_stem(n)).collect();
    let mask_stems: BTreeSet<&str> = mask_names.iter().filter_map(|n| mask_stem(n)).collect();

    let show = |stems: Vec<&&str>, fmt_one: &dyn Fn(&str) -> String| -> String {
        let mut listed: Vec<String> = stems.iter().take(5).map(|s| fmt_one(s)).collect();
        if stems.len() > 5 {
            listed.push(format!("and {} more", stems.len() - 5));
        }
        listed.join(", ")
    };
    let lonely_images: Vec<_> = image_stems.difference(&mask_stems).collect();
    if !lonely_images.is_empty() {
        bail!(
            "{} image(s) of {} have no mask in {}: {}. The archives do not match; delete \
             datasets/downloads/{}.zip and {}.zip and run `checker data fetch isic2016` again",
            lonely_images.len(),
            image_spec.stem,
            mask_spec.stem,
            show(lonely_images, &|s| format!("{s}.jpg (no {s}{MASK_SUFFIX})")),
            image_spec.stem,
            mask_spec.stem
        );
    }
    let lonely_masks: Vec<_> = mask_stems.difference(&image_stems).collect();
    if !lonely_masks.is_empty() {
        bail!(
            "{} mask(s) of {} have no image in {}: {}. The archives do not match; delete \
             datasets/downloads/{}.zip and {}.zip and run `checker data fetch isic2016` again",
            lonely_masks.len(),
            mask_spec.stem,
            image_spec.stem,
            show(lonely_masks, &|s| format!("{s}{MASK_SUFFIX} (no {s}.jpg)")),
            image_spec.stem,
            mask_spec.stem
        );
    }
    Ok(image_stems.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_screened() {
        assert_eq!(safe_components("a/b.jpg").unwrap(), vec!["a", "b.jpg"]);
        assert_eq!(safe_components("./a//b.jpg").unwrap(), vec!["a", "b.jpg"]);
        assert!(safe_components("../evil").is_err());
        assert!(safe_components("a/../../evil").is_err());
        assert!(safe_components("/etc/passwd").is_err());
        assert!(safe_components("\\windows\\evil").is_err());
        assert!(safe_components("C:/evil").is_err());
        assert!(safe_components("a\\..\\evil").is_err());
    }

    #[test]
    fn stems() {
        assert_eq!(image_stem("ISIC_0000000.jpg"), Some("ISIC_0000000"));
        assert_eq!(image_stem("ISIC_0000000.JPG"), Some("ISIC_0000000"));
        assert_eq!(image_stem("ISIC_0000000_superpixels.png"), None);
        assert_eq!(
            mask_stem("ISIC_0000000_Segmentation.png"),
            Some("ISIC_0000000")
        );
        assert_eq!(mask_stem("ISIC_0000000_segmentation.png"), None);
    }
}
