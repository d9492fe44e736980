//! `scripts/grade.sh` leaves a report saying why when the checker cannot run at all.
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs the script from `tree` with `path` as PATH; returns its status and report.
fn grade(tree: &Path, path: &str) -> (Option<i32>, Value) {
    let report = tree.join("report.json");
    let bash = ["/bin/bash", "/usr/bin/bash"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("bash");
    let out = Command::new(bash)
        .arg(tree.join("scripts/grade.sh"))
        .arg(&report)
        .arg("6")
        .env("PATH", path)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "no report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), serde_json::from_str(&text).unwrap())
}

/// A folder with only the script: no set-up, nothing built.
fn bare_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("scripts")).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("scripts/grade.sh"),
        dir.path().join("scripts/grade.sh"),
    )
    .unwrap();
    dir
}

#[test]
fn without_a_toolchain_the_report_says_so() {
    let dir = bare_tree();
    // A PATH with the shell tools the script uses, and no cargo.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["dirname", "sed", "tr", "date", "mv", "tail"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} not found in /usr/bin or /bin"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    let (code, report) = grade(dir.path(), bin.to_str().unwrap());
    assert_eq!(code, Some(2));
    assert_eq!(report["schema"], "se05-report/1");
    assert_eq!(report["status"], "error");
    let why = report["error"].as_str().unwrap();
    assert!(why.contains("cargo is not on PATH"), "{why}");
}

#[test]
fn without_the_set_up_the_report_says_so() {
    let dir = bare_tree();
    let path = std::env::var("PATH").unwrap();
    let (code, report) = grade(dir.path(), &path);
    assert_eq!(code, Some(2));
    assert_eq!(report["status"], "error");
    let why = report["error"].as_str().unwrap();
    assert!(why.contains("Run ./setup.sh"), "{why}");
    assert_eq!(report["points_earned"], 0);
}
