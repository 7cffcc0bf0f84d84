"""Filters for generated instances: every dropped example gets a named reason, and so does a task.

Per example: unparseable, truncated, empty_output, input_equals_output,
output_equals_instruction, dangling_colon, too_long_input, too_long_output, blacklisted, then
duplicate within the task. A task whose kept examples give one non-empty input two different
outputs is dropped whole (`conflicting_outputs`): the model did not understand it. At most
`max_instances` examples are kept per task; the rest are dropped as `over_max_instances`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...errors import ConfigError
from ...runtime.records import Instance, InstanceRejection, clip
from .parsing import ParsedExample

# Phrases that mark a refusal, a placeholder or content a text model cannot supply.
INSTANCE_BLACKLIST = (
    "as an ai", "as a language model", "i'm sorry, but i", "i am sorry, but i", "[insert",
    "<insert", "[image]", "<image>", "lorem ipsum",
    "作为一个ai", "作为人工智能", "作为语言模型", "抱歉，我无法", "[图片]", "<图片>", "[插入",
)  # fmt: skip

CONFLICTING_OUTPUTS = "conflicting_outputs"
NO_INSTANCES = "no_instances"
OVER_MAX = "over_max_instances"


@dataclass(frozen=True)
class InstanceFilterConfig:
    """Bounds of a kept instance; `blacklist` None means INSTANCE_BLACKLIST."""

    max_instances: int = 5
    max_input_chars: int = 1000
    max_output_chars: int = 1000
    blacklist: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.max_instances < 1:
            raise ConfigError(f"max_instances must be >= 1, got {self.max_instances}")
        if self.max_input_chars < 1 or self.max_output_chars < 1:
            raise ConfigError("max_input_chars and max_output_chars must be >= 1")

    @property
    def phrases(self) -> tuple[str, ...]:
        words = INSTANCE_BLACKLIST if self.blacklist is None else self.blacklist
        return tuple(w.lower() for w in words)


@dataclass
class FilteredTask:
    """What the filters made of one task's examples."""

    kept: list[Instance]
    dropped: list[tuple[ParsedExample, str]] = field(default_factory=list)
    task_dropped: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Dropped examples by reason, sorted by name."""
        return dict(sorted(Counter(reason for _, reason in self.dropped).items()))


def _norm(text: str) -> str:
    """Whitespace-insensitive, case-sensitive: "hello" -> "Hello" is a real transformation."""
    return " ".join(text.split())


def check_example(
    example: ParsedExample, instruction: str, config: InstanceFilterConfig
) -> str | None:
    """None to keep one example, else the name of the first check it fails."""
    if example.problem:
        return example.problem
    inp, out = example.input.strip(), example.output.strip()
    if not out:
        return "empty_output"
    if inp and _norm(inp) == _norm(out):
        return "input_equals_output"
    if _norm(out).casefold() == _norm(instruction).casefold():
        return "output_equals_instruction"
    if out.endswith((":", "：")) or inp.endswith((":", "：")):
        return "dangling_colon"
    if len(inp) > config.max_input_chars:
        return "too_long_input"
    if len(out) > config.max_output_chars:
        return "too_long_output"
    text = f"{inp}\n{out}".lower()
    if any(p in text for p in config.phrases):
        return "blacklisted"
    return None


def rejection_rows(
    instruction: str, index: int, dropped: Sequence[tuple[ParsedExample, str]], prefix: str = ""
) -> list[InstanceRejection]:
    """The instances_rejected.jsonl lines of one task's dropped examples (reasons prefixed)."""
    return [
        InstanceRejection(
            instruction=instruction,
            index=index,
            input=clip(example.input),
            output=clip(example.output),
            reason=prefix + reason,
        )
        for example, reason in dropped
    ]


def filter_task(
    instruction: str, examples: Sequence[ParsedExample], config: InstanceFilterConfig
) -> FilteredTask:
    """Apply every check to one task's examples, in order; see the module docstring."""
    result = FilteredTask(kept=[])
    seen: set[tuple[str, str]] = set()
    outputs_of: dict[str, set[str]] = {}
    for example in examples:
        reason = check_example(example, instruction, config)
        key = (_norm(example.input), _norm(example.output))
        if reason is None and key in seen:
            reason = "duplicate"
        if reason is not None:
            result.dropped.append((example, reason))
            continue
        seen.add(key)
        if key[0]:
            outputs_of.setdefault(key[0], set()).add(key[1])
        result.kept.append(Instance(input=example.input.strip(), output=example.output.strip()))
    if any(len(outs) > 1 for outs in outputs_of.values()):
        result.dropped += [
            (ParsedExample(i.input, i.output), CONFLICTING_OUTPUTS) for i in result.kept
        ]
        result.kept = []
        result.task_dropped = CONFLICTING_OUTPUTS
        return result
    extra = result.kept[config.max_instances :]
    result.dropped += [(ParsedExample(i.input, i.output), OVER_MAX) for i in extra]
    result.kept = result.kept[: config.max_instances]
    if not result.kept:
        result.task_dropped = NO_INSTANCES
    return result
