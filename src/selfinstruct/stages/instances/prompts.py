"""Prompts for instance generation: our few-shot templates plus seed tasks of the same kind.

Classification tasks get the output-first template (a class label, then an input of that
class), other tasks the input-first one. A completion model continues the text after
"Example 1"; a chat model gets every few-shot task as a user turn answered by an assistant turn,
which small chat models follow far better than one long message.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ...llm.base import ChatMessage, Prompt
from ...runtime.records import Instance, SeedTask

MAX_EXAMPLES = 5
"""Examples asked for per task; generation stops where a sixth would begin."""


@dataclass(frozen=True)
class Labels:
    """The words of the prompt format in one language."""

    task: str
    example: str
    input: str
    output: str
    label: str

    def stop(self) -> tuple[str, ...]:
        """Stop before a sixth example or the next task."""
        n = MAX_EXAMPLES + 1
        return (f"{self.example} {n}", f"{self.example}{n}", f"\n{self.task}")


LABELS = {
    "en": Labels("Task: ", "Example", "Input: ", "Output: ", "Class label: "),
    "zh": Labels("任务：", "示例", "输入：", "输出：", "类别："),
}


def render_task(
    instruction: str, instances: Sequence[Instance], classification: bool, labels: Labels
) -> str:
    """One few-shot block in the same format the model is asked to continue."""
    lines = [labels.task + " ".join(instruction.split())]
    for n, inst in enumerate(instances, start=1):
        lines.append(f"{labels.example} {n}")
        if classification:
            lines += [labels.label + inst.output, labels.input + inst.input]
        else:
            lines += ([labels.input + inst.input] if inst.input else []) + [
                labels.output + inst.output
            ]
    return "\n".join(lines)


def pick_seed_examples(
    seeds: Sequence[SeedTask], classification: bool, k: int, key: str, max_chars: int = 300
) -> list[SeedTask]:
    """`k` short seed tasks of the same kind, several instances preferred, chosen by `key`."""
    if k <= 0:
        return []
    same = [
        t
        for t in seeds
        if t.is_classification == classification
        and all(len(i.input) + len(i.output) <= max_chars for i in t.instances)
    ]
    several = [t for t in same if len(t.instances) > 1]
    pool = several if len(several) >= k else same
    return random.Random(key).sample(pool, min(k, len(pool)))


@dataclass(frozen=True)
class InstancePrompts:
    """Builds the prompt of one task from the two templates and the seed tasks."""

    templates: dict[bool, str]
    seeds: tuple[SeedTask, ...]
    labels: Labels
    examples: int
    seed: int
    chat: bool
    original: bool = False
    """End as the original code does: the task line, then a newline (the model writes
    "Example 1"); instructions are stripped, not re-spaced."""

    def render(self, instruction: str, classification: bool) -> Prompt:
        shots = pick_seed_examples(
            self.seeds, classification, self.examples, f"instances:{self.seed}:{instruction}"
        )
        blocks = "".join(
            render_task(t.instruction, t.instances[:MAX_EXAMPLES], classification, self.labels)
            + "\n\n"
            for t in shots
        )
        text = self.templates[classification].replace("{examples}", blocks)
        task = instruction.strip() if self.original else " ".join(instruction.split())
        text = text.replace("{instruction}", task).rstrip()
        if self.chat:
            return as_turns(text, self.labels)
        if self.original:
            return text + "\n"
        return text + f"\n{self.labels.example} 1\n"


def as_turns(text: str, labels: Labels) -> list[ChatMessage]:
    """A few-shot text as chat turns: each task a user turn, its examples the assistant's reply.

    Small chat models copy a reply format far more reliably than they continue a long user
    message; the intro goes in the first user turn, the last task is left for the model.
    """
    intro: list[str] = []
    tasks: list[list[str]] = []
    for para in text.split("\n\n"):
        if para.startswith(labels.task):
            task, _, rest = para.partition("\n")
            tasks.append([task, rest])
        elif tasks:
            tasks[-1][1] += "\n\n" + para  # a blank line inside an example
        else:
            intro.append(para)
    turns: list[ChatMessage] = []
    for i, (task, answer) in enumerate(tasks):
        user = "\n\n".join([*intro, task]) if i == 0 else task
        turns.append({"role": "user", "content": user.strip()})
        if i < len(tasks) - 1:
            turns.append({"role": "assistant", "content": answer.strip()})
    return turns
