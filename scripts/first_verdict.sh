#!/usr/bin/env bash
# Measures a newcomer's first wait: a clean clone at COMMIT, `../shared` beside it,
# nothing installed, then the README's first command
# (`./setup.sh && cargo run --bin checker -- 6`), timed per phase.
#
#   scripts/first_verdict.sh LABEL COMMIT [WORKDIR]   (WORKDIR default /tmp/se05-first-verdict)
#
# It clones this repository into WORKDIR/LABEL, so two commits can be measured one
# after the other on the same machine (each clone takes about 8 GB: the torch venv and
# the build). Cargo's download cache is used as it is; pip runs without a cache.
# Prints the set-up's and the first `cargo run`'s seconds, when pip's install ended
# (the `.libtorch` link appears then), and how many units each phase compiled.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" 2>/dev/null && pwd) \
  || { echo "first_verdict: $repo/../shared is missing (the course material must sit beside the repository)" >&2; exit 2; }
[ $# -ge 2 ] || { echo "usage: scripts/first_verdict.sh LABEL COMMIT [WORKDIR]" >&2; exit 2; }
label=$1 commit=$2 work=${3:-/tmp/se05-first-verdict}
dir="$work/$label"

rm -rf "$dir" && mkdir -p "$dir"
git clone -q "$repo" "$dir/main"
ln -s "$shared" "$dir/shared"
cd "$dir/main"
git checkout -q "$commit"
unset LIBTORCH CARGO_TARGET_DIR
echo "[$label] commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s.%N; }
start=$(now)
set +e
./setup.sh >"$dir/setup.log" 2>&1
setup_rc=$?
setup_end=$(now)
cargo run --bin checker -- 6 >"$dir/run.log" 2>&1
run_rc=$?
end=$(now)
set -e

secs() { echo "$2 - $1" | bc; }
echo "[$label] setup: rc $setup_rc, $(secs "$start" "$setup_end") s; first cargo run: rc $run_rc (1 = a failing verdict), $(secs "$setup_end" "$end") s; total $(secs "$start" "$end") s"
if [ -L .libtorch ]; then
  echo "[$label] pip's install ended $(secs "$(stat -c %Y .libtorch)" "${setup_end%.*}") s before the set-up did"
fi
echo "[$label] units compiled: set-up $(grep -c Compiling target/setup-prebuild.log 2>/dev/null || echo 0), cargo run $(grep -c Compiling "$dir/run.log" || true)"
echo "[$label] load afterwards $(cut -d' ' -f1-3 /proc/loadavg); verdict:"
grep -m1 "points" "$dir/run.log" || tail -3 "$dir/run.log"
