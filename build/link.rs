//! What `build.rs` tells cargo about linking libtorch, as a pure function of the
//! target OS and the files in libtorch's `lib` folder, so that `tests/build_link.rs`
//! can check every platform's answer on any machine. No dependencies: `build.rs` and
//! that test both include this file with `#[path]`.

/// The `cargo:` lines for a build for `target_os` (cargo's `CARGO_CFG_TARGET_OS`:
/// `linux`, `macos`, ...) against libtorch's library folder `lib_dir`, whose file
/// names are `files` (empty when the folder is missing).
///
/// * Every target: the folder on the library search path and, where the OS has one,
///   on the rpath, so binaries find libtorch without `LD_LIBRARY_PATH`.
/// * Linux: `--no-as-needed -ltorch_cuda -ltorch`: GNU ld would otherwise drop
///   libtorch_cuda (nothing references it by symbol) and `tch::Cuda::is_available()`
///   would say false on an NVIDIA machine. PyPI's CPU-only wheel has no
///   libtorch_cuda, so it is named only when present.
/// * macOS: the rpath only. Apple's ld has no `--no-as-needed`, and the macOS wheel
///   has no CUDA library to keep (its GPU backend, MPS, lives in libtorch_cpu).
pub fn cargo_lines(target_os: &str, lib_dir: &str, files: &[&str]) -> Vec<String> {
    let has = |name: &str| files.contains(&name);
    let mut lines = Vec::new();
    let (libtorch_cpu, rpath, gnu_ld) = match target_os {
        "linux" => ("libtorch_cpu.so", true, true),
        "macos" => ("libtorch_cpu.dylib", true, false),
        other => {
            lines.push(format!(
                "cargo:warning=target OS `{other}` is not supported: the workshop builds on \
                 Linux and macOS (on Windows, inside WSL 2)"
            ));
            ("libtorch_cpu", false, false)
        }
    };
    if !has(libtorch_cpu) {
        lines.push(format!(
            "cargo:warning=libtorch not found at {lib_dir} (no {libtorch_cpu}): run ./setup.sh first"
        ));
    }
    lines.push(format!("cargo:rustc-link-search=native={lib_dir}"));
    if rpath {
        lines.push(format!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}"));
    }
    if gnu_ld {
        lines.push("cargo:rustc-link-arg=-Wl,--no-as-needed".into());
        if has("libtorch_cuda.so") {
            lines.push("cargo:rustc-link-arg=-ltorch_cuda".into());
        }
        lines.push("cargo:rustc-link-arg=-ltorch".into());
        lines.push("cargo:rustc-link-arg=-Wl,--as-needed".into());
    }
    lines
}
