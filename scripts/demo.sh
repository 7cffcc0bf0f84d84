#!/usr/bin/env bash
# Set up .venv and run the whole pipeline on the embedded default model (CPU, a few minutes):
# seeds -> 5 new instructions -> classification -> instances -> runs/demo/alpaca.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
OUT=${OUT:-runs/demo}
# Short responses keep the embedded 135M model to a few minutes on a laptop CPU.
.venv/bin/selfinstruct run --seeds en --out "$OUT" --num-instructions "${N:-5}" \
    --backend transformers --max-tokens 256 --instance-max-tokens 200 "$@"
echo "training data: $OUT/alpaca.jsonl ($(wc -l < "$OUT/alpaca.jsonl") examples); stats: $OUT/stats.json"
head -n 3 "$OUT/alpaca.jsonl"
