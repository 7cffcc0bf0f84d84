"""Read one line of an instance answer: a field label ("Input:", "**输出：**"), a heading, a task.

parsing.py reads an answer line by line with these; each pattern is tried at one position of
the line, so reading is linear in its length (pure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INPUT, OUTPUT = "input", "output"

_INPUT_LABELS = ("input", "输入", "输入内容")
_OUTPUT_LABELS = ("output", "输出", "输出内容")
_CLASS_LABELS = ("class label", "label", "class", "category", "类别", "标签", "分类", "类别标签")

_LEAD = re.compile(r"[\s\-*#>_]*")  # indentation, bullets, quote marks, emphasis
_NUMBER = re.compile(r"\d+\s*[.)、．）]")  # "1.", "2)", "3、"
_SPACE = re.compile(r"\s*")
_MARKS = re.compile(r"[*_]*")
_HEADING_WORD = re.compile(r"(?:example|instance|示例|例子|样例|例)[\s#]*\d+", re.I)
_HEADING_ENDS = frozenset(("", ":", "：", ".", ")", "、", "．", "）"))
_HEADING_GLUE = re.compile(r"[*_]{0,2}[ \t]*[:：.)、．）\-–—]?[ \t]*[*_]{0,2}[ \t]*")
_TASK = re.compile(r"(?:task|任务)[\s\d*_]*[:：]", re.I)
_ARROW_TAIL = re.compile(r"[ \t]*(?:-+>|=+>|[→⇒⟶➜➔])$")
"""An arrow between an inline input and its output ("Input: apple -> Output: fruit")."""
_INLINE_OUTPUT = re.compile(r"(?<=[\s|→])[*_]{0,2}(?:Output|OUTPUT|输出)[*_]{0,2}[ \t]?[:：]")
_EMPHASIS_AS_SPACE = str.maketrans("*_", "  ")


def _label_pattern(outputs: tuple[str, ...]) -> re.Pattern[str]:
    """A field label at one position ("Input:", "**Output**:", "输出："), its kind a group."""

    def alt(labels: tuple[str, ...]) -> str:
        return "|".join(re.escape(n) for n in sorted(labels, key=len, reverse=True))

    kinds = rf"(?P<{INPUT}>{alt(_INPUT_LABELS)})|(?P<{OUTPUT}>{alt(outputs)})"
    return re.compile(rf"(?:{kinds})(?:[ \t]?[0-9]{{1,2}})?[\s*_]*[:：]", re.I)


LABEL = {
    False: _label_pattern(_OUTPUT_LABELS),
    True: _label_pattern(_OUTPUT_LABELS + _CLASS_LABELS),
}


@dataclass
class Field:
    """One labelled field and the lines that continue it."""

    kind: str
    lines: list[str]
    opens: bool  # starts an example: numbered ("1. Input: x"), or an input cut off at the end


def _skip(pattern: re.Pattern[str], line: str, pos: int = 0) -> int:
    """Where a pattern that matches everywhere (perhaps nothing, as `_LEAD`) ends from `pos`."""
    match = pattern.match(line, pos)
    if match is None:
        raise ValueError(f"pattern {pattern.pattern!r} must match the empty string")
    return match.end()


def task_label_end(line: str) -> int | None:
    """Where the text of a "Task:" / "**Task 3:**" / "任务：" line starts, or None."""
    match = _TASK.match(line, _skip(_LEAD, line))
    return match.end() if match else None


def is_heading(line: str) -> bool:
    """An example heading: "Example 1", "**Example 2:**", "示例 1：", "例2", "4."."""
    pos = _skip(_LEAD, line)
    word = _HEADING_WORD.match(line, pos)
    match = word or _NUMBER.match(line, pos)
    if match is None:
        return False
    tail = line[match.end() :].translate(_EMPHASIS_AS_SPACE).strip()
    return tail in _HEADING_ENDS if word else not tail


def read_field(line: str, label: re.Pattern[str]) -> Field | None:
    """A field line such as "Input: x", "**Output:** y", "- 输入：x", "1. Input: x", or None."""
    pos = _skip(_LEAD, line)
    number = _NUMBER.match(line, pos)
    if number:
        pos = _skip(_LEAD, line, number.end())
    match = label.match(line, pos)
    if match is None:
        return None
    kind = INPUT if match.group(INPUT) is not None else OUTPUT
    return Field(kind, [line[_value_start(line, match.end()) :]], number is not None)


def _value_start(line: str, pos: int) -> int:
    """Skip the space after a label and the emphasis that closes it ("**Output:** y")."""
    pos = _skip(_SPACE, line, pos)
    marks = _skip(_MARKS, line, pos)
    if marks > pos and (marks == len(line) or line[marks].isspace()):
        pos = _skip(_SPACE, line, marks)
    return pos


def heading_field(line: str, label: re.Pattern[str]) -> str | None:
    """The field after a heading on the same line ("Example 1: Input: x" -> "Input: x")."""
    pos = _skip(_LEAD, line)
    word = _HEADING_WORD.match(line, pos)
    if word is None:
        return None
    rest = line[_skip(_HEADING_GLUE, line, word.end()) :]
    return rest if rest and read_field(rest, label) is not None else None


def _drop_arrow(text: str) -> str:
    """`text` without an arrow at its end; only the tail is searched, so a long run of spaces
    costs linear time."""
    text = text.rstrip(" \t")
    return text[:-16] + _ARROW_TAIL.sub("", text[-16:])


def split_inline(found: Field) -> list[Field]:
    """An input line that also holds its output ("Input: 2 km Output: 2000 m") as two fields."""
    value = found.lines[0]
    match = _INLINE_OUTPUT.search(value) if found.kind == INPUT else None
    if match is None or not value[: match.start()].strip():
        return [found]
    inp = _drop_arrow(value[: match.start()]).rstrip(" \t|→,;，；-–—")
    out = Field(OUTPUT, [value[_value_start(value, match.end()) :]], False)
    return [Field(INPUT, [inp], found.opens), out]
