//! What the stage is asked to do: the command-line options `checker train` and the
//! `final_stage` target share, the device and schedule they resolve to, and the
//! argument list the checker hands the target.
use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use tch::Device;

/// The notebook's seed for the split, the shuffling and the initial weights.
pub const NOTEBOOK_SEED: u64 = 101;

/// Options of the final training stage, parsed by `checker train` and by the
/// `final_stage` target alike. Every path the stage writes is under `out` or `models`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct StageOptions {
    /// Run the notebook's full schedule even without a GPU (slow on a CPU).
    #[arg(long)]
    pub full: bool,
    /// Encoder weights: auto (B0 if downloaded, else Lite0), b0, lite0, random, or the
    /// path of a torchvision B0 checkpoint.
    #[arg(long, default_value = "auto", value_name = "auto|b0|lite0|random|FILE")]
    pub weights: String,
    /// Device: auto (CUDA when libtorch sees a GPU), cpu or cuda.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Folder for the loss curves, the prediction grid, the metrics and the verdict.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub out: PathBuf,
    /// Folder for the two models' best checkpoints.
    #[arg(long, default_value = "my_models", value_name = "DIR")]
    pub models: PathBuf,
    /// Seed of the split, the shuffling and the initial weights (the notebook's: 101).
    /// The pass bars were calibrated over several seeds.
    #[arg(long, default_value_t = NOTEBOOK_SEED, value_name = "N")]
    pub seed: u64,
}

impl Default for StageOptions {
    /// What the command line gives when no option is passed (a test keeps them equal).
    fn default() -> Self {
        StageOptions {
            full: false,
            weights: "auto".into(),
            device: DeviceChoice::Auto,
            out: PathBuf::from("results"),
            models: PathBuf::from("my_models"),
            seed: NOTEBOOK_SEED,
        }
    }
}

impl StageOptions {
    /// The arguments that make [`StageOptions`] parse back into `self`.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--weights".into(),
            self.weights.clone().into(),
            "--device".into(),
            self.device.name().into(),
            "--out".into(),
            self.out.clone().into(),
            "--models".into(),
            self.models.clone().into(),
            "--seed".into(),
            self.seed.to_string().into(),
        ];
        if self.full {
            args.push("--full".into());
        }
        args
    }

    /// `out` and `models` made absolute against `root` (where relative ones point).
    pub fn rooted(&self, root: &Path) -> StageOptions {
        StageOptions {
            out: root.join(&self.out),
            models: root.join(&self.models),
            ..self.clone()
        }
    }

    /// The device to train on and how long: the notebook's schedule with `--full` or on
    /// a GPU, the reduced CPU schedule when training on the CPU.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let (device, device_name) = self.device.resolve()?;
        let schedule = if self.full || device.is_cuda() {
            Schedule::notebook()
        } else {
            Schedule::cpu()
        };
        Ok(Plan {
            device,
            device_name,
            schedule,
        })
    }

    /// These options with every choice already made: the device `plan` resolved,
    /// `--full` when it chose the notebook's schedule, and the encoder weights as
    /// checked (`weights`: `lite0`, `random` or a B0 file). The target then resolves
    /// to the same plan whatever it can see.
    pub fn pinned(&self, plan: &Plan, weights: String) -> StageOptions {
        StageOptions {
            full: !plan.schedule.reduced,
            weights,
            device: if plan.device.is_cuda() {
                DeviceChoice::Cuda
            } else {
                DeviceChoice::Cpu
            },
            ..self.clone()
        }
    }

    /// Where the best U-Net weights are saved.
    pub fn unet_checkpoint(&self) -> PathBuf {
        self.models.join(super::UNET_CHECKPOINT)
    }

    /// Where the best EfficientNet U-Net weights are saved.
    pub fn efficient_checkpoint(&self) -> PathBuf {
        self.models.join(super::EFFICIENT_CHECKPOINT)
    }
}

/// `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// CUDA when libtorch sees a GPU, else the CPU.
    Auto,
    Cpu,
    Cuda,
}

impl DeviceChoice {
    /// The word on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
        }
    }

    /// The device and a description for people (the GPU's name, the CPU's threads).
    pub fn resolve(self) -> anyhow::Result<(Device, String)> {
        let cuda = tch::Cuda::is_available();
        let cpu = |why: &str| {
            (
                Device::Cpu,
                format!("CPU ({} threads{why})", tch::get_num_threads()),
            )
        };
        match (self, cuda) {
            (DeviceChoice::Cpu, _) => Ok(cpu("")),
            (DeviceChoice::Cuda, false) => {
                anyhow::bail!("--device cuda was asked for, but libtorch sees no CUDA device")
            }
            (DeviceChoice::Cuda | DeviceChoice::Auto, true) => {
                Ok((Device::Cuda(0), format!("GPU: {}", gpu_name())))
            }
            (DeviceChoice::Auto, false) => Ok(cpu("; no CUDA device found")),
        }
    }
}

/// The first NVIDIA GPU's model name, as the driver reports it.
fn gpu_name() -> String {
    let from_proc = std::fs::read_dir("/proc/driver/nvidia/gpus")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .and_then(|e| std::fs::read_to_string(e.path().join("information")).ok())
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Model:"))
                .map(|l| l.trim_start_matches("Model:").trim().to_string())
        });
    from_proc.unwrap_or_else(|| "CUDA device 0".to_string())
}

/// How long to train: the notebook's schedule, or a reduction for CPUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub unet_epochs: usize,
    pub efficient_epochs: usize,
    /// At most this many training batches per epoch (`None`: all).
    pub max_train_batches: Option<usize>,
    pub max_val_batches: Option<usize>,
    /// Not the notebook's schedule.
    pub reduced: bool,
}

impl Schedule {
    /// The notebook's: 2 U-Net epochs, 5 EfficientNet U-Net epochs, every batch.
    pub fn notebook() -> Schedule {
        Schedule {
            unet_epochs: 2,
            efficient_epochs: 5,
            max_train_batches: None,
            max_val_batches: None,
            reduced: false,
        }
    }

    /// The same epochs, at most 10 training and 4 validation batches per epoch.
    pub fn cpu() -> Schedule {
        Schedule {
            max_train_batches: Some(10),
            max_val_batches: Some(4),
            reduced: true,
            ..Schedule::notebook()
        }
    }

    /// The `cargo test` self-test: a few batches, to see every output written.
    pub fn tiny() -> Schedule {
        Schedule {
            unet_epochs: 1,
            efficient_epochs: 2,
            max_train_batches: Some(2),
            max_val_batches: Some(1),
            reduced: true,
        }
    }

    /// Too short to learn anything: only the outputs are checked.
    pub fn is_smoke_test(&self) -> bool {
        self.reduced && self.max_train_batches.unwrap_or(0) < 5
    }

    /// One line for people when the schedule is not the notebook's.
    pub fn note(&self) -> Option<String> {
        if self.is_smoke_test() {
            return Some(format!(
                "self-test schedule: {} training and {} validation batch(es) per epoch, \
                 U-Net {} epoch(s), EfficientNet U-Net {}.",
                self.max_train_batches.unwrap_or(0),
                self.max_val_batches.unwrap_or(0),
                self.unet_epochs,
                self.efficient_epochs
            ));
        }
        self.reduced.then(|| {
            format!(
                "reduced CPU schedule: at most {} training and {} validation batches per epoch \
                 (epochs unchanged: U-Net {}, EfficientNet U-Net {}). Use --full for the notebook's schedule.",
                self.max_train_batches.unwrap_or(0),
                self.max_val_batches.unwrap_or(0),
                self.unet_epochs,
                self.efficient_epochs
            )
        })
    }
}

/// The choices [`StageOptions::plan`] made.
#[derive(Debug, Clone)]
pub struct Plan {
    pub device: Device,
    pub device_name: String,
    pub schedule: Schedule,
}

/// The `final_stage` target's command line: `--stage` (the checker's run) or nothing
/// (the `cargo test` self-test, which ignores libtest's flags).
#[derive(Debug, Clone, Parser)]
#[command(name = "final_stage")]
pub struct StageCommand {
    /// Run the stage (otherwise: the tiny self-test `cargo test` runs).
    #[arg(long)]
    pub stage: bool,
    /// Root of the data set (its train and test folders), as the checker found it;
    /// without it the stage finds or generates the data set itself.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub options: StageOptions,
}

impl StageCommand {
    /// The stage's arguments, or `None` for the self-test (no `--stage` among them).
    pub fn from_args(args: Vec<OsString>) -> Result<Option<StageCommand>, clap::Error> {
        if !args.iter().skip(1).any(|a| a == "--stage") {
            return Ok(None);
        }
        StageCommand::try_parse_from(args).map(Some)
    }

    /// The arguments the checker passes: `--stage --data DIR` and the options.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--stage".into()];
        if let Some(data) = &self.data {
            args.extend(["--data".into(), data.clone().into()]);
        }
        args.extend(self.options.to_args());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser)]
    struct Only {
        #[command(flatten)]
        options: StageOptions,
    }

    #[test]
    fn default_is_what_an_empty_command_line_gives() {
        let parsed = Only::try_parse_from(["x"]).unwrap().options;
        assert_eq!(parsed, StageOptions::default());
    }

    #[test]
    fn arguments_round_trip() {
        let options = StageOptions {
            full: true,
            weights: "/tmp/some b0.pth".into(),
            device: DeviceChoice::Cpu,
            out: PathBuf::from("/x/results"),
            models: PathBuf::from("rel/models"),
            seed: 7,
        };
        let command = StageCommand {
            stage: true,
            data: Some(PathBuf::from("/data/set")),
            options: options.clone(),
        };
        let mut args: Vec<OsString> = vec!["final_stage".into()];
        args.extend(command.to_args());
        let back = StageCommand::from_args(args).unwrap().unwrap();
        assert_eq!(back.options, options);
        assert_eq!(back.data, command.data);
        assert!(back.stage);
    }

    #[test]
    fn without_stage_flag_it_is_the_self_test_whatever_libtest_passes() {
        let args = [
            "final_stage",
            "--nocapture",
            "--test-threads",
            "1",
            "filter",
        ];
        let got = StageCommand::from_args(args.iter().map(OsString::from).collect()).unwrap();
        assert!(got.is_none());
        let bad = ["final_stage", "--stage", "--device", "tpu"];
        assert!(StageCommand::from_args(bad.iter().map(OsString::from).collect()).is_err());
    }

    #[test]
    fn pinned_options_name_the_plan() {
        let plan = Plan {
            device: Device::Cpu,
            device_name: "CPU".into(),
            schedule: Schedule::notebook(),
        };
        let pinned = StageOptions::default().pinned(&plan, "lite0".into());
        assert!(pinned.full);
        assert_eq!(pinned.device, DeviceChoice::Cpu);
        assert_eq!(pinned.weights, "lite0");
        let plan = Plan {
            schedule: Schedule::cpu(),
            ..plan
        };
        assert!(!StageOptions::default().pinned(&plan, "random".into()).full);
    }

    #[test]
    fn only_the_self_test_schedule_is_a_smoke_test() {
        assert!(Schedule::tiny().is_smoke_test());
        assert!(!Schedule::cpu().is_smoke_test());
        assert!(!Schedule::notebook().is_smoke_test());
        assert!(Schedule::notebook().note().is_none());
        assert!(Schedule::cpu()
            .note()
            .unwrap()
            .contains("at most 10 training"));
    }
}
