//! `DataLoader`: batches of a [`Dataset`], items loaded in parallel, optionally shuffled
//! with a seeded permutation that changes every epoch; plus the per-item random
//! generator that augmentations draw from ([`sample_rng`]).

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{anyhow, bail, Context, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tch::Tensor;

use super::dataset::{Dataset, Sample};

/// SplitMix64 finaliser: turns related seeds into unrelated ones.
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

thread_local! {
    /// (seed, calls so far) of the item being loaded on this thread.
    static ITEM_SEED: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}
static GLOBAL_SEED: AtomicU64 = AtomicU64::new(0);
static GLOBAL_CALLS: AtomicU64 = AtomicU64::new(0);

/// A random generator for augmenting one sample; call it inside `Dataset::get`:
///
/// ```ignore
/// let (image, mask) = self.transform.apply(&image, &mask, &mut sample_rng())?;
/// ```
///
/// Inside a [`DataLoader`] (or [`with_sample_seed`]) it is seeded from the loader's seed,
/// the epoch and the item's position, so a run is reproducible however the threads are
/// scheduled. Elsewhere it continues a process-wide sequence set by [`manual_seed`].
/// Each call returns a fresh, independent generator.
pub fn sample_rng() -> ChaCha8Rng {
    let seed = ITEM_SEED.with(|cell| match cell.get() {
        Some((seed, calls)) => {
            cell.set(Some((seed, calls + 1)));
            Some(mix(seed, calls))
        }
        None => None,
    });
    let seed = seed.unwrap_or_else(|| {
        mix(
            GLOBAL_SEED.load(Ordering::SeqCst),
            GLOBAL_CALLS.fetch_add(1, Ordering::SeqCst),
        )
    });
    ChaCha8Rng::seed_from_u64(seed)
}

/// Runs `f` with [`sample_rng`] seeded from `seed` on this thread (e.g. to get the same
/// augmentation of an item twice).
pub fn with_sample_seed<T>(seed: u64, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<(u64, u64)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ITEM_SEED.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(ITEM_SEED.with(|cell| cell.replace(Some((seed, 0)))));
    f()
}

/// Restarts the process-wide sequence that [`sample_rng`] follows outside a loader.
pub fn manual_seed(seed: u64) {
    GLOBAL_SEED.store(seed, Ordering::SeqCst);
    GLOBAL_CALLS.store(0, Ordering::SeqCst);
}

/// Batches of `(images [B,3,H,W], masks [B,1,H,W])` from a dataset
/// (`torch.utils.data.DataLoader`).
///
/// ```no_run
/// # use se05::data::*;
/// # fn f(train_ds: Subset) -> anyhow::Result<()> {
/// let train_dl = DataLoader::new(train_ds, 16).shuffle(42);
/// for batch in &train_dl {
///     let (images, masks) = batch?;
/// }
/// # Ok(()) }
/// ```
///
/// * The last batch keeps the leftover items (`drop_last=False`).
/// * The items of a batch are loaded in parallel (rayon), and by default the next
///   [`DEFAULT_PREFETCH`] batches are prepared on a background thread while the caller
///   trains on the current one ([`prefetch`](Self::prefetch); same batches either way).
/// * With [`shuffle`](Self::shuffle), each pass (each call of [`iter`](Self::iter)) uses a
///   new permutation drawn from the seed and the epoch number.
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    epoch: AtomicU64,
    prefetch: usize,
}

/// Batches a [`DataLoader`] prepares ahead by default (see [`DataLoader::prefetch`]);
/// the environment variable `SE05_PREFETCH=N` changes the default for the process.
pub const DEFAULT_PREFETCH: usize = 2;

fn default_prefetch() -> usize {
    static DEPTH: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *DEPTH.get_or_init(|| {
        std::env::var("SE05_PREFETCH")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_PREFETCH)
    })
}

impl std::fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLoader")
            .field("items", &self.dataset.len())
            .field("batch_size", &self.batch_size)
            .field("shuffle", &self.shuffle)
            .field("seed", &self.seed)
            .field("prefetch", &self.prefetch)
            .finish()
    }
}

impl DataLoader {
    /// A loader that visits the items in order. Panics when `batch_size` is 0.
    pub fn new(dataset: impl Dataset + 'static, batch_size: usize) -> Self {
        assert!(batch_size > 0, "DataLoader: batch_size must be at least 1");
        Self {
            dataset: Arc::new(dataset),
            batch_size,
            shuffle: false,
            seed: 0,
            epoch: AtomicU64::new(0),
            prefetch: default_prefetch(),
        }
    }

    /// Prepare up to `batches` batches ahead on a background thread while the caller
    /// works on the current one (default [`DEFAULT_PREFETCH`], or `$SE05_PREFETCH`); 0 loads each batch when
    /// it is asked for. The batches and their contents are the same either way; only
    /// the memory held (at most `batches` extra batches) and the time change.
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches;
        self
    }

    /// How many batches are prepared ahead (0: none).
    pub fn prefetch_depth(&self) -> usize {
        self.prefetch
    }

    /// Shuffle every epoch, with permutations drawn from `seed`
    /// (also seeds the per-item augmentation generators).
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle = true;
        self.seed = seed;
        self
    }

    /// Seeds the per-item augmentation generators without shuffling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    pub fn is_shuffled(&self) -> bool {
        self.shuffle
    }

    /// The dataset being loaded.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// Number of batches per epoch: `ceil(items / batch_size)`.
    pub fn len(&self) -> usize {
        self.dataset.len().div_ceil(self.batch_size)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Epochs started so far.
    pub fn epochs_started(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The order in which epoch `epoch` visits the dataset's indices.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.shuffle {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(self.seed, epoch)));
        }
        order
    }

    /// Starts a new epoch. With prefetching on, a background thread starts loading
    /// the first batches right away; dropping the iterator stops it.
    pub fn iter(&self) -> Batches<'_> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst);
        let job = Arc::new(BatchJob {
            dataset: self.dataset.clone(),
            item_seed: mix(mix(self.seed, 0x5EED), epoch),
            order: self.epoch_order(epoch),
            batch_size: self.batch_size,
            stop: AtomicBool::new(false),
        });
        let prefetcher = (self.prefetch > 0 && !job.order.is_empty())
            .then(|| Prefetcher::start(job.clone(), self.prefetch));
        Batches {
            loader: PhantomData,
            epoch,
            job,
            next: 0,
            failed: false,
            prefetcher,
        }
    }
}

impl<'a> IntoIterator for &'a DataLoader {
    type Item = Result<(Tensor, Tensor)>;
    type IntoIter = Batches<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// What loading one epoch needs, shared with the prefetching thread.
struct BatchJob {
    dataset: Arc<dyn Dataset>,
    /// Seeds the per-item generators of this epoch.
    item_seed: u64,
    order: Vec<usize>,
    batch_size: usize,
    /// Set when the epoch's iterator is dropped: items not yet started are skipped.
    stop: AtomicBool,
}

impl BatchJob {
    /// The batch that starts at position `start` of the epoch's order.
    fn batch(&self, start: usize) -> Result<(Tensor, Tensor)> {
        let end = (start + self.batch_size).min(self.order.len());
        self.load(start, &self.order[start..end])
    }

    fn load(&self, start: usize, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        let samples: Vec<Result<Sample>> = indices
            .par_iter()
            .enumerate()
            .map(|(k, &index)| {
                if self.stop.load(Ordering::Relaxed) {
                    bail!("the epoch was stopped");
                }
                with_sample_seed(mix(self.item_seed, (start + k) as u64), || {
                    self.dataset.get(index)
                })
                .with_context(|| format!("loading item {index} of the dataset"))
            })
            .collect();
        let samples: Vec<Sample> = samples.into_iter().collect::<Result<_>>()?;
        let first = &samples[0];
        for (k, s) in samples.iter().enumerate() {
            let (i, m) = (s.image.size(), s.mask.size());
            if i.len() != 3 || m.len() != 3 || i[1..] != m[1..] || m[0] != 1 {
                bail!(
                    "item {}: image {:?} and mask {:?} must be [C,H,W] and [1,H,W] with the same H and W",
                    indices[k],
                    i,
                    m
                );
            }
            if i != first.image.size() {
                bail!(
                    "item {} has shape {:?} but item {} has {:?}: every image of a batch must have the same size (add a Resize step)",
                    indices[k],
                    i,
                    indices[0],
                    first.image.size()
                );
            }
        }
        let images: Vec<&Tensor> = samples.iter().map(|s| &s.image).collect();
        let masks: Vec<&Tensor> = samples.iter().map(|s| &s.mask).collect();
        let images = Tensor::f_stack(&images, 0).map_err(|e| anyhow!("stacking images: {e}"))?;
        let masks = Tensor::f_stack(&masks, 0).map_err(|e| anyhow!("stacking masks: {e}"))?;
        Ok((
            images.to_kind(tch::Kind::Float),
            masks.to_kind(tch::Kind::Float),
        ))
    }
}

type BatchResult = Result<(Tensor, Tensor)>;

/// The background thread of a prefetching epoch: it loads the batches in order and
/// hands them over through a channel that holds `depth - 1` of them, so that at most
/// `depth` batches are ready or being built beyond the one the caller holds.
struct Prefetcher {
    receiver: Option<Receiver<BatchResult>>,
    thread: Option<JoinHandle<()>>,
}

impl Prefetcher {
    fn start(job: Arc<BatchJob>, depth: usize) -> Self {
        let (sender, receiver): (SyncSender<BatchResult>, _) = sync_channel(depth - 1);
        let thread = std::thread::Builder::new()
            .name("se05-prefetch".into())
            .spawn(move || {
                for start in (0..job.order.len()).step_by(job.batch_size) {
                    if job.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let batch = job.batch(start);
                    let failed = batch.is_err();
                    // A send fails only when the epoch's iterator is gone.
                    if sender.send(batch).is_err() || failed {
                        return;
                    }
                }
            })
            .expect("DataLoader: cannot start the prefetching thread");
        Self {
            receiver: Some(receiver),
            thread: Some(thread),
        }
    }

    /// The next batch, `None` when the thread ended without one; a panic of the
    /// dataset on that thread is raised again here.
    fn next(&mut self) -> Option<BatchResult> {
        match self.receiver.as_ref()?.recv() {
            Ok(batch) => Some(batch),
            Err(_) => {
                self.receiver = None;
                if let Some(Err(panic)) = self.thread.take().map(JoinHandle::join) {
                    std::panic::resume_unwind(panic);
                }
                None
            }
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        // Closing the channel ends a blocked send; the stop flag (set by Batches)
        // skips the items not yet started, so the join waits for little.
        self.receiver = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One epoch of a [`DataLoader`]. Stops after the first error.
pub struct Batches<'a> {
    loader: PhantomData<&'a DataLoader>,
    epoch: u64,
    job: Arc<BatchJob>,
    next: usize,
    failed: bool,
    prefetcher: Option<Prefetcher>,
}

impl Batches<'_> {
    /// The epoch number (0 for the first pass).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

impl Drop for Batches<'_> {
    fn drop(&mut self) {
        self.job.stop.store(true, Ordering::Relaxed);
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        let total = self.job.order.len();
        if self.failed || self.next >= total {
            return None;
        }
        let start = self.next;
        let result = match &mut self.prefetcher {
            Some(prefetcher) => prefetcher.next().unwrap_or_else(|| {
                Err(anyhow!(
                    "internal error: the prefetching thread stopped early"
                ))
            }),
            None => self.job.batch(start),
        };
        self.next = (start + self.job.batch_size).min(total);
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.failed {
            0
        } else {
            (self.job.order.len() - self.next).div_ceil(self.job.batch_size)
        };
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Item i: image filled with i, mask with a random draw.
    struct Numbers(usize);
    impl Dataset for Numbers {
        fn len(&self) -> usize {
            self.0
        }
        fn get(&self, index: usize) -> Result<Sample> {
            if index == 13 && self.0 == 14 {
                bail!("ISIC_0000013.jpg: corrupt");
            }
            let r: f32 = sample_rng().gen();
            Ok(Sample::new(
                Tensor::full(
                    [3, 2, 2],
                    index as f64,
                    (tch::Kind::Float, tch::Device::Cpu),
                ),
                Tensor::full([1, 2, 2], r as f64, (tch::Kind::Float, tch::Device::Cpu)),
            ))
        }
    }

    fn firsts(images: &Tensor) -> Vec<usize> {
        (0..images.size()[0])
            .map(|b| images.double_value(&[b, 0, 0, 0]) as usize)
            .collect()
    }

    #[test]
    fn batches_in_order_with_partial_last() {
        let dl = DataLoader::new(Numbers(10), 4);
        assert_eq!(dl.len(), 3);
        let batches: Vec<_> = dl.iter().map(|b| b.unwrap()).collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].0.size(), vec![4, 3, 2, 2]);
        assert_eq!(batches[2].1.size(), vec![2, 1, 2, 2]);
        assert_eq!(firsts(&batches[1].0), vec![4, 5, 6, 7]);
    }

    #[test]
    fn shuffle_is_seeded_and_changes_per_epoch() {
        let a = DataLoader::new(Numbers(20), 20).shuffle(3);
        let b = DataLoader::new(Numbers(20), 20).shuffle(3);
        let (a0, am0) = a.iter().next().unwrap().unwrap();
        let (b0, bm0) = b.iter().next().unwrap().unwrap();
        assert_eq!(firsts(&a0), firsts(&b0));
        assert!(am0.equal(&bm0), "augmentation draws are reproducible");
        let a1 = a.iter().next().unwrap().unwrap().0;
        assert_ne!(firsts(&a0), firsts(&a1));
        let mut sorted = firsts(&a1);
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn errors_propagate_with_context() {
        let dl = DataLoader::new(Numbers(14), 5);
        let results: Vec<_> = dl.iter().collect();
        assert_eq!(results.len(), 3);
        let err = format!("{:#}", results[2].as_ref().unwrap_err());
        assert!(
            err.contains("ISIC_0000013.jpg") && err.contains("item 13"),
            "{err}"
        );
    }
    /// Counts `get` calls; panics at `panic_at`.
    struct Counted {
        len: usize,
        calls: Arc<AtomicU64>,
        panic_at: Option<usize>,
    }
    impl Dataset for Counted {
        fn len(&self) -> usize {
            self.len
        }
        fn get(&self, index: usize) -> Result<Sample> {
            if self.panic_at == Some(index) {
                panic!("item {index} is broken");
            }
            self.calls.fetch_add(1, Ordering::SeqCst);
            Numbers(self.len).get(index)
        }
    }

    fn counted(len: usize, panic_at: Option<usize>) -> (Counted, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let ds = Counted {
            len,
            calls: calls.clone(),
            panic_at,
        };
        (ds, calls)
    }

    /// Waits (up to 10 s) until `calls` reaches `want`; returns what it reached.
    fn wait_for(calls: &AtomicU64, want: u64) -> u64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while calls.load(Ordering::SeqCst) < want && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        calls.load(Ordering::SeqCst)
    }

    fn all_batches(dl: &DataLoader) -> Vec<(Vec<usize>, Tensor)> {
        dl.iter()
            .map(|b| {
                let (images, masks) = b.unwrap();
                (firsts(&images), masks)
            })
            .collect()
    }

    #[test]
    fn prefetching_gives_the_same_batches_as_loading_on_demand() {
        for depth in [1, 2, 5] {
            let plain = DataLoader::new(Numbers(37), 4).shuffle(9).prefetch(0);
            let ahead = DataLoader::new(Numbers(37), 4).shuffle(9).prefetch(depth);
            assert_eq!(ahead.prefetch_depth(), depth);
            for _epoch in 0..2 {
                let a = all_batches(&plain);
                let b = all_batches(&ahead);
                assert_eq!(a.len(), 10);
                assert_eq!(a.len(), b.len());
                for ((ia, ma), (ib, mb)) in a.iter().zip(&b) {
                    assert_eq!(ia, ib, "depth {depth}: batch order");
                    assert!(ma.equal(mb), "depth {depth}: augmentation draws");
                }
            }
        }
        assert_eq!(
            DataLoader::new(Numbers(3), 2).prefetch_depth(),
            default_prefetch()
        );
    }

    #[test]
    fn prefetching_runs_ahead_but_stays_bounded() {
        let (ds, calls) = counted(64, None);
        let dl = DataLoader::new(ds, 4).prefetch(2);
        let mut it = dl.iter();
        let first = it.next().unwrap().unwrap();
        assert_eq!(firsts(&first.0), vec![0, 1, 2, 3]);
        // Batches 2 and 3 get built while the caller holds batch 1...
        assert_eq!(wait_for(&calls, 12), 12);
        // ...and nothing beyond them.
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(calls.load(Ordering::SeqCst), 12);
        assert_eq!(it.len(), 15);
        drop(it);
        // Dropping the epoch stops and joins the thread: no loading afterwards.
        let after_drop = calls.load(Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(calls.load(Ordering::SeqCst), after_drop);
        assert!(after_drop <= 16, "{after_drop}");
    }

    #[test]
    fn without_prefetching_nothing_is_loaded_ahead() {
        let (ds, calls) = counted(64, None);
        let dl = DataLoader::new(ds, 4).prefetch(0);
        let mut it = dl.iter();
        let (images, _) = it.next().unwrap().unwrap();
        assert_eq!(firsts(&images), vec![0, 1, 2, 3]);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_panic_while_prefetching_reaches_the_caller() {
        let (ds, _calls) = counted(12, Some(9));
        let dl = DataLoader::new(ds, 4).prefetch(2);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dl.iter().map(|b| b.map(|_| ())).collect::<Vec<_>>()
        }));
        let payload = caught.expect_err("the dataset's panic must reach the caller");
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(text.contains("item 9 is broken"), "{text}");
    }
}
