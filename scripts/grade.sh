#!/usr/bin/env bash
# Grades with the checker and always leaves a report, even when the checker cannot
# run at all (no Rust toolchain, set-up not done, the checker does not build): then
# the report's status is "error" and its "error" field says why and what to do.
#
#   scripts/grade.sh REPORT.json [checker arguments...]     e.g. scripts/grade.sh r.json all
#
# The exit status is the checker's, or 2 when it could not run.
set -uo pipefail
if [ $# -lt 1 ]; then
    echo "usage: scripts/grade.sh REPORT.json [checker arguments...]" >&2
    exit 2
fi
report=$1
shift
cd "$(dirname "$0")/.." || exit 2

# A minimal se05-report/1 with status "error" (written atomically).
fail() {
    local why=$1 escaped
    escaped=$(printf '%s' "$why" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr '\n' ' ')
    printf '{\n  "schema": "se05-report/1",\n  "status": "error",\n  "error": "%s",\n  "points_earned": 0,\n  "points_possible": 0,\n  "started_unix": %s,\n  "duration_ms": 0,\n  "exercises": []\n}\n' \
        "$escaped" "$(date +%s)" >"$report.tmp" && mv "$report.tmp" "$report"
    echo "error: $why" >&2
    echo "wrote $report" >&2
    exit 2
}

command -v cargo >/dev/null 2>&1 ||
    fail "no Rust toolchain: cargo is not on PATH. Install Rust (https://rustup.rs), then run ./setup.sh."
[ -e .libtorch/lib ] ||
    fail "set-up missing: .libtorch does not point at a libtorch. Run ./setup.sh first."
if ! build_log=$(cargo build --quiet --bin checker 2>&1); then
    fail "the checker does not build (set-up incomplete or the workshop's own files changed): $(printf '%s' "$build_log" | tail -n 5)"
fi
cargo run --quiet --bin checker -- --json "$report" "$@"
status=$?
[ -s "$report" ] || fail "the checker stopped (exit status $status) without writing a report; see its output above."
exit "$status"
