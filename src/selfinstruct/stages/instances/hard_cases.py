"""Hard cases (`--hard-cases`): boundary examples of classification tasks, asked for separately.

A model asked for one example per label writes the easiest input of each class; a classifier
trained on those learns little about the line between two labels. So each classification task
also gets a second request (`prompts/instances_hard.{en,zh}.txt`, output-first like the normal
prompt: a label, then an input close to another label). The answer is kept whole in
`instances_hard.jsonl` and, when the task's line is written, parsed and filtered like the normal
examples; examples repeating a normal one's input are dropped as `hard.duplicate`, all drops are
counted as `hard.<reason>`, and the kept ones join the task marked `hard_case`. The requests go
out before the task's normal request, so the task's one line in instances.jsonl holds both.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...llm.base import Completion, GenerationParams, Prompt
from ...runtime.records import (
    HardCasesRecord,
    Instance,
    InstanceRejection,
    InstancesRecord,
    MachineInstruction,
    clip,
)
from ...runtime.runner import Outcome
from .filters import InstanceFilterConfig, filter_task, rejection_rows
from .parsing import ParsedExample, parse_instances
from .prompts import Labels, as_turns

TEMPLATE = "instances_hard"
PREFIX = "hard."
"""Drops of hard cases are counted as `hard.<reason>`, beside the normal examples' reasons."""


@dataclass(frozen=True)
class HardCasesStage:
    """The boundary-example request of a classification task (pure; the runner does the rest)."""

    template: str
    labels: Labels
    chat: bool
    params: GenerationParams
    name: str = "instances"

    def build_prompt(self, record: MachineInstruction) -> Prompt:
        text = self.template.replace("{examples}", "")
        text = text.replace("{instruction}", " ".join(record.instruction.split())).rstrip()
        if self.chat:
            return as_turns(text, self.labels)
        return text + f"\n{self.labels.example} 1\n"

    def process(self, record: MachineInstruction, completion: Completion) -> Outcome:
        line = HardCasesRecord(
            instruction=record.instruction,
            index=record.index,
            text=completion.text,
            finish_reason=completion.finish_reason,
        )
        return Outcome(kept=[line])


def add_hard_cases(
    line: InstancesRecord,
    rows: list[InstanceRejection],
    hard: HardCasesRecord,
    filters: InstanceFilterConfig,
) -> InstancesRecord:
    """`line` with the task's hard cases added, marked, and their drops counted (into `rows`)."""
    parsed = parse_instances(
        hard.text,
        classification=True,
        finish_reason=hard.finish_reason,
        instruction=line.instruction,
    )
    result = filter_task(line.instruction, parsed, filters)
    normal = {_norm(i.input) for i in line.instances}
    kept: list[Instance] = []
    dropped = list(result.dropped)
    for inst in result.kept:
        if not line.instances or _norm(inst.input) in normal:
            reason = "duplicate" if line.instances else "task_dropped"
            dropped.append((ParsedExample(inst.input, inst.output), reason))
        else:
            kept.append(inst.model_copy(update={"hard_case": True}))
    counts = dict(line.dropped)
    for _, reason in dropped:
        counts[PREFIX + reason] = counts.get(PREFIX + reason, 0) + 1
    rows.extend(rejection_rows(line.instruction, line.index, dropped, PREFIX))
    return line.model_copy(
        update={
            "instances": [*line.instances, *kept],
            "generated": line.generated + len(parsed),
            "dropped": dict(sorted(counts.items())),
            "hard_raw": clip(hard.text),
        }
    )


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()
