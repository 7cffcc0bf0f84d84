"""InstancesConfig: the instances stage's options (the [instances] section)."""

from __future__ import annotations

from typing import Literal

from .fields import Section, opt


class InstancesConfig(Section):
    """Input/output instances for every instruction."""

    max_instances: int = opt(5, "instances kept per task", ge=1)
    examples: int = opt(
        2, "few-shot seed tasks per instance prompt", ge=0, flag="instance-examples"
    )
    max_tokens: int = opt(
        320, "max tokens per instance response", ge=16, flag="instance-max-tokens"
    )
    max_input_chars: int = opt(1000, "drop instances with a longer input", ge=1)
    max_output_chars: int = opt(1000, "drop instances with a longer output", ge=1)
    hard_cases: bool = opt(
        False, "also ask classification tasks for boundary examples (inputs near the line "
        "between two labels), kept marked hard_case",
    )  # fmt: skip
    presence_penalty: float = opt(
        1.5, "presence penalty (the original's 1.5)", ge=-2, le=2, flag="instance-presence-penalty"
    )
    temperature: float = opt(
        0.0, "sampling temperature (0: greedy, as the original)", ge=0, flag="instance-temperature"
    )
    top_p: float = opt(1.0, "nucleus sampling top_p", gt=0, le=1, flag="instance-top-p")
    frequency_penalty: float = opt(
        0.0, "frequency penalty", ge=-2, le=2, flag="instance-frequency-penalty"
    )
    stop: Literal["ours", "original"] = opt(
        "ours",
        "prompt ending and stops: ours (completion prompts end on 'Example 1'; stop at a sixth "
        "example or a new line + 'Task: ') or the original's (end on the task line; stop at "
        "'Example 6' or 'Task:' anywhere)",
        flag="instance-stop",
    )
    keep: Literal["first", "sample"] = opt(
        "first",
        "which max_instances examples a task keeps: the first, or a seeded random sample "
        "(the original's)",
        flag="instance-keep",
    )
    parse: Literal["ours", "original"] = opt(
        "ours",
        "how answers are read: ours (JSON, markdown, Chinese labels, headings, closing remarks; "
        "our filters) or the original code's (prepare_for_finetuning.py's splitting at "
        "'Example' and 'Class label:', and its filters)",
        flag="instance-parse",
    )
