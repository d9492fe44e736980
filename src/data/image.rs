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
    pub fn decode_resized(
        &self,
        height: usize,
        width: usize,
        interp: super::functional::Interpolation,
    ) -> Result<((usize, usize), FloatImage)> {
        let (raw, h, w, c) = match self.mode {
            ColorMode::Rgb => {
                let im = load_rgb(&self.path)?;
                let (h, w) = (im.height() as usize, im.width() as usize);
                (im.into_raw(), h, w, 3)
            }
            ColorMode::Gray => {
                let im = load_gray(&self.path)?;
                let (h, w) = (im.height() as usize, im.width() as usize);
                (im.into_raw(), h, w, 1)
            }
        };
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
    let decoded = decode(path.as_ref())?;
    Ok(match decoded {
        image::DynamicImage::ImageLuma8(gray) => gray,
        other if !other.color().has_color() => other.into_luma8(),
        other => {
            let rgb = other.into_rgb8();
            GrayImage::from_fn(rgb.width(), rgb.height(), |x, y| {
                let [r, g, b] = rgb.get_pixel(x, y).0;
                let l = (r as u32 * 299 + g as u32 * 587 + b as u32 * 114 + 500) / 1000;
                image::Luma([l as u8])
            })
        }
    })
}

fn decode(path: &Path) -> Result<image::DynamicImage> {
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
    image::load_from_memory_with_format(&bytes, format).map_err(|e| {
        anyhow::anyhow!(
            "{}: corrupt {format:?} image ({e}); download or regenerate it",
            path.display()
        )
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
}
