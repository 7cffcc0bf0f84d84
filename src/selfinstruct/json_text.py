"""Find and read the JSON value in a model's answer, leniently (pure, bounded time).

Models asked for JSON (or answering in JSON unasked) wrap it in a code fence, put a sentence
before or after it, write raw newlines and tabs inside strings (the 135M model through
llama-cpp-python's `json_object` mode does), or leave a trailing comma; an answer cut off by
max_tokens ends inside its JSON. `read_json` returns the first object or array such an answer
holds (of a cut-off one, the elements that were complete), or None when it holds none; the
stages then read the fields they expect from it and fall back to their text parsers otherwise.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

_DECODER = json.JSONDecoder(strict=False)  # strict=False: control characters inside strings
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|json5)?[ \t]*\n?")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_LITERAL_CHARS = 20_000
"""Longest span read as a Python literal (`{'a': True}`, single quotes: small models write it)."""
_STARTS = 16
"""Opening brackets tried at most: each try is linear, so reading stays linear in the answer."""


def read_json(text: str) -> dict[str, Any] | list[Any] | None:
    """The first JSON object or array in `text` (fenced, surrounded by prose, or bare)."""
    if "{" not in text and "[" not in text:
        return None
    body = _FENCE.sub("", text) if "```" in text else text
    tried = 0
    start = _next_start(body, 0)
    while start >= 0 and tried < _STARTS:
        tried += 1
        value = _decode_at(body, start)
        if not isinstance(value, (dict, list)):
            value = _complete_part(body, start)
        if value is not None:
            return value
        start = _next_start(body, start + 1)
    return None


def _next_start(text: str, position: int) -> int:
    """The index of the next `{` or `[` at or after `position`, or -1."""
    brace, bracket = text.find("{", position), text.find("[", position)
    if brace < 0 or bracket < 0:
        return max(brace, bracket)
    return min(brace, bracket)


def _decode_at(text: str, start: int) -> Any:
    """The JSON value that starts at `start`, trailing commas forgiven; None if there is none."""
    try:
        return _DECODER.raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        pass
    end = text.rfind("}" if text[start] == "{" else "]")
    if end <= start:
        return None
    repaired = _TRAILING_COMMA.sub(r"\1", text[start : end + 1])
    try:
        return _DECODER.raw_decode(repaired)[0]
    except (ValueError, RecursionError):
        return _python_literal(repaired)


def _python_literal(span: str) -> Any:
    """`span` read as a Python dict or list literal (single quotes, True/False/None), or None."""
    if len(span) > _LITERAL_CHARS or "'" not in span:
        return None
    try:
        value = ast.literal_eval(span)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


_CLOSER = {"{": "}", "[": "]"}


def _complete_part(text: str, start: int) -> dict[str, Any] | list[Any] | None:
    """The value that starts at `start` and never ends, cut after its last complete element.

    One pass: it remembers where the last element that ended (a closing bracket, or a `,` in
    an array, outside strings) left off and which brackets were open there, then closes those.
    """
    stack: list[str] = []
    safe, safe_stack = -1, ""
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _CLOSER:
            stack.append(_CLOSER[ch])
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None
            if not stack:
                return None  # it did end: not a cut-off value, and not JSON (decoding failed)
            safe, safe_stack = i + 1, "".join(reversed(stack))
        elif ch == "," and stack and stack[-1] == "]":  # an object cut mid-way is not kept
            safe, safe_stack = i, "".join(reversed(stack))
    if safe < 0:
        return None
    value = _decode_at(text[start:safe] + safe_stack, 0)
    return value if isinstance(value, (dict, list)) else None


def strings_of(value: Any, keys: tuple[str, ...]) -> list[str] | None:
    """The strings a JSON answer lists: a bare array, or the first of `keys` holding one.

    Items that are objects give their first string field ("instruction", "task", ...): models
    often answer `[{"instruction": "..."}]` where a list of strings was asked for.
    """
    items: Any = value
    if isinstance(value, dict):
        items = next((value[k] for k in keys if isinstance(value.get(k), list)), None)
        if items is None:
            items = next((v for v in value.values() if isinstance(v, list)), None)
    if not isinstance(items, list):
        return None
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = next((v for v in item.values() if isinstance(v, str)), None)
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
    return out


_ANSWER_FENCE = re.compile(r"\s*(?:```[ \t]*(?:json|JSON)?\s*)?")


def read_json_answer(text: str) -> tuple[Any, bool]:
    """The JSON of an answer, and whether the answer is JSON at all (opens with it)."""
    opening = _ANSWER_FENCE.match(text)
    first = text[opening.end() : opening.end() + 1] if opening else ""
    return read_json(text), first in ("{", "[")
