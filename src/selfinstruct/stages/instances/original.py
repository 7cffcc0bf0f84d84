"""The original Self-Instruct code's instance parsing and filters, for `--preset paper` (pure).

Its `prepare_for_finetuning.py` reads a classification answer as pieces after each literal
"Class label:": a piece's first line is the label and everything after that line, whatever it
says ("Input: ...", "Sentence: ...", "Problem: ..."), is the input, prefix and all. Any other
answer is cut at every "Example" (with an optional space, digits and a full stop after it, no
colon); in each piece the text before the first "Output:" (digits allowed before the colon) is
the input, a leading "Input:" taken off, and the text up to the next "Output:" is the output,
cut where an "Input:" starts; a piece without "Output:" is all output. An answer without
"Example" and without "Output:" gives nothing. Then: the last example dropped when the answer
was cut off, examples with input equal to output, an empty output, or an input or output ending
in ":" dropped, and a task whose examples give one non-empty input two outputs dropped whole.
The original keeps the remaining duplicates' first copies in a set's order; here, in order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ...runtime.records import Instance
from .filters import CONFLICTING_OUTPUTS, NO_INSTANCES, FilteredTask
from .parsing import TRUNCATED, ParsedExample

_EXAMPLE = re.compile(r"Example\s?\d*\.?")
_OUTPUT = re.compile(r"Output\s*\d*\s*:")
_INPUT = re.compile(r"Input\s*\d*\s*:")
_LEADING_INPUT = re.compile(r"^Input\s*\d*\s*:")
_CLASS_LABEL = "Class label:"


def parse_original(text: str, *, classification: bool, finish_reason: str) -> list[ParsedExample]:
    """The examples the original reads from one answer; the cut-off last one marked truncated."""
    pairs = _classification(text) if classification else _generation(text.strip())
    examples = [ParsedExample(inp, out) for inp, out in pairs]
    if finish_reason == "length" and examples:
        examples[-1] = ParsedExample(examples[-1].input, examples[-1].output, TRUNCATED)
    return examples


def _classification(text: str) -> list[tuple[str, str]]:
    """Each "Class label:" piece: its first line the label, the rest (prefix kept) the input."""
    pairs = []
    for piece in text.split(_CLASS_LABEL)[1:]:
        label, _, rest = piece.strip().partition("\n")
        pairs.append((rest.strip(), label.strip()))
    return pairs


def _generation(text: str) -> list[tuple[str, str]]:
    if _EXAMPLE.search(text):
        pieces = [p.strip() for p in _EXAMPLE.split(text) if p.strip()]
        return [_input_output(p) for p in pieces]
    if _OUTPUT.search(text):
        return [_input_output(text)]  # one example, as the original assumes
    return []


def _input_output(piece: str) -> tuple[str, str]:
    """The original's reading of one example: input before "Output:", output up to "Input:"."""
    parts = _OUTPUT.split(piece)
    if len(parts) > 1:
        inp, out = parts[0].strip(), parts[1].strip()
    else:
        inp, out = "", piece.strip()
    out = _INPUT.split(out)[0].strip()
    inp = _LEADING_INPUT.sub("", inp).strip()
    return inp, out


def filter_original(instruction: str, examples: Sequence[ParsedExample]) -> FilteredTask:
    """The original's filters over one task's examples, every drop named as ours are."""
    result = FilteredTask(kept=[])
    valid: list[tuple[str, str]] = []
    for example in examples:
        inp, out = example.input.strip(), example.output.strip()
        reason = example.problem or _invalid(inp, out)
        if reason is not None:
            result.dropped.append((example, reason))
        else:
            valid.append((inp, out))
    outputs: dict[str, set[str]] = {}
    for inp, out in valid:
        if inp:
            outputs.setdefault(inp, set()).add(out)
    if any(len(outs) > 1 for outs in outputs.values()):
        result.dropped += [(ParsedExample(i, o), CONFLICTING_OUTPUTS) for i, o in valid]
        result.task_dropped = CONFLICTING_OUTPUTS
        return result
    seen: set[tuple[str, str]] = set()
    for inp, out in valid:
        if (inp, out) in seen:
            result.dropped.append((ParsedExample(inp, out), "duplicate"))
            continue
        seen.add((inp, out))
        result.kept.append(Instance(input=inp, output=out))
    if not result.kept:
        result.task_dropped = NO_INSTANCES
    return result


def _invalid(inp: str, out: str) -> str | None:
    if inp == out:
        return "input_equals_output"
    if not out:
        return "empty_output"
    if inp.endswith(":") or out.endswith(":"):
        return "dangling_colon"
    return None
