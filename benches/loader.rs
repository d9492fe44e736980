//! Augmented-loader throughput on the synthetic set at ISIC-like resolution
//! (1022×767 JPEGs), with and without the decode cache.
//!
//!     cargo bench --bench loader
//!
//! Environment: `SE05_BENCH_ITEMS` (default 900: the whole training split),
//! `SE05_BENCH_EPOCHS` (default 2 cached epochs after the cold one).
//! The first run generates `datasets/synthetic-1022x767` (about a minute or two).

#[path = "../tests/support/pipelines.rs"]
mod pipelines;
use pipelines::{notebook_train_pipeline, NOTEBOOK_MEAN, NOTEBOOK_STD};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use se05::data::isic::{self, pair_split, Pair, Preference};
use se05::data::synthetic::SyntheticConfig;
use se05::data::*;

/// The shape of exercise 4: one pipeline for image and mask, mask binarised.
struct Pairs {
    pairs: Vec<Pair>,
    transform: Compose,
}

impl Dataset for Pairs {
    fn len(&self) -> usize {
        self.pairs.len()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        let pair = &self.pairs[index];
        let image = ImageFile::rgb(&pair.image)?;
        let mask = ImageFile::gray(&pair.mask)?;
        let (image, mask) = self.transform.apply(&image, &mask, &mut sample_rng())?;
        Ok(Sample::new(image, mask.gt(0.5).to_kind(tch::Kind::Float)))
    }
}

fn epoch(loader: &DataLoader) -> Result<(usize, f64)> {
    let start = Instant::now();
    let mut n = 0;
    for batch in loader {
        let (images, _masks) = batch?;
        n += images.size()[0] as usize;
    }
    Ok((n, start.elapsed().as_secs_f64()))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let config = SyntheticConfig::isic_like();
    let start = Instant::now();
    let source = isic::ensure_dataset_with(&isic::datasets_dir(), &config, Preference::Synthetic)?;
    println!("{}", source.describe());
    if source.generated {
        println!("generation: {:.1} s", start.elapsed().as_secs_f64());
    }
    let mut pairs = pair_split(&source.train)?.pairs;
    pairs.truncate(env_usize("SE05_BENCH_ITEMS", 900));
    let epochs = env_usize("SE05_BENCH_EPOCHS", 2);
    println!(
        "{} training images at {}×{}, batch 16, {} rayon threads",
        pairs.len(),
        config.width,
        config.height,
        rayon::current_num_threads()
    );
    for size in [64usize, 256] {
        let ds = Arc::new(Pairs {
            pairs: pairs.clone(),
            transform: notebook_train_pipeline(size, NOTEBOOK_MEAN, NOTEBOOK_STD),
        });
        println!("\npipeline: Resize {size}×{size} → flips → Rotate → ColorJitter → Normalize → ToTensor");

        cache::set_enabled(false);
        let loader = DataLoader::new(ds.clone(), 16).shuffle(0);
        let (n, secs) = epoch(&loader)?;
        println!(
            "  no cache           : {:8.1} images/s ({n} in {secs:.2} s)",
            n as f64 / secs
        );

        cache::set_enabled(true);
        cache::clear();
        let loader = DataLoader::new(ds.clone(), 16).shuffle(0);
        let (n, secs) = epoch(&loader)?;
        println!(
            "  cache, cold epoch  : {:8.1} images/s ({n} in {secs:.2} s)",
            n as f64 / secs
        );
        let (mut total_n, mut total_s) = (0, 0.0);
        for _ in 0..epochs {
            let (n, secs) = epoch(&loader)?;
            total_n += n;
            total_s += secs;
        }
        println!(
            "  cache, warm epochs : {:8.1} images/s ({total_n} in {total_s:.2} s over {epochs} epochs)",
            total_n as f64 / total_s
        );
        println!("  {}", cache::stats());
    }
    Ok(())
}
