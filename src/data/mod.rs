//! Data pipeline: the workshop's counterpart of `torch.utils.data`, torchvision's
//! image helpers and albumentations.
//!
//! * [`Dataset`], [`Subset`], [`random_split`] and [`DataLoader`] mirror
//!   `torch.utils.data`; augmentations draw from [`sample_rng`].
//! * [`Transform`] / [`Compose`] mirror albumentations (one random draw for image and
//!   mask); [`functional`] holds the deterministic operations behind them.
//! * [`ImageFile`], [`load_rgb`], [`load_gray`], [`FloatImage`]: decoding and pixel
//!   buffers; [`cache`] decodes each file once per process.
//! * [`isic`] knows the ISIC 2016 Part 1 layout; [`synthetic`] writes a look-alike data
//!   set; [`ensure_dataset`] picks the real one when present, else the synthetic one.

pub mod cache;
pub mod dataset;
pub mod functional;
pub mod image;
pub mod isic;
pub mod loader;
pub mod synthetic;
pub mod transforms;

pub use self::dataset::{random_split, random_split_fractions, Dataset, Sample, Subset};
pub use self::functional::Interpolation;
pub use self::image::{
    gray_to_tensor, load_gray, load_rgb, rgb_to_tensor, ColorMode, FloatImage, GrayImage,
    ImageFile, RgbImage,
};

pub use self::isic::{ensure_dataset, DataKind, DataSource, SplitDirs};
pub use self::loader::{manual_seed, sample_rng, with_sample_seed, Batches, DataLoader};
pub use self::synthetic::SyntheticConfig;
pub use self::transforms::{Compose, Input, Target, Transform};
