//! The checkpoint reader against files written by PyTorch itself, and against hostile
//! input built by hand.

use std::io::Write;
use std::path::{Path, PathBuf};

use se05::io::checkpoint::{self, pickle, CheckpointError, Format};
use tch::{nn, Device, Kind, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/encoders/checkpoints")
        .join(name)
}

fn values(t: &Tensor) -> Vec<f64> {
    let flat = t.to_kind(Kind::Double).reshape([-1]);
    Vec::<f64>::try_from(&flat).unwrap()
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Float => "float32",
        Kind::Double => "float64",
        Kind::Half => "float16",
        Kind::BFloat16 => "bfloat16",
        Kind::Int64 => "int64",
        Kind::Int => "int32",
        Kind::Int16 => "int16",
        Kind::Int8 => "int8",
        Kind::Uint8 => "uint8",
        Kind::Bool => "bool",
        _ => "other",
    }
}

/// Loads NAME.pth with our reader and compares with NAME.json written by PyTorch.
fn check_against_pytorch(name: &str, format: Format) {
    let sd = checkpoint::load(fixture(&format!("{name}.pth"))).unwrap();
    assert_eq!(sd.format, format);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap())
            .unwrap();
    let want = json.as_object().unwrap();
    let got: Vec<&str> = sd.keys().collect();
    let want_keys: Vec<&str> = want.keys().map(String::as_str).collect();
    let mut sorted = got.clone();
    sorted.sort();
    let mut want_sorted = want_keys.clone();
    want_sorted.sort();
    assert_eq!(sorted, want_sorted, "{name}: names");
    for (k, t) in sd.iter() {
        let w = &want[k];
        let shape: Vec<i64> = w["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(t.size(), shape, "{name}: shape of {k}");
        assert_eq!(
            kind_name(t.kind()),
            w["dtype"].as_str().unwrap(),
            "{name}: dtype of {k}"
        );
        let vals: Vec<f64> = w["f64_bits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| f64::from_bits(v.as_i64().unwrap() as u64))
            .collect();
        assert_eq!(values(t), vals, "{name}: values of {k}");
        assert!(!t.requires_grad());
    }
}

#[test]
fn zip_state_dict_matches_pytorch() {
    check_against_pytorch("zip_state_dict", Format::Zip);
}

#[test]
fn legacy_state_dict_matches_pytorch() {
    check_against_pytorch("legacy_state_dict", Format::Legacy);
}

#[test]
fn strided_views_and_all_dtypes_match_pytorch_zip() {
    check_against_pytorch("zip_layouts", Format::Zip);
}

#[test]
fn strided_views_and_all_dtypes_match_pytorch_legacy() {
    check_against_pytorch("legacy_layouts", Format::Legacy);
}

#[test]
fn pickle_protocol_4_matches_pytorch() {
    check_against_pytorch("zip_protocol4", Format::Zip);
}

#[test]
fn nested_checkpoint_dicts_are_flattened() {
    check_against_pytorch("zip_nested", Format::Zip);
    let sd = checkpoint::load(fixture("zip_nested.pth")).unwrap();
    assert!(sd.get("state_dict.0.weight").is_some());
}

#[test]
fn order_is_kept() {
    let sd = checkpoint::load(fixture("zip_state_dict.pth")).unwrap();
    let keys: Vec<&str> = sd.keys().collect();
    assert_eq!(keys[0], "0.weight");
    assert_eq!(keys[1], "0.bias");
    assert_eq!(*keys.last().unwrap(), "4.bias");
}

fn root(e: &CheckpointError) -> &CheckpointError {
    e.root_cause()
}

#[test]
fn code_execution_globals_are_refused_and_named() {
    for (file, global) in [
        ("evil_zip_system.pth", "posix.system"),
        ("evil_legacy_system.pth", "posix.system"),
        ("evil_zip_eval.pth", "__builtin__.eval"),
    ] {
        let e = checkpoint::load(fixture(file)).unwrap_err();
        match root(&e) {
            CheckpointError::ForbiddenGlobal(g) => assert_eq!(g, global),
            other => panic!("{file}: expected ForbiddenGlobal, got {other}"),
        }
        let msg = e.to_string();
        assert!(msg.contains(global) && msg.contains(file), "{msg}");
    }
}

fn unpickle(b: &[u8]) -> Result<pickle::Value, CheckpointError> {
    pickle::unpickle(b, pickle::Limits::for_input(b.len())).map(|(v, _)| v)
}

#[test]
fn other_globals_are_refused_by_name() {
    let cases: [(&[u8], &str); 4] = [
        (b"\x80\x02cos\nsystem\n.", "os.system"),
        (b"\x80\x02ctorch\nload\n.", "torch.load"),
        (
            b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93.",
            "builtins.exec",
        ),
        (b"\x80\x02csubprocess\nPopen\n)R.", "subprocess.Popen"),
    ];
    for (pkl, name) in cases {
        match unpickle(pkl) {
            Err(CheckpointError::ForbiddenGlobal(g)) => assert_eq!(g, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// Pickle of `OrderedDict(w=tensor)` with the given storage and view.
fn tensor_pickle(numel: u64, offset: i64, size: &[i64], stride: &[i64]) -> Vec<u8> {
    fn int(out: &mut Vec<u8>, v: i64) {
        out.push(0x8a);
        out.push(8);
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut p = b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00w".to_vec();
    p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage");
    p.extend_from_slice(b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu");
    int(&mut p, numel as i64);
    p.extend_from_slice(b"tQ");
    int(&mut p, offset);
    p.push(b'(');
    for &s in size {
        int(&mut p, s);
    }
    p.extend_from_slice(b"t(");
    for &s in stride {
        int(&mut p, s);
    }
    p.extend_from_slice(b"t\x89ccollections\nOrderedDict\n)RtRu.");
    p
}

fn make_zip(pkl: &[u8], storages: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("archive/data.pkl", opts).unwrap();
    w.write_all(pkl).unwrap();
    w.start_file("archive/byteorder", opts).unwrap();
    w.write_all(b"little").unwrap();
    for (k, data) in storages {
        w.start_file(format!("archive/data/{k}"), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn floats(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn hand_built_zip_round_trips() {
    let data = floats(&[0., 1., 2., 3., 4., 5.]);
    let z = make_zip(&tensor_pickle(6, 1, &[2, 2], &[1, 2]), &[("0", &data)]);
    let sd = checkpoint::load_from_bytes(&z).unwrap();
    // Elements at 1 + i + 2j: [[1, 3], [2, 4]].
    assert_eq!(values(sd.get("w").unwrap()), vec![1., 3., 2., 4.]);
}

fn expect_err(bytes: &[u8], needle: &str) {
    match checkpoint::load_from_bytes(bytes) {
        Ok(_) => panic!("accepted; expected an error containing {needle:?}"),
        Err(e) => {
            assert!(!matches!(e, CheckpointError::Panic(_)), "panicked: {e}");
            assert!(
                e.to_string().contains(needle),
                "error {e:?} lacks {needle:?}"
            );
        }
    }
}

#[test]
fn huge_declared_sizes_are_refused_without_allocating() {
    let data = floats(&[1.0; 4]);
    // Storage numel far beyond the file.
    expect_err(
        &make_zip(&tensor_pickle(1 << 60, 0, &[4], &[1]), &[("0", &data)]),
        "more than the file",
    );
    // numel × 4 overflows u64.
    expect_err(
        &make_zip(
            &tensor_pickle(i64::MAX as u64, 0, &[4], &[1]),
            &[("0", &data)],
        ),
        "more than the file",
    );
    // A stride-0 view of one element claiming 2^80 elements.
    expect_err(
        &make_zip(
            &tensor_pickle(4, 0, &[1 << 40, 1 << 40], &[0, 0]),
            &[("0", &data)],
        ),
        "memory",
    );
}

#[test]
fn bad_offsets_and_strides_are_refused() {
    let data = floats(&[1.0; 4]);
    expect_err(
        &make_zip(&tensor_pickle(4, 4, &[1], &[1]), &[("0", &data)]),
        "reads element 4",
    );
    expect_err(
        &make_zip(&tensor_pickle(4, 0, &[3], &[2]), &[("0", &data)]),
        "reads element 4",
    );
    expect_err(
        &make_zip(
            &tensor_pickle(4, 0, &[i64::MAX, 2], &[i64::MAX, 1]),
            &[("0", &data)],
        ),
        "reads element",
    );
    expect_err(
        &make_zip(&tensor_pickle(4, 0, &[2], &[-1]), &[("0", &data)]),
        "negative",
    );
    expect_err(
        &make_zip(&tensor_pickle(4, -1, &[2], &[1]), &[("0", &data)]),
        "offset",
    );
    expect_err(
        &make_zip(&tensor_pickle(4, 0, &[2, 2], &[1]), &[("0", &data)]),
        "differ in length",
    );
    // Storage entry shorter than declared, or absent.
    expect_err(
        &make_zip(&tensor_pickle(8, 0, &[4], &[1]), &[("0", &data)]),
        "needed",
    );
    expect_err(
        &make_zip(&tensor_pickle(4, 0, &[4], &[1]), &[]),
        "archive/data/0",
    );
}

#[test]
fn deep_nesting_is_refused() {
    let mut p = b"\x80\x02N".to_vec();
    p.extend(std::iter::repeat_n(0x85u8, 100_000)); // TUPLE1, 100k times
    p.push(b'.');
    let e = unpickle(&p).unwrap_err();
    assert!(e.to_string().contains("nesting"), "{e}");

    let mut p = b"\x80\x02".to_vec();
    p.extend(std::iter::repeat_n(b'(', 1_000_000)); // MARK, a million times
    let e = unpickle(&p).unwrap_err();
    assert!(e.to_string().contains("marks"), "{e}");

    let mut p = b"\x80\x02".to_vec();
    p.extend(std::iter::repeat_n(b'N', 1_000_000));
    let e = unpickle(&p).unwrap_err();
    assert!(e.to_string().contains("stack overflow"), "{e}");
}

#[test]
fn repeated_copies_exhaust_the_work_budget() {
    // A list memoised, then fetched and extended a thousand times: each extension copies
    // the whole list (quadratic growth), which the budget cuts short.
    let mut p = b"\x80\x02]q\x00".to_vec();
    for _ in 0..1000 {
        p.extend_from_slice(b"h\x00(");
        p.extend(std::iter::repeat_n(b'N', 1000));
        p.extend_from_slice(b"eq\x00");
    }
    p.push(b'.');
    let e = unpickle(&p).unwrap_err();
    assert!(e.to_string().contains("budget"), "{e}");
}

#[test]
fn malformed_pickles_give_errors() {
    let cases: [&[u8]; 12] = [
        b"",
        b"\x80",
        b"\x80\x02",
        b"\x80\x09N.",
        b"\x80\x02h\x05.",
        b"\x80\x02j\xff\xff\xff\xff.",
        b"\x80\x02X\xff\xff\xff\xffab.",
        b"\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff.",
        b"\x80\x02t.",
        b"\x80\x02Na.",
        b"\x80\x02NNs.",
        b"\x80\x02\xff.",
    ];
    for c in cases {
        assert!(unpickle(c).is_err(), "{c:?}");
    }
}

#[test]
fn legacy_magic_and_garbage_are_refused() {
    expect_err(b"hello world", "not a PyTorch checkpoint");
    expect_err(
        b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x18.",
        "magic",
    );
    expect_err(b"PK\x03\x04garbage", "zip");
}

#[test]
fn every_truncation_is_an_error() {
    let mut cases = 0;
    for name in [
        "zip_state_dict.pth",
        "legacy_state_dict.pth",
        "legacy_layouts.pth",
    ] {
        let full = std::fs::read(fixture(name)).unwrap();
        assert!(checkpoint::load_from_bytes(&full).is_ok());
        for n in 0..full.len() {
            match checkpoint::load_from_bytes(&full[..n]) {
                Ok(_) => panic!("{name} truncated to {n} bytes was accepted"),
                Err(CheckpointError::Panic(m)) => panic!("{name} truncated to {n}: panic {m}"),
                Err(_) => cases += 1,
            }
        }
    }
    println!("truncation cases: {cases}");
}

#[test]
fn load_into_reports_missing_unexpected_and_mismatched() {
    let path = fixture("zip_state_dict.pth");
    let build = |linear_out: i64, extra: bool| {
        let vs = nn::VarStore::new(Device::Cpu);
        let r = vs.root();
        let _ = nn::conv2d(&r / "0", 3, 4, 3, Default::default());
        let _ = nn::batch_norm2d(&r / "1", 4, Default::default());
        let _ = nn::linear(&r / "4", 4, linear_out, Default::default());
        if extra {
            let _ = r.zeros("extra", &[2]);
        }
        vs
    };
    let mut vs = build(2, false);
    let report = checkpoint::load_into(&mut vs, &path, |n| Some(n.to_string())).unwrap();
    assert_eq!(report.loaded.len(), 8, "{}", report.summary());
    assert_eq!(report.unexpected, vec!["1.num_batches_tracked".to_string()]);
    assert!(report.missing.is_empty() && report.mismatched.is_empty());
    let sd = checkpoint::load(&path).unwrap();
    let vars = vs.variables();
    for (k, t) in sd
        .iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
    {
        assert_eq!(values(&vars[k]), values(t), "{k}");
    }
    // Trainable flags are kept.
    assert!(vars["0.weight"].requires_grad());
    assert!(!vars["1.running_mean"].requires_grad());

    let mut vs = build(3, true);
    let skip_counter = |n: &str| (!n.ends_with("num_batches_tracked")).then(|| n.to_string());
    let report = checkpoint::load_into(&mut vs, &path, skip_counter).unwrap();
    assert_eq!(report.skipped, vec!["1.num_batches_tracked".to_string()]);
    assert_eq!(report.missing, vec!["extra".to_string()]);
    let names: Vec<&str> = report.mismatched.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["4.weight", "4.bias"]);
    assert_eq!(report.mismatched[0].expected, vec![3, 4]);
    assert_eq!(report.mismatched[0].found, vec![2, 4]);
    assert!(!report.is_exact());
    assert!(report.summary().contains("4.weight"));
}

#[test]
fn load_errors_name_the_file() {
    let e = checkpoint::load("/nonexistent/model.pth").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/model.pth"), "{e}");
}
