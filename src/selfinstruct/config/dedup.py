"""DedupConfig: the options of `selfinstruct dedup`, sharing the bootstrap filter's declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from .bootstrap import BootstrapConfig
from .fields import Section, opt, same_as
from .run import RunConfig


class DedupConfig(Section):
    """`selfinstruct dedup`: exact ROUGE-L dedup of a dataset you have, as a run's filter."""

    out: Path | None = opt(
        None,
        "output directory: the kept rows (in the input's format), removed.jsonl, dedup.json",
        data=False,
    )
    compare: Literal["instruction", "instruction_input"] = opt(
        "instruction",
        "which fields are compared: the instruction (the user turn in chat formats), or the "
        "instruction and the input (Alpaca's `input`) joined by a new line",
    )
    threshold: float = same_as(BootstrapConfig, "threshold")
    language: Literal["en", "zh"] | None = opt(
        None, "tokens: en (rouge-score's words) or zh (one per Han character); default: detected"
    )
    order_by: str | None = opt(
        None,
        "a numeric column (a judge score, say): rows are taken best first, so each group of "
        "near-duplicates keeps its best row; default: in the input's order",
    )
    ascending: bool = opt(False, "with --order-by: the lowest value is the best")
    semantic: bool = same_as(BootstrapConfig, "semantic")
    semantic_threshold: float | None = same_as(BootstrapConfig, "semantic_threshold")
    semantic_model: str | None = same_as(BootstrapConfig, "semantic_model")
    similarity_workers: int = same_as(BootstrapConfig, "similarity_workers")
    progress: bool = same_as(RunConfig, "progress")
