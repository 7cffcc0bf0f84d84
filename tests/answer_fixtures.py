"""The answer-format fixtures (tests/fixtures/answers): our own answers in the formats chat models use.

Each line holds `message`, the raw assistant message as a server sends it (`content`, and for
reasoning models `reasoning_content` or `reasoning`), `reasoning` (None, "inline": a
`<think>` block in `content`, or "field"), and `expect`, the parse it must give. The parsers
read the answer part: the backend separates the reasoning before they see the text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent / "fixtures" / "answers"
STAGES = ("bootstrap", "classify", "instances", "judge")


def load(stage: str) -> list[dict[str, Any]]:
    """The fixtures of one stage, in file order."""
    path = ROOT / f"{stage}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def answer(fixture: dict[str, Any]) -> str:
    """The answer part of a fixture's message: its content without an inline thinking block."""
    content = fixture["message"]["content"]
    if fixture["reasoning"] == "inline":
        return content.split("</think>", 1)[1].lstrip()
    return content


def served(fixture: dict[str, Any]) -> bool:
    """Whether the end-to-end test serves it: every fixture, thinking inline or in a field."""
    return True
