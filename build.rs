//! Link-time settings for every binary and test of the crate.
//!
//! * `rpath`: binaries find libtorch in the project's virtual environment without
//!   LD_LIBRARY_PATH.
//! * `--no-as-needed -ltorch`: the linker would otherwise drop libtorch_cuda (nothing
//!   references it by symbol), and `tch::Cuda::is_available()` would be false even on
//!   an NVIDIA machine. On a machine without a GPU the library still loads.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    let libtorch = std::env::var("LIBTORCH").unwrap_or_else(|_| ".libtorch".to_string());
    let mut lib_dir = PathBuf::from(libtorch).join("lib");
    if let Ok(canonical) = lib_dir.canonicalize() {
        lib_dir = canonical;
    }
    if !lib_dir.join("libtorch_cpu.so").exists() {
        println!(
            "cargo:warning=libtorch not found at {}: run ./setup.sh first",
            lib_dir.display()
        );
    }
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    if lib_dir.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
}
