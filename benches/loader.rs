//! Augmented-loader throughput on the synthetic set at ISIC-like resolution
//! (1022×767 JPEGs), with and without the decode cache.
//!
//!     cargo bench --bench loader
//!
//! Environment: `SE05_BENCH_ITEMS` (default 900: the whole training split),
//! `SE05_BENCH_EPOCHS` (default 2 cached epochs after the cold one),
//! `SE05_BENCH_DIFF_ITEMS` (default 100: images compared between reduced-size and
//! full-size JPEG decoding), `SE05_BENCH_ONLY=cold64` (one cold 64×64 epoch and
//! nothing else, for timing the whole process; `SE05_JPEG_DRAFT=0` turns reduced-size
//! decoding off and `SE05_BENCH_PREFETCH=N` sets the loader's prefetch depth).
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

/// Reduced-size against full-size JPEG decoding before a 64×64 Resize, on the first
/// `items` training images: the largest and mean absolute difference of the resized
/// pixels in 8-bit levels, and the time per image on one thread.
fn draft_accuracy(pairs: &[Pair], items: usize) -> Result<()> {
    let (mut max, mut sum, mut count) = (0f32, 0f64, 0usize);
    let (mut full_s, mut draft_s) = (0.0, 0.0);
    let files: Vec<ImageFile> = pairs
        .iter()
        .take(items)
        .map(|p| ImageFile::rgb(&p.image))
        .collect::<Result<_>>()?;
    for file in &files {
        let t = Instant::now();
        let (_, full) = file.decode_resized_with(64, 64, Interpolation::Bilinear, false)?;
        full_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (_, draft) = file.decode_resized_with(64, 64, Interpolation::Bilinear, true)?;
        draft_s += t.elapsed().as_secs_f64();
        for (a, b) in full.data.iter().zip(&draft.data) {
            let d = (a - b).abs() * 255.0;
            max = max.max(d);
            sum += d as f64;
            count += 1;
        }
    }
    let n = files.len().max(1) as f64;
    // Decoding alone, one thread: the `image` crate (zune-jpeg) at full size, and
    // jpeg-decoder at each DCT scale.
    let bytes: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f.path()))
        .collect::<std::io::Result<_>>()?;
    let t = Instant::now();
    for b in &bytes {
        ::image::load_from_memory(b)?;
    }
    let mut line = format!(
        "decode only, one thread: image/zune-jpeg full {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3 / n
    );
    for denominator in [1u16, 2, 4, 8] {
        let t = Instant::now();
        for b in &bytes {
            let mut d = jpeg_decoder::Decoder::new(&b[..]);
            d.read_info()?;
            let info = d.info().expect("header read");
            d.scale(
                info.width.div_ceil(denominator),
                info.height.div_ceil(denominator),
            )?;
            d.decode()?;
        }
        line += &format!(
            ", jpeg-decoder 1/{denominator} {:.2} ms",
            t.elapsed().as_secs_f64() * 1e3 / n
        );
    }
    println!("{line} per image");
    println!(
        "\nreduced-size vs full-size JPEG decoding, then Resize 64×64 ({} images): \
         max |Δ| {max:.2} levels, mean |Δ| {:.3} levels (of 255); \
         decode+resize {:.2} ms vs {:.2} ms per image on one thread ({:.2}×)",
        files.len(),
        sum / count.max(1) as f64,
        draft_s * 1e3 / n,
        full_s * 1e3 / n,
        full_s / draft_s.max(1e-9)
    );
    Ok(())
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
    let prefetch = env_usize("SE05_BENCH_PREFETCH", se05::data::loader::DEFAULT_PREFETCH);
    if std::env::var("SE05_BENCH_ONLY").as_deref() == Ok("cold64") {
        let ds = Arc::new(Pairs {
            pairs,
            transform: notebook_train_pipeline(64, NOTEBOOK_MEAN, NOTEBOOK_STD),
        });
        let loader = DataLoader::new(ds, 16).shuffle(0).prefetch(prefetch);
        let (n, secs) = epoch(&loader)?;
        println!(
            "cold 64×64 epoch, reduced-size JPEG decoding {}: {:.1} images/s ({n} in {secs:.2} s)",
            if se05::data::image::draft_decoding() {
                "on"
            } else {
                "off"
            },
            n as f64 / secs
        );
        return Ok(());
    }
    // One thread, so that the per-image times are comparable (jpeg-decoder would use
    // the rayon pool for its components).
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()?
        .install(|| draft_accuracy(&pairs, env_usize("SE05_BENCH_DIFF_ITEMS", 100)))?;
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
        let draft = se05::data::image::draft_decoding();
        se05::data::image::set_draft_decoding(false);
        cache::clear();
        let loader = DataLoader::new(ds.clone(), 16).shuffle(0);
        let (n, secs) = epoch(&loader)?;
        println!(
            "  cache, cold epoch, full-size JPEG decoding   : {:8.1} images/s ({n} in {secs:.2} s)",
            n as f64 / secs
        );
        se05::data::image::set_draft_decoding(draft);
        cache::clear();
        let loader = DataLoader::new(ds.clone(), 16).shuffle(0);
        let (n, secs) = epoch(&loader)?;
        println!(
            "  cache, cold epoch{}: {:8.1} images/s ({n} in {secs:.2} s)",
            if draft {
                ", reduced-size JPEG decoding"
            } else {
                " (SE05_JPEG_DRAFT=0)         "
            },
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
