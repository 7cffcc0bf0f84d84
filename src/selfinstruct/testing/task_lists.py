"""The stub's default replies: numbered lists of new tasks continuing the prompt's list.

Deterministic from (prompt, seed); also the stand-in tokenizer and the max_tokens/stop cut that
every reply goes through.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from selfinstruct.testing import task_words as words

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\s\u3400-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def count_tokens(text: str) -> int:
    """Whitespace words, each CJK character counting as one (a stand-in for a tokenizer)."""
    return len(_TOKEN.findall(text))


def next_number(prompt: str) -> tuple[int, bool]:
    """The number the reply starts at, and whether the prompt already wrote it (ends in "9.")."""
    asked = re.search(r"numbered from (\d+)|编号从\s*(\d+)", prompt)
    if asked:
        return int(asked.group(1) or asked.group(2)), False
    open_item = re.search(r"(\d+)\.\s*$", prompt)
    if open_item:
        return int(open_item.group(1)), True
    numbers = re.findall(r"^\s*(\d+)\.", prompt, re.M)
    return (int(numbers[-1]) + 1 if numbers else 1), False


def task_list(prompt: str, seed: int | str | None = 0, *, diverse: bool = False) -> str:
    """A numbered list of 5-8 varied new tasks continuing the prompt's list, English or Chinese.

    `diverse` (English) fills half the noun slots with invented names, so that tens of
    thousands of tasks stand apart under ROUGE-L (the plain slots run out after about a
    thousand), as a long run against a real model needs.
    """
    digest = hashlib.blake2b(f"{seed}\x00{prompt}".encode(), digest_size=8).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    chinese = len(_CJK.findall(prompt)) > 20
    first, continued = next_number(prompt)
    items = [_task(rng, chinese, diverse) for _ in range(rng.randint(5, 8))]
    lines = [f"{first + i}. {item}" for i, item in enumerate(items)]
    if continued:
        lines[0] = f" {items[0]}"
    elif rng.random() < 0.2:
        lines.insert(0, "以下是新的任务：" if chinese else "Here are some new tasks:")
    return "\n".join(lines)


def _task(rng: random.Random, chinese: bool, diverse: bool = False) -> str:
    templates, slots, bait = (
        (words.ZH_TEMPLATES, words.ZH_SLOTS, words.ZH_BAIT)
        if chinese
        else (words.EN_TEMPLATES, words.EN_SLOTS, words.EN_BAIT)
    )
    if rng.random() < 0.08:
        template = rng.choice(bait)
    elif diverse and not chinese:
        return _diverse_task(rng)
    else:
        template = rng.choice(templates)
        if not chinese:
            template += rng.choice(words.EN_EXTRAS)
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(slots[m.group(1)]), template)


def _diverse_task(rng: random.Random) -> str:
    """A short task frame plus one or two qualifiers, half the nouns invented names: few words
    are fixed, so ROUGE-L keeps tens of thousands of them apart, as a real model's would be."""
    parts = [rng.choice(words.FRAMES), *rng.sample(words.QUALIFIERS, rng.randint(1, 2))]

    def fill(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot == "name" or (slot in words.NAMED_SLOTS and rng.random() < 0.5):
            return _invented_name(rng, person=slot in ("audience", "recipient", "name"))
        return rng.choice(words.EN_SLOTS[slot])

    text = re.sub(r"\{(\w+)\}", fill, " ".join(parts)) + "."
    return text + rng.choice(words.EN_EXTRAS)


def _invented_name(rng: random.Random, person: bool) -> str:
    """A made-up place or product name (a person's first and last name for `person`)."""

    def word() -> str:
        return "".join(rng.choice(words.SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    return f"{word()} {word()}" if person else word()


# ---------------------------------------------------------------- faults


def cut(text: str, max_tokens: Any, stop: Any) -> tuple[str, str]:
    """Apply the stop sequences, then max_tokens; the finish reason says which cut."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    for s in stops:
        at = text.find(s) if s else -1
        if at >= 0:
            text = text[:at]
    if isinstance(max_tokens, int) and max_tokens >= 0:
        tokens = list(_TOKEN.finditer(text))
        if len(tokens) > max_tokens:
            end = tokens[max_tokens - 1].end() if max_tokens else 0
            return text[:end], "length"
    return text, "stop"


# ---------------------------------------------------------------- command line
