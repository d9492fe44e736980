//! # Exercise 5 — train/validation split and loaders (notebook §3.5)
//!
//! Split the training set 80/20 at random with `se05::data::random_split(dataset,
//! &[n_train, n - n_train], seed)` (it returns the two `Subset`s, disjoint and
//! together covering the data set), then wrap them in loaders:
//!
//! * training: `DataLoader::new(train, 16).shuffle(seed)`;
//! * validation: `DataLoader::new(valid, 16)`, not shuffled.
#![allow(unused_imports)]
use anyhow::Result;
use se05::data::{random_split, DataLoader, Dataset};
use std::sync::Arc;

/// 80 % training (batch 16, shuffled with `seed`), 20 % validation (batch 16, in order).
pub fn split_and_loaders(dataset: Arc<dyn Dataset>, seed: u64) -> Result<(DataLoader, DataLoader)> {
    let _ = (dataset, seed);
    todo!("Exercise 5: split 80/20 and build the two loaders")
}
