//! Link-time settings for every binary and test of the crate: libtorch's folder on
//! the rpath, and on Linux libtorch_cuda kept when the wheel has it. The decisions
//! live in `build/link.rs` (tested by `tests/build_link.rs`); this file only reads
//! the target OS and the folder.
#[path = "build/link.rs"]
mod link;

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/link.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let libtorch = std::env::var("LIBTORCH").unwrap_or_else(|_| ".libtorch".to_string());
    let mut lib_dir = PathBuf::from(libtorch).join("lib");
    if let Ok(canonical) = lib_dir.canonicalize() {
        lib_dir = canonical;
    }
    let names: Vec<String> = std::fs::read_dir(&lib_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for line in link::cargo_lines(&target_os, &lib_dir.display().to_string(), &names) {
        println!("{line}");
    }
}
