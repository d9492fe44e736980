//! `checker show N`: a picture of the data exercise N produces (1: raw pairs, 4:
//! augmented pairs, 5: a training batch), written under `results/`.
//!
//! The drawing runs in the `show` target (`checks/show.rs`), built like a check target
//! and started as a child process with a time limit: the student's code never runs in
//! the checker. [`run_child`] is the one place that starts it.
use crate::runner::{self, Build, RunConfig};
use colored::Colorize;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

/// Exercises that have a picture.
pub const SHOWN: [u32; 3] = [1, 4, 5];

/// Wall-clock limit for drawing one picture (decoding full-size ISIC images included).
const TIMEOUT: Duration = Duration::from_secs(180);

/// What the drawing child did.
pub struct ChildRun {
    /// None when it was stopped at the time limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

/// Starts `exe` with `args` in `root` and waits at most `timeout`, collecting its
/// output. Everything that runs student code for `show` goes through here.
pub fn run_child(
    exe: &Path,
    args: &[String],
    root: &Path,
    timeout: Duration,
) -> anyhow::Result<ChildRun> {
    let mut child = Command::new(exe)
        .args(args)
        .current_dir(root)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", exe.display()))?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = child.wait_timeout(timeout)?;
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(ChildRun {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    })
}

/// The picture's path from the child's output (`picture: PATH`).
fn picture_path(stdout: &str, root: &Path) -> Option<PathBuf> {
    stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("picture: "))
        .map(|p| root.join(p.trim()))
}

/// Ok(true) when the picture was written.
pub fn run(cfg: &RunConfig, n: u32, inline: bool) -> anyhow::Result<bool> {
    if !SHOWN.contains(&n) {
        anyhow::bail!(
            "there is no picture for exercise {n}: `checker show` draws exercises 1 (raw pairs), 4 (augmented pairs) and 5 (a training batch)"
        );
    }
    eprintln!(
        "{}",
        format!("Drawing the data of exercise {n}: compiling…").dimmed()
    );
    let exe = match runner::build("show", cfg)? {
        Build::Executable(exe) => exe,
        Build::CompileError(msg) => {
            println!(
                "{}\n{msg}",
                "The picture's code does not compile (it includes exercises 1, 3, 4 and 5):"
                    .red()
                    .bold()
            );
            return Ok(false);
        }
    };
    let args = vec![
        "--show".to_string(),
        n.to_string(),
        "--out".to_string(),
        "results".to_string(),
    ];
    let run = run_child(&exe, &args, &cfg.root, TIMEOUT)?;
    print!("{}", run.stdout);
    let Some(status) = run.status else {
        println!(
            "{}",
            format!(
                "Drawing stopped after {} s: look for a loop that never ends in exercise {n}.",
                TIMEOUT.as_secs()
            )
            .red()
            .bold()
        );
        return Ok(false);
    };
    if !status.success() {
        eprint!("{}", run.stderr);
        return Ok(false);
    }
    let Some(path) = picture_path(&run.stdout, &cfg.root) else {
        println!("{}", "The drawing ended without naming its picture.".red());
        return Ok(false);
    };
    println!("{} {}", "Wrote".green().bold(), path.display());
    if inline && std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        show_inline(&path);
    }
    Ok(true)
}

/// Prints the picture in the terminal when it speaks the kitty, iTerm2 or sixel image
/// protocol; says nothing otherwise (the path is already printed).
#[cfg(feature = "inline-images")]
fn show_inline(path: &Path) {
    let kitty = viuer::get_kitty_support() != viuer::KittySupport::None;
    let able = kitty || viuer::is_iterm_supported() || viuer::is_sixel_supported();
    if !able {
        return;
    }
    let config = viuer::Config {
        absolute_offset: false,
        width: Some(viuer::terminal_size().0.saturating_sub(2).max(20) as u32),
        ..Default::default()
    };
    let shown = image::open(path)
        .map_err(|e| e.to_string())
        .and_then(|picture| viuer::print(&picture, &config).map_err(|e| e.to_string()));
    if let Err(e) = shown {
        eprintln!("(could not show the picture here: {e})");
    }
}

#[cfg(not(feature = "inline-images"))]
fn show_inline(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_comes_from_the_last_picture_line() {
        let root = Path::new("/repo");
        let out = "data: synthetic\npicture: results/show_5_training_batch.png\n";
        assert_eq!(
            picture_path(out, root),
            Some(PathBuf::from("/repo/results/show_5_training_batch.png"))
        );
        assert_eq!(picture_path("no picture here\n", root), None);
    }

    #[test]
    fn exercises_without_a_picture_are_refused_before_building() {
        let cfg = RunConfig {
            root: PathBuf::from("/nonexistent"),
            solutions: true,
            target_dir: None,
            check_timeout_s: None,
        };
        let err = run(&cfg, 2, false).unwrap_err().to_string();
        assert!(err.contains("no picture for exercise 2"), "{err}");
        assert!(err.contains("1 (raw pairs)"), "{err}");
    }

    #[test]
    fn a_child_past_its_limit_is_stopped() {
        let run = run_child(
            Path::new("sleep"),
            &["5".to_string()],
            Path::new("."),
            Duration::from_millis(200),
        )
        .unwrap();
        assert!(run.status.is_none());
        let run = run_child(
            Path::new("sh"),
            &["-c".to_string(), "echo picture: x.png".to_string()],
            Path::new("."),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(run.status.unwrap().success());
        assert_eq!(run.stdout.trim(), "picture: x.png");
    }
}
