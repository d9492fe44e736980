//! `checker watch 10`: a verdict at start, another after the file is saved, and a
//! clean exit on Ctrl-C (SIGINT) while waiting.
#[path = "fixtures/submissions/tree.rs"]
mod tree;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tree::put;

/// Kills the watcher if the test fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    limit: Duration,
    what: &str,
    found: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if found(&line) {
                    return line;
                }
            }
            Err(_) => panic!(
                "no {what} within {limit:?}; output so far:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[test]
fn watch_regrades_on_save_and_stops_on_ctrl_c() {
    let t = tree::stable_copy("fixture-root");
    put(
        &t,
        "exercises/ex10_dice_loss.rs",
        "checker/stubs/ex10_dice_loss.rs",
    );
    let progress = t.with_extension("watch-progress.json");
    let _ = std::fs::remove_file(&progress);

    let mut child = tree::checker()
        .args(["watch", "10"])
        .arg("--root")
        .arg(&t)
        .arg("--target-dir")
        .arg(tree::target_dir())
        .args(["--check-timeout", "8"])
        .env("SE05_PROGRESS", &progress)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut child = Guard(child);
    let mut seen = Vec::new();
    let verdict = |l: &str| l.trim_start().starts_with("→ ") && l.contains("points");

    // First verdict: the stub earns nothing. The first build may take minutes.
    let first = wait_for(
        &lines,
        &mut seen,
        Duration::from_secs(900),
        "first verdict",
        verdict,
    );
    assert!(first.contains(" 0/10 points"), "{first}");
    wait_for(
        &lines,
        &mut seen,
        Duration::from_secs(30),
        "watching line",
        |l| l.contains("Watching exercises/ex10_dice_loss.rs"),
    );

    // Save a (wrong) attempt: a second verdict follows without being asked.
    put(
        &t,
        "exercises/ex10_dice_loss.rs",
        "tests/fixtures/checker/ex10_wrong_formula.rs",
    );
    let second = wait_for(
        &lines,
        &mut seen,
        Duration::from_secs(600),
        "second verdict",
        verdict,
    );
    assert!(
        second.contains("failed") && !second.contains(" 0/10"),
        "{second}"
    );
    wait_for(
        &lines,
        &mut seen,
        Duration::from_secs(30),
        "watching line",
        |l| l.contains("Watching exercises/ex10_dice_loss.rs"),
    );

    // Ctrl-C while waiting: a clean exit.
    let pid = child.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    wait_for(&lines, &mut seen, Duration::from_secs(5), "goodbye", |l| {
        l.contains("watch stopped")
    });
    let progress = std::fs::read_to_string(&progress).unwrap();
    assert!(
        progress.contains("\"failed\""),
        "latest verdict recorded: {progress}"
    );
}
