"""LoRA (or last-layers) supervised finetuning on the Alpaca / messages JSONL a run produced.

`from selfinstruct.finetune import train` is cheap: torch, transformers and peft load only when
`train()` runs, so `import selfinstruct` never pulls them in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import FinetuneConfig, make_config

if TYPE_CHECKING:
    from .training import FinetuneResult

__all__ = ["FinetuneConfig", "FinetuneResult", "make_config", "train"]


def train(data: Any, model: str | None = None, output_dir: Any = "finetuned", **options: Any):
    """Finetune `model` (default: the bundled SmolLM2) on `data`; see `finetune.training.train`."""
    from .training import train as _train

    return _train(data, model, output_dir, **options)


def __getattr__(name: str) -> Any:
    if name == "FinetuneResult":
        from .training import FinetuneResult

        return FinetuneResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
