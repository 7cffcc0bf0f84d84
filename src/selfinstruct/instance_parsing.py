"""Parse a model's instance response into (input, output) examples, leniently, in en and zh.

Models rarely follow the few-shot format exactly: they number examples or not, skip the Input
line of a task that needs none, answer with Chinese labels (输入/输出/类别), wrap labels in
markdown, run on into the next task, or get cut off by max_tokens. Each case is handled here by
a pure function over the response text; what cannot be read becomes an example marked
`unparseable`, and the last example of a response cut off by `finish_reason == "length"` is
marked `truncated` (the reference code drops it too), so the stage counts every drop by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INPUT, OUTPUT = "input", "output"

_INPUT_LABELS = ("input", "输入", "输入内容")
_OUTPUT_LABELS = ("output", "输出", "输出内容")
_CLASS_LABELS = ("class label", "label", "class", "category", "类别", "标签", "分类", "类别标签")


def _field_pattern(*labels: str) -> re.Pattern[str]:
    """A field line such as "Input: x", "**Output:** y", "- 输入：x", "1. Input: x"."""
    alt = "|".join(re.escape(n) for n in sorted(labels, key=len, reverse=True))
    return re.compile(
        rf"^\s*(?:[-*#>]+\s*)?(?:(?P<num>\d+)\s*[.)、]\s*)?[*_]*\s*(?P<label>{alt})\s*[*_]*"
        rf"\s*[:：]\s*[*_]*\s*(?P<value>.*)$",
        re.I,
    )


_FIELD = {
    False: _field_pattern(*_INPUT_LABELS, *_OUTPUT_LABELS),
    True: _field_pattern(*_INPUT_LABELS, *_OUTPUT_LABELS, *_CLASS_LABELS),
}
# "Example 1", "**Example 2:**", "## Instance 3", "示例 1：", "例2", "例子 3", or a bare "4."
_HEADING = re.compile(
    r"^\s*(?:[-*#>]+\s*)?[*_]*\s*(?:(?:example|instance|示例|例子|样例|例)\s*#?\s*\d+\s*[*_]*"
    r"\s*[:：.)、]?|\d+\s*[.)、])\s*[*_]*\s*$",
    re.I,
)
_NEXT_TASK = re.compile(r"^\s*(?:[-*#>]+\s*)?[*_]*\s*(?:task|任务)\s*\d*\s*[*_]*\s*[:：]", re.I)
_NO_INPUT = {
    "", "none", "<none>", "(none)", "n/a", "na", "no input", "<noinput>", "<no input>", "-",
    "无", "（无）", "(无)", "无输入", "没有", "空", "<无>",
}  # fmt: skip
UNPARSEABLE, TRUNCATED = "unparseable", "truncated"


@dataclass(frozen=True)
class ParsedExample:
    """One example read from a response; `problem` names why it cannot be used, else None."""

    input: str
    output: str
    problem: str | None = None


@dataclass
class _Block:
    """Field lines of one example as they are read: kind -> lines, in order of appearance."""

    fields: dict[str, list[str]]
    last: str | None = None
    has_text: bool = False

    @classmethod
    def new(cls) -> _Block:
        return cls({})


def parse_instances(
    text: str,
    *,
    classification: bool = False,
    finish_reason: str = "stop",
    instruction: str | None = None,
) -> list[ParsedExample]:
    """Examples of one response, in order.

    For a classification task a label line ("Class label", "类别", or "Output") gives the output
    and the "Input" line the input, whichever comes first; other tasks read only Input/Output
    lines, so a line such as "Category: ..." inside an output stays part of it. With
    `instruction` given, a response that opens with some other "Task:" (a small model copying a
    few-shot example) yields nothing: its examples belong to that other task. A response with
    no labels at all is, for a task other than classification, one example without input (as
    the reference code reads it); for a classification task it yields nothing.
    """
    pattern = _FIELD[classification]
    body = _cut_at_next_task(text, pattern, instruction)
    examples = [_example(b) for b in _split(body, pattern)]
    if not examples and not classification and body.strip():
        examples = [ParsedExample("", body.strip())]  # a bare answer: one example, no input
    if finish_reason == "length" and examples:
        last = examples[-1]
        examples[-1] = ParsedExample(last.input, last.output, last.problem or TRUNCATED)
    return examples


def _cut_at_next_task(text: str, pattern: re.Pattern[str], instruction: str | None) -> str:
    """The response up to a line that starts another task (the model ran on)."""
    lines = text.strip("\n").replace("\r\n", "\n").split("\n")
    start = 0
    first = _NEXT_TASK.match(lines[0]) if lines else None
    if first and not pattern.match(lines[0]):
        if instruction is not None and not _same_task(lines[0][first.end() :], instruction):
            return ""
        start = 1  # a chat model may echo "Task: ..." first
    for i in range(start, len(lines)):
        if i > start and _NEXT_TASK.match(lines[i]):
            return "\n".join(lines[start:i])
    return "\n".join(lines[start:])


def _same_task(echoed: str, instruction: str) -> bool:
    """Whether an echoed task line is this instruction (perhaps cut short or re-spaced)."""
    a, b = (" ".join(t.replace("*", "").split()).casefold() for t in (echoed, instruction))
    return bool(a) and (a in b or b in a or a[:40] == b[:40])


def _split(text: str, pattern: re.Pattern[str]) -> list[_Block]:
    """Group lines into examples: at a heading, or where a field repeats or the pattern restarts."""
    blocks: list[_Block] = []
    current = _Block.new()
    lead: str | None = None  # the kind of field that opens an example in this response

    def close() -> None:
        nonlocal current
        if current.fields or current.has_text:
            blocks.append(current)
        current = _Block.new()

    for line in text.split("\n"):
        if _HEADING.match(line):
            close()
            current.has_text = True  # a heading with nothing under it is still an example
            continue
        field = pattern.match(line)
        if field:
            kind = INPUT if field.group("label").lower() in _INPUT_LABELS else OUTPUT
            lead = lead or kind
            restarts = kind in current.fields or (kind == lead and bool(current.fields))
            if restarts or (field.group("num") is not None and current.fields):
                close()
            current.fields[kind] = [field.group("value")]
            current.last = kind
            current.has_text = True
        elif current.last is not None:
            current.fields[current.last].append(line)
    close()
    return blocks


def _example(block: _Block) -> ParsedExample:
    """An example from its fields; no output at all makes it unparseable."""
    raw_input = _value(block.fields.get(INPUT, []))
    output = _value(block.fields.get(OUTPUT, []))
    inp = "" if _clean_marker(raw_input) in _NO_INPUT else raw_input
    if OUTPUT not in block.fields:
        return ParsedExample(inp, output, UNPARSEABLE)
    return ParsedExample(inp, output)


def _value(lines: list[str]) -> str:
    """Join a field's lines, trimming blank edges and stray markdown emphasis."""
    text = "\n".join(lines).strip()
    if text.startswith(("**", "__")) or text.endswith(("**", "__")):
        text = re.sub(r"^[*_]{2}\s*|\s*[*_]{2}$", "", text)
    return text.strip()


def _clean_marker(value: str) -> str:
    return value.strip().strip("。.").strip().lower()
