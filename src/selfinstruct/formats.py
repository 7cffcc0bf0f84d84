"""Training-data formats: Alpaca rows as chat turns (messages, ShareGPT) and the export file names.

Shared by the export stage (which writes them) and finetuning (which reads them back), so the
user turn a model is trained on is exactly the one exported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .records import AlpacaExample

FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "messages")
VALIDATION_SUFFIX = "_validation"
SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
"""ShareGPT's speaker names for the chat roles."""


def data_file(out_dir: str | Path, format: str = "alpaca", split: str = "train") -> Path:
    """Path of one exported file: `alpaca.jsonl`, `messages_validation.jsonl`, ..."""
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    suffix = VALIDATION_SUFFIX if split == "validation" else ""
    return Path(out_dir) / f"{format}{suffix}.jsonl"


def as_messages(example: AlpacaExample, system_prompt: str | None = None) -> dict[str, Any]:
    """`{"messages": [{"role": "user", "content": ...}, {"role": "assistant", ...}]}`."""
    turns = [{"role": "system", "content": system_prompt}] if system_prompt else []
    turns += [
        {"role": "user", "content": example.user_turn()},
        {"role": "assistant", "content": example.output},
    ]
    return {"messages": turns}


def as_sharegpt(example: AlpacaExample, system_prompt: str | None = None) -> dict[str, Any]:
    """The same turns as `as_messages`, as `{"conversations": [{"from", "value"}, ...]}`."""
    turns = as_messages(example, system_prompt)["messages"]
    return {
        "conversations": [{"from": SHAREGPT_FROM[t["role"]], "value": t["content"]} for t in turns]
    }


def encode(row: AlpacaExample, format: str, system_prompt: str | None = None) -> dict[str, Any]:
    """One exported line of `row` in `format`."""
    if format == "sharegpt":
        return as_sharegpt(row, system_prompt)
    if format == "messages":
        return as_messages(row, system_prompt)
    return row.model_dump()
