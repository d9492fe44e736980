//! Reading PyTorch state-dict checkpoints (`.pth`, `.pt`) without Python.
//!
//! `tch::nn::VarStore::load` hands `.pt` files to libtorch's TorchScript loader, which
//! cannot read what `torch.save(model.state_dict())` writes (an `OrderedDict` pickle) nor
//! the legacy pre-1.6 layout. This module reads both layouts itself:
//!
//! * **zip** (torch ≥ 1.6): `<name>/data.pkl` holds the pickled dictionary,
//!   `<name>/data/<key>` the raw bytes of each storage and `<name>/byteorder` their byte
//!   order;
//! * **legacy**: five pickles back to back (magic number, protocol version, system info,
//!   the dictionary, the list of storage keys), then each storage as an 8-byte element
//!   count followed by its raw bytes.
//!
//! Loading a checkpoint never runs code: the pickle machine in [`pickle`] accepts only the
//! globals a state dict needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
//! `torch._utils._rebuild_parameter` and the `torch.*Storage` classes) and answers any
//! other global with [`CheckpointError::ForbiddenGlobal`] naming it. Damaged or hostile
//! files (truncated, huge declared sizes, offsets out of range, deep nesting) give errors,
//! not panics, and no allocation grows beyond a small multiple of the file's size.
//!
//! Tensors keep the layout the file describes: storage offsets and strides (including
//! the permuted strides of the EfficientNet-Lite0 checkpoint) are applied with
//! `as_strided` on the storage, then copied into a contiguous tensor.

pub mod pickle;

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use tch::{nn, Tensor};

use pickle::{Limits, StorageDtype, TensorRef, Value};

/// Everything that can go wrong while reading a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<CheckpointError>,
    },
    #[error("not a PyTorch checkpoint: {0}")]
    NotACheckpoint(String),
    #[error("bad zip archive: {0}")]
    Zip(String),
    #[error("pickle error at byte {pos}: {msg}")]
    Pickle { pos: usize, msg: String },
    #[error(
        "the checkpoint refers to `{0}`, which is not allowed in a state dict \
         (only OrderedDict, tensor rebuild functions and torch storage types are): refusing to load it"
    )]
    ForbiddenGlobal(String),
    #[error("unexpected checkpoint structure: {0}")]
    Structure(String),
    #[error("storage `{key}`: {msg}")]
    Storage { key: String, msg: String },
    #[error("tensor `{name}`: {msg}")]
    Tensor { name: String, msg: String },
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),
    #[error("internal error while reading the checkpoint: {0}")]
    Panic(String),
}

impl CheckpointError {
    /// The error without the file context added by [`load`].
    pub fn root_cause(&self) -> &CheckpointError {
        match self {
            CheckpointError::InFile { source, .. } => source.root_cause(),
            other => other,
        }
    }
}

pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;

/// The two on-disk layouts of `torch.save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    Legacy,
}

/// Named tensors in the order the checkpoint lists them.
#[derive(Debug)]
pub struct StateDict {
    pub format: Format,
    entries: Vec<(String, Tensor)>,
}

impl StateDict {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Names in checkpoint order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.entries.iter().map(|(k, t)| (k.as_str(), t))
    }

    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.entries.iter().find(|(k, _)| k == name).map(|(_, t)| t)
    }

    pub fn into_vec(self) -> Vec<(String, Tensor)> {
        self.entries
    }

    /// Total number of elements over all tensors.
    pub fn numel(&self) -> i64 {
        self.entries.iter().map(|(_, t)| t.numel() as i64).sum()
    }
}

/// Reads a state dict from a file (either layout).
pub fn load(path: impl AsRef<Path>) -> Result<StateDict> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_from_bytes(&bytes).map_err(|e| CheckpointError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Reads a state dict from the bytes of a checkpoint file (either layout).
pub fn load_from_bytes(bytes: &[u8]) -> Result<StateDict> {
    // Defence in depth: the reader is written not to panic (and fuzzed for it), but a
    // panic in a dependency must still come back as an error.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_any(bytes))) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string());
            Err(CheckpointError::Panic(msg))
        }
    }
}

/// Lists the names and shapes in a checkpoint, in order.
pub fn describe(path: impl AsRef<Path>) -> Result<Vec<(String, Vec<i64>)>> {
    Ok(load(path)?
        .iter()
        .map(|(k, t)| (k.to_string(), t.size()))
        .collect())
}

fn read_any(bytes: &[u8]) -> Result<StateDict> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        read_zip(bytes)
    } else if bytes.starts_with(&[0x80, 0x02]) {
        read_legacy(bytes)
    } else {
        Err(CheckpointError::NotACheckpoint(
            "neither a zip archive nor a legacy pickle (it may be a TorchScript file or not a checkpoint at all)"
                .into(),
        ))
    }
}

/// Storage bytes resolved by key, checked against the dtypes the pickle declared.
struct Storages {
    little_endian: bool,
    data: HashMap<String, (StorageDtype, Vec<u8>)>,
    /// Size of the input, to bound the memory tensors may take.
    input_len: usize,
}

/// Collects every storage reference of the pickled object with its declared dtype/size.
fn storage_decls(entries: &[(String, TensorRef)]) -> Result<Vec<(String, StorageDtype, u64)>> {
    let mut seen: HashMap<&str, (StorageDtype, u64)> = HashMap::new();
    let mut order = Vec::new();
    for (_, t) in entries {
        let s = &t.storage;
        match seen.get(s.key.as_str()) {
            Some(&(d, n)) => {
                if d != s.dtype || n != s.numel {
                    return Err(CheckpointError::Storage {
                        key: s.key.clone(),
                        msg: "declared twice with different types or sizes".into(),
                    });
                }
            }
            None => {
                seen.insert(&s.key, (s.dtype, s.numel));
                order.push((s.key.clone(), s.dtype, s.numel));
            }
        }
    }
    Ok(order)
}

/// Walks the unpickled object: a dict of tensors, possibly nested (`{"state_dict": {...}}`),
/// flattened with dotted names. Non-tensor leaves (epoch numbers, strings) are skipped.
fn collect_tensors(v: &Value) -> Result<Vec<(String, TensorRef)>> {
    fn walk(v: &Value, prefix: &str, out: &mut Vec<(String, TensorRef)>) -> Result<()> {
        let d = match v {
            Value::Dict(d) => d,
            _ => return Ok(()),
        };
        for (k, val) in &d.entries {
            let key = match k {
                Value::Str(s) => s.to_string(),
                Value::Int(i) => i.to_string(),
                _ => {
                    return Err(CheckpointError::Structure(
                        "a dictionary key is not a string".into(),
                    ))
                }
            };
            let name = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}.{key}")
            };
            match val {
                Value::Tensor(t) => {
                    if let Some(slot) = out.iter_mut().find(|(n, _)| *n == name) {
                        slot.1 = (**t).clone();
                    } else {
                        out.push((name, (**t).clone()));
                    }
                }
                Value::Dict(_) => walk(val, &name, out)?,
                _ => {}
            }
        }
        Ok(())
    }
    match v {
        Value::Dict(_) => {
            let mut out = Vec::new();
            walk(v, "", &mut out)?;
            Ok(out)
        }
        Value::Tensor(_) => Err(CheckpointError::Structure(
            "the checkpoint holds a single tensor, not a state dict".into(),
        )),
        _ => Err(CheckpointError::Structure(
            "the checkpoint does not hold a dictionary".into(),
        )),
    }
}

fn read_zip(bytes: &[u8]) -> Result<StateDict> {
    let zerr = |e: zip::result::ZipError| CheckpointError::Zip(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zerr)?;
    let pkl_name = archive
        .file_names()
        .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .min()
        .map(str::to_string)
        .or_else(|| {
            archive
                .file_names()
                .find(|n| *n == "data.pkl")
                .map(str::to_string)
        })
        .ok_or_else(|| CheckpointError::Zip("no data.pkl in the archive".into()))?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_string();

    let read_entry =
        |archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str, want: Option<u64>| {
            let mut f = archive
                .by_name(name)
                .map_err(|e| CheckpointError::Zip(format!("entry {name}: {e}")))?;
            let size = f.size();
            if size > bytes.len() as u64 {
                return Err(CheckpointError::Zip(format!(
                    "entry {name} claims {size} bytes"
                )));
            }
            let take = match want {
                Some(w) if w > size => {
                    return Err(CheckpointError::Zip(format!(
                        "entry {name} holds {size} bytes, {w} needed"
                    )))
                }
                Some(w) => w,
                None => size,
            };
            let mut buf = Vec::with_capacity(take as usize);
            (&mut f)
                .take(take)
                .read_to_end(&mut buf)
                .map_err(|e| CheckpointError::Zip(format!("reading {name}: {e}")))?;
            if (buf.len() as u64) < take {
                return Err(CheckpointError::Zip(format!("entry {name} is truncated")));
            }
            Ok(buf)
        };

    let pkl = read_entry(&mut archive, &pkl_name, None)?;
    let little_endian = match archive.index_for_name(&format!("{prefix}byteorder")) {
        Some(_) => {
            let b = read_entry(&mut archive, &format!("{prefix}byteorder"), None)?;
            match b.as_slice() {
                b"little" => true,
                b"big" => false,
                _ => return Err(CheckpointError::Zip("bad byteorder entry".into())),
            }
        }
        None => true,
    };
    let (obj, _) = pickle::unpickle(&pkl, Limits::for_input(pkl.len()))?;
    let tensors = collect_tensors(&obj)?;
    drop(obj);
    let mut storages = Storages {
        little_endian,
        data: HashMap::new(),
        input_len: bytes.len(),
    };
    for (key, dtype, numel) in storage_decls(&tensors)? {
        let nbytes = numel_bytes(&key, numel, dtype, bytes.len())?;
        let name = format!("{prefix}data/{key}");
        let buf = read_entry(&mut archive, &name, Some(nbytes))?;
        storages.data.insert(key, (dtype, buf));
    }
    materialise(tensors, &storages, Format::Zip)
}

fn numel_bytes(key: &str, numel: u64, dtype: StorageDtype, limit: usize) -> Result<u64> {
    numel
        .checked_mul(dtype.size() as u64)
        .filter(|&b| b <= limit as u64)
        .ok_or_else(|| CheckpointError::Storage {
            key: key.to_string(),
            msg: format!("declares {numel} elements, more than the file can hold"),
        })
}

const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

fn read_legacy(bytes: &[u8]) -> Result<StateDict> {
    let limits = Limits::for_input(bytes.len());
    let mut pos = 0usize;
    let mut next = |what: &str| -> Result<Value> {
        let (v, used) = pickle::unpickle(&bytes[pos..], limits).map_err(|e| match e {
            CheckpointError::Pickle { pos: p, msg } => CheckpointError::Pickle {
                pos: p + pos,
                msg: format!("{what}: {msg}"),
            },
            other => other,
        })?;
        pos += used;
        Ok(v)
    };
    match next("magic number")? {
        Value::BigInt(b) if *b == LEGACY_MAGIC => {}
        _ => {
            return Err(CheckpointError::NotACheckpoint(
                "wrong legacy magic number".into(),
            ))
        }
    }
    match next("protocol version")? {
        Value::Int(1001) => {}
        _ => {
            return Err(CheckpointError::NotACheckpoint(
                "unknown legacy protocol version".into(),
            ))
        }
    }
    let little_endian = match next("system info")? {
        Value::Dict(d) => d
            .entries
            .iter()
            .find_map(|(k, v)| match (k, v) {
                (Value::Str(k), Value::Bool(b)) if &**k == "little_endian" => Some(*b),
                _ => None,
            })
            .unwrap_or(true),
        _ => {
            return Err(CheckpointError::Structure(
                "legacy system info is not a dict".into(),
            ))
        }
    };
    let obj = next("state dict")?;
    let keys = match next("storage keys")? {
        Value::List(l) => l
            .items
            .iter()
            .map(|k| match k {
                Value::Str(s) => Ok(s.to_string()),
                _ => Err(CheckpointError::Structure(
                    "storage key is not a string".into(),
                )),
            })
            .collect::<Result<Vec<_>>>()?,
        _ => {
            return Err(CheckpointError::Structure(
                "legacy storage keys are not a list".into(),
            ))
        }
    };
    let tensors = collect_tensors(&obj)?;
    drop(obj);
    let decls: HashMap<String, (StorageDtype, u64)> = storage_decls(&tensors)?
        .into_iter()
        .map(|(k, d, n)| (k, (d, n)))
        .collect();

    let mut storages = Storages {
        little_endian,
        data: HashMap::new(),
        input_len: bytes.len(),
    };
    for key in keys {
        let (dtype, declared) = match decls.get(&key) {
            Some(&d) => d,
            None => {
                // Storages that no tensor refers to cannot be skipped without knowing
                // their element size.
                return Err(CheckpointError::Storage {
                    key,
                    msg: "listed but not referenced by any tensor".into(),
                });
            }
        };
        let head =
            bytes
                .get(pos..pos.saturating_add(8))
                .ok_or_else(|| CheckpointError::Storage {
                    key: key.clone(),
                    msg: "file ends before the storage".into(),
                })?;
        let mut a = [0u8; 8];
        a.copy_from_slice(head);
        let count = if little_endian {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        };
        pos += 8;
        if count != declared {
            return Err(CheckpointError::Storage {
                key,
                msg: format!("pickle declares {declared} elements, the file stores {count}"),
            });
        }
        let nbytes = numel_bytes(&key, count, dtype, bytes.len() - pos)? as usize;
        let data = bytes[pos..pos + nbytes].to_vec();
        pos += nbytes;
        if storages.data.insert(key.clone(), (dtype, data)).is_some() {
            return Err(CheckpointError::Storage {
                key,
                msg: "stored twice".into(),
            });
        }
    }
    materialise(tensors, &storages, Format::Legacy)
}

fn materialise(
    tensors: Vec<(String, TensorRef)>,
    storages: &Storages,
    format: Format,
) -> Result<StateDict> {
    // Storage tensors are built once and shared by the tensors that view them.
    let mut built: HashMap<String, Tensor> = HashMap::new();
    let budget = 4 * storages.input_len as u128 + (1 << 20);
    let mut used: u128 = 0;
    let mut entries = Vec::with_capacity(tensors.len());
    let mut names = HashSet::new();
    for (name, t) in tensors {
        let terr = |msg: String| CheckpointError::Tensor {
            name: name.clone(),
            msg,
        };
        let s = &t.storage;
        let (dtype, data) = storages
            .data
            .get(&s.key)
            .ok_or_else(|| terr(format!("storage `{}` is missing from the file", s.key)))?;
        let numel = (data.len() / dtype.size()) as u64;
        if s.view_offset
            .checked_add(s.view_len)
            .is_none_or(|e| e > numel)
        {
            return Err(terr("storage view lies outside its storage".into()));
        }
        // Highest element index the tensor reads, relative to the view.
        let mut count: u128 = 1;
        let mut last: u128 = t.offset as u128;
        for (&sz, &st) in t.size.iter().zip(&t.stride) {
            count = count.saturating_mul(sz as u128);
            if sz > 0 {
                last = last.saturating_add((sz as u128 - 1).saturating_mul(st as u128));
            }
        }
        if count > 0 && last >= s.view_len as u128 {
            return Err(terr(format!(
                "reads element {last} of a storage holding {}",
                s.view_len
            )));
        }
        used = used.saturating_add(count.saturating_mul(dtype.size() as u128));
        if used > budget {
            return Err(terr(
                "tensors would take far more memory than the file holds".into(),
            ));
        }
        if !built.contains_key(s.key.as_str()) {
            let st = storage_tensor(*dtype, data, storages.little_endian)?;
            built.insert(s.key.clone(), st);
        }
        let base = &built[s.key.as_str()];
        let tensor = if count == 0 {
            Tensor::f_zeros(&t.size, (dtype.kind(), tch::Device::Cpu))?
        } else {
            let offset = (s.view_offset + t.offset) as i64;
            base.f_as_strided(&t.size, &t.stride, Some(offset))?
                .f_contiguous()?
        };
        if !names.insert(name.clone()) {
            return Err(terr("appears twice".into()));
        }
        entries.push((name, tensor));
    }
    Ok(StateDict { format, entries })
}

fn storage_tensor(dtype: StorageDtype, data: &[u8], little_endian: bool) -> Result<Tensor> {
    let esize = dtype.size();
    let numel = (data.len() / esize) as i64;
    let data = &data[..numel as usize * esize];
    let fixed;
    let data = if dtype == StorageDtype::Bool {
        fixed = data.iter().map(|&b| (b != 0) as u8).collect::<Vec<_>>();
        &fixed[..]
    } else if little_endian != cfg!(target_endian = "little") && esize > 1 {
        fixed = data
            .chunks_exact(esize)
            .flat_map(|c| c.iter().rev().copied())
            .collect::<Vec<_>>();
        &fixed[..]
    } else {
        data
    };
    Ok(Tensor::f_from_data_size(data, &[numel], dtype.kind())?)
}

/// A variable whose shape differs from the checkpoint's tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// Name in the var store.
    pub name: String,
    /// Name in the checkpoint.
    pub checkpoint_name: String,
    pub expected: Vec<i64>,
    pub found: Vec<i64>,
}

/// What [`load_into`] did.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Var-store names that received a checkpoint tensor.
    pub loaded: Vec<String>,
    /// Var-store variables that no checkpoint tensor filled (sorted).
    pub missing: Vec<String>,
    /// Checkpoint names (after renaming) with no variable of that name.
    pub unexpected: Vec<String>,
    /// Same name, different shape: left untouched.
    pub mismatched: Vec<ShapeMismatch>,
    /// Checkpoint names the rename function dropped.
    pub skipped: Vec<String>,
}

impl LoadReport {
    /// Missing variables whose name starts with `prefix` (e.g. the encoder's path), so a
    /// model whose other parts are not in the checkpoint can still check its own part.
    pub fn missing_under(&self, prefix: &str) -> Vec<&str> {
        self.missing
            .iter()
            .filter(|n| n.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }

    /// True when nothing is missing, unexpected or mismatched.
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }

    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "loaded {} tensors; {} missing, {} unexpected, {} shape mismatches, {} skipped",
            self.loaded.len(),
            self.missing.len(),
            self.unexpected.len(),
            self.mismatched.len(),
            self.skipped.len()
        );
        let show = |s: &mut String, what: &str, names: &[String]| {
            if !names.is_empty() {
                let head: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
                let more = if names.len() > 5 {
                    format!(" (+{} more)", names.len() - 5)
                } else {
                    String::new()
                };
                s.push_str(&format!("\n  {what}: {}{more}", head.join(", ")));
            }
        };
        show(&mut s, "missing", &self.missing);
        show(&mut s, "unexpected", &self.unexpected);
        for m in self.mismatched.iter().take(5) {
            s.push_str(&format!(
                "\n  shape mismatch: {} expects {:?}, checkpoint `{}` has {:?}",
                m.name, m.expected, m.checkpoint_name, m.found
            ));
        }
        s
    }
}

/// Reads the checkpoint at `path` and copies its tensors into the variables of `vs` with
/// the same names. `rename` maps a checkpoint name to a var-store name, or drops it
/// (`None`). Variables keep their device, dtype and `requires_grad` flag.
pub fn load_into(
    vs: &mut nn::VarStore,
    path: impl AsRef<Path>,
    rename: impl Fn(&str) -> Option<String>,
) -> Result<LoadReport> {
    let sd = load(path)?;
    copy_into(vs, &sd, rename)
}

/// Like [`load_into`] for a state dict already in memory.
pub fn copy_into(
    vs: &nn::VarStore,
    sd: &StateDict,
    rename: impl Fn(&str) -> Option<String>,
) -> Result<LoadReport> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    copy_into_named(&vars, sd, rename)
}

/// Copies checkpoint tensors into `targets` (name, tensor) by name, without gradient
/// tracking. Targets are usually shallow clones of model variables, so the model sees
/// the new values.
pub fn copy_into_named(
    targets: &[(String, Tensor)],
    sd: &StateDict,
    rename: impl Fn(&str) -> Option<String>,
) -> Result<LoadReport> {
    let index: HashMap<&str, &Tensor> = targets.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut report = LoadReport::default();
    let mut filled = HashSet::new();
    for (ck_name, src) in sd.iter() {
        let Some(name) = rename(ck_name) else {
            report.skipped.push(ck_name.to_string());
            continue;
        };
        let Some(dst) = index.get(name.as_str()) else {
            report.unexpected.push(name);
            continue;
        };
        if dst.size() != src.size() {
            report.mismatched.push(ShapeMismatch {
                name,
                checkpoint_name: ck_name.to_string(),
                expected: dst.size(),
                found: src.size(),
            });
            continue;
        }
        let mut dst = dst.shallow_clone();
        tch::no_grad(|| dst.f_copy_(src))?;
        filled.insert(name.clone());
        report.loaded.push(name);
    }
    let mismatched: HashSet<&str> = report.mismatched.iter().map(|m| m.name.as_str()).collect();
    let mut missing: Vec<String> = targets
        .iter()
        .map(|(n, _)| n)
        .filter(|k| !filled.contains(*k) && !mismatched.contains(k.as_str()))
        .cloned()
        .collect();
    missing.sort();
    report.missing = missing;
    Ok(report)
}
