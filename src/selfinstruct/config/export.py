"""ExportConfig: which training data files the export writes, and from which instances."""

from __future__ import annotations

from typing import Literal

from .fields import Section, opt

ExportFormat = Literal["alpaca", "sharegpt", "messages", "prompt_completion"]


class ExportConfig(Section):
    """Training data files written from the instances, and which instances make it in."""

    format: ExportFormat = opt(
        "alpaca",
        "extra format beside alpaca.jsonl: sharegpt, messages or prompt_completion (TRL)",
    )
    include_seeds: bool = opt(False, "add the seed tasks' instances to the export")
    val_ratio: float = opt(0.0, "share of tasks held out for validation", ge=0, lt=1)
    system_prompt: str | None = opt(
        None, "system turn for sharegpt, messages and prompt_completion"
    )
    min_score: int | None = opt(
        None, "keep only instances the judge scored at least this (1-5)", ge=1, le=5
    )
    balance: bool = opt(False, "cap leading verbs and task types, even out labels")
    max_verb_share: float = opt(
        0.1, "with --balance: most rows one leading verb may have, as a share", gt=0, le=1
    )
    max_task_type_share: float = opt(
        0.9, "with --balance: most rows classification (or other) tasks may have", gt=0, le=1
    )
    max_label_ratio: float = opt(
        1.0, "with --balance: a label's rows at most this times the rarest label's", ge=1
    )
