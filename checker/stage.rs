//! `checker train`: the final training stage. It compiles the `final_stage` target
//! (your U-Net, Dice loss and EfficientNet U-Net, or the reference's with
//! `--solutions`) and runs it in the foreground, with its progress bars.
use crate::runner::{self, Build, RunConfig};
use colored::Colorize;
use se05::progress::{Progress, StageRecord};
use std::path::Path;
use std::process::Command;

/// Options passed through to the stage.
#[derive(Debug, Clone, clap::Args)]
pub struct StageArgs {
    /// Run the notebook's full schedule even without a GPU (slow on a CPU).
    #[arg(long)]
    pub full: bool,
    /// Encoder weights: auto (B0 if downloaded, else Lite0), b0, lite0 or random.
    #[arg(long, default_value = "auto")]
    pub weights: String,
    /// Force the device: auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Folder for loss curves, prediction grid and metrics.
    #[arg(long, default_value = "results")]
    pub out: String,
}

impl Default for StageArgs {
    /// The values the command line gives when no option is passed.
    fn default() -> Self {
        StageArgs {
            full: false,
            weights: "auto".into(),
            device: "auto".into(),
            out: "results".into(),
        }
    }
}

/// Ok(true) when the stage ran and its pass criteria were met.
pub fn run(cfg: &RunConfig, args: &StageArgs) -> anyhow::Result<bool> {
    let who = if cfg.solutions {
        "the reference solutions"
    } else {
        "your models"
    };
    println!(
        "{}",
        format!("Final training stage: compiling {who}…").bold()
    );
    let exe = match runner::build("final_stage", cfg)? {
        Build::Executable(exe) => exe,
        Build::CompileError(msg) => {
            println!(
                "{}\n{msg}",
                "The training stage does not compile:".red().bold()
            );
            return Ok(false);
        }
    };
    let mut cmd = Command::new(exe);
    cmd.current_dir(&cfg.root).args([
        "--stage",
        "--weights",
        &args.weights,
        "--device",
        &args.device,
        "--out",
        &args.out,
    ]);
    if args.full {
        cmd.arg("--full");
    }
    let started = std::time::SystemTime::now();
    let status = cmd
        .status()
        .map_err(|e| anyhow::anyhow!("cannot start the training stage: {e}"))?;
    if !cfg.solutions {
        record(
            &cfg.root.join(&args.out).join("metrics.json"),
            started,
            status.success(),
        );
    }
    Ok(status.success())
}

/// Remembers the stage's verdict and test Dice for `checker --list`; the figures come
/// from the metrics file when this run wrote one.
fn record(metrics: &Path, started: std::time::SystemTime, passed: bool) {
    let fresh = std::fs::metadata(metrics)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= started);
    let json: serde_json::Value = if fresh {
        std::fs::read(metrics)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    } else {
        serde_json::Value::Null
    };
    let stage = StageRecord {
        passed,
        unet_dice: json["unet"]["test"]["dice_per_image"].as_f64(),
        efficient_dice: json["unet_efficient"]["test"]["dice_per_image"].as_f64(),
        device: json["device"].as_str().unwrap_or("").to_string(),
        last_run_unix: 0,
    };
    let path = Progress::default_path();
    if let Err(e) = Progress::update(&path, |p| p.record_stage(stage)) {
        eprintln!("warning: progress not saved: {e:#}");
    }
}
