//! Process-wide decode cache: each source file is decoded once per process and its
//! resized copy kept, keyed by (path, file length and modification time, colour mode,
//! target size, interpolation, whether JPEGs were decoded at reduced size).
//!
//! A pipeline whose first step is `Resize` asks the cache for its input instead of
//! decoding the file ([`super::Compose::apply`] with an [`ImageFile`]). Because Resize
//! is deterministic and runs first, the result is exactly what decoding and resizing
//! every time would give; only the time changes. [`stats`] tells what it bought.
//!
//! Switches: [`set_enabled`] (or the environment variable `SE05_DECODE_CACHE=0`) and
//! [`set_capacity_bytes`] (default 2 GiB; once full, new entries are computed but not
//! kept).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};

use super::functional::Interpolation;
use super::image::{ColorMode, FloatImage, ImageFile};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    mode: ColorMode,
    height: usize,
    width: usize,
    interp: Interpolation,
    /// Reduced-size JPEG decoding was on ([`super::image::set_draft_decoding`]).
    draft: bool,
}

/// A cached, resized copy of a file.
#[derive(Debug)]
pub struct CacheEntry {
    /// `(height, width)` of the file itself.
    pub source_size: (usize, usize),
    /// The resized pixels.
    pub image: FloatImage,
}

/// Counters since the start of the process (or the last [`clear`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CacheStats {
    /// Requests answered from memory.
    pub hits: u64,
    /// Requests that decoded and resized a file.
    pub misses: u64,
    /// Entries held.
    pub entries: usize,
    /// Bytes of pixels held.
    pub bytes: usize,
    /// Seconds spent decoding and resizing on misses (summed over threads).
    pub decode_seconds: f64,
}

impl std::fmt::Display for CacheStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decode cache: {} hits, {} misses, {} entries, {:.1} MiB, {:.2} s decoding",
            self.hits,
            self.misses,
            self.entries,
            self.bytes as f64 / (1024.0 * 1024.0),
            self.decode_seconds
        )
    }
}

struct Cache {
    map: RwLock<HashMap<Key, Arc<CacheEntry>>>,
    enabled: AtomicBool,
    capacity: AtomicUsize,
    bytes: AtomicUsize,
    hits: AtomicU64,
    misses: AtomicU64,
    decode_nanos: AtomicU64,
}

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Cache {
        map: RwLock::new(HashMap::new()),
        enabled: AtomicBool::new(std::env::var("SE05_DECODE_CACHE").map_or(true, |v| v != "0")),
        capacity: AtomicUsize::new(2 << 30),
        bytes: AtomicUsize::new(0),
        hits: AtomicU64::new(0),
        misses: AtomicU64::new(0),
        decode_nanos: AtomicU64::new(0),
    })
}

/// Turns the cache on or off for the whole process (on by default).
pub fn set_enabled(enabled: bool) {
    cache().enabled.store(enabled, Ordering::SeqCst);
}

/// Whether the cache is on.
pub fn is_enabled() -> bool {
    cache().enabled.load(Ordering::SeqCst)
}

/// Sets the most bytes of pixels the cache keeps.
pub fn set_capacity_bytes(bytes: usize) {
    cache().capacity.store(bytes, Ordering::SeqCst);
}

/// Drops every entry and resets the counters.
pub fn clear() {
    let c = cache();
    if let Ok(mut map) = c.map.write() {
        map.clear();
    }
    c.bytes.store(0, Ordering::SeqCst);
    c.hits.store(0, Ordering::SeqCst);
    c.misses.store(0, Ordering::SeqCst);
    c.decode_nanos.store(0, Ordering::SeqCst);
}

/// The counters.
pub fn stats() -> CacheStats {
    let c = cache();
    CacheStats {
        hits: c.hits.load(Ordering::SeqCst),
        misses: c.misses.load(Ordering::SeqCst),
        entries: c.map.read().map(|m| m.len()).unwrap_or(0),
        bytes: c.bytes.load(Ordering::SeqCst),
        decode_seconds: c.decode_nanos.load(Ordering::SeqCst) as f64 * 1e-9,
    }
}

/// The file decoded and resized to `height × width` with `interp`, from memory when
/// it was seen before (and the cache is on).
pub fn resized(
    file: &ImageFile,
    height: usize,
    width: usize,
    interp: Interpolation,
) -> Result<Arc<CacheEntry>> {
    let c = cache();
    let compute = || -> Result<CacheEntry> {
        let start = Instant::now();
        let (source_size, image) = file.decode_resized(height, width, interp)?;
        c.decode_nanos
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        c.misses.fetch_add(1, Ordering::Relaxed);
        Ok(CacheEntry { source_size, image })
    };
    if !is_enabled() {
        return Ok(Arc::new(compute()?));
    }
    let meta = std::fs::metadata(file.path())
        .with_context(|| format!("{}: cannot read the file", file.path().display()))?;
    let key = Key {
        path: file.path().to_path_buf(),
        len: meta.len(),
        modified: meta.modified().ok(),
        mode: file.mode(),
        height,
        width,
        interp,
        draft: super::image::draft_decoding(),
    };
    if let Some(hit) = c.map.read().ok().and_then(|m| m.get(&key).cloned()) {
        c.hits.fetch_add(1, Ordering::Relaxed);
        return Ok(hit);
    }
    let entry = Arc::new(compute()?);
    let size = entry.image.data.len() * std::mem::size_of::<f32>();
    if c.bytes.load(Ordering::Relaxed) + size <= c.capacity.load(Ordering::Relaxed) {
        if let Ok(mut map) = c.map.write() {
            if map.insert(key, entry.clone()).is_none() {
                c.bytes.fetch_add(size, Ordering::Relaxed);
            }
        }
    }
    Ok(entry)
}
