//! # Exercise 5 — train/validation split and loaders (notebook §3.4)
//!
//! The model learns from one part of the training images and is judged on the part it
//! never sees. Write `split_and_loaders(dataset, seed)` so that:
//!
//! * 80 % of the items go to training, rounded down (10 items: 8; 51 items: 40), and
//!   the rest to validation; every item lands in exactly one of the two parts;
//! * which items go where is random but decided by `seed`: the same seed gives the same
//!   split, a different seed a different one, and the training part is not simply the
//!   first 80 %;
//! * both loaders use batches of 16;
//! * only the training loader shuffles (with `seed`), so every epoch sees its items in
//!   a new order; the validation loader keeps a fixed order, so its loss is comparable
//!   from one epoch to the next.
//!
//! `se05::data` has the counterparts of the notebook's `random_split` and `DataLoader`
//! (see `src/data/dataset.rs` and `src/data/loader.rs`). Stuck? `checker --hint 5`
//! gives the calls one step at a time.
#![allow(unused_imports)]
use anyhow::Result;
use se05::data::{random_split, DataLoader, Dataset};
use std::sync::Arc;

/// 80 % training (batch 16, shuffled with `seed`), 20 % validation (batch 16, in order).
pub fn split_and_loaders(dataset: Arc<dyn Dataset>, seed: u64) -> Result<(DataLoader, DataLoader)> {
    let _ = (dataset, seed);
    todo!("Exercise 5: split 80/20 and build the two loaders")
}
