#!/usr/bin/env bash
# Creates benches/python/.venv: the Python side of the Rust-vs-notebook benchmark
# (benches/compare.rs). Everything comes from PyPI with pinned versions; the
# environment is separate from the project's .venv so that the reference is measured
# exactly as a notebook user would install it. Idempotent: re-running does nothing
# once the stamp matches.
set -euo pipefail
cd "$(dirname "$0")"

VENV=".venv"
# torch/torchvision: the versions tch 0.24 binds (same libtorch on both sides).
# albumentations 2.0.8 pulls opencv-python-headless, albucore, pydantic, scipy, PyYAML.
PACKAGES=(
  "torch==2.11.0"
  "torchvision==0.26.0"
  "albumentations==2.0.8"
  "opencv-python-headless==4.12.0.88"
  "pillow==12.0.0"
  "numpy==2.2.6"
)
STAMP="$VENV/.bench-setup-done"
WANT="${PACKAGES[*]}"

say() { printf '[benches/python/setup] %s\n' "$*"; }
die() { printf '[benches/python/setup] error: %s\n' "$*" >&2; exit 1; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  say "already set up ($WANT)"
  exit 0
fi

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || die "python3 not found (need Python 3.10 or newer)"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$("$PY" --version 2>&1) is too old: torch 2.11 needs Python 3.10 or newer"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $PWD/$VENV"
  "$PY" -m venv "$VENV" || die "'$PY -m venv' failed (Debian/Ubuntu: apt install python3-venv)"
fi
say "installing ${PACKAGES[*]} from PyPI (several GB the first time: torch is the CUDA build)"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q "${PACKAGES[@]}" \
  || die "pip install failed; check the connection to PyPI"
"$VENV/bin/python" -c 'import torch, torchvision, albumentations, PIL, numpy, cv2' \
  || die "the packages were installed but do not import; delete benches/python/$VENV and re-run"
"$VENV/bin/python" -m pip freeze > "$VENV/freeze.txt"
echo "$WANT" > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
say "done: $("$VENV/bin/python" -c 'import torch, albumentations, cv2; print("torch", torch.__version__, "albumentations", albumentations.__version__, "opencv", cv2.__version__)')"
