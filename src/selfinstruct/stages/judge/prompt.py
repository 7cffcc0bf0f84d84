"""The judge's prompt: our rubric (package data), answered examples from the seed tasks, the item.

Small models copy a reply format far better than they follow a written one: the bundled 135M
model, given the rubric alone, gave no score for 13 of 15 English instances and 12 of 12
Chinese ones; with two answered examples, for 1 of 15 and 0 of 12. So the rubric comes with
`examples` answered instances: seed tasks with their own output, scored 5 and 5, and
seed tasks given another task's output, scored 1 and 1. A chat model gets each example as a
user turn answered by an assistant turn; a completion model gets one text ending where the
correctness score is to be written.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import ConfigError
from ...llm.base import ChatMessage, Prompt
from ...runtime.records import SeedTask

LABELS = {"en": ("Correctness:", "Helpfulness:"), "zh": ("正确性：", "有用性：")}
NO_INPUT = {"en": "(none)", "zh": "（无）"}
SHORT = 300
"""Seed instances used as examples are at most this long (input and output together)."""


@dataclass(frozen=True)
class Shown:
    """What the judge is shown of one instance."""

    instruction: str
    input: str
    output: str


@dataclass(frozen=True)
class JudgePrompt:
    """A judge template cut into its rubric (`intro`) and the per-instance `block`, plus shots."""

    intro: str
    block: str
    shots: tuple[tuple[Shown, tuple[int, int]], ...]
    language: str
    chat: bool

    @classmethod
    def build(
        cls,
        template: str,
        shots: Sequence[tuple[Shown, tuple[int, int]]],
        language: str,
        chat: bool,
    ) -> JudgePrompt:
        """The block starts at the line holding {instruction}; the rubric is what comes before."""
        at = template.find("{instruction}")
        if at < 0 or "{output}" not in template:
            raise ConfigError("a judge template needs {instruction}, {input} and {output}")
        start = template.rfind("\n", 0, at) + 1
        return cls(template[:start].strip(), template[start:].strip(), tuple(shots), language, chat)

    def fill(self, shown: Shown) -> str:
        return (
            self.block.replace("{instruction}", " ".join(shown.instruction.split()))
            .replace("{input}", shown.input.strip() or NO_INPUT[self.language])
            .replace("{output}", shown.output.strip())
        )

    def answer(self, scores: tuple[int, int]) -> str:
        sep = "" if self.language == "zh" else " "
        correctness, helpfulness = LABELS[self.language]
        return f"{correctness}{sep}{scores[0]}\n{helpfulness}{sep}{scores[1]}"

    def render(self, shown: Shown) -> Prompt:
        """The prompt for one instance; a completion prompt ends at the correctness label."""
        blocks = [(self.fill(s), self.answer(a)) for s, a in self.shots]
        last = self.fill(shown)
        if not self.chat:
            parts = [self.intro, *(f"{q}\n{a}" for q, a in blocks)]
            return "\n\n".join([*parts, f"{last}\n{LABELS[self.language][0]}"])
        turns: list[ChatMessage] = []
        for q, a in [*blocks, (last, None)]:
            content = f"{self.intro}\n\n{q}" if not turns else q
            turns.append({"role": "user", "content": content})
            if a is not None:
                turns.append({"role": "assistant", "content": a})
        return turns


def pick_shots(seeds: Sequence[SeedTask], k: int, seed: int) -> list[tuple[Shown, tuple[int, int]]]:
    """`k` short seed instances, alternately right (5, 5) and given an unrelated output (1, 1).

    The unrelated output is another non-classification task's (a label such as "Yes" might
    happen to be right), in an order shuffled with `seed`.
    """
    short = [
        (t, i) for t in seeds for i in t.instances[:1] if len(i.input) + len(i.output) <= SHORT
    ]
    rng = random.Random(f"judge:{seed}")
    chosen = rng.sample(short, min(k, len(short)))
    shots: list[tuple[Shown, tuple[int, int]]] = []
    for n, (task, inst) in enumerate(chosen):
        others = [
            o.output for t, o in short if not t.is_classification and t is not task and o.output
        ]
        if n % 2 == 1 and others:
            shots.append((Shown(task.instruction, inst.input, rng.choice(others)), (1, 1)))
        else:
            shots.append((Shown(task.instruction, inst.input, inst.output), (5, 5)))
    rng.shuffle(shots)
    return shots
