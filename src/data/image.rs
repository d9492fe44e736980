//! Image types and conversions.
//!
//! * [`RgbImage`] / [`GrayImage`] (re-exported from the `image` crate): 8-bit, HWC, what
//!   a decoder returns. They play the part of PIL images / `uint8` numpy arrays.
//! * [`FloatImage`]: the working type of every transform, an HWC `f32` buffer. Pixel
//!   values of a decoded image are scaled to `[0, 1]` (`u8 / 255`) on conversion, so
//!   colour formulas work on unit values exactly as torchvision's do on float tensors.
//! * [`load_rgb`] / [`load_gray`]: decode a file with errors that name it and say what to
//!   do (missing, not an image, truncated JPEG).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
pub use image::{GrayImage, RgbImage};
use tch::{Kind, Tensor};

/// An HWC image of `f32` values: pixel `(y, x)`, channel `c` lives at
/// `data[(y * width + x) * channels + c]`.
///
/// Converting from 8-bit images divides by 255, so values start in `[0, 1]`;
/// after [`Normalize`](super::Transform::Normalize) they are centred on 0.
#[derive(Clone, PartialEq)]
pub struct FloatImage {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub data: Vec<f32>,
}

impl fmt::Debug for FloatImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FloatImage({}×{}×{}, {} values)",
            self.height,
            self.width,
            self.channels,
            self.data.len()
        )
    }
}

impl FloatImage {
    /// An image filled with `value`.
    pub fn filled(height: usize, width: usize, channels: usize, value: f32) -> Self {
        Self {
            height,
            width,
            channels,
            data: vec![value; height * width * channels],
        }
    }

    /// Wraps an HWC buffer; fails when its length is not `height * width * channels`.
    pub fn from_vec(height: usize, width: usize, channels: usize, data: Vec<f32>) -> Result<Self> {
        if data.len() != height * width * channels {
            bail!(
                "buffer of {} values cannot hold an image of {height}×{width}×{channels}",
                data.len()
            );
        }
        Ok(Self {
            height,
            width,
            channels,
            data,
        })
    }

    /// `u8 / 255` per channel.
    pub fn from_rgb(image: &RgbImage) -> Self {
        Self::from_u8(
            image.height() as usize,
            image.width() as usize,
            3,
            image.as_raw(),
        )
    }

    /// `u8 / 255`, one channel.
    pub fn from_gray(image: &GrayImage) -> Self {
        Self::from_u8(
            image.height() as usize,
            image.width() as usize,
            1,
            image.as_raw(),
        )
    }

    /// `u8 / 255` of an HWC buffer.
    pub(crate) fn from_u8(height: usize, width: usize, channels: usize, raw: &[u8]) -> Self {
        Self {
            height,
            width,
            channels,
            data: raw.iter().map(|&v| v as f32 / 255.0).collect(),
        }
    }

    /// `(height, width)`.
    pub fn size(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// The value at row `y`, column `x`, channel `c`.
    #[inline]
    pub fn at(&self, y: usize, x: usize, c: usize) -> f32 {
        self.data[(y * self.width + x) * self.channels + c]
    }

    /// A CHW `f32` tensor `[channels, height, width]` with the same values.
    pub fn to_tensor(&self) -> Tensor {
        let (h, w, c) = (self.height, self.width, self.channels);
        let mut chw = vec![0f32; h * w * c];
        for (i, px) in self.data.chunks_exact(c.max(1)).enumerate() {
            for (ch, &v) in px.iter().enumerate() {
                chw[ch * h * w + i] = v;
            }
        }
        Tensor::from_slice(&chw)
            .reshape([c as i64, h as i64, w as i64])
            .to_kind(Kind::Float)
    }

    /// Back from a CHW tensor `[C, H, W]` (any float kind, on any device).
    pub fn from_tensor(tensor: &Tensor) -> Result<Self> {
        let size = tensor.size();
        let [c, h, w] = size[..] else {
            bail!("expected a [C, H, W] tensor, got shape {size:?}");
        };
        let hwc = tensor
            .to_device(tch::Device::Cpu)
            .to_kind(Kind::Float)
            .permute([1, 2, 0])
            .contiguous()
            .view([-1]);
        let data = Vec::<f32>::try_from(&hwc)?;
        Self::from_vec(h as usize, w as usize, c as usize, data)
    }

    /// 8-bit RGB (values × 255, rounded and clamped); for 3-channel images only.
    pub fn to_rgb8(&self) -> Result<RgbImage> {
        if self.channels != 3 {
            bail!("to_rgb8 needs 3 channels, this image has {}", self.channels);
        }
        RgbImage::from_raw(self.width as u32, self.height as u32, to_u8(&self.data))
            .context("internal error: buffer size")
    }

    /// 8-bit grayscale (values × 255, rounded and clamped); for 1-channel images only.
    pub fn to_gray8(&self) -> Result<GrayImage> {
        if self.channels != 1 {
            bail!("to_gray8 needs 1 channel, this image has {}", self.channels);
        }
        GrayImage::from_raw(self.width as u32, self.height as u32, to_u8(&self.data))
            .context("internal error: buffer size")
    }
}

fn to_u8(data: &[f32]) -> Vec<u8> {
    data.iter()
        .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

impl From<&RgbImage> for FloatImage {
    fn from(image: &RgbImage) -> Self {
        Self::from_rgb(image)
    }
}

impl From<RgbImage> for FloatImage {
    fn from(image: RgbImage) -> Self {
        Self::from_rgb(&image)
    }
}

impl From<&GrayImage> for FloatImage {
    fn from(image: &GrayImage) -> Self {
        Self::from_gray(image)
    }
}

impl From<GrayImage> for FloatImage {
    fn from(image: GrayImage) -> Self {
        Self::from_gray(&image)
    }
}

/// `ToTensor` for an 8-bit RGB image: `[3, H, W]` f32 in `[0, 1]`.
pub fn rgb_to_tensor(image: &RgbImage) -> Tensor {
    FloatImage::from_rgb(image).to_tensor()
}

/// `ToTensor` for an 8-bit grayscale image: `[1, H, W]` f32 in `[0, 1]`.
pub fn gray_to_tensor(image: &GrayImage) -> Tensor {
    FloatImage::from_gray(image).to_tensor()
}

/// How a file is decoded: three channels or one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColorMode {
    /// `convert("RGB")`
    Rgb,
    /// `convert("L")`: 0.299R + 0.587G + 0.114B (rounded), as PIL does.
    Gray,
}

impl ColorMode {
    /// 3 or 1.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Rgb => 3,
            ColorMode::Gray => 1,
        }
    }
}

/// An image file opened lazily, like PIL's `Image.open`: nothing is decoded until a
/// transform pipeline (or [`ImageFile::decode`]) needs the pixels. Pipelines whose
/// first step is `Resize` fetch the resized copy from the process-wide decode cache,
/// so each file is decoded once per process (see [`super::cache`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageFile {
    path: PathBuf,
    mode: ColorMode,
}

impl ImageFile {
    /// Opens `path` for RGB decoding; fails (naming the file) when it does not exist.
    pub fn rgb(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(path.as_ref(), ColorMode::Rgb)
    }

    /// Opens `path` for grayscale decoding; fails (naming the file) when it does not exist.
    pub fn gray(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(path.as_ref(), ColorMode::Gray)
    }

    fn new(path: &Path, mode: ColorMode) -> Result<Self> {
        if !path.is_file() {
            bail!(
                "{}: no such file (check the data directory, or run `cargo run --bin checker -- data`)",
                path.display()
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
            mode,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mode(&self) -> ColorMode {
        self.mode
    }

    /// `(width, height)` from the file header, without decoding the pixels.
    pub fn dimensions(&self) -> Result<(u32, u32)> {
        image::image_dimensions(&self.path)
            .with_context(|| format!("{}: cannot read the image header", self.path.display()))
    }

    /// Decodes the file and resizes it to `height × width` in one go (values in
    /// `[0, 1]`); returns the file's own `(height, width)` too.
    ///
    /// With bilinear (antialiased) resizing of a JPEG that is at least twice the target
    /// size on both axes, the JPEG is decoded at 1/2, 1/4 or 1/8 of its size first
    /// (see [`draft_denominator`] and [`set_draft_decoding`]) and that smaller copy is
    /// resized exactly as the full one would be.
    pub fn decode_resized(
        &self,
        height: usize,
        width: usize,
        interp: super::functional::Interpolation,
    ) -> Result<((usize, usize), FloatImage)> {
        self.decode_resized_with(height, width, interp, draft_decoding())
    }

    /// [`decode_resized`](Self::decode_resized) with reduced-size JPEG decoding allowed
    /// or not, whatever [`set_draft_decoding`] says (to compare the two).
    pub fn decode_resized_with(
        &self,
        height: usize,
        width: usize,
        interp: super::functional::Interpolation,
        allow_draft: bool,
    ) -> Result<((usize, usize), FloatImage)> {
        let (bytes, format) = read_checked(&self.path)?;
        if allow_draft
            && interp == super::functional::Interpolation::Bilinear
            && format == image::ImageFormat::Jpeg
        {
            if let Some(draft) = decode_jpeg_draft(&bytes, (height, width), self.mode) {
                let image = super::functional::resize_u8(
                    &draft.pixels,
                    (draft.size.0, draft.size.1, self.mode.channels()),
                    height,
                    width,
                    interp,
                );
                return Ok((draft.source_size, image));
            }
        }
        let decoded = decode_bytes(&self.path, &bytes, format)?;
        let (raw, h, w) = match self.mode {
            ColorMode::Rgb => {
                let im = decoded.into_rgb8();
                let (h, w) = (im.height() as usize, im.width() as usize);
                (im.into_raw(), h, w)
            }
            ColorMode::Gray => {
                let im = into_gray(decoded);
                let (h, w) = (im.height() as usize, im.width() as usize);
                (im.into_raw(), h, w)
            }
        };
        let c = self.mode.channels();
        let image = super::functional::resize_u8(&raw, (h, w, c), height, width, interp);
        Ok(((h, w), image))
    }

    /// Decodes the whole file into a [`FloatImage`] (values in `[0, 1]`).
    pub fn decode(&self) -> Result<FloatImage> {
        Ok(match self.mode {
            ColorMode::Rgb => FloatImage::from_rgb(&load_rgb(&self.path)?),
            ColorMode::Gray => FloatImage::from_gray(&load_gray(&self.path)?),
        })
    }
}

/// Decodes an image file as 8-bit RGB. Errors name the file and say what to do.
pub fn load_rgb(path: impl AsRef<Path>) -> Result<RgbImage> {
    Ok(decode(path.as_ref())?.into_rgb8())
}

/// Decodes an image file as 8-bit grayscale (masks). Errors name the file.
///
/// Colour files are converted with PIL's `convert("L")` weights (0.299, 0.587, 0.114).
pub fn load_gray(path: impl AsRef<Path>) -> Result<GrayImage> {
    Ok(into_gray(decode(path.as_ref())?))
}

/// PIL's `convert("L")` of one RGB pixel: `(299 R + 587 G + 114 B) / 1000`, rounded.
#[inline]
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 299 + g as u32 * 587 + b as u32 * 114 + 500) / 1000) as u8
}

fn into_gray(decoded: image::DynamicImage) -> GrayImage {
    match decoded {
        image::DynamicImage::ImageLuma8(gray) => gray,
        other if !other.color().has_color() => other.into_luma8(),
        other => {
            let rgb = other.into_rgb8();
            GrayImage::from_fn(rgb.width(), rgb.height(), |x, y| {
                let [r, g, b] = rgb.get_pixel(x, y).0;
                image::Luma([luma(r, g, b)])
            })
        }
    }
}

fn decode(path: &Path) -> Result<image::DynamicImage> {
    let (bytes, format) = read_checked(path)?;
    decode_bytes(path, &bytes, format)
}

/// The file's bytes and format; refuses unknown formats and truncated JPEGs.
fn read_checked(path: &Path) -> Result<(Vec<u8>, image::ImageFormat)> {
    let bytes = std::fs::read(path).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot read the file ({e}); check the path and permissions",
            path.display()
        )
    })?;
    let format = image::guess_format(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{}: not a JPEG or PNG image (unknown header); delete or replace the file",
            path.display()
        )
    })?;
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(&bytes) {
        bail!(
            "{}: truncated JPEG (no end-of-image marker); the file is incomplete, download or regenerate it",
            path.display()
        );
    }
    Ok((bytes, format))
}

fn decode_bytes(
    path: &Path,
    bytes: &[u8],
    format: image::ImageFormat,
) -> Result<image::DynamicImage> {
    image::load_from_memory_with_format(bytes, format).map_err(|e| {
        anyhow::anyhow!(
            "{}: corrupt {format:?} image ({e}); download or regenerate it",
            path.display()
        )
    })
}

static DRAFT_DECODING: OnceLock<AtomicBool> = OnceLock::new();

fn draft_flag() -> &'static AtomicBool {
    DRAFT_DECODING.get_or_init(|| {
        AtomicBool::new(std::env::var("SE05_JPEG_DRAFT").map_or(true, |v| v != "0"))
    })
}

/// Turns reduced-size JPEG decoding before a shrinking Resize on or off for the whole
/// process (on by default; the environment variable `SE05_JPEG_DRAFT=0` turns it off).
/// Entries of the decode cache remember which way they were made.
pub fn set_draft_decoding(enabled: bool) {
    draft_flag().store(enabled, Ordering::SeqCst);
}

/// Whether reduced-size JPEG decoding is on.
pub fn draft_decoding() -> bool {
    draft_flag().load(Ordering::SeqCst)
}

/// The DCT scaling a JPEG of `source` `(height, width)` is decoded with before it is
/// resized to `target`: 1 (full size), 2, 4 or 8, the largest whose output still has
/// at least twice the target's pixels along each axis. PIL's `Image.draft` only asks
/// for the target itself; keeping a factor of two makes the triangle filter that
/// follows do real antialiasing, and keeps the result within a few grey levels of the
/// full-size path (see the tests).
pub fn draft_denominator(source: (usize, usize), target: (usize, usize)) -> usize {
    let covers = |n: usize| {
        source.0.div_ceil(n) >= DRAFT_MIN_RATIO * target.0
            && source.1.div_ceil(n) >= DRAFT_MIN_RATIO * target.1
    };
    [8, 4, 2].into_iter().find(|&n| covers(n)).unwrap_or(1)
}

/// How many decoded pixels per target pixel (along each axis) a draft keeps at least.
const DRAFT_MIN_RATIO: usize = 2;

struct Draft {
    /// `(height, width)` of the file.
    source_size: (usize, usize),
    /// `(height, width)` of `pixels`.
    size: (usize, usize),
    /// HWC, 3 channels for [`ColorMode::Rgb`], 1 for [`ColorMode::Gray`].
    pixels: Vec<u8>,
}

/// A reduced-size decode of a JPEG, or `None` when no reduction applies or the
/// reduced decoder cannot handle the file (the caller then decodes it in full, which
/// also produces the error message for a corrupt file).
fn decode_jpeg_draft(bytes: &[u8], target: (usize, usize), mode: ColorMode) -> Option<Draft> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    let source_size = (info.height as usize, info.width as usize);
    let n = draft_denominator(source_size, target);
    if n == 1 {
        return None;
    }
    // Asking for exactly the size of 1/n gives 1/n: every larger reduction is
    // smaller on both axes.
    let want = (source_size.0.div_ceil(n), source_size.1.div_ceil(n));
    let (w, h) = decoder.scale(want.1 as u16, want.0 as u16).ok()?;
    let size = (h as usize, w as usize);
    if size != want {
        return None;
    }
    let decoded = decoder.decode().ok()?;
    let info = decoder.info()?;
    let pixels = match (info.pixel_format, mode) {
        (jpeg_decoder::PixelFormat::RGB24, ColorMode::Rgb) => decoded,
        (jpeg_decoder::PixelFormat::RGB24, ColorMode::Gray) => decoded
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect(),
        (jpeg_decoder::PixelFormat::L8, ColorMode::Gray) => decoded,
        (jpeg_decoder::PixelFormat::L8, ColorMode::Rgb) => {
            decoded.iter().flat_map(|&v| [v, v, v]).collect()
        }
        _ => return None,
    };
    (pixels.len() == size.0 * size.1 * mode.channels()).then_some(Draft {
        source_size,
        size,
        pixels,
    })
}

/// Cheap integrity check without decoding: the file must be a JPEG or PNG, and a JPEG
/// must end with its end-of-image marker (a truncated download does not).
pub fn check_header(path: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let open_err =
        |e: std::io::Error| anyhow::anyhow!("{}: cannot read the file ({e})", path.display());
    let mut file = std::fs::File::open(path).map_err(open_err)?;
    let mut head = [0u8; 16];
    let n = file.read(&mut head).map_err(open_err)?;
    let format = image::guess_format(&head[..n]).map_err(|_| {
        anyhow::anyhow!(
            "{}: not a JPEG or PNG image (unknown header); delete or replace the file",
            path.display()
        )
    })?;
    if format == image::ImageFormat::Jpeg {
        let len = file.metadata().map_err(open_err)?.len();
        let start = len.saturating_sub(1024);
        file.seek(SeekFrom::Start(start)).map_err(open_err)?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(open_err)?;
        let mut bytes = head[..n.min(4)].to_vec();
        bytes.extend_from_slice(&tail);
        if !jpeg_is_complete(&bytes) {
            bail!(
                "{}: truncated JPEG (no end-of-image marker); the file is incomplete, download or regenerate it",
                path.display()
            );
        }
    }
    Ok(())
}

/// A complete JPEG starts with SOI (FF D8) and ends with EOI (FF D9), allowing trailing
/// padding. Some decoders silently fill a truncated file with grey; we refuse it.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return false;
    }
    let tail_start = bytes.len().saturating_sub(1024);
    bytes[tail_start..].windows(2).any(|w| w == [0xFF, 0xD9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_round_trip_and_layout() {
        let mut img = RgbImage::new(3, 2);
        img.put_pixel(2, 1, image::Rgb([255, 0, 51]));
        let t = rgb_to_tensor(&img);
        assert_eq!(t.size(), vec![3, 2, 3]);
        assert_eq!(t.kind(), Kind::Float);
        assert!((t.double_value(&[0, 1, 2]) - 1.0).abs() < 1e-6);
        assert!((t.double_value(&[2, 1, 2]) - 0.2).abs() < 1e-6);
        let back = FloatImage::from_tensor(&t).unwrap();
        assert_eq!(back.to_rgb8().unwrap(), img);
    }

    #[test]
    fn truncated_jpeg_is_refused_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ISIC_0000001.jpg");
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 5, 90]));
        img.save(&path).unwrap();
        assert!(load_rgb(&path).is_ok());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = format!("{:#}", load_rgb(&path).unwrap_err());
        assert!(
            err.contains("ISIC_0000001.jpg") && err.contains("truncated"),
            "{err}"
        );
        std::fs::write(&path, b"not an image at all").unwrap();
        let err = format!("{:#}", load_rgb(&path).unwrap_err());
        assert!(err.contains("ISIC_0000001.jpg"), "{err}");
        let err = format!(
            "{:#}",
            ImageFile::rgb(dir.path().join("nope.jpg")).unwrap_err()
        );
        assert!(err.contains("nope.jpg"), "{err}");
    }

    #[test]
    fn draft_denominator_keeps_twice_the_target() {
        // ISIC's 1022×767 to 64×64: 1/4 gives 192×256 (1/8 would give 96×128).
        assert_eq!(draft_denominator((767, 1022), (64, 64)), 4);
        assert_eq!(draft_denominator((767, 1022), (256, 256)), 1);
        assert_eq!(draft_denominator((767, 1022), (128, 128)), 2);
        assert_eq!(draft_denominator((4000, 6000), (64, 64)), 8);
        // The workshop's default synthetic set (256×192) is too small to shrink.
        assert_eq!(draft_denominator((192, 256), (64, 64)), 1);
        assert_eq!(draft_denominator((10, 10), (64, 64)), 1);
    }

    /// Largest and mean absolute difference, in 8-bit levels.
    fn level_diff(a: &FloatImage, b: &FloatImage) -> (f32, f32) {
        assert_eq!(
            (a.height, a.width, a.channels),
            (b.height, b.width, b.channels)
        );
        let diffs: Vec<f32> = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs() * 255.0)
            .collect();
        let max = diffs.iter().cloned().fold(0.0, f32::max);
        (max, diffs.iter().sum::<f32>() / diffs.len() as f32)
    }

    #[test]
    fn draft_decoding_stays_close_to_the_full_decode() {
        use super::super::functional::Interpolation;
        use super::super::synthetic::{generate_pair, Split, SyntheticConfig};
        // Bounds in 8-bit levels (out of 255): these three images measure max 5.9 and
        // mean 0.24 (the bench's 100 ISIC-like images: max 22.7 at a hair's edge, mean
        // 0.244).
        const MAX_LEVELS: f32 = 12.0;
        const MEAN_LEVELS: f32 = 0.5;
        let dir = tempfile::tempdir().unwrap();
        let config = SyntheticConfig::isic_like();
        let mut worst = (0f32, 0f32);
        for index in 0..3 {
            let (rgb, _) = generate_pair(&config, Split::Train, index);
            let path = dir.path().join(format!("ISIC_{index}.jpg"));
            let file = std::fs::File::create(&path).unwrap();
            image::codecs::jpeg::JpegEncoder::new_with_quality(file, config.jpeg_quality)
                .encode_image(&rgb)
                .unwrap();
            for mode in [ColorMode::Rgb, ColorMode::Gray] {
                let f = ImageFile::new(&path, mode).unwrap();
                let (full_size, full) = f
                    .decode_resized_with(64, 64, Interpolation::Bilinear, false)
                    .unwrap();
                let (draft_size, draft) = f
                    .decode_resized_with(64, 64, Interpolation::Bilinear, true)
                    .unwrap();
                assert_eq!(full_size, (767, 1022));
                assert_eq!(draft_size, full_size, "the file's own size is reported");
                let (max, mean) = level_diff(&full, &draft);
                worst = (worst.0.max(max), worst.1.max(mean));
                // Nearest (masks) never takes the reduced path: identical results.
                let near = |allow| {
                    f.decode_resized_with(64, 64, Interpolation::Nearest, allow)
                        .unwrap()
                        .1
                };
                assert_eq!(near(false), near(true));
            }
        }
        assert!(worst.0 > 0.0, "the reduced path was not taken");
        assert!(
            worst.0 <= MAX_LEVELS && worst.1 <= MEAN_LEVELS,
            "draft vs full decode: max {:.2}, mean {:.3} levels",
            worst.0,
            worst.1
        );
    }
}
