"""Encode in-context instructions into a bootstrap prompt (completion or chat style).

Two list styles: ours, and the original Self-Instruct code's (`original=True`), which ends the
prompt right after the open number ("9." with no space), strips only ":" from the end of an
in-context instruction, and stops at the original's four sequences. The header line comes from
the template, so a template "<header>\\n{tasks}\\n{next}." gives the original's exact text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...llm.base import Prompt

LAST_ITEM = 15
"""The model continues the list up to this item; generation stops when it starts item 16."""

ORIGINAL_STOP = ("\n\n", f"\n{LAST_ITEM + 1}", f"{LAST_ITEM + 1}.", f"{LAST_ITEM + 1} .")
"""The original bootstrap's stop sequences: a blank line, or the start of item 16."""

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PromptStyle:
    """How requests are phrased: chat messages or a plain list to continue; in which language.

    `original` switches the list to the original code's dialect (see the module docstring).
    """

    chat: bool
    language: str = "en"
    original: bool = False

    @property
    def template_name(self) -> str:
        """The bundled template of this style (`prompts/{name}.{language}.txt`)."""
        return "bootstrap_chat" if self.chat else "bootstrap_completion"

    def stop(self) -> tuple[str, ...]:
        """Stop at item 16; completion mode also stops at the first blank line (paper's setting)."""
        if self.original:
            return ORIGINAL_STOP
        item16 = (f"\n{LAST_ITEM + 1}.", f"\n{LAST_ITEM + 1} .", f"{LAST_ITEM + 1}.")
        return item16 if self.chat else ("\n\n", *item16)


def sample_instructions(
    rng: random.Random,
    seed_instructions: Sequence[str],
    machine_instructions: Sequence[str],
    num_prompt: int = 8,
    num_machine: int = 2,
    visible: int | None = None,
) -> list[str]:
    """Up to `num_machine` machine instructions plus seed instructions to `num_prompt`, shuffled.

    Only the first `visible` machine instructions may be drawn (all when None). Positions are
    drawn, not a copy of the pool, so a request costs the same at any pool size; the picks are
    those `rng.sample` makes from the list itself.
    """
    pool = len(machine_instructions) if visible is None else visible
    picked = rng.sample(range(pool), min(num_machine, pool))
    machine = [machine_instructions[i] for i in picked]
    wanted = min(num_prompt - len(machine), len(seed_instructions))
    seeds = [seed_instructions[i] for i in rng.sample(range(len(seed_instructions)), wanted)]
    chosen = machine + seeds
    rng.shuffle(chosen)
    return chosen


def encode_prompt(instructions: Sequence[str], style: PromptStyle, template: str) -> Prompt:
    """Number the instructions 1..k and leave item k+1 open for the model to write.

    `{tasks}` becomes "1. first\\n2. second\\n...\\nk. last" (each instruction on one line, a
    trailing colon removed: a colon before the next number invites an input, not a task),
    `{next}` k + 1 and `{last}` the last item asked for.
    """
    colons = ":" if style.original else ":："
    listed = "\n".join(
        f"{i}. {one_line(inst).rstrip(colons)}" for i, inst in enumerate(instructions, start=1)
    )
    filled = (
        template.replace("{tasks}", listed)
        .replace("{next}", str(len(instructions) + 1))
        .replace("{last}", str(LAST_ITEM))
    )
    if style.chat:
        return [{"role": "user", "content": filled.strip()}]
    # The original ends on "9." exactly; ours leaves the space the model would write next.
    return filled.rstrip("\n") if style.original else filled.rstrip("\n") + " "


def one_line(text: str) -> str:
    """Whitespace runs as one space, ends trimmed."""
    return _SPACE.sub(" ", text).strip()
