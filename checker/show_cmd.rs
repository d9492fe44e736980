//! `checker show N`: a picture of the data exercise N produces (1: raw pairs, 4:
//! augmented pairs, 5: a training batch), written under `results/`.
//!
//! The drawing runs in the `show` target (`checks/show.rs`), built like a check target
//! and started in the sandbox with a time limit: the student's code never runs in
//! the checker. [`run_child`] is the one place that starts it.
use crate::runner::{self, Build, RunConfig};
use colored::Colorize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exercises that have a picture.
pub const SHOWN: [u32; 3] = [1, 4, 5];

/// Wall-clock limit for drawing one picture (decoding full-size ISIC images included).
const TIMEOUT: Duration = Duration::from_secs(180);

/// What the drawing child did.
pub struct ChildRun {
    /// `Some(true)` when it exited successfully, `Some(false)` when it failed, `None`
    /// when it was stopped at the time limit.
    pub success: Option<bool>,
    /// Its combined output (capped).
    pub output: String,
}

/// Starts `exe` with `args` in `root`, in the sandbox (it may write only in `out`
/// and a scratch folder), and waits at most `timeout`. Everything that runs student
/// code for `show` goes through here.
pub fn run_child(
    exe: &Path,
    args: &[String],
    root: &Path,
    out: &Path,
    timeout: Duration,
) -> anyhow::Result<ChildRun> {
    let scratch = tempfile::tempdir()?;
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    let mut spec = se05::grading::sandbox::Spec::new(exe, root);
    spec.args = args.iter().map(Into::into).collect();
    spec.writable = vec![scratch.path().to_path_buf(), out.to_path_buf()];
    spec.env = vec![("RUST_BACKTRACE".into(), "0".into())];
    spec.limits = se05::grading::sandbox::limits_from_env(se05::grading::sandbox::Limits {
        wall: timeout,
        output_keep: 16 << 10,
        ..se05::grading::sandbox::Limits::default()
    })?;
    let finished = se05::grading::sandbox::run(&spec)?;
    for warning in &finished.warnings {
        eprintln!("warning: {warning}");
    }
    let success = match finished.limit_hit {
        Some(se05::grading::sandbox::LimitHit::WallClock) => None,
        _ => Some(finished.success()),
    };
    Ok(ChildRun {
        success,
        // Printed as it is: the student's code wrote it.
        output: se05::grading::text::inert(&finished.output.render()).into_owned(),
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
    let run = run_child(&exe, &args, &cfg.root, &cfg.root.join("results"), TIMEOUT)?;
    print!("{}", run.output);
    let Some(success) = run.success else {
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
    if !success {
        return Ok(false);
    }
    let Some(path) = picture_path(&run.output, &cfg.root) else {
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
            seed: None,
            trust_flagged: false,
            policy: true,
            confine_build: false,
        };
        let err = run(&cfg, 2, false).unwrap_err().to_string();
        assert!(err.contains("no picture for exercise 2"), "{err}");
        assert!(err.contains("1 (raw pairs)"), "{err}");
    }

    #[test]
    fn a_child_past_its_limit_is_stopped_and_writes_only_its_folder() {
        let out = tempfile::tempdir().unwrap();
        let run = run_child(
            Path::new("sleep"),
            &["5".to_string()],
            Path::new("."),
            out.path(),
            Duration::from_millis(200),
        )
        .unwrap();
        assert!(run.success.is_none());
        let run = run_child(
            Path::new("sh"),
            &["-c".to_string(), "echo picture: x.png".to_string()],
            Path::new("."),
            out.path(),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(run.success, Some(true));
        assert_eq!(run.output.trim(), "picture: x.png");
    }
}
