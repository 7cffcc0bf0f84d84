#!/usr/bin/env bash
# Set up .venv, lint and type-check, and run the whole test suite, the llama.cpp server and
# bundled-model tests included. A lint, format or type finding fails it before pytest starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
.venv/bin/mypy  # over src/selfinstruct, as [tool.mypy] in pyproject.toml says
export SELFINSTRUCT_REQUIRE_ALL=1  # a missing server or model fails the suite instead of skipping
.venv/bin/python -m pytest -q --durations=10 "$@"  # the slowest ten, to keep the suite fast
