#!/usr/bin/env bash
# The EfficientNet U-Net's first epoch against its compute floor (the same number of
# optimizer steps on batches built in memory), three loaders per round, interleaved:
#   A  no prefetching, decode cache cold
#   B  prefetching 2 batches (the default), decode cache cold
#   C  prefetching 2 batches after one pass over the data, which is the final stage's
#      order: its mean/std pass decodes every training file before any model trains.
#
#   scripts/first_epoch_overhead.sh [ROUNDS]   (default 3; 320 images = 20 batches)
#
# Needs the ISIC-like set at datasets/synthetic-1022x767 (`cargo bench --bench compare`
# generates it on its first run).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
data=datasets/synthetic-1022x767
[ -d "$data" ] || { echo "first_epoch_overhead: $data is missing; run 'cargo bench --bench compare -- --rounds 1 --only loader' once to generate it" >&2; exit 2; }
bin=$(cargo bench --bench compare --no-run 2>&1 | sed -n 's/.*(\(target\/release\/deps\/compare-[0-9a-f]*\)).*/\1/p')
[ -x "$bin" ] || { echo "first_epoch_overhead: could not build the compare bench" >&2; exit 1; }
common=(--child train --model efficient --images 320 --epochs 2 --floor-after --warmup 3 --threads 2 --data "$data")
for r in $(seq "$rounds"); do
  for variant in "A --prefetch 0" "B --prefetch 2" "C --prefetch 2 --data-pass-first"; do
    read -r label flags <<<"$variant"
    # shellcheck disable=SC2086
    out=$("$bin" "${common[@]}" $flags 2>/dev/null | tail -1)
    python3 - "$r" "$label" "$out" <<'PY'
import json, sys
r, label, d = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
floor = sum(d["floor_seconds"]) / len(d["floor_seconds"])
e = d["epoch_seconds"]
print(f"round {r} {label}: epochs {[round(x, 3) for x in e]} s, floor {floor:.3f} s, "
      f"first epoch / floor {e[0] / floor:.3f}, second {e[1] / floor:.3f}, "
      f"data pass {d['data_pass_seconds']:.2f} s")
PY
  done
done
