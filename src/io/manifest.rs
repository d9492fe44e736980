//! Rewrites of the crate's `Cargo.toml` and `Cargo.lock` for copies of the tree.
//!
//! Cargo names a package's build outputs without its folder, so every copy of this
//! repository building in one target folder would share (and overwrite) the same test
//! executables and freshness records; another version gives a copy its own. The lock
//! file records the package's version too: tagging it alike keeps cargo from
//! rewriting the copy's lock on its first build.

/// The package this crate is, as `Cargo.lock` names it.
const PACKAGE: &str = "se05";

/// `Cargo.toml` with `-tag` added to the `[package]` version.
pub fn tag_version(toml: &str, tag: &str) -> String {
    let mut in_package = false;
    let mut done = false;
    let mut out = String::with_capacity(toml.len() + tag.len() + 1);
    for line in toml.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_package = trimmed.starts_with("[package]");
        }
        if in_package && !done && trimmed.starts_with("version") {
            if let Some(tagged) = tag_quoted(line, tag) {
                out.push_str(&tagged);
                done = true;
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// `Cargo.lock` with `-tag` added to this package's version.
pub fn tag_lock(lock: &str, tag: &str) -> String {
    let mut out = String::with_capacity(lock.len() + tag.len() + 1);
    let mut ours = false;
    for line in lock.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed == "[[package]]" {
            ours = false;
        } else if trimmed == format!("name = \"{PACKAGE}\"") {
            ours = true;
        } else if ours && trimmed.starts_with("version = ") {
            if let Some(tagged) = tag_quoted(line, tag) {
                out.push_str(&tagged);
                ours = false;
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// `Cargo.toml` without its benchmarks and binaries: a copy that only builds check
/// targets needs neither (without `benches/` the manifest would not even load), and
/// a copy's `checker` binary, built into a shared target folder, would take the place
/// of this repository's `target/debug/checker`.
pub fn only_library_and_tests(toml: &str) -> String {
    let mut out = String::with_capacity(toml.len());
    let mut skipping = false;
    for line in toml.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            skipping = matches!(trimmed.trim_end(), "[[bench]]" | "[[bin]]");
        }
        if !skipping && !trimmed.starts_with("default-run") {
            out.push_str(line);
        }
    }
    out
}

/// `name = "1.0"` → `name = "1.0-tag"`; `None` when the line holds no quoted value.
fn tag_quoted(line: &str, tag: &str) -> Option<String> {
    let (first, last) = (line.find('"')?, line.rfind('"')?);
    (last > first).then(|| format!("{}-{tag}{}", &line[..last], &line[last..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_gets_a_version_of_its_own() {
        let toml =
            "[package]\nname = \"se05\"\nversion = \"0.1.0\"\n\n[dependencies]\nversion = \"1\"\n";
        assert_eq!(
            tag_version(toml, "grade"),
            "[package]\nname = \"se05\"\nversion = \"0.1.0-grade\"\n\n[dependencies]\nversion = \"1\"\n"
        );
        assert!(
            tag_version("[package]\nversion = \"0.1.0-fixture\"\n", "grade")
                .contains("\"0.1.0-fixture-grade\"")
        );
    }

    #[test]
    fn only_this_package_is_tagged_in_the_lock() {
        let lock = "[[package]]\nname = \"sha2\"\nversion = \"0.10.9\"\n\n[[package]]\nname = \"se05\"\nversion = \"0.1.0\"\ndependencies = [\n \"sha2\",\n]\n";
        let tagged = tag_lock(lock, "grade");
        assert!(
            tagged.contains("name = \"sha2\"\nversion = \"0.10.9\"\n"),
            "{tagged}"
        );
        assert!(
            tagged.contains("name = \"se05\"\nversion = \"0.1.0-grade\"\n"),
            "{tagged}"
        );
        // The real lock and manifest agree once both are tagged.
        let root = env!("CARGO_MANIFEST_DIR");
        let lock = std::fs::read_to_string(format!("{root}/Cargo.lock")).unwrap();
        let toml = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
        let version = |text: &str| {
            text.lines()
                .skip_while(|l| l.trim() != "name = \"se05\"")
                .find(|l| l.starts_with("version"))
                .map(str::to_string)
        };
        assert!(version(&tag_lock(&lock, "t")).is_some());
        assert_eq!(
            version(&tag_lock(&lock, "t")),
            version(&tag_version(&toml, "t"))
        );
    }

    #[test]
    fn benches_and_binaries_are_dropped_and_the_rest_kept() {
        let toml = "[package]\nname = \"x\"\ndefault-run = \"checker\"\n\n[[bin]]\nname = \"checker\"\npath = \"checker/main.rs\"\n\n[[test]]\nname = \"a\"\n\n[[bench]]\nname = \"loader\"\nharness = false\n\n[[bench]]\nname = \"c\"\n\n[profile.dev]\ndebug = 1\n";
        assert_eq!(
            only_library_and_tests(toml),
            "[package]\nname = \"x\"\n\n[[test]]\nname = \"a\"\n\n[profile.dev]\ndebug = 1\n"
        );
    }
}
