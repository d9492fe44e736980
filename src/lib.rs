//! Support library of the SE05 Transfer Learning workshop.
//!
//! It plays the part of the notebook's `utils`, `torchvision` and `albumentations`:
//! everything students use but do not write. It never includes student code, so the
//! checker always builds whatever state the exercises are in.

pub mod check;
pub mod checkpoint;
pub mod data;
pub mod download;
pub mod fsutil;
pub mod isic_fetch;
pub mod layers;
pub mod models;
pub mod policy;
pub mod progress;
pub mod registry;
pub mod summary;
pub mod train;
