//! The `Dataset` trait (`torch.utils.data.Dataset`), `Subset` and `random_split`.

use std::sync::Arc;

use anyhow::{bail, ensure, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::Tensor;

/// One item: an image `[3, H, W]` and its mask `[1, H, W]`, both `f32`.
#[derive(Debug)]
pub struct Sample {
    pub image: Tensor,
    pub mask: Tensor,
}

impl Sample {
    pub fn new(image: Tensor, mask: Tensor) -> Self {
        Self { image, mask }
    }
}

impl From<(Tensor, Tensor)> for Sample {
    fn from((image, mask): (Tensor, Tensor)) -> Self {
        Self { image, mask }
    }
}

/// A collection of samples addressed by index, like `torch.utils.data.Dataset`:
/// `len` is `__len__`, `get` is `__getitem__`.
///
/// `get` may be called from several threads at once (the [`DataLoader`] loads a batch
/// in parallel), hence `Send + Sync`. Random augmentations inside `get` should draw
/// from [`sample_rng()`](super::sample_rng), which the loader seeds per item so that
/// runs are reproducible.
///
/// [`DataLoader`]: super::DataLoader
pub trait Dataset: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// The sample at `index` (`0 <= index < len()`); errors should name the file.
    fn get(&self, index: usize) -> Result<Sample>;

    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        (**self).get(index)
    }
}

impl<D: Dataset + ?Sized> Dataset for Box<D> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        (**self).get(index)
    }
}

impl<D: Dataset + ?Sized> Dataset for &D {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        (**self).get(index)
    }
}

/// The items of a parent dataset at the given indices (`torch.utils.data.Subset`).
#[derive(Clone)]
pub struct Subset {
    dataset: Arc<dyn Dataset>,
    indices: Vec<usize>,
}

impl std::fmt::Debug for Subset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Subset({} of {} items)",
            self.indices.len(),
            self.dataset.len()
        )
    }
}

impl Subset {
    /// Fails when an index is out of range of the parent.
    pub fn new(dataset: Arc<dyn Dataset>, indices: Vec<usize>) -> Result<Self> {
        let n = dataset.len();
        if let Some(bad) = indices.iter().find(|&&i| i >= n) {
            bail!("Subset index {bad} is out of range for a dataset of {n} items");
        }
        Ok(Self { dataset, indices })
    }

    /// The parent's indices, in this subset's order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The parent dataset.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        let Some(&parent) = self.indices.get(index) else {
            bail!(
                "index {index} is out of range for a subset of {} items",
                self.indices.len()
            );
        };
        self.dataset.get(parent)
    }
}

/// Splits a dataset into disjoint subsets of the given lengths that together cover it,
/// after a permutation drawn from `seed` (`torch.utils.data.random_split`).
///
/// ```no_run
/// # use std::sync::Arc; use se05::data::*;
/// # fn f(full: Arc<dyn Dataset>) -> anyhow::Result<()> {
/// let n_train = full.len() * 8 / 10;
/// let parts = random_split(full.clone(), &[n_train, full.len() - n_train], 42)?;
/// let [train, valid] = <[Subset; 2]>::try_from(parts).unwrap();
/// # Ok(()) }
/// ```
pub fn random_split(
    dataset: Arc<dyn Dataset>,
    lengths: &[usize],
    seed: u64,
) -> Result<Vec<Subset>> {
    let n = dataset.len();
    let total: usize = lengths.iter().sum();
    ensure!(
        total == n,
        "random_split: the lengths {lengths:?} add up to {total}, but the dataset has {n} items"
    );
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut start = 0;
    let mut parts = Vec::with_capacity(lengths.len());
    for &len in lengths {
        parts.push(Subset {
            dataset: dataset.clone(),
            indices: order[start..start + len].to_vec(),
        });
        start += len;
    }
    Ok(parts)
}

/// Like [`random_split`] with fractions that add up to 1 (e.g. `[0.8, 0.2]`): each part
/// gets `floor(fraction × len)` items and the remainder is dealt one by one from the
/// first part on, as PyTorch does.
pub fn random_split_fractions(
    dataset: Arc<dyn Dataset>,
    fractions: &[f64],
    seed: u64,
) -> Result<Vec<Subset>> {
    let sum: f64 = fractions.iter().sum();
    ensure!(
        (sum - 1.0).abs() < 1e-6 && fractions.iter().all(|f| *f >= 0.0),
        "random_split_fractions: the fractions {fractions:?} must be non-negative and add up to 1"
    );
    let n = dataset.len();
    let mut lengths: Vec<usize> = fractions
        .iter()
        .map(|f| (f * n as f64).floor() as usize)
        .collect();
    let mut rest = n - lengths.iter().sum::<usize>();
    let mut i = 0;
    while rest > 0 && !lengths.is_empty() {
        lengths[i % fractions.len()] += 1;
        rest -= 1;
        i += 1;
    }
    random_split(dataset, &lengths, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Range(usize);
    impl Dataset for Range {
        fn len(&self) -> usize {
            self.0
        }
        fn get(&self, index: usize) -> Result<Sample> {
            let v = Tensor::from_slice(&[index as f32]);
            Ok(Sample::new(
                v.view([1, 1, 1]).repeat([3, 1, 1]),
                v.view([1, 1, 1]),
            ))
        }
    }

    #[test]
    fn split_is_disjoint_covering_and_seeded() {
        let ds: Arc<dyn Dataset> = Arc::new(Range(101));
        let parts = random_split(ds.clone(), &[80, 21], 7).unwrap();
        let mut all: Vec<usize> = parts.iter().flat_map(|p| p.indices().to_vec()).collect();
        all.sort();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        assert_eq!(parts[0].len(), 80);
        let again = random_split(ds.clone(), &[80, 21], 7).unwrap();
        assert_eq!(again[1].indices(), parts[1].indices());
        let other = random_split(ds.clone(), &[80, 21], 8).unwrap();
        assert_ne!(other[1].indices(), parts[1].indices());
        let err = random_split(ds.clone(), &[80, 20], 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains("100") && err.contains("101"), "{err}");
        let v = parts[1].get(3).unwrap().mask.double_value(&[0, 0, 0]) as usize;
        assert_eq!(v, parts[1].indices()[3]);
        assert!(parts[1].get(21).is_err());
        let f = random_split_fractions(ds, &[0.8, 0.2], 1).unwrap();
        assert_eq!((f[0].len(), f[1].len()), (81, 20));
    }
}
