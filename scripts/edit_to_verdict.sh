#!/usr/bin/env bash
# Measures what a student waits for: from a one-line edit of an exercise file to the
# checker's verdict (`cargo run --bin checker -- N`, everything else already built).
#
#   scripts/edit_to_verdict.sh [REPEATS] [EXERCISES...]   (default 5, all exercises)
#
# It puts the reference solutions into exercises/ (so the verdicts are real passes),
# warms the build once, then for each exercise appends a different comment line
# REPEATS times and times each verdict; last, a table of medians. Your exercise files
# are restored afterwards, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
shift || true
numbers=("$@")
[ ${#numbers[@]} -gt 0 ] || numbers=(1 2 3 4 5 6 7 8 9 10 11)

backup=$(mktemp -d)
cp exercises/*.rs "$backup/"
restore() {
    cp "$backup"/*.rs exercises/
    rm -rf "$backup"
}
trap restore EXIT
cp solutions/ex*.rs exercises/

export NO_COLOR=1
cargo build --quiet --bin checker
cargo run --quiet --bin checker -- 1-11 >/dev/null 2>&1 || true # warm every target

file_of() { basename "$(ls exercises/ex"$(printf '%02d' "$1")"_*.rs)" .rs; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
table=""
for n in "${numbers[@]}"; do
    file=$(file_of "$n")
    times=()
    for i in $(seq 1 "$repeats"); do
        echo "// edit $i at $(date +%s%N)" >>"exercises/$file.rs"
        start=$(date +%s%N)
        cargo run --quiet --bin checker -- "$n" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        ms=$(((end - start) / 1000000))
        times+=("$ms")
        echo "exercise $n edit $i: $ms ms"
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
    table+="| $n | $(printf '%s\n' "${times[@]}" | median) | ${sorted% } |"$'\n'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| exercise | median ms | all runs, sorted (ms) |"
echo "|---:|---:|---|"
printf '%s' "$table"
