"""Bootstrap answers for tests: task lines of invented words, and a numbered list of them salted
with candidates every filter must catch; `run_bootstrap` runs the loop on a fake that sends it."""

from __future__ import annotations

import random
import re
from pathlib import Path

from fakes import FakeBackend, prompt_text

from selfinstruct import bootstrap
from selfinstruct.llm.base import Prompt

SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "da", "zu", "fi", "go", "la")
VERBS = ["Explain", "Describe", "Summarize", "Compare", "Classify", "List", "Estimate", "Plan"]
SHAPES = [
    "{v} how the {a} of {b} depends on {c} during {d}.",
    "{v} three ways a {a} could help {b} reach {c}.",
    "{v} whether {a} or {b} is better for {c}, and why.",
    "{v} the steps to turn {a} into {b} without {c}.",
]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3))


def task_line(rng: random.Random) -> str:
    shape = rng.choice(SHAPES)
    return shape.format(v=rng.choice(VERBS), a=word(rng), b=word(rng), c=word(rng), d=word(rng))


def task_lines(n: int, seed: int = 0) -> list[str]:
    """`n` task lines drawn from a generator seeded with `seed`."""
    rng = random.Random(seed)
    return [task_line(rng) for _ in range(n)]


def numbered_list(prompt: Prompt) -> str:
    """A response continuing the prompt's list: 5 fresh tasks and 4 that filters must drop."""
    text = prompt_text(prompt)
    rng = random.Random(text)
    first = int(re.findall(r"numbered from (\d+)", text)[0]) if "numbered from" in text else 9
    seen_in_prompt = re.findall(r"^\d+\. (.+)$", text, re.M)
    items = [task_line(rng) for _ in range(5)]
    items.insert(1, f"Draw a picture of a {word(rng)}.")  # blacklisted keyword
    items.insert(3, "Say hello.")  # too short
    items.insert(5, seen_in_prompt[0])  # copies an in-context instruction: too similar
    items.insert(6, f"Write a program that sorts {word(rng)} lists.")
    return "Here are more tasks:\n" + "\n".join(f"{first + i}. {t}" for i, t in enumerate(items))


def run_bootstrap(out: Path, n: int, backend: FakeBackend | None = None, **options: object):
    backend = backend or FakeBackend(respond=lambda p, _: numbered_list(p))
    options.setdefault("progress", False)
    return bootstrap("en", out, n, backend, **options)
