//! Augmentation pipelines in the style of albumentations: a [`Compose`] of
//! [`Transform`] steps applied to an image and (optionally) its mask together.
//!
//! ```no_run
//! # use se05::data::*;
//! # fn main() -> anyhow::Result<()> {
//! let train = Compose::new(vec![
//!     Transform::Resize { height: 64, width: 64 },
//!     Transform::HorizontalFlip { p: 0.5 },
//!     Transform::Rotate { limit: 10.0, p: 0.5 },
//!     Transform::Normalize { mean: vec![0.72, 0.62, 0.57], std: vec![0.16, 0.17, 0.19] },
//!     Transform::ToTensor,
//! ]);
//! println!("{train}");
//! let image = ImageFile::rgb("datasets/synthetic/ISBI2016_ISIC_Part1_Training_Data/ISIC_0000000.jpg")?;
//! let mask = ImageFile::gray("datasets/synthetic/ISBI2016_ISIC_Part1_Training_GroundTruth/ISIC_0000000_Segmentation.png")?;
//! let (x, y) = train.apply(&image, &mask, &mut sample_rng())?; // [3,64,64], [1,64,64]
//! # Ok(()) }
//! ```
//!
//! Semantics:
//! * Each random step first draws `u ~ U[0, 1)` and runs when `u < p`; then it draws its
//!   parameters. One draw serves image and mask, so they stay aligned.
//! * Spatial steps (Resize, flips, Rotate) move image and mask; images are resampled
//!   bilinearly, masks with nearest neighbour, so a 0/1 mask stays 0/1.
//! * Colour steps (ColorJitter, Normalize) change the image only.
//! * Pixel values: 8-bit inputs become `u8 / 255` on entry, so before Normalize the
//!   values lie in `[0, 1]`. `ToTensor` hands out CHW `f32` tensors; it must be present
//!   for [`Compose::apply`] (as `ToTensorV2` is for albumentations to return tensors),
//!   and since every step works on the same HWC buffer its position does not change
//!   the result (albumentations' order Normalize → ToTensor and torchvision's
//!   ToTensor → Normalize give the same tensors).

use std::fmt;
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use tch::Tensor;

use super::cache;
use super::functional::{self as F, Interpolation};
use super::image::{FloatImage, GrayImage, ImageFile, RgbImage};

/// One step of a pipeline. Build them directly, e.g.
/// `Transform::Rotate { limit: 10.0, p: 0.5 }`; inspect them with `match`,
/// [`Transform::kind`] or [`Transform::describe`].
#[derive(Clone, Debug, PartialEq)]
pub enum Transform {
    /// Resize to exactly `height × width` (bilinear with antialiasing for images,
    /// nearest for masks).
    Resize { height: usize, width: usize },
    /// Mirror left ↔ right with probability `p`.
    HorizontalFlip { p: f64 },
    /// Mirror top ↔ bottom with probability `p`.
    VerticalFlip { p: f64 },
    /// With probability `p`, rotate by an angle drawn from `U(−limit, limit)` degrees
    /// (positive = counter-clockwise) about the centre; uncovered corners become 0.
    Rotate { limit: f64, p: f64 },
    /// With probability `p`, apply brightness, contrast, saturation and hue changes in
    /// a random order. Factors are drawn from `U[max(0, 1 − x), 1 + x]` for the first
    /// three and the hue shift from `U[−hue, hue]` (turns, at most 0.5); a parameter of
    /// 0 leaves that operation out. Image only.
    ColorJitter {
        brightness: f64,
        contrast: f64,
        saturation: f64,
        hue: f64,
        p: f64,
    },
    /// `(x − mean[c]) / std[c]` per channel, with values in `[0, 1]` units. Image only.
    Normalize { mean: Vec<f32>, std: Vec<f32> },
    /// Hand the result out as CHW `f32` tensors (`[C, H, W]`).
    ToTensor,
}

/// Which part of a sample a transform changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Geometry: image and mask move together.
    Spatial,
    /// Pixel values of the image; masks are never touched.
    ImageOnly,
    /// Output format only.
    Format,
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn fmt_list(v: &[f32]) -> String {
    let items: Vec<String> = v.iter().map(|&x| format!("{x:.4}")).collect();
    format!("[{}]", items.join(", "))
}

impl Transform {
    /// The step's name: `"Resize"`, `"HorizontalFlip"`, `"VerticalFlip"`, `"Rotate"`,
    /// `"ColorJitter"`, `"Normalize"` or `"ToTensor"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Transform::Resize { .. } => "Resize",
            Transform::HorizontalFlip { .. } => "HorizontalFlip",
            Transform::VerticalFlip { .. } => "VerticalFlip",
            Transform::Rotate { .. } => "Rotate",
            Transform::ColorJitter { .. } => "ColorJitter",
            Transform::Normalize { .. } => "Normalize",
            Transform::ToTensor => "ToTensor",
        }
    }

    /// A one-line human-readable description, e.g. `Rotate(limit=10°, p=0.5)`.
    pub fn describe(&self) -> String {
        match self {
            Transform::Resize { height, width } => {
                format!("Resize(height={height}, width={width})")
            }
            Transform::HorizontalFlip { p } => format!("HorizontalFlip(p={})", fmt_num(*p)),
            Transform::VerticalFlip { p } => format!("VerticalFlip(p={})", fmt_num(*p)),
            Transform::Rotate { limit, p } => {
                format!("Rotate(limit={}°, p={})", fmt_num(*limit), fmt_num(*p))
            }
            Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            } => format!(
                "ColorJitter(brightness={}, contrast={}, saturation={}, hue={}, p={})",
                fmt_num(*brightness),
                fmt_num(*contrast),
                fmt_num(*saturation),
                fmt_num(*hue),
                fmt_num(*p)
            ),
            Transform::Normalize { mean, std } => {
                format!("Normalize(mean={}, std={})", fmt_list(mean), fmt_list(std))
            }
            Transform::ToTensor => "ToTensor".to_string(),
        }
    }

    /// What the step changes: geometry of image and mask, the image's values, or the format.
    pub fn target(&self) -> Target {
        match self {
            Transform::Resize { .. }
            | Transform::HorizontalFlip { .. }
            | Transform::VerticalFlip { .. }
            | Transform::Rotate { .. } => Target::Spatial,
            Transform::ColorJitter { .. } | Transform::Normalize { .. } => Target::ImageOnly,
            Transform::ToTensor => Target::Format,
        }
    }

    /// True for steps that draw random numbers.
    pub fn is_random(&self) -> bool {
        matches!(
            self,
            Transform::HorizontalFlip { .. }
                | Transform::VerticalFlip { .. }
                | Transform::Rotate { .. }
                | Transform::ColorJitter { .. }
        )
    }

    /// The probability of running (1 for deterministic steps).
    pub fn probability(&self) -> f64 {
        match self {
            Transform::HorizontalFlip { p }
            | Transform::VerticalFlip { p }
            | Transform::Rotate { p, .. }
            | Transform::ColorJitter { p, .. } => *p,
            _ => 1.0,
        }
    }

    /// Checks the parameters; errors say which one is wrong.
    pub fn validate(&self) -> Result<()> {
        let prob = |p: f64| {
            ensure!(
                (0.0..=1.0).contains(&p),
                "{}: p must lie in [0, 1]",
                self.describe()
            );
            Ok(())
        };
        match self {
            Transform::Resize { height, width } => ensure!(
                *height > 0 && *width > 0,
                "{}: height and width must be positive",
                self.describe()
            ),
            Transform::HorizontalFlip { p } | Transform::VerticalFlip { p } => prob(*p)?,
            Transform::Rotate { limit, p } => {
                prob(*p)?;
                ensure!(
                    limit.is_finite() && *limit >= 0.0,
                    "{}: limit must be a non-negative number of degrees",
                    self.describe()
                );
            }
            Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            } => {
                prob(*p)?;
                for (name, v) in [
                    ("brightness", brightness),
                    ("contrast", contrast),
                    ("saturation", saturation),
                ] {
                    ensure!(
                        v.is_finite() && *v >= 0.0,
                        "{}: {name} must be ≥ 0",
                        self.describe()
                    );
                }
                ensure!(
                    (0.0..=0.5).contains(hue),
                    "{}: hue must lie in [0, 0.5]",
                    self.describe()
                );
            }
            Transform::Normalize { mean, std } => {
                ensure!(
                    mean.len() == std.len() && !mean.is_empty(),
                    "{}: mean and std need one value per channel",
                    self.describe()
                );
                ensure!(
                    std.iter().all(|s| s.is_finite() && *s > 0.0),
                    "{}: every std must be > 0",
                    self.describe()
                );
            }
            Transform::ToTensor => {}
        }
        Ok(())
    }

    /// Applies this step to an image and optionally its mask, drawing from `rng`.
    pub fn apply<R: Rng + ?Sized>(
        &self,
        image: FloatImage,
        mask: Option<FloatImage>,
        rng: &mut R,
    ) -> Result<(FloatImage, Option<FloatImage>)> {
        let both = |f: &dyn Fn(&FloatImage, Interpolation) -> FloatImage,
                    image: FloatImage,
                    mask: Option<FloatImage>| {
            let image = f(&image, Interpolation::Bilinear);
            let mask = mask.map(|m| f(&m, Interpolation::Nearest));
            (image, mask)
        };
        Ok(match self {
            Transform::Resize { height, width } => {
                both(&|im, it| F::resize(im, *height, *width, it), image, mask)
            }
            Transform::HorizontalFlip { p } => {
                if rng.gen::<f64>() < *p {
                    both(&|im, _| F::hflip(im), image, mask)
                } else {
                    (image, mask)
                }
            }
            Transform::VerticalFlip { p } => {
                if rng.gen::<f64>() < *p {
                    both(&|im, _| F::vflip(im), image, mask)
                } else {
                    (image, mask)
                }
            }
            Transform::Rotate { limit, p } => {
                if rng.gen::<f64>() < *p {
                    let angle = if *limit > 0.0 {
                        rng.gen_range(-*limit..=*limit)
                    } else {
                        0.0
                    };
                    both(&|im, it| F::rotate(im, angle, it), image, mask)
                } else {
                    (image, mask)
                }
            }
            Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            } => {
                if rng.gen::<f64>() < *p {
                    let mut order = [0usize, 1, 2, 3];
                    order.shuffle(rng);
                    let mut factor = |x: f64| {
                        (x > 0.0).then(|| rng.gen_range((1.0 - x).max(0.0)..=1.0 + x) as f32)
                    };
                    let b = factor(*brightness);
                    let c = factor(*contrast);
                    let s = factor(*saturation);
                    let h = (*hue > 0.0).then(|| rng.gen_range(-*hue..=*hue) as f32);
                    let mut image = image;
                    for op in order {
                        image = match (op, b, c, s, h) {
                            (0, Some(f), ..) => F::adjust_brightness(&image, f),
                            (1, _, Some(f), ..) => F::adjust_contrast(&image, f),
                            (2, _, _, Some(f), _) => F::adjust_saturation(&image, f),
                            (3, .., Some(f)) => F::adjust_hue(&image, f),
                            _ => image,
                        };
                    }
                    (image, mask)
                } else {
                    (image, mask)
                }
            }
            Transform::Normalize { mean, std } => (F::normalize(&image, mean, std)?, mask),
            Transform::ToTensor => (image, mask),
        })
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Where a pipeline's input comes from: decoded pixels, or a file that is decoded
/// lazily (and, when the pipeline starts with `Resize`, through the decode cache).
#[derive(Clone, Debug)]
pub enum Input {
    Pixels(Arc<FloatImage>),
    /// 8-bit HWC pixels `(height, width, channels, values)`: converted to `u8 / 255`
    /// exactly as a file would be, so both give bit-identical results.
    Bytes(usize, usize, usize, Arc<Vec<u8>>),
    File(ImageFile),
}

impl From<FloatImage> for Input {
    fn from(v: FloatImage) -> Self {
        Input::Pixels(Arc::new(v))
    }
}
impl From<&FloatImage> for Input {
    fn from(v: &FloatImage) -> Self {
        Input::Pixels(Arc::new(v.clone()))
    }
}
impl From<&RgbImage> for Input {
    fn from(v: &RgbImage) -> Self {
        let (h, w) = (v.height() as usize, v.width() as usize);
        Input::Bytes(h, w, 3, Arc::new(v.as_raw().clone()))
    }
}
impl From<RgbImage> for Input {
    fn from(v: RgbImage) -> Self {
        Input::from(&v)
    }
}
impl From<&GrayImage> for Input {
    fn from(v: &GrayImage) -> Self {
        let (h, w) = (v.height() as usize, v.width() as usize);
        Input::Bytes(h, w, 1, Arc::new(v.as_raw().clone()))
    }
}
impl From<GrayImage> for Input {
    fn from(v: GrayImage) -> Self {
        Input::from(&v)
    }
}
impl From<ImageFile> for Input {
    fn from(v: ImageFile) -> Self {
        Input::File(v)
    }
}
impl From<&ImageFile> for Input {
    fn from(v: &ImageFile) -> Self {
        Input::File(v.clone())
    }
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Pixels(p) => format!("{}×{} image", p.height, p.width),
            Input::Bytes(h, w, _, _) => format!("{h}×{w} image"),
            Input::File(f) => f.path().display().to_string(),
        }
    }
}

/// A pipeline of transforms, applied in order (albumentations' `A.Compose`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Compose {
    steps: Vec<Transform>,
}

impl Compose {
    pub fn new(steps: Vec<Transform>) -> Self {
        Self { steps }
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Transform] {
        &self.steps
    }

    /// The steps' kinds, e.g. `["Resize", "Normalize", "ToTensor"]`.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.steps.iter().map(Transform::kind).collect()
    }

    /// The first step of the given kind.
    pub fn find(&self, kind: &str) -> Option<&Transform> {
        self.steps.iter().find(|t| t.kind() == kind)
    }

    /// True when a step of that kind is present.
    pub fn contains(&self, kind: &str) -> bool {
        self.find(kind).is_some()
    }

    /// One description per step.
    pub fn describe(&self) -> Vec<String> {
        self.steps.iter().map(Transform::describe).collect()
    }

    /// Checks every step's parameters and that the pipeline ends in tensors.
    pub fn validate(&self) -> Result<()> {
        for t in &self.steps {
            t.validate()?;
        }
        ensure!(
            self.contains("ToTensor"),
            "the pipeline has no ToTensor step, so it cannot hand out tensors: add Transform::ToTensor as its last step"
        );
        Ok(())
    }

    /// Runs the pipeline on an image and its mask with one random draw per step for
    /// both. Returns `(image [C,H,W], mask [1,H,W])` as `f32` tensors; mask values keep
    /// their scale (`u8 / 255`, so an ISIC mask gives exactly 0.0 and 1.0).
    pub fn apply<R: Rng + ?Sized>(
        &self,
        image: impl Into<Input>,
        mask: impl Into<Input>,
        rng: &mut R,
    ) -> Result<(Tensor, Tensor)> {
        self.validate()?;
        let (image, mask) = self.apply_hwc(image, Some(mask.into()), rng)?;
        let mask = mask.context("internal error: mask lost")?;
        Ok((image.to_tensor(), mask.to_tensor()))
    }

    /// Runs the pipeline on an image alone (torchvision style, e.g. a transform for
    /// images and another for masks). Resize is bilinear here, whatever the channels.
    pub fn apply_image<R: Rng + ?Sized>(
        &self,
        image: impl Into<Input>,
        rng: &mut R,
    ) -> Result<Tensor> {
        self.validate()?;
        let (image, _) = self.apply_hwc(image, None, rng)?;
        Ok(image.to_tensor())
    }

    /// Runs the pipeline and returns HWC buffers instead of tensors (no ToTensor needed):
    /// for inspection, tests and plotting.
    pub fn apply_hwc<R: Rng + ?Sized>(
        &self,
        image: impl Into<Input>,
        mask: Option<Input>,
        rng: &mut R,
    ) -> Result<(FloatImage, Option<FloatImage>)> {
        for t in &self.steps {
            t.validate()?;
        }
        let image = image.into();
        let image_name = image.name();
        let mask_name = mask.as_ref().map(Input::name);
        // A leading Resize is served by the decode cache.
        let (first, rest) = match self.steps.first() {
            Some(Transform::Resize { height, width }) => {
                (Some((*height, *width)), &self.steps[1..])
            }
            _ => (None, &self.steps[..]),
        };
        // Returns the source size (height, width) and the pixels after `first`.
        let load = |input: Input, interp: Interpolation| -> Result<((usize, usize), FloatImage)> {
            Ok(match (input, first) {
                (Input::File(f), Some((h, w))) => {
                    let entry = cache::resized(&f, h, w, interp)?;
                    (entry.source_size, entry.image.clone())
                }
                (Input::File(f), None) => {
                    let im = f.decode()?;
                    (im.size(), im)
                }
                (Input::Pixels(p), Some((h, w))) => (p.size(), F::resize(&p, h, w, interp)),
                (Input::Pixels(p), None) => (p.size(), Arc::unwrap_or_clone(p)),
                (Input::Bytes(ih, iw, c, raw), Some((h, w))) => {
                    ((ih, iw), F::resize_u8(&raw, (ih, iw, c), h, w, interp))
                }
                (Input::Bytes(ih, iw, c, raw), None) => {
                    ((ih, iw), FloatImage::from_u8(ih, iw, c, &raw))
                }
            })
        };
        let (image_size, mut image) = load(image, Interpolation::Bilinear)?;
        let mut mask = match mask {
            Some(m) => {
                let (mask_size, m) = load(m, Interpolation::Nearest)?;
                if mask_size != image_size {
                    bail!(
                        "mask {} is {}×{} but its image {} is {}×{} (height×width): a mask must have its image's size; fix or regenerate the pair",
                        mask_name.unwrap_or_default(),
                        mask_size.0,
                        mask_size.1,
                        image_name,
                        image_size.0,
                        image_size.1
                    );
                }
                Some(m)
            }
            None => None,
        };
        for step in rest {
            (image, mask) = step
                .apply(image, mask, rng)
                .with_context(|| format!("{step} on {image_name}"))?;
        }
        Ok((image, mask))
    }
}

impl fmt::Display for Compose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Compose([")?;
        for t in &self.steps {
            writeln!(f, "    {t},")?;
        }
        write!(f, "])")
    }
}

impl From<Vec<Transform>> for Compose {
    fn from(steps: Vec<Transform>) -> Self {
        Self::new(steps)
    }
}
