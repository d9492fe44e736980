//! DataLoader + random_split on a generated ISIC-layout set, with the notebook's
//! augmentation pipeline (the shape of exercises 2–5).

#[path = "support/pipelines.rs"]
mod pipelines;
use pipelines::notebook_train_pipeline;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use se05::data::isic::{self, pair_split, Pair, Preference};
use se05::data::synthetic::SyntheticConfig;
use se05::data::*;

/// Image + mask pairs through one transform pipeline, mask binarised at 0.5.
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

fn dataset(tmp: &std::path::Path, n: usize) -> Vec<Pair> {
    let cfg = SyntheticConfig {
        train: n,
        test: 2,
        width: 64,
        height: 48,
        ..SyntheticConfig::default()
    };
    let source = isic::ensure_dataset_with(tmp, &cfg, Preference::Synthetic).unwrap();
    pair_split(&source.train).unwrap().pairs
}

#[test]
fn notebook_pipeline_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let full: Arc<dyn Dataset> = Arc::new(Pairs {
        pairs: dataset(tmp.path(), 37),
        transform: notebook_train_pipeline(32, [0.7, 0.6, 0.55], [0.16, 0.17, 0.19]),
    });
    let n_train = full.len() * 8 / 10;
    let parts = random_split(full.clone(), &[n_train, full.len() - n_train], 42).unwrap();
    let [train, valid] = <[Subset; 2]>::try_from(parts).unwrap();
    assert_eq!((train.len(), valid.len()), (29, 8));
    let train_dl = DataLoader::new(train, 16).shuffle(0);
    let valid_dl = DataLoader::new(valid, 16);
    assert_eq!((train_dl.len(), valid_dl.len()), (2, 1));
    assert!(train_dl.is_shuffled() && !valid_dl.is_shuffled());
    assert_eq!(train_dl.batch_size(), 16);
    let batches: Vec<_> = train_dl.iter().collect::<Result<_>>().unwrap();
    assert_eq!(batches[0].0.size(), vec![16, 3, 32, 32]);
    assert_eq!(batches[0].1.size(), vec![16, 1, 32, 32]);
    assert_eq!(batches[1].0.size(), vec![13, 3, 32, 32]);
    for (images, masks) in &batches {
        assert_eq!(images.kind(), tch::Kind::Float);
        let ones = masks.eq(1.0).sum(tch::Kind::Int64).int64_value(&[]);
        let zeros = masks.eq(0.0).sum(tch::Kind::Int64).int64_value(&[]);
        assert_eq!(ones + zeros, masks.numel() as i64);
        assert!(ones > 0);
    }
    // Same seed, same epoch → same batches; the next epoch differs.
    let again = DataLoader::new(
        random_split(full.clone(), &[n_train, full.len() - n_train], 42)
            .unwrap()
            .remove(0),
        16,
    )
    .shuffle(0);
    let first = again.iter().next().unwrap().unwrap();
    assert!(first.0.equal(&batches[0].0) && first.1.equal(&batches[0].1));
    let second_epoch = train_dl.iter().next().unwrap().unwrap();
    assert!(!second_epoch.0.equal(&batches[0].0));
}

#[test]
fn a_broken_file_stops_the_epoch_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let pairs = dataset(tmp.path(), 10);
    let victim = pairs[7].image.clone();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 3]).unwrap();
    let dl = DataLoader::new(
        Pairs {
            pairs,
            transform: notebook_train_pipeline(32, [0.7, 0.6, 0.55], [0.16, 0.17, 0.19]),
        },
        4,
    );
    let results: Vec<_> = dl.iter().collect();
    assert_eq!(results.len(), 2, "the epoch stops after the failing batch");
    assert!(results[0].is_ok());
    let err = format!("{:#}", results[1].as_ref().unwrap_err());
    assert!(
        err.contains("ISIC_0000007.jpg") && err.contains("item 7"),
        "{err}"
    );
}

/// Records which threads loaded items.
struct Slow(Mutex<HashSet<std::thread::ThreadId>>);

impl Dataset for Slow {
    fn len(&self) -> usize {
        8
    }
    fn get(&self, _: usize) -> Result<Sample> {
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.0.lock().unwrap().insert(std::thread::current().id());
        Ok(Sample::new(
            tch::Tensor::zeros([3, 2, 2], tch::kind::FLOAT_CPU),
            tch::Tensor::zeros([1, 2, 2], tch::kind::FLOAT_CPU),
        ))
    }
}

#[test]
fn items_of_a_batch_load_in_parallel() {
    if rayon::current_num_threads() < 2 {
        return;
    }
    let ds = Arc::new(Slow(Mutex::new(HashSet::new())));
    let dl = DataLoader::new(ds.clone(), 8);
    let _batch = dl.iter().next().unwrap().unwrap();
    assert!(ds.0.lock().unwrap().len() >= 2);
}
