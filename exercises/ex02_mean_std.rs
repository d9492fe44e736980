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
//!
//! The tch calls you need:
//! * `for batch in &loader { let (images, _masks) = batch?; … }` goes through a
//!   `DataLoader` once; each batch is a `Result`, hence the `?`.
//! * `x.sum_dim_intlist([0i64, 2, 3].as_slice(), false, Kind::Double)` adds a
//!   `[B, 3, H, W]` tensor up over the batch, height and width, leaving one value per
//!   channel (shape `[3]`); convert first with `images.to_kind(Kind::Double)`, and
//!   square element-wise with `&x * &x`. `x.size()` gives `[B, 3, H, W]` for the count.
//! * Tensors combine with numbers (`&sum / n as f64`) and have `sqrt()`; finally
//!   `t.double_value(&[c])` reads channel `c` of a `[3]` tensor as an `f64`.
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
