//! What the stage is asked to do: the command-line options `checker train` and the
//! `final_stage` target share, the device and schedule they resolve to, and the
//! argument list the checker hands the target.
use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

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
    /// Device: auto (CUDA when libtorch sees a GPU, else Apple's GPU when a first
    /// operation on it works, else the CPU), cpu, cuda or mps.
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
    /// a GPU (CUDA or MPS), the reduced CPU schedule when training on the CPU.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let (device, device_name) = self.device.resolve()?;
        Ok(Plan {
            device,
            device_name,
            schedule: Schedule::for_device(self.full, device),
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
            device: match plan.device {
                Device::Cuda(_) => DeviceChoice::Cuda,
                Device::Mps => DeviceChoice::Mps,
                _ => DeviceChoice::Cpu,
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
    /// CUDA when libtorch sees a GPU, else Apple's GPU (MPS) when it works, else the CPU.
    Auto,
    Cpu,
    Cuda,
    /// Apple's GPU, through Metal Performance Shaders (PyPI's macOS torch).
    Mps,
}

impl DeviceChoice {
    /// The word on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Mps => "mps",
        }
    }

    /// The device and a description for people (the GPU's name, the CPU's threads and
    /// why no GPU was taken). MPS is probed only where libtorch reports it.
    pub fn resolve(self) -> anyhow::Result<(Device, String)> {
        let chosen = choose_device(
            self,
            tch::Cuda::is_available(),
            tch::utils::has_mps(),
            probe_mps,
        )
        .map_err(anyhow::Error::msg)?;
        Ok(match chosen {
            Chosen::Cuda => (Device::Cuda(0), format!("GPU: {}", gpu_name())),
            Chosen::Mps => {
                let fallback = std::env::var(MPS_FALLBACK_VAR).ok();
                (Device::Mps, mps_description(fallback.as_deref()))
            }
            Chosen::Cpu(why) => {
                let why = why.map(|w| format!("; {w}")).unwrap_or_default();
                (
                    Device::Cpu,
                    format!("CPU ({} threads{why})", tch::get_num_threads()),
                )
            }
        })
    }
}

/// What [`choose_device`] settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    Cuda,
    Mps,
    /// The CPU, with the reason when `auto` found no GPU it could use.
    Cpu(Option<String>),
}

/// The device for `asked`, given what libtorch reports: CUDA first, then Apple's GPU
/// (MPS), then the CPU. A reported MPS is trusted only once `probe` (a small
/// allocation and operation on it) succeeds, because hosted macOS runners report MPS
/// and then fail on first use. `probe` runs only when MPS is reported and would be
/// chosen. The error is the message for people.
pub fn choose_device(
    asked: DeviceChoice,
    cuda_available: bool,
    mps_reported: bool,
    probe: impl FnOnce() -> Result<(), String>,
) -> Result<Chosen, String> {
    match asked {
        DeviceChoice::Cpu => Ok(Chosen::Cpu(None)),
        DeviceChoice::Cuda if cuda_available => Ok(Chosen::Cuda),
        DeviceChoice::Cuda => {
            Err("--device cuda was asked for, but libtorch sees no CUDA device".into())
        }
        DeviceChoice::Mps if !mps_reported => Err(
            "--device mps was asked for, but libtorch reports no MPS device (Apple's GPU: \
             a Mac with Apple silicon and PyPI's macOS torch)"
                .into(),
        ),
        DeviceChoice::Mps => probe().map(|()| Chosen::Mps).map_err(|why| {
            format!("--device mps was asked for, but a first operation on it failed: {why}")
        }),
        DeviceChoice::Auto if cuda_available => Ok(Chosen::Cuda),
        DeviceChoice::Auto if !mps_reported => {
            Ok(Chosen::Cpu(Some("no CUDA or MPS device found".into())))
        }
        DeviceChoice::Auto => Ok(probe().map_or_else(
            |why| {
                Chosen::Cpu(Some(format!(
                    "MPS is reported but failed a first operation: {why}"
                )))
            },
            |()| Chosen::Mps,
        )),
    }
}

/// The environment variable that makes libtorch run an operation MPS lacks on the CPU
/// instead of failing. libtorch reads it once, when it is loaded, so it cannot be set
/// from within the process: `.cargo/config.toml` sets it for every `cargo run` and
/// `cargo test`, and the stage inherits it.
pub const MPS_FALLBACK_VAR: &str = "PYTORCH_ENABLE_MPS_FALLBACK";

/// How the stage describes Apple's GPU, given the value of [`MPS_FALLBACK_VAR`].
pub fn mps_description(fallback: Option<&str>) -> String {
    if fallback.map(str::trim) == Some("1") {
        "Apple GPU (MPS; operations it lacks run on the CPU)".into()
    } else {
        format!(
            "Apple GPU (MPS; {MPS_FALLBACK_VAR} is not 1, so an operation MPS lacks stops the stage)"
        )
    }
}

/// A small allocation and operation on MPS, read back on the CPU: the check that MPS
/// works and not only that libtorch reports it. Errors are libtorch's first sentence.
pub fn probe_mps() -> Result<(), String> {
    let run = || -> Result<f64, tch::TchError> {
        let ones = Tensor::f_ones([2, 2], (Kind::Float, Device::Mps))?;
        ones.f_matmul(&ones)?
            .f_sum(Kind::Float)?
            .f_double_value(&[])
    };
    match run() {
        Ok(8.0) => Ok(()),
        Ok(sum) => Err(format!("a 2×2 product of ones summed to {sum}, not 8")),
        Err(e) => Err(first_sentence(&e.to_string())),
    }
}

/// The first sentence of libtorch's message (the rest lists backends, or a backtrace).
fn first_sentence(message: &str) -> String {
    let line = message.lines().next().unwrap_or("");
    match line.find(". ") {
        Some(end) => line[..=end].to_string(),
        None => line.to_string(),
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
    /// The notebook's schedule with `--full` or on a GPU (CUDA or MPS), else the CPU's.
    pub fn for_device(full: bool, device: Device) -> Schedule {
        if full || device != Device::Cpu {
            Schedule::notebook()
        } else {
            Schedule::cpu()
        }
    }

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
        for (device, choice) in [
            (Device::Mps, DeviceChoice::Mps),
            (Device::Cuda(0), DeviceChoice::Cuda),
        ] {
            let plan = Plan {
                device,
                device_name: "GPU".into(),
                schedule: Schedule::for_device(false, device),
            };
            let pinned = StageOptions::default().pinned(&plan, "lite0".into());
            assert_eq!(pinned.device, choice);
            assert!(pinned.full, "a GPU trains the notebook's schedule");
        }
        assert!(Schedule::for_device(false, Device::Cpu).reduced);
        assert!(!Schedule::for_device(true, Device::Cpu).reduced);
    }

    #[test]
    fn device_choice_for_every_combination() {
        use DeviceChoice::*;
        for asked in [Auto, Cpu, Cuda, Mps] {
            for cuda in [false, true] {
                for mps in [false, true] {
                    for works in [false, true] {
                        let mut probed = false;
                        let got = choose_device(asked, cuda, mps, || {
                            probed = true;
                            works
                                .then_some(())
                                .ok_or("MPS backend out of memory".into())
                        });
                        let got = match got {
                            Ok(Chosen::Cuda) => Ok("cuda".to_string()),
                            Ok(Chosen::Mps) => Ok("mps".to_string()),
                            Ok(Chosen::Cpu(None)) => Ok("cpu".to_string()),
                            Ok(Chosen::Cpu(Some(why))) => Ok(format!("cpu: {why}")),
                            Err(e) => Err(e),
                        };
                        // (what is chosen, or words of the error; whether MPS is probed)
                        let (want, probes): (Result<&str, &str>, bool) =
                            match (asked, cuda, mps, works) {
                                (Cpu, ..) => (Ok("cpu"), false),
                                (Cuda, true, ..) => (Ok("cuda"), false),
                                (Cuda, false, ..) => (Err("--device cuda"), false),
                                (Mps, _, false, _) => (Err("reports no MPS device"), false),
                                (Mps, _, true, true) => (Ok("mps"), true),
                                (Mps, _, true, false) => {
                                    (Err("failed: MPS backend out of memory"), true)
                                }
                                (Auto, true, ..) => (Ok("cuda"), false),
                                (Auto, false, false, _) => {
                                    (Ok("cpu: no CUDA or MPS device found"), false)
                                }
                                (Auto, false, true, true) => (Ok("mps"), true),
                                (Auto, false, true, false) => (
                                    Ok("cpu: MPS is reported but failed a first operation: \
                                        MPS backend out of memory"),
                                    true,
                                ),
                            };
                        let case = format!("{asked:?} cuda={cuda} mps={mps} works={works}");
                        match (&got, want) {
                            (Ok(got), Ok(want)) => assert_eq!(got, want, "{case}"),
                            (Err(got), Err(words)) => assert!(got.contains(words), "{case}: {got}"),
                            _ => panic!("{case}: got {got:?}, want {want:?}"),
                        }
                        assert_eq!(probed, probes, "{case}: probed");
                    }
                }
            }
        }
    }

    #[test]
    fn auto_resolves_on_this_machine_with_a_reason() {
        let (device, name) = DeviceChoice::Auto.resolve().unwrap();
        match device {
            Device::Cuda(_) => assert!(name.starts_with("GPU: "), "{name}"),
            Device::Mps => assert!(name.starts_with("Apple GPU (MPS"), "{name}"),
            _ => assert!(name.starts_with("CPU (") && name.contains("; "), "{name}"),
        }
        let (device, name) = DeviceChoice::Cpu.resolve().unwrap();
        assert_eq!(device, Device::Cpu);
        assert!(!name.contains("; "), "asked for: no reason given: {name}");
    }

    #[test]
    fn the_mps_probe_fails_cleanly_where_there_is_no_mps() {
        if tch::utils::has_mps() {
            assert_eq!(
                probe_mps(),
                Ok(()),
                "MPS reported here: the probe should work"
            );
        } else {
            let why = probe_mps().unwrap_err();
            assert!(
                !why.is_empty() && !why.contains('\n') && why.len() < 300,
                "{why}"
            );
        }
    }

    #[test]
    fn the_mps_description_says_whether_the_cpu_fallback_is_on() {
        assert!(mps_description(Some("1")).contains("run on the CPU"));
        for off in [None, Some("0"), Some("")] {
            let text = mps_description(off);
            assert!(
                text.contains("PYTORCH_ENABLE_MPS_FALLBACK is not 1"),
                "{text}"
            );
        }
        // Set where libtorch sees it at load time: for every process cargo starts.
        let config = include_str!("../../../.cargo/config.toml");
        assert!(config.contains("\nPYTORCH_ENABLE_MPS_FALLBACK = \"1\"\n"));
        let parsed = Only::try_parse_from(["x", "--device", "mps"])
            .unwrap()
            .options;
        assert_eq!(parsed.device, DeviceChoice::Mps);
        assert!(parsed
            .to_args()
            .windows(2)
            .any(|w| w[0] == "--device" && w[1] == "mps"));
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
