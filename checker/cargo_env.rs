//! The environment of the cargo that compiles exercise code: an allow-list.
//!
//! rustc reads environment variables at compile time for the code it compiles
//! (`env!("PWD")`, `option_env!("ROSTER_TOKEN")`), so the checker's own environment
//! (a CI secret, the path of the instructor's checkout, the run's seed) must not reach
//! it. What the build itself needs passes: the toolchain's and libtorch's settings, and
//! every variable a dependency's build script watches (`cc`'s `CC`/`CXXFLAGS`, ...):
//! dropping one of those would make cargo rebuild that dependency on every call, and
//! again on the next `cargo run`. Names that look like credentials never pass.

use std::ffi::OsString;

/// Variables passed by exact name.
const NAMES: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TZ",
    "TMPDIR",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "SOURCE_DATE_EPOCH",
    "LD_LIBRARY_PATH",
    "LIBRARY_PATH",
    "DYLD_FALLBACK_LIBRARY_PATH",
    "SDKROOT",
    "MACOSX_DEPLOYMENT_TARGET",
    "DEVELOPER_DIR",
    "COMPILER_PATH",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "GCC_EXEC_PREFIX",
];

/// Variables passed by prefix: cargo's and rustup's, the Rust compiler's, libtorch's,
/// and the C/C++ toolchain's as the `cc` and `pkg-config` crates read them.
const PREFIXES: &[&str] = &[
    "CARGO_",
    "RUSTUP_",
    "RUST",
    "LIBTORCH",
    "TORCH_",
    "LC_",
    "CC",
    "CXX",
    "CFLAGS",
    "AR",
    "CRATE_CC_",
    "HOST_",
    "TARGET_",
    "PKG_CONFIG",
    "OBJC",
    "LIBC_",
    "RING_",
    "ZSTD_",
    "BZIP2_",
    "SCCACHE_",
];

/// Parts of a name that mark a credential, whatever its prefix.
const SECRET_MARKS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "_KEY",
    "AUTH",
];

/// Variables cargo sets for the program it runs (`cargo run --bin checker`). Passed on
/// to our own cargo, some of them reach build scripts that watch them (ring's watches
/// CARGO_MANIFEST_DIR and OUT_DIR), so the dependency would be rebuilt each time one
/// goes from `cargo run` to a plain `cargo` call and back: a minute per verdict
/// instead of seconds.
pub fn set_by_cargo_run(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CFG_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// Whether the variable `name` reaches the cargo that compiles exercise code.
pub fn passes(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if SECRET_MARKS.iter().any(|m| upper.contains(m)) || set_by_cargo_run(name) {
        return false;
    }
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The allowed part of this process's environment.
pub fn allowed() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(name, _)| name.to_str().is_some_and(passes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_the_checker_s_own_settings_stay_out() {
        for name in [
            "PWD",
            "OLDPWD",
            "ROSTER_TOKEN",
            "GITHUB_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "CARGO_REGISTRY_TOKEN",
            "CARGO_REGISTRIES_MINE_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "SE05_SEED",
            "SE05_OBSERVE",
            "GITHUB_WORKSPACE",
            "CARGO_MANIFEST_DIR",
            "OUT_DIR",
        ] {
            assert!(!passes(name), "{name} must not reach the build");
        }
        for name in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_INCREMENTAL",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
            "RUSTFLAGS",
            "RUSTC_WRAPPER",
            "LIBTORCH",
            "LIBTORCH_BYPASS_VERSION_CHECK",
            "CXX",
            "CXXFLAGS_x86_64_unknown_linux_gnu",
        ] {
            assert!(passes(name), "{name} is needed by the build");
        }
    }

    /// Every variable a dependency's build script watches passes (or is one cargo sets
    /// itself), read from this build's own script outputs: a dependency that starts
    /// watching a new one fails here instead of rebuilding on every verdict.
    #[test]
    fn what_build_scripts_watch_passes() {
        let build = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/build");
        let Ok(entries) = std::fs::read_dir(&build) else {
            return; // another target folder: nothing to read here
        };
        let mut seen = 0;
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path().join("output")) else {
                continue;
            };
            for name in text
                .lines()
                .filter_map(|l| l.strip_prefix("cargo:rerun-if-env-changed="))
            {
                seen += 1;
                let set_by_cargo = name.starts_with("CARGO_") || name == "OUT_DIR";
                assert!(
                    passes(name) || set_by_cargo,
                    "{} watches {name}: add it to checker/cargo_env.rs",
                    entry.file_name().to_string_lossy()
                );
            }
        }
        assert!(seen > 0, "no build script output under {}", build.display());
    }
}
