"""Parse a model's instance response into (input, output) examples, leniently, in en and zh.

Models number examples or not, skip the Input line, answer with Chinese labels (输入/输出/类别),
wrap labels in markdown, answer in JSON (parsing_json.py), run on into the next task, or get
cut off by max_tokens. What cannot be read becomes an example marked `unparseable`, and the last
example of a response cut off by max_tokens is marked `truncated` (the reference code drops it
too), so the stage counts every drop by name. Parsing is linear: each line is read once by
patterns tried at one position, and fields are paired into examples by a small dynamic
programme over the field sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...json_text import read_json_answer
from ...text.unwrap import without_example_remark
from .lines import (
    INPUT,
    LABEL,
    OUTPUT,
    Field,
    heading_field,
    is_heading,
    read_field,
    split_inline,
    task_label_end,
)
from .parsing_json import json_examples
from .values import is_no_input, value_of

UNPARSEABLE, TRUNCATED = "unparseable", "truncated"

# Costs of reading a run of fields as examples; the cheapest reading wins (see _pair).
_LONE_OUTPUT = 2  # an example without input: fine for many tasks
_LONE_INPUT = 6  # an input without output: unparseable
_OUTPUT_FIRST = {True: 0, False: 3}  # label-first is the classification prompt's own order


@dataclass(frozen=True)
class ParsedExample:
    """One example read from a response; `problem` names why it cannot be used, else None."""

    input: str
    output: str
    problem: str | None = None


@dataclass
class _Section:
    """The fields between two example headings (or before the first one)."""

    headed: bool
    fields: list[Field] = field(default_factory=list)


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

    Headings ("Example 2") delimit examples where there are any; within and without them an
    example is an input and an output in either order, or an output alone, and the reading
    that leaves the fewest inputs without an output wins (`_pair`), so a response that mixes
    examples with and without an Input line pairs each input with its own output.
    """
    pairs = json_examples(text, classification)
    if pairs is not None:
        return [_example_of(inp, out) for inp, out in pairs]
    body = _cut_at_next_task(text, LABEL[classification], instruction)
    sections = _sections(body, LABEL[classification])
    _drop_closing_remark(sections)
    tail = sections[-1].fields[-1] if sections[-1].fields else None
    if finish_reason == "length" and not classification and tail and tail.kind == INPUT:
        tail.opens = True  # its output never came; it is not the input of the output before it
    examples: list[ParsedExample] = []
    for section in sections:
        groups = _pair(section.fields, classification)
        if not groups and section.headed:
            examples.append(ParsedExample("", "", UNPARSEABLE))  # a heading with nothing under it
        examples += [_example(g, classification) for g in groups]
    if not examples and not classification and body.strip():
        examples = [ParsedExample("", body.strip())]  # a bare answer: one example, no input
    if finish_reason == "length" and examples:
        last = examples[-1]
        examples[-1] = ParsedExample(last.input, last.output, last.problem or TRUNCATED)
    return examples


def _cut_at_next_task(text: str, label: re.Pattern[str], instruction: str | None) -> str:
    """The response up to a line that starts another task (the model ran on)."""
    lines = text.strip("\n").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = 0
    first = task_label_end(lines[0])
    if first is not None and read_field(lines[0], label) is None:
        if instruction is not None and not _same_task(lines[0][first:], instruction):
            return ""
        start = 1  # a chat model may echo "Task: ..." first
    for i in range(start + 1, len(lines)):
        if task_label_end(lines[i]) is not None:
            return "\n".join(lines[start:i])
    return "\n".join(lines[start:])


def _same_task(echoed: str, instruction: str) -> bool:
    """Whether an echoed task line is this instruction (perhaps cut short or re-spaced)."""
    a, b = (" ".join(t.replace("*", "").split()).casefold() for t in (echoed, instruction))
    return bool(a) and (a in b or b in a or a[:40] == b[:40])


def _sections(body: str, label: re.Pattern[str]) -> list[_Section]:
    """Fields in order, split at example headings; unlabelled lines continue the last field."""
    sections = [_Section(headed=False)]
    for line in body.split("\n"):
        if is_heading(line):
            sections.append(_Section(headed=True))
            continue
        rest = heading_field(line, label)
        if rest is not None:
            sections.append(_Section(headed=True))
            line = rest
        current = sections[-1]
        found = read_field(line, label)
        if found is not None:
            current.fields += split_inline(found)
        elif current.fields:
            current.fields[-1].lines.append(line)
    return sections


def _pair(fields: list[Field], classification: bool) -> list[list[Field]]:
    """Group a section's fields into examples of one or two fields, at least total cost.

    An example is an output alone, an input alone (unparseable), or an input and an output in
    either order; a field marked `opens` always starts one. When an example lacks its input
    ("Output: x" then "Input: y" / "Output: z") the cheapest reading still pairs y with z,
    whichever kind led the examples before it. Ties go to pairing the earlier fields.
    """
    n = len(fields)
    best = [0] * (n + 1)  # best[i]: cost of reading fields[i:]
    take = [1] * (n + 1)  # fields in the first example of that reading
    for i in range(n - 1, -1, -1):
        here = fields[i]
        best[i] = (_LONE_OUTPUT if here.kind == OUTPUT else _LONE_INPUT) + best[i + 1]
        if i + 1 < n and here.kind != fields[i + 1].kind and not fields[i + 1].opens:
            pair = (0 if here.kind == INPUT else _OUTPUT_FIRST[classification]) + best[i + 2]
            if pair <= best[i]:
                best[i], take[i] = pair, 2
    groups: list[list[Field]] = []
    i = 0
    while i < n:
        groups.append(fields[i : i + take[i]])
        i += take[i]
    return groups


def _drop_closing_remark(sections: list[_Section]) -> None:
    """The last field ends before a remark about the examples ("I hope these help!")."""
    last = next((s.fields[-1] for s in reversed(sections) if s.fields), None)
    if last is not None:
        last.lines = without_example_remark(last.lines)


def _example(group: list[Field], classification: bool) -> ParsedExample:
    """An example from its fields (no output: unparseable); a label line followed by lines of
    no Input field ("Class label: No" / "Review: ...") has those as its input, prefix and all."""
    values = {f.kind: value_of(f.lines) for f in group}
    label = values.get(OUTPUT)
    if classification and INPUT not in values and label and "\n" in label:
        head, rest = label.split("\n", 1)
        values[OUTPUT], values[INPUT] = head.strip(), rest.strip()
    return _example_of(values.get(INPUT, ""), values.get(OUTPUT))


def _example_of(raw_input: str, output: str | None) -> ParsedExample:
    """An example from its input and output; no output makes it unparseable."""
    inp = "" if is_no_input(raw_input) else raw_input
    if output is None:
        return ParsedExample(inp, "", UNPARSEABLE)
    return ParsedExample(inp, output)


def instances_from_json(text: str, classification: bool) -> list[ParsedExample] | None:
    """The examples of an answer asked for as JSON (`--structured`); [] when it is JSON of
    another shape, None when it is no JSON (then the text parser reads it)."""
    pairs = json_examples(text, classification)
    if pairs is None:
        return [] if read_json_answer(text)[1] else None
    return [
        ParsedExample(i, o) if o is not None else ParsedExample(i, "", UNPARSEABLE)
        for i, o in pairs
    ]
