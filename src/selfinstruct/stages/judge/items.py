"""What the judge scores: one item per kept instance, from a run's instances or a dataset's rows."""

from __future__ import annotations

from dataclasses import dataclass

from ...runtime.records import InstancesRecord


@dataclass(frozen=True)
class Item:
    """One kept instance to score: its task, and its position among the task's instances."""

    instruction: str
    index: int
    instance: int
    input: str
    output: str


def items_of(tasks: list[InstancesRecord]) -> list[Item]:
    """Every kept instance of every task, in file order."""
    return [
        Item(t.instruction, t.index, n, i.input, i.output)
        for t in tasks
        for n, i in enumerate(t.instances)
    ]
