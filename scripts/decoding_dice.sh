#!/usr/bin/env bash
# Test Dice with reduced-size JPEG decoding (the default) and with full-size decoding
# (SE05_JPEG_DRAFT=0), same seeds, the two runs of a seed one after the other. Each run
# trains MODEL (unet, or efficient with the Lite0 encoder) for EPOCHS over the first
# IMAGES of the 720-image training split and evaluates every test pair, then evaluates
# the same trained model with the other decoding ("other"): what decoding alone changes.
#
#   scripts/decoding_dice.sh MODEL IMAGES EPOCHS SEED...
#   e.g. scripts/decoding_dice.sh efficient 720 2 1 2 3 4 5 6 7 8
#
# Needs the ISIC-like set at datasets/synthetic-1022x767 (see first_epoch_overhead.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { echo "usage: scripts/decoding_dice.sh MODEL IMAGES EPOCHS SEED..." >&2; exit 2; }
model=$1 images=$2 epochs=$3
shift 3
data=datasets/synthetic-1022x767
[ -d "$data" ] || { echo "decoding_dice: $data is missing; run 'cargo bench --bench compare -- --rounds 1 --only loader' once to generate it" >&2; exit 2; }
bin=$(cargo bench --bench compare --no-run 2>&1 | sed -n 's/.*(\(target\/release\/deps\/compare-[0-9a-f]*\)).*/\1/p')
[ -x "$bin" ] || { echo "decoding_dice: could not build the compare bench" >&2; exit 1; }
for seed in "$@"; do
  for draft in 1 0; do
    out=$(SE05_JPEG_DRAFT=$draft "$bin" --child dice --model "$model" --images "$images" \
      --epochs "$epochs" --seed "$seed" --threads 2 --data "$data" 2>/dev/null | tail -1)
    python3 - "$model" "$seed" "$draft" "$out" <<'PY'
import json, sys
model, seed, draft, d = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
way = "reduced" if draft == "1" else "full"
print(f"{model} seed {seed} trained on {way}: test Dice per image {d['test_dice_per_image']:.4f} "
      f"(other decoding {d['test_dice_per_image_other_decoding']:.4f}), "
      f"train loss {[round(x, 4) for x in d['train_loss']]}, {d['seconds']:.0f} s")
PY
  done
done
