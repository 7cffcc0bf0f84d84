"""Encode in-context instructions into a bootstrap prompt (completion or chat style)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .llm.base import Prompt

LAST_ITEM = 15
"""The model continues the list up to this item; generation stops when it starts item 16."""


@dataclass(frozen=True)
class PromptStyle:
    """How requests are phrased: chat messages or a plain list to continue; in which language."""

    chat: bool
    language: str = "en"

    @property
    def template_name(self) -> str:
        """The bundled template of this style (`prompts/{name}.{language}.txt`)."""
        return "bootstrap_chat" if self.chat else "bootstrap_completion"

    def stop(self) -> tuple[str, ...]:
        """Stop at item 16; completion mode also stops at the first blank line (paper's setting)."""
        item16 = (f"\n{LAST_ITEM + 1}.", f"\n{LAST_ITEM + 1} .", f"{LAST_ITEM + 1}.")
        return item16 if self.chat else ("\n\n", *item16)


def sample_instructions(
    rng: random.Random,
    seed_instructions: Sequence[str],
    machine_instructions: Sequence[str],
    num_prompt: int = 8,
    num_machine: int = 2,
) -> list[str]:
    """Up to `num_machine` machine instructions plus seed instructions to `num_prompt`, shuffled."""
    machine = rng.sample(list(machine_instructions), min(num_machine, len(machine_instructions)))
    wanted = min(num_prompt - len(machine), len(seed_instructions))
    seeds = rng.sample(list(seed_instructions), wanted)
    chosen = machine + seeds
    rng.shuffle(chosen)
    return chosen


def encode_prompt(instructions: Sequence[str], style: PromptStyle, template: str) -> Prompt:
    """Number the instructions 1..k and leave item k+1 open for the model to write."""
    text = template
    listed = "\n".join(f"{i}. {_one_line(inst)}" for i, inst in enumerate(instructions, start=1))
    filled = (
        text.replace("{tasks}", listed)
        .replace("{next}", str(len(instructions) + 1))
        .replace("{last}", str(LAST_ITEM))
    )
    if style.chat:
        return [{"role": "user", "content": filled.strip()}]
    return filled.rstrip("\n") + " "


def _one_line(text: str) -> str:
    return " ".join(text.split())
