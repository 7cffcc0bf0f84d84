"""Read an instance answer written as JSON: a list of objects, plain, fenced, or wrapped (pure).

Chat models asked for examples often answer `[{"input": ..., "output": ...}, ...]`, in a
```` ```json ```` fence or not, wrap the list (`{"instances": [...]}`), name the fields in
Chinese (输入/输出) or, for a classification task, give a label (`label`, `class`, 类别). An
answer cut off by max_tokens still gives its complete objects. `json_examples` returns None when
the answer is not such JSON, and the text parser reads it instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...json_text import read_json

_INPUTS = ("input", "输入", "输入内容", "instance_input", "example_input")
_OUTPUTS = ("output", "输出", "输出内容", "answer", "response", "答案", "回答", "target")
_LABELS = ("class label", "class_label", "label", "class", "category", "类别", "标签", "分类")
_WRAPPERS = ("instances", "examples", "data", "items", "results", "示例", "实例", "例子", "样例")
_OPENING = re.compile(r"^\s*(?:```[ \t]*(?:json|JSON)?[ \t]*\n\s*)?[\[{]")
_OBJECT = re.compile(r"\{")
_FIELD = re.compile(r"(?:input|output|label|输入|输出|类别|标签)[ \t*_]*[:：]", re.I)
_DECODER = json.JSONDecoder(strict=False)
_MAX_OBJECTS = 64


def json_examples(text: str, classification: bool) -> list[tuple[str, str | None]] | None:
    """(input, output) pairs of a JSON answer, output None where an object gave none."""
    start = _json_start(text)
    if start is None:
        return None
    value = read_json(text[start:])
    items = _items(value) if value is not None else _complete_objects(text[start:])
    if not items:
        return None
    pairs = [_pair(item, classification) for item in items]
    if not any(out is not None for _, out in pairs):
        return None
    return pairs


def _json_start(text: str) -> int | None:
    """Where the JSON opens: at the start, or after a short preamble without field labels."""
    match = _OPENING.match(text)
    if match:
        return 0
    for opener in ("```", "[", "{"):
        at = text.find(opener)
        if at < 0:
            continue
        if not _FIELD.search(text, 0, at):
            return at  # "Here are five examples:" then the JSON
    return None


def _items(value: Any) -> list[dict[str, Any]]:
    """The example objects of a JSON value: a list, a wrapped list, or one object."""
    if isinstance(value, dict):
        folded = {str(k).strip().lower(): v for k, v in value.items()}
        wrapped = next((folded[k] for k in _WRAPPERS if isinstance(folded.get(k), list)), None)
        if wrapped is None and _has_fields(folded):
            return [value]
        value = (
            wrapped
            if wrapped is not None
            else next((v for v in folded.values() if isinstance(v, list)), None)
        )
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _complete_objects(text: str) -> list[dict[str, Any]]:
    """The whole objects of a list cut off mid-way (each decoded where it starts)."""
    found: list[dict[str, Any]] = []
    position = 0
    for _ in range(_MAX_OBJECTS):
        match = _OBJECT.search(text, position)
        if match is None:
            break
        try:
            value, end = _DECODER.raw_decode(text, match.start())
        except ValueError:
            position = match.end()
            continue
        if isinstance(value, dict) and _has_fields({str(k).lower(): v for k, v in value.items()}):
            found.append(value)
        position = end
    return found


def _has_fields(folded: dict[str, Any]) -> bool:
    return any(k in folded for k in (*_INPUTS, *_OUTPUTS, *_LABELS))


def _pair(item: dict[str, Any], classification: bool) -> tuple[str, str | None]:
    folded = {str(k).strip().lower(): v for k, v in item.items()}
    names = (*_LABELS, *_OUTPUTS) if classification else (*_OUTPUTS, *_LABELS)
    out = next((folded[k] for k in names if k in folded), None)
    inp = next((folded[k] for k in _INPUTS if k in folded), "")
    return _text(inp) or "", None if out is None else _text(out)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)
