//! `checker reset N`: asks first (no, or end of input, changes nothing), keeps a
//! backup of the student's file, restores the stub as shipped (checker/stubs/), and
//! forgets the exercise's last verdict. Nothing is compiled.
#[path = "fixtures/submissions/tree.rs"]
mod tree;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use tree::ROOT;

const MINE: &str = "// my work in progress\npub struct DiceLoss { pub smooth: f64 }\n";

fn reset(root: &Path, args: &[&str], input: Option<&str>) -> Output {
    // Subcommand first: with clap, an option before it would stop it being one.
    let mut child = tree::checker()
        .arg("reset")
        .arg("--root")
        .arg(root)
        .args(args)
        .env("SE05_PROGRESS", root.join("progress.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(text) = input {
        stdin.write_all(text.as_bytes()).unwrap();
    }
    drop(stdin); // end of input
    child.wait_with_output().unwrap()
}

fn backups(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(".se05/backups"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn reset_confirms_backs_up_and_restores_the_shipped_stub() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("checker/stubs")).unwrap();
    std::fs::create_dir_all(root.join("exercises")).unwrap();
    for entry in std::fs::read_dir(Path::new(ROOT).join("checker/stubs")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            root.join("checker/stubs").join(entry.file_name()),
        )
        .unwrap();
    }
    let file = root.join("exercises/ex10_dice_loss.rs");
    let stub = std::fs::read_to_string(root.join("checker/stubs/ex10_dice_loss.rs")).unwrap();
    std::fs::write(&file, MINE).unwrap();
    std::fs::write(
        root.join("progress.json"),
        r#"{"exercises":{"10":{"status":"failed","points":2.0,"max_points":10.0,"last_run_unix":1}},"quizzes":{}}"#,
    )
    .unwrap();

    // "n", then end of input without an answer: nothing changes.
    for input in [Some("n\n"), None, Some("maybe\n")] {
        let out = reset(root, &["10"], input);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert!(stdout.contains("[y/N]"), "{stdout}");
        assert!(stdout.contains("Nothing changed"), "{stdout}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), MINE);
        assert!(backups(root).is_empty());
    }

    // "y": the stub is back and the student's file is kept.
    let out = reset(root, &["10"], Some("y\n"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stub);
    let saved = backups(root);
    assert_eq!(saved.len(), 1, "{saved:?}");
    let name = &saved[0];
    let stamp = name
        .strip_prefix("ex10_dice_loss.")
        .and_then(|s| s.strip_suffix(".rs"))
        .unwrap_or_else(|| panic!("unexpected backup name {name}"));
    assert!(stamp.parse::<u64>().is_ok(), "{name}");
    assert_eq!(
        std::fs::read_to_string(root.join(".se05/backups").join(name)).unwrap(),
        MINE
    );
    assert!(
        stdout.contains(&format!(".se05/backups/{name}")),
        "{stdout}"
    );
    let progress = std::fs::read_to_string(root.join("progress.json")).unwrap();
    assert!(
        !progress.contains("\"10\""),
        "the old verdict is forgotten: {progress}"
    );

    // Already untouched: nothing to do, no new backup, no question.
    let out = reset(root, &["10"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("already the untouched stub"));
    assert_eq!(backups(root).len(), 1);

    // --yes skips the question; a missing file is simply restored.
    std::fs::write(&file, MINE).unwrap();
    let out = reset(root, &["7", "10", "--yes"], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("[y/N]"), "{stdout}");
    assert!(stdout.contains("the file is missing"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stub);
    assert_eq!(
        std::fs::read(root.join("exercises/ex07_down.rs")).unwrap(),
        std::fs::read(root.join("checker/stubs/ex07_down.rs")).unwrap()
    );
    assert_eq!(backups(root).len(), 2, "only ex10 had work to keep");

    let out = reset(root, &["99"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no exercise 99"));
}
