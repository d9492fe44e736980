//! Exercise 5 — train/validation split and loaders (reference solution).
use anyhow::Result;
use se05::data::{random_split, DataLoader, Dataset};
use std::sync::Arc;

/// 80 % training (batch 16, shuffled with `seed`), 20 % validation (batch 16, in order).
pub fn split_and_loaders(dataset: Arc<dyn Dataset>, seed: u64) -> Result<(DataLoader, DataLoader)> {
    let n = dataset.len();
    let n_train = n * 8 / 10;
    let mut parts = random_split(dataset, &[n_train, n - n_train], seed)?;
    let valid = parts.pop().expect("two parts");
    let train = parts.pop().expect("two parts");
    Ok((
        DataLoader::new(train, 16).shuffle(seed),
        DataLoader::new(valid, 16),
    ))
}
