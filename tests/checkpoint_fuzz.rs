//! Fuzzing the checkpoint reader with proptest: mutated and truncated real checkpoints,
//! pickles mutated inside otherwise valid zip archives, random opcode streams and random
//! bytes. Every input must give `Ok` or an ordinary error: never a panic, and no single
//! allocation larger than a small multiple of the input.
//!
//! Cases per strategy: `PROPTEST_CASES` (default 300). The long run of the workshop's
//! report: `PROPTEST_CASES=6000 cargo test --test checkpoint_fuzz -- --nocapture`
//! (4 strategies → 24,000 inputs). Each test prints how many inputs it tried.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use se05::io::checkpoint::{self, pickle, CheckpointError};

/// Records the largest single allocation made through Rust's allocator.
struct Tracking;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// The tests share the allocation record, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoders/checkpoints");
    [
        "zip_state_dict.pth",
        "legacy_state_dict.pth",
        "zip_layouts.pth",
        "legacy_layouts.pth",
        "zip_protocol4.pth",
        "evil_legacy_system.pth",
    ]
    .iter()
    .map(|n| std::fs::read(dir.join(n)).unwrap())
    .collect()
}

/// Runs the reader on one input and checks the properties.
fn check(
    bytes: &[u8],
    run: impl FnOnce(&[u8]) -> Result<(), CheckpointError>,
) -> Result<(), TestCaseError> {
    let limit = 128 * bytes.len() + (4 << 20);
    LARGEST.store(0, Ordering::Relaxed);
    let res = run(bytes);
    let largest = LARGEST.load(Ordering::Relaxed);
    if let Err(CheckpointError::Panic(m)) = &res {
        return Err(TestCaseError::fail(format!("panic: {m}")));
    }
    prop_assert!(
        largest <= limit,
        "allocated {largest} bytes at once for a {}-byte input",
        bytes.len()
    );
    Ok(())
}

fn load(bytes: &[u8]) -> Result<(), CheckpointError> {
    checkpoint::load_from_bytes(bytes).map(|_| ())
}

#[derive(Debug, Clone)]
enum Mutation {
    SetByte(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    /// Overwrites 1, 2, 4 or 8 bytes with an extreme integer (sizes, counts, offsets).
    Integer(usize, u8, u64),
    Duplicate(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let extreme = prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(i64::MAX as u64),
        Just(1 << 31),
        Just(1 << 32),
        Just(1 << 60),
        Just(0x7fff_ffff),
        Just(0xffff),
        Just(255),
        any::<u64>()
    ];
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(p, v)| Mutation::Insert(p, v)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        2 => (any::<usize>(), prop_oneof![Just(1u8), Just(2), Just(4), Just(8)], extreme).prop_map(|(p, w, v)| Mutation::Integer(p, w, v)),
        1 => (any::<usize>(), 1usize..128, any::<usize>()).prop_map(|(a, n, b)| Mutation::Duplicate(a, n, b)),
    ]
}

fn apply(mut data: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = data.len().max(1);
        match m {
            Mutation::SetByte(p, b) => {
                if !data.is_empty() {
                    data[p % len] = *b;
                }
            }
            Mutation::Insert(p, v) => {
                let at = p % (data.len() + 1);
                data.splice(at..at, v.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let at = p % len;
                let end = (at + n).min(data.len());
                if at < end {
                    data.drain(at..end);
                }
            }
            Mutation::Truncate(p) => data.truncate(p % len),
            Mutation::Integer(p, w, v) => {
                let w = *w as usize;
                if data.len() >= w {
                    let at = p % (data.len() - w + 1);
                    data[at..at + w].copy_from_slice(&v.to_le_bytes()[..w]);
                }
            }
            Mutation::Duplicate(a, n, b) => {
                let at = a % len;
                let end = (at + n).min(data.len());
                let chunk: Vec<u8> = data.get(at..end).unwrap_or(&[]).to_vec();
                let to = b % (data.len() + 1);
                data.splice(to..to, chunk);
            }
        }
    }
    data
}

fn report(name: &str, n: u64) {
    println!("{name}: {n} inputs, no panic, allocations bounded");
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn mutated_checkpoints() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let seeds = seeds();
    let n = std::cell::Cell::new(0u64);
    let strategy = (0..seeds.len(), proptest::collection::vec(mutation(), 1..12));
    runner()
        .run(&strategy, |(i, muts)| {
            n.set(n.get() + 1);
            let data = apply(seeds[i].clone(), &muts);
            check(&data, load)
        })
        .unwrap();
    report("mutated checkpoint files", n.get());
}

/// Splits a seed zip into its entries, to rebuild it with a mutated pickle and valid CRCs.
fn zip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut v = Vec::new();
            f.read_to_end(&mut v).unwrap();
            (f.name().to_string(), v)
        })
        .collect()
}

fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn mutated_pickles_inside_valid_zips() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let seeds: Vec<Vec<(String, Vec<u8>)>> = seeds()
        .into_iter()
        .filter(|s| s.starts_with(b"PK"))
        .map(|s| zip_entries(&s))
        .collect();
    let n = std::cell::Cell::new(0u64);
    let strategy = (
        0..seeds.len(),
        proptest::collection::vec(mutation(), 1..8),
        any::<bool>(),
    );
    runner()
        .run(&strategy, |(i, muts, storages_too)| {
            n.set(n.get() + 1);
            let mut entries = seeds[i].clone();
            for (name, data) in entries.iter_mut() {
                if name.ends_with("data.pkl") || (storages_too && name.contains("/data/")) {
                    *data = apply(std::mem::take(data), &muts);
                }
            }
            let bytes = rezip(&entries);
            check(&bytes, load)
        })
        .unwrap();
    report("zips with mutated pickles/storages", n.get());
}

/// Opcodes the machine knows, with argument bytes of plausible lengths.
fn opcode() -> impl Strategy<Value = Vec<u8>> {
    let simple = prop::sample::select(vec![
        b'(', b')', b']', b'}', b'N', b't', b'l', b'd', b'a', b'e', b's', b'u', b'R', b'b', b'Q',
        b'.', b'0', b'1', b'2', 0x85, 0x86, 0x87, 0x88, 0x89, 0x93, 0x94,
    ])
    .prop_map(|b| vec![b]);
    let with_arg = (
        prop::sample::select(vec![
            b'K', b'M', b'J', b'q', b'r', b'h', b'j', 0x8a, b'X', 0x8c, b'C', b'G', 0x95,
        ]),
        proptest::collection::vec(any::<u8>(), 0..10),
    )
        .prop_map(|(op, mut arg)| {
            arg.insert(0, op);
            arg
        });
    let globals = prop::sample::select(vec![
        b"ccollections\nOrderedDict\n".to_vec(),
        b"ctorch._utils\n_rebuild_tensor_v2\n".to_vec(),
        b"ctorch._utils\n_rebuild_parameter\n".to_vec(),
        b"ctorch\nFloatStorage\n".to_vec(),
        b"ctorch\nLongStorage\n".to_vec(),
        b"cos\nsystem\n".to_vec(),
        b"X\x07\x00\x00\x00storage".to_vec(),
        b"X\x01\x00\x00\x000".to_vec(),
    ]);
    prop_oneof![6 => simple, 3 => with_arg, 2 => globals]
}

#[test]
fn random_opcode_streams() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = std::cell::Cell::new(0u64);
    let strategy = proptest::collection::vec(opcode(), 0..200);
    runner()
        .run(&strategy, |ops| {
            n.set(n.get() + 1);
            let mut p = b"\x80\x02".to_vec();
            for o in ops {
                p.extend(o);
            }
            check(&p, |b| pickle::unpickle(b, pickle::Limits::for_input(b.len())).map(|_| ()))?;
            // The same stream as a legacy file body and inside a zip.
            let mut legacy = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.\x80\x02}.".to_vec();
            legacy.extend_from_slice(&p);
            check(&legacy, load)?;
            let z = rezip(&[("archive/data.pkl".to_string(), p.clone()), ("archive/data/0".to_string(), vec![0u8; 64])]);
            check(&z, load)
        })
        .unwrap();
    report(
        "random opcode streams (each also as legacy file and zip)",
        n.get(),
    );
}

#[test]
fn random_bytes() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = std::cell::Cell::new(0u64);
    let prefix = prop::sample::select(vec![
        b"".to_vec(),
        b"PK\x03\x04".to_vec(),
        b"\x80\x02".to_vec(),
        b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.".to_vec(),
    ]);
    let strategy = (prefix, proptest::collection::vec(any::<u8>(), 0..2048));
    runner()
        .run(&strategy, |(mut pre, rest)| {
            n.set(n.get() + 1);
            pre.extend(rest);
            check(&pre, load)
        })
        .unwrap();
    report("random bytes", n.get());
}
