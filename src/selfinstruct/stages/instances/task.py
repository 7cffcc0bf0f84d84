"""One task's request of the instances stage: its prompt, and its answer read, filtered, counted.

The answer is parsed (parsing.py, or original.py as the original code reads it), filtered
(filters.py), sampled with `--keep sample`, and joined by the task's hard cases (hard_cases.py)
into the task's one line of instances.jsonl (pure; the runner does the rest).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ...llm.base import Completion, GenerationParams, Prompt
from ...llm.reasoning import cut_while_thinking
from ...runtime.records import HardCasesRecord, InstancesRecord, MachineInstruction, clip
from ...runtime.runner import Outcome
from ...runtime.structured import JsonAsk
from ...runtime.thinking import REASONING_TRUNCATED
from .counts import counts_of
from .filters import OVER_MAX, FilteredTask, InstanceFilterConfig, filter_task, rejection_rows
from .hard_cases import add_hard_cases
from .original import filter_original, parse_original
from .parsing import ParsedExample, instances_from_json, parse_instances
from .prompts import InstancePrompts


@dataclass(frozen=True)
class InstancesStage:
    """Prompt and answer handling of the instances stage (pure; the runner does the rest)."""

    prompts: InstancePrompts
    filters: InstanceFilterConfig
    labels: dict[str, bool]
    params: GenerationParams
    sample: int | None = None
    """Keep a seeded random sample of this many examples (the original's), not the first ones."""
    seed: int = 0
    name: str = "instances"
    hard: dict[str, HardCasesRecord] = field(default_factory=dict)
    """Answers to the hard-case requests (`--hard-cases`), by instruction."""
    original: bool = False
    """Read answers and filter them as the original code does (`--instance-parse original`)."""
    keep_reasoning: bool = False
    """--reasoning keep: store each answer's thinking with the task's line."""
    ask: JsonAsk | None = None
    """How to ask for the examples as JSON (`--structured`), or None."""

    def build_prompt(self, record: MachineInstruction) -> Prompt:
        classification = self.labels[record.instruction]
        prompt = self.prompts.render(record.instruction, classification)
        return self.ask.prompt(prompt, int(classification)) if self.ask else prompt

    def process(self, record: MachineInstruction, completion: Completion) -> Outcome:
        classification = self.labels[record.instruction]
        if cut_while_thinking(completion):
            return self._cut_while_thinking(record, classification)
        parsed, result = self._read(record.instruction, completion, classification)
        if self.sample is not None:
            key = f"keep:{self.seed}:{record.instruction}"
            result = keep_sample(result, self.sample, random.Random(key))
        line = InstancesRecord(
            instruction=record.instruction,
            index=record.index,
            is_classification=classification,
            instances=result.kept,
            generated=len(parsed),
            dropped=result.counts,
            task_dropped=result.task_dropped,
            finish_reason=completion.finish_reason,
            raw=clip(completion.text),
            reasoning=completion.reasoning if self.keep_reasoning else None,
        )
        rows = rejection_rows(record.instruction, record.index, result.dropped)
        hard = self.hard.get(record.instruction)
        if hard is not None and classification:
            line = add_hard_cases(line, rows, hard, self.filters)
        return Outcome(kept=[line], rejected=rows, counts=counts_of(line))

    def _read(
        self, instruction: str, completion: Completion, classification: bool
    ) -> tuple[list[ParsedExample], FilteredTask]:
        """The examples of one answer, and what the filters keep of them."""
        text, reason = completion.text, completion.finish_reason
        if not self.original:
            parsed = instances_from_json(text, classification) if self.ask else None
            if parsed is None:
                parsed = parse_instances(
                    text, classification=classification, finish_reason=reason,
                    instruction=instruction,
                )  # fmt: skip
            return parsed, filter_task(instruction, parsed, self.filters)
        parsed = parse_original(text, classification=classification, finish_reason=reason)
        result = filter_original(instruction, parsed)
        extra = result.kept[self.filters.max_instances :]
        result.dropped += [(ParsedExample(i.input, i.output), OVER_MAX) for i in extra]
        result.kept = result.kept[: self.filters.max_instances]
        return parsed, result

    def _cut_while_thinking(self, record: MachineInstruction, classification: bool) -> Outcome:
        """A task whose answer max_tokens cut off inside the thinking: no instances, counted."""
        line = InstancesRecord(
            instruction=record.instruction, index=record.index,
            is_classification=classification, instances=[], generated=0, dropped={},
            task_dropped=REASONING_TRUNCATED, finish_reason="length", raw="",
        )  # fmt: skip
        return Outcome(kept=[line], counts=counts_of(line))


def keep_sample(result: FilteredTask, k: int, rng: random.Random) -> FilteredTask:
    """At most `k` of the kept examples, drawn at random (in response order); the rest dropped."""
    if len(result.kept) <= k:
        return result
    chosen = set(rng.sample(range(len(result.kept)), k))
    extra = [ParsedExample(i.input, i.output) for n, i in enumerate(result.kept) if n not in chosen]
    kept = [i for n, i in enumerate(result.kept) if n in chosen]
    dropped = result.dropped + [(e, OVER_MAX) for e in extra]
    return FilteredTask(kept, dropped, result.task_dropped)
