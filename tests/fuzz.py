"""Inputs for the parsers' property and linearity tests: hypothesis settings and strategies of
arbitrary text (controls, lone surrogates, mixed scripts, format tokens, 100K-character lines),
and adversarial long inputs by name."""

from __future__ import annotations

import random
from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=150,
    deadline=None,  # the machine may be loaded; the linearity tests below bound the time
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
LONG = settings(FUZZ, max_examples=15)

# --- strategies ------------------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # every code point: controls, lone surrogates
TOKENS = (
    "Input:", "Output:", "**Input:**", "**Output:** ", "输入：", "输出：", "类别：", "Class label:",
    "Label:", "Category:", "Example 1", "**Example 2:**", "示例 2", "例3", "Task:", "任务：", "1.",
    "2)", "３．", "9、", "10:30", "1.5", "**", "__", "##", "- ", "> ", "* ", " ", "\t", "\n",
    "\n\n", "\r\n", "\r", "\u2028", "\x85", "\x0b", "\x1c", "\x00", "\ufeff", "\u200b", "\ud800",
    "\udfff", "\ud83d\ude00", "😀", "Yes", "No", "是", "不是", "none", "N/A", "无", "image", "图片",
    "Write a program", "As an AI", "中文", "עברית", "العربية", "é", "e\u0301", ":", "：", "word ",
)  # fmt: skip
fragments = st.one_of(st.sampled_from(TOKENS), st.text(ANY_CHAR, max_size=8))
texts = st.one_of(st.text(ANY_CHAR, max_size=300), st.lists(fragments, max_size=60).map("".join))
texts_utf8 = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    st.lists(fragments, max_size=60).map("".join).filter(lambda t: _utf8(t)),
)
LINE_UNITS = (" ", "*", "#", "-", "_", "\t", "1.", "Input:", "Example 1", "输入", "* _ # - > ")
long_lines = st.builds(
    lambda prefix, unit, size: (prefix + unit * (size // len(unit) + 1))[:size],
    st.sampled_from(("", "Input: ", "**Output:** ", "1. ", "Example 1\n", "Task: ", "Yes ")),
    st.sampled_from(LINE_UNITS),
    st.integers(10_000, 100_000),
)
finish_reasons = st.sampled_from(("stop", "length"))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- adversarial long inputs -------------------------------------------------------------------

SLACK_MS_PER_KB = 0.1  # absorbs timer noise on runs of a few milliseconds


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _between(head: str, fill: str, tail: str) -> Callable[[int], str]:
    return lambda n: head + fill * max(0, n - len(head) - len(tail)) + tail


def _numbered_outputs(n: int) -> str:
    lines, size, i = [], 0, 0
    while size < n:
        lines.append(f"Output: answer {i}" if i % 3 else f"Input: question {i}")
        size += len(lines[-1]) + 1
        i += 1
    return "\n".join(lines)[:n]


def _mixed(n: int) -> str:
    rng = random.Random(0)
    alphabet = "  **__##-->:：1.\n输入出示例类别 Input Output Example 1 \t\u3000é😀"
    return "".join(rng.choice(alphabet) for _ in range(n))


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "line of spaces": _repeat(" "),
    "line of '*'": _repeat("*"),
    "line of '#'": _repeat("#"),
    "line of '-'": _repeat("-"),
    "line of '_'": _repeat("_"),
    "line of tabs": _repeat("\t"),
    "line of '* _ # - > '": _repeat("* _ # - > "),
    "line of '1.'": _repeat("1."),
    "line of '1. '": _repeat("1. "),
    "line of 'Input:'": _repeat("Input:"),
    "line of 'Example 1'": _repeat("Example 1"),
    "line of CJK labels": _repeat("输入示例类别任务"),
    "'Input:' then spaces": _between("Input:", " ", "x"),
    "'Class label' then spaces": _between("Class label", " ", "x"),
    "'Task 1' then spaces": _between("Task 1", " ", "x"),
    "'**' spaces 'x**'": _between("Output: **", " ", "x**"),
    "'Answer' spaces 'Yes'": _between("Answer", " ", "Yes"),
    "lines of 'Output: x'": _repeat("Output: x\n"),
    "lines of 'Example 1'": _repeat("Example 1\n"),
    "lines of '1.'": _repeat("1.\n"),
    "empty lines": _repeat("\n"),
    "alternating inputs and outputs": _numbered_outputs,
    "mixed random text": _mixed,
}
