#!/usr/bin/env bash
# Set up .venv and run the whole test suite, the llama.cpp server and bundled-model tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
export SELFINSTRUCT_REQUIRE_ALL=1  # a missing server or model fails the suite instead of skipping
.venv/bin/python -m pytest -q "$@"
