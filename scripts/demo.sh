#!/usr/bin/env bash
# Set up .venv and run the main job on the embedded default model (CPU, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${OUT:-runs/demo}
.venv/bin/selfinstruct bootstrap --seeds en --out "$OUT" --num-instructions "${N:-5}" --backend transformers "$@"
echo "accepted instructions: $OUT/machine_instructions.jsonl"
