//! A deliberately small pickle virtual machine.
//!
//! It understands the opcodes that `torch.save` emits for a state dict (protocols 2 to 5)
//! and nothing that could run code: `GLOBAL`/`STACK_GLOBAL` resolve against a fixed
//! allowlist, `REDUCE` only calls the handful of allowed constructors, and
//! `BINPERSID` turns storage references into descriptors that the caller resolves later.
//!
//! Values are immutable once shared (containers use copy-on-write through `Rc`), so a
//! pickle cannot build reference cycles; every container records its nesting depth and
//! the machine refuses anything deeper than [`Limits::max_depth`]. A work budget
//! proportional to the input length bounds the total number of values created, so
//! memory use stays linear in the size of the input.

use std::collections::HashMap;
use std::rc::Rc;

use super::CheckpointError;

/// Element types of PyTorch storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageDtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageDtype {
    /// Size in bytes of one element.
    pub fn size(self) -> usize {
        match self {
            StorageDtype::F64 | StorageDtype::I64 => 8,
            StorageDtype::F32 | StorageDtype::I32 => 4,
            StorageDtype::F16 | StorageDtype::BF16 | StorageDtype::I16 => 2,
            StorageDtype::I8 | StorageDtype::U8 | StorageDtype::Bool => 1,
        }
    }

    /// The matching tch kind.
    pub fn kind(self) -> tch::Kind {
        match self {
            StorageDtype::F64 => tch::Kind::Double,
            StorageDtype::F32 => tch::Kind::Float,
            StorageDtype::F16 => tch::Kind::Half,
            StorageDtype::BF16 => tch::Kind::BFloat16,
            StorageDtype::I64 => tch::Kind::Int64,
            StorageDtype::I32 => tch::Kind::Int,
            StorageDtype::I16 => tch::Kind::Int16,
            StorageDtype::I8 => tch::Kind::Int8,
            StorageDtype::U8 => tch::Kind::Uint8,
            StorageDtype::Bool => tch::Kind::Bool,
        }
    }

    fn from_storage_class(name: &str) -> Option<Self> {
        Some(match name {
            "DoubleStorage" => StorageDtype::F64,
            "FloatStorage" => StorageDtype::F32,
            "HalfStorage" => StorageDtype::F16,
            "BFloat16Storage" => StorageDtype::BF16,
            "LongStorage" => StorageDtype::I64,
            "IntStorage" => StorageDtype::I32,
            "ShortStorage" => StorageDtype::I16,
            "CharStorage" => StorageDtype::I8,
            "ByteStorage" | "UntypedStorage" => StorageDtype::U8,
            "BoolStorage" => StorageDtype::Bool,
            _ => return None,
        })
    }
}

/// The only globals a checkpoint may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(StorageDtype),
}

impl Global {
    fn resolve(module: &str, name: &str) -> Result<Self, CheckpointError> {
        let found = match (module, name) {
            ("collections", "OrderedDict") => Some(Global::OrderedDict),
            ("torch._utils", "_rebuild_tensor_v2") => Some(Global::RebuildTensorV2),
            ("torch._utils", "_rebuild_parameter") => Some(Global::RebuildParameter),
            ("torch", class) => StorageDtype::from_storage_class(class).map(Global::Storage),
            _ => None,
        };
        found.ok_or_else(|| CheckpointError::ForbiddenGlobal(format!("{module}.{name}")))
    }
}

/// A reference to a storage, as named by a persistent id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    pub dtype: StorageDtype,
    pub key: String,
    /// Number of elements the pickle declares (not trusted: checked against the data).
    pub numel: u64,
    /// Legacy storage views: element offset into the root storage.
    pub view_offset: u64,
    /// Elements visible through the view (`numel` without a view).
    pub view_len: u64,
}

/// A tensor described by the pickle; its data is fetched from the storage afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRef {
    pub storage: StorageRef,
    pub offset: u64,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
}

/// A container with its precomputed nesting depth.
#[derive(Debug, Clone, Default)]
pub struct Seq {
    pub items: Vec<Value>,
    pub depth: usize,
}

/// Dictionary entries in insertion order (a later duplicate key replaces the value).
#[derive(Debug, Clone, Default)]
pub struct Dict {
    pub entries: Vec<(Value, Value)>,
    pub depth: usize,
    pub ordered: bool,
}

/// A value on the pickle stack.
#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in i64: little-endian two's complement bytes.
    BigInt(Rc<[u8]>),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<Seq>),
    List(Rc<Seq>),
    Dict(Rc<Dict>),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

impl Value {
    fn depth(&self) -> usize {
        match self {
            Value::Tuple(s) | Value::List(s) => s.depth,
            Value::Dict(d) => d.depth,
            _ => 0,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global(_) => "global",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }
}

/// Resource limits of one pickle run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_stack: usize,
    pub max_marks: usize,
    pub max_memo: usize,
    pub max_depth: usize,
    /// Upper bound on value slots created or copied (container copies count their length).
    pub max_work: u64,
}

impl Limits {
    /// Limits scaled to an input of `len` bytes.
    pub fn for_input(len: usize) -> Self {
        Limits {
            max_stack: 100_000,
            max_marks: 10_000,
            max_memo: 1_000_000,
            max_depth: 64,
            max_work: 64 * len as u64 + 4096,
        }
    }
}

fn err(pos: usize, msg: impl Into<String>) -> CheckpointError {
    CheckpointError::Pickle {
        pos,
        msg: msg.into(),
    }
}

/// Runs the machine over `data` until `STOP`; returns the value and the number of bytes
/// consumed (legacy checkpoints store several pickles back to back).
pub fn unpickle(data: &[u8], limits: Limits) -> Result<(Value, usize), CheckpointError> {
    let mut vm = Vm {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        limits,
        work: 0,
    };
    let v = vm.run()?;
    Ok((v, vm.pos))
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    limits: Limits,
    work: u64,
}

impl<'a> Vm<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CheckpointError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| err(self.pos, format!("truncated: needs {n} more bytes")))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, CheckpointError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, CheckpointError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, CheckpointError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, CheckpointError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Length prefix that must fit in the remaining input.
    fn len_checked(&self, n: u64) -> Result<usize, CheckpointError> {
        let rest = (self.data.len() - self.pos) as u64;
        if n > rest {
            return Err(err(
                self.pos,
                format!("declared length {n} exceeds the {rest} bytes left"),
            ));
        }
        Ok(n as usize)
    }

    fn line(&mut self) -> Result<&'a str, CheckpointError> {
        let rest = &self.data[self.pos..];
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| err(self.pos, "truncated: missing newline"))?;
        let s = std::str::from_utf8(&rest[..nl]).map_err(|_| err(self.pos, "line is not UTF-8"))?;
        self.pos += nl + 1;
        Ok(s)
    }

    fn charge(&mut self, n: u64) -> Result<(), CheckpointError> {
        self.work = self.work.saturating_add(n);
        if self.work > self.limits.max_work {
            return Err(err(self.pos, "pickle exceeds its work budget"));
        }
        Ok(())
    }

    fn push(&mut self, v: Value) -> Result<(), CheckpointError> {
        if v.depth() > self.limits.max_depth {
            return Err(err(
                self.pos,
                format!("nesting deeper than {}", self.limits.max_depth),
            ));
        }
        if self.stack.len() >= self.limits.max_stack {
            return Err(err(self.pos, "stack overflow"));
        }
        self.charge(1)?;
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Result<Value, CheckpointError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(err(self.pos, "stack underflow"));
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    fn top_mut(&mut self) -> Result<&mut Value, CheckpointError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(err(self.pos, "stack underflow"));
        }
        Ok(self.stack.last_mut().expect("checked above"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, CheckpointError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| err(self.pos, "no mark on the stack"))?;
        Ok(self.stack.split_off(m))
    }

    fn memo_put(&mut self, idx: u32) -> Result<(), CheckpointError> {
        let v = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| err(self.pos, "memo put on an empty stack"))?;
        if !self.memo.contains_key(&idx) && self.memo.len() >= self.limits.max_memo {
            return Err(err(self.pos, "memo too large"));
        }
        self.charge(1)?;
        self.memo.insert(idx, v);
        Ok(())
    }

    fn memo_get(&mut self, idx: u32) -> Result<(), CheckpointError> {
        let v = self
            .memo
            .get(&idx)
            .cloned()
            .ok_or_else(|| err(self.pos, format!("memo key {idx} not defined")))?;
        self.push(v)
    }

    fn make_tuple(&mut self, items: Vec<Value>) -> Result<Value, CheckpointError> {
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        Ok(Value::Tuple(Rc::new(Seq { items, depth })))
    }

    fn append(&mut self, items: Vec<Value>) -> Result<(), CheckpointError> {
        let pos = self.pos;
        let max_depth = self.limits.max_depth;
        let n = items.len() as u64;
        // Copy-on-write may duplicate the list: charge for it.
        let copy_cost = match self.top_mut()? {
            Value::List(l) if Rc::strong_count(l) > 1 => l.items.len() as u64,
            _ => 0,
        };
        self.charge(copy_cost + n)?;
        match self.top_mut()? {
            Value::List(l) => {
                let l = Rc::make_mut(l);
                for it in items {
                    l.depth = l.depth.max(it.depth() + 1);
                    l.items.push(it);
                }
                if l.depth > max_depth {
                    return Err(err(pos, format!("nesting deeper than {max_depth}")));
                }
                Ok(())
            }
            other => Err(err(pos, format!("APPEND to a {}", other.type_name()))),
        }
    }

    fn set_items(&mut self, items: Vec<Value>) -> Result<(), CheckpointError> {
        let pos = self.pos;
        if !items.len().is_multiple_of(2) {
            return Err(err(pos, "SETITEMS with an odd number of items"));
        }
        let max_depth = self.limits.max_depth;
        let copy_cost = match self.top_mut()? {
            Value::Dict(d) if Rc::strong_count(d) > 1 => d.entries.len() as u64,
            _ => 0,
        };
        self.charge(copy_cost + items.len() as u64)?;
        match self.top_mut()? {
            Value::Dict(d) => {
                let d = Rc::make_mut(d);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    d.depth = d.depth.max(k.depth().max(v.depth()) + 1);
                    d.entries.push((k, v));
                }
                if d.depth > max_depth {
                    return Err(err(pos, format!("nesting deeper than {max_depth}")));
                }
                Ok(())
            }
            other => Err(err(pos, format!("SETITEM on a {}", other.type_name()))),
        }
    }

    fn run(&mut self) -> Result<Value, CheckpointError> {
        loop {
            let op_pos = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    // PROTO
                    let p = self.u8()?;
                    if p > 5 {
                        return Err(err(op_pos, format!("unsupported pickle protocol {p}")));
                    }
                }
                0x95 => {
                    // FRAME: only a hint for buffering.
                    self.u64()?;
                }
                b'.' => {
                    // STOP
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => {
                    if self.marks.len() >= self.limits.max_marks {
                        return Err(err(op_pos, "too many marks"));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    // DUP
                    let v = self.top_mut()?.clone();
                    self.push(v)?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64))?
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64))?
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64))?
                }
                b'I' => {
                    // INT (text protocol): also encodes booleans as 00/01.
                    let line = self.line()?;
                    let v = match line {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        s => Value::Int(s.parse().map_err(|_| err(op_pos, "bad INT literal"))?),
                    };
                    self.push(v)?
                }
                b'L' => {
                    let line = self.line()?;
                    let s = line.strip_suffix('L').unwrap_or(line);
                    let v: i64 = s.parse().map_err(|_| err(op_pos, "bad LONG literal"))?;
                    self.push(Value::Int(v))?
                }
                0x8a | 0x8b => {
                    // LONG1 / LONG4
                    let n = if op == 0x8a {
                        self.u8()? as u64
                    } else {
                        self.u32()? as u64
                    };
                    if n > 64 {
                        return Err(err(op_pos, format!("integer of {n} bytes is too large")));
                    }
                    let n = self.len_checked(n)?;
                    let b = self.take(n)?;
                    self.push(long_from_bytes(b))?
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(a)))?
                }
                b'X' | 0x8c | 0x8d => {
                    // BINUNICODE / SHORT_BINUNICODE / BINUNICODE8
                    let n = match op {
                        b'X' => self.u32()? as u64,
                        0x8c => self.u8()? as u64,
                        _ => self.u64()?,
                    };
                    let n = self.len_checked(n)?;
                    let b = self.take(n)?;
                    let s =
                        std::str::from_utf8(b).map_err(|_| err(op_pos, "string is not UTF-8"))?;
                    self.charge(n as u64 / 16)?;
                    self.push(Value::Str(Rc::from(s)))?
                }
                b'U' | b'T' => {
                    // SHORT_BINSTRING / BINSTRING (Python 2 str): decode as Latin-1.
                    let n = if op == b'U' {
                        self.u8()? as u64
                    } else {
                        self.u32()? as u64
                    };
                    let n = self.len_checked(n)?;
                    let b = self.take(n)?;
                    self.charge(n as u64 / 16)?;
                    let s: String = b.iter().map(|&c| c as char).collect();
                    self.push(Value::Str(Rc::from(s.as_str())))?
                }
                b'C' | b'B' | 0x8e => {
                    // SHORT_BINBYTES / BINBYTES / BINBYTES8
                    let n = match op {
                        b'C' => self.u8()? as u64,
                        b'B' => self.u32()? as u64,
                        _ => self.u64()?,
                    };
                    let n = self.len_checked(n)?;
                    let b = self.take(n)?;
                    self.charge(n as u64 / 16)?;
                    self.push(Value::Bytes(Rc::from(b)))?
                }
                b')' => self.push(Value::Tuple(Rc::new(Seq {
                    items: vec![],
                    depth: 1,
                })))?,
                b't' => {
                    let items = self.pop_mark()?;
                    let t = self.make_tuple(items)?;
                    self.push(t)?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    let t = self.make_tuple(items)?;
                    self.push(t)?
                }
                b']' => self.push(Value::List(Rc::new(Seq {
                    items: vec![],
                    depth: 1,
                })))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
                    self.push(Value::List(Rc::new(Seq { items, depth })))?
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?
                }
                b'}' => self.push(Value::Dict(Rc::new(Dict {
                    depth: 1,
                    ..Dict::default()
                })))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Dict(Rc::new(Dict {
                        depth: 1,
                        ..Dict::default()
                    })))?;
                    self.set_items(items)?
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?
                }
                b'q' => {
                    let i = self.u8()? as u32;
                    self.memo_put(i)?
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memo_put(i)?
                }
                0x94 => {
                    // MEMOIZE
                    let i = u32::try_from(self.memo.len())
                        .map_err(|_| err(op_pos, "memo too large"))?;
                    self.memo_put(i)?
                }
                b'p' => {
                    let i: u32 = self
                        .line()?
                        .parse()
                        .map_err(|_| err(op_pos, "bad PUT index"))?;
                    self.memo_put(i)?
                }
                b'h' => {
                    let i = self.u8()? as u32;
                    self.memo_get(i)?
                }
                b'j' => {
                    let i = self.u32()?;
                    self.memo_get(i)?
                }
                b'g' => {
                    let i: u32 = self
                        .line()?
                        .parse()
                        .map_err(|_| err(op_pos, "bad GET index"))?;
                    self.memo_get(i)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = Global::resolve(module, name)?;
                    self.push(Value::Global(g))?
                }
                0x93 => {
                    // STACK_GLOBAL
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&module, &name) {
                        (Value::Str(m), Value::Str(n)) => {
                            let g = Global::resolve(m, n)?;
                            self.push(Value::Global(g))?
                        }
                        _ => return Err(err(op_pos, "STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let v = self.reduce(f, args, op_pos)?;
                    self.push(v)?
                }
                b'b' => {
                    // BUILD: only the `_metadata` attribute of an OrderedDict is expected;
                    // the state is discarded.
                    let _state = self.pop()?;
                    match self.top_mut()? {
                        Value::Dict(_) => {}
                        other => {
                            return Err(err(op_pos, format!("BUILD on a {}", other.type_name())))
                        }
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let s = persistent_load(&pid).map_err(|m| err(op_pos, m))?;
                    self.push(Value::Storage(Rc::new(s)))?
                }
                other => {
                    return Err(err(
                        op_pos,
                        format!("opcode 0x{other:02x} is not supported"),
                    ));
                }
            }
        }
    }

    fn reduce(&mut self, f: Value, args: Value, pos: usize) -> Result<Value, CheckpointError> {
        let args = match args {
            Value::Tuple(t) => t,
            other => {
                return Err(err(
                    pos,
                    format!("REDUCE with {} arguments", other.type_name()),
                ))
            }
        };
        let g = match f {
            Value::Global(g) => g,
            other => return Err(err(pos, format!("cannot call a {}", other.type_name()))),
        };
        match g {
            Global::OrderedDict => {
                let mut d = Dict {
                    depth: 1,
                    ordered: true,
                    ..Dict::default()
                };
                match args.items.as_slice() {
                    [] => {}
                    [Value::List(pairs)] => {
                        for p in &pairs.items {
                            match p {
                                Value::Tuple(kv) if kv.items.len() == 2 => {
                                    d.depth = d.depth.max(kv.depth);
                                    d.entries.push((kv.items[0].clone(), kv.items[1].clone()));
                                }
                                _ => return Err(err(pos, "OrderedDict needs (key, value) pairs")),
                            }
                        }
                        self.charge(d.entries.len() as u64)?;
                    }
                    _ => return Err(err(pos, "unexpected OrderedDict arguments")),
                }
                Ok(Value::Dict(Rc::new(d)))
            }
            Global::RebuildTensorV2 => {
                let a = &args.items;
                if a.len() < 4 || a.len() > 7 {
                    return Err(err(pos, "_rebuild_tensor_v2 needs 4 to 7 arguments"));
                }
                let storage = match &a[0] {
                    Value::Storage(s) => (**s).clone(),
                    other => {
                        return Err(err(
                            pos,
                            format!("tensor storage is a {}", other.type_name()),
                        ))
                    }
                };
                let offset = match &a[1] {
                    Value::Int(o) if *o >= 0 => *o as u64,
                    _ => return Err(err(pos, "bad tensor storage offset")),
                };
                let size = int_tuple(&a[2]).ok_or_else(|| err(pos, "bad tensor size"))?;
                let stride = int_tuple(&a[3]).ok_or_else(|| err(pos, "bad tensor stride"))?;
                if size.len() != stride.len() {
                    return Err(err(pos, "tensor size and stride differ in length"));
                }
                if size.iter().chain(stride.iter()).any(|&v| v < 0) {
                    return Err(err(pos, "negative tensor size or stride"));
                }
                self.charge(size.len() as u64)?;
                Ok(Value::Tensor(Rc::new(TensorRef {
                    storage,
                    offset,
                    size,
                    stride,
                })))
            }
            Global::RebuildParameter => match args.items.first() {
                Some(t @ Value::Tensor(_)) if args.items.len() <= 4 => Ok(t.clone()),
                _ => Err(err(pos, "_rebuild_parameter needs a tensor")),
            },
            Global::Storage(_) => Err(err(pos, "storage classes cannot be called")),
        }
    }
}

fn int_tuple(v: &Value) -> Option<Vec<i64>> {
    match v {
        Value::Tuple(t) | Value::List(t) => t
            .items
            .iter()
            .map(|x| match x {
                Value::Int(i) => Some(*i),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn long_from_bytes(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() <= 8 {
        let neg = b[b.len() - 1] & 0x80 != 0;
        let mut a = if neg { [0xffu8; 8] } else { [0u8; 8] };
        a[..b.len()].copy_from_slice(b);
        Value::Int(i64::from_le_bytes(a))
    } else {
        Value::BigInt(Rc::from(b))
    }
}

/// `('storage', StorageClass, key, location, numel[, view_metadata])`
fn persistent_load(pid: &Value) -> Result<StorageRef, String> {
    let items = match pid {
        Value::Tuple(t) => &t.items,
        other => return Err(format!("persistent id is a {}", other.type_name())),
    };
    if items.len() != 5 && items.len() != 6 {
        return Err(format!("persistent id has {} fields", items.len()));
    }
    match &items[0] {
        Value::Str(s) if &**s == "storage" => {}
        _ => return Err("persistent id is not a storage".into()),
    }
    let dtype = match &items[1] {
        Value::Global(Global::Storage(d)) => *d,
        other => return Err(format!("storage type is a {}", other.type_name())),
    };
    let key = match &items[2] {
        Value::Str(s) => s.to_string(),
        _ => return Err("storage key is not a string".into()),
    };
    if !matches!(&items[3], Value::Str(_)) {
        return Err("storage location is not a string".into());
    }
    let numel = match &items[4] {
        Value::Int(n) if *n >= 0 => *n as u64,
        _ => return Err("bad storage element count".into()),
    };
    let mut view_offset = 0;
    let mut view_len = numel;
    if let Some(view) = items.get(5) {
        match view {
            Value::None => {}
            Value::Tuple(t) => match t.items.as_slice() {
                [Value::Str(_), Value::Int(off), Value::Int(n)] if *off >= 0 && *n >= 0 => {
                    // Legacy view into the root storage `key`.
                    view_offset = *off as u64;
                    view_len = *n as u64;
                }
                _ => return Err("bad storage view metadata".into()),
            },
            _ => return Err("bad storage view metadata".into()),
        }
    }
    Ok(StorageRef {
        dtype,
        key,
        numel,
        view_offset,
        view_len,
    })
}
