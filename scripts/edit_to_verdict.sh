#!/usr/bin/env bash
# Measures what a student waits for: from a one-line edit of an exercise file to the
# checker's verdict (`cargo run --bin checker -- N`, everything else already built).
#
#   scripts/edit_to_verdict.sh [REPEATS]      (default 5)
#
# It puts the reference solutions of exercises 6-9 into exercises/ (so the verdicts
# are real passes), warms the build once, then for exercise 6 and for exercise 9
# appends a different comment line REPEATS times and times each verdict. Your
# exercise files are restored afterwards, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
files=(ex06_double_conv ex07_down ex08_up ex09_unet)
backup=$(mktemp -d)
for f in "${files[@]}"; do cp "exercises/$f.rs" "$backup/"; done
restore() {
    for f in "${files[@]}"; do cp "$backup/$f.rs" "exercises/$f.rs"; done
    rm -rf "$backup"
}
trap restore EXIT
for f in "${files[@]}"; do cp "solutions/$f.rs" "exercises/$f.rs"; done

export NO_COLOR=1
cargo build --quiet --bin checker
cargo run --quiet --bin checker -- 6-9 >/dev/null 2>&1 || true # warm every target

measure() {
    local n=$1 file=$2 i start end
    for i in $(seq 1 "$repeats"); do
        echo "// edit $i at $(date +%s%N)" >>"exercises/$file.rs"
        start=$(date +%s%N)
        cargo run --quiet --bin checker -- "$n" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        echo "exercise $n edit $i: $(((end - start) / 1000000)) ms"
    done
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure 6 ex06_double_conv
measure 9 ex09_unet
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
