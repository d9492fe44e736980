//! `build.rs`'s link decisions (`build/link.rs`) for each platform and wheel, checked
//! on whatever machine runs the tests: the function only sees names.
#[path = "../build/link.rs"]
mod link;

const DIR: &str = "/venv/torch/lib";

/// The lib folder of PyPI's Linux x86_64 wheel (the CUDA build).
const LINUX_CUDA: &[&str] = &[
    "libc10.so",
    "libc10_cuda.so",
    "libtorch.so",
    "libtorch_cpu.so",
    "libtorch_cuda.so",
    "libtorch_python.so",
];
/// The CPU index's `+cpu` wheel: no CUDA libraries.
const LINUX_CPU: &[&str] = &[
    "libc10.so",
    "libtorch.so",
    "libtorch_cpu.so",
    "libgomp.so.1",
];
/// PyPI's macOS arm64 wheel.
const MACOS: &[&str] = &[
    "libc10.dylib",
    "libshm.dylib",
    "libtorch.dylib",
    "libtorch_cpu.dylib",
    "libtorch_python.dylib",
];

fn lines(os: &str, files: &[&str]) -> Vec<String> {
    link::cargo_lines(os, DIR, files)
}

fn warns(lines: &[String]) -> bool {
    lines.iter().any(|l| l.starts_with("cargo:warning="))
}

#[test]
fn linux_cuda_wheel_keeps_libtorch_cuda() {
    assert_eq!(
        lines("linux", LINUX_CUDA),
        [
            "cargo:rustc-link-search=native=/venv/torch/lib",
            "cargo:rustc-link-arg=-Wl,-rpath,/venv/torch/lib",
            "cargo:rustc-link-arg=-Wl,--no-as-needed",
            "cargo:rustc-link-arg=-ltorch_cuda",
            "cargo:rustc-link-arg=-ltorch",
            "cargo:rustc-link-arg=-Wl,--as-needed",
        ]
    );
}

#[test]
fn linux_cpu_wheel_names_no_cuda_library() {
    let got = lines("linux", LINUX_CPU);
    assert!(!warns(&got), "{got:?}");
    assert!(!got.iter().any(|l| l.contains("torch_cuda")), "{got:?}");
    assert!(got.contains(&"cargo:rustc-link-arg=-ltorch".to_string()));
    assert!(got.contains(&"cargo:rustc-link-arg=-Wl,-rpath,/venv/torch/lib".to_string()));
}

#[test]
fn macos_wheel_gets_the_rpath_and_no_gnu_ld_flags() {
    assert_eq!(
        lines("macos", MACOS),
        [
            "cargo:rustc-link-search=native=/venv/torch/lib",
            "cargo:rustc-link-arg=-Wl,-rpath,/venv/torch/lib",
        ]
    );
    // Linux's libraries do not count as libtorch on a Mac, and vice versa.
    assert!(warns(&lines("macos", LINUX_CPU)));
    assert!(warns(&lines("linux", MACOS)));
}

#[test]
fn missing_libtorch_says_to_run_setup() {
    for os in ["linux", "macos"] {
        let got = lines(os, &[]);
        let warning = got
            .iter()
            .find(|l| l.starts_with("cargo:warning="))
            .unwrap();
        assert!(
            warning.contains("libtorch not found at /venv/torch/lib")
                && warning.contains("./setup.sh"),
            "{warning}"
        );
        // Still a complete answer: the link then fails with the linker's own message.
        assert!(got.contains(&"cargo:rustc-link-search=native=/venv/torch/lib".to_string()));
        assert!(!got.iter().any(|l| l.contains("torch_cuda")), "{got:?}");
    }
    let windows = lines("windows", &[]);
    assert!(windows[0].contains("not supported"), "{windows:?}");
    assert!(!windows.iter().any(|l| l.contains("-Wl,")), "{windows:?}");
}
