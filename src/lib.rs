//! Support library of the SE05 Transfer Learning workshop.
//!
//! It plays the part of the notebook's `utils`, `torchvision` and `albumentations`:
//! everything students use but do not write. It never includes student code, so the
//! checker always builds whatever state the exercises are in.
//!
//! Grouped by concern:
//! - what exercises use: [`data`] (images, masks, transforms, loaders), [`layers`]
//!   (PyTorch-initialised building blocks), [`models`] (the EfficientNet encoder and
//!   reference architectures);
//! - [`train`]: the final stage's schedule, metrics, report and gallery;
//! - [`grading`]: the exercise registry, observers and judges, the sandbox, the source
//!   policy and the progress file (never called by exercise code);
//! - [`io`]: downloads, the ISIC fetch, checkpoints and atomic file writes.
pub mod data;
pub mod grading;
pub mod io;
pub mod layers;
pub mod models;
pub mod train;
