//! # Exercise 2 — mean and std of the training images (notebook §3.2)
//!
//! Normalize needs the per-channel mean and standard deviation of the training
//! images. Go through the data set once with a `DataLoader` of batch size 16 (no
//! shuffle); for each `[B, 3, H, W]` image batch add up, per channel, the pixels, their
//! squares and their count. Then
//!
//! ```text
//! mean = Σx / n        std = sqrt(Σx² / n − mean²)   (population std)
//! ```
//!
//! Work in f64, and count pixels per batch so a smaller last batch is weighted right.
#![allow(unused_imports)]
use anyhow::Result;
use se05::data::{DataLoader, Dataset};
use std::sync::Arc;
use tch::{Kind, Tensor};

/// Per-channel mean and population standard deviation of every image pixel.
pub fn mean_std(dataset: Arc<dyn Dataset>) -> Result<([f64; 3], [f64; 3])> {
    let _ = dataset;
    todo!("Exercise 2: per-channel mean and std over the whole data set")
}
