"""Read what an OpenAI-compatible server sent back, trusting none of it.

Completions and model lists are parsed from the raw bytes with plain `json` (no client models on
the hot path); anything else than the expected shape is `Malformed`, which the backend retries.
Error bodies become one short line with the API key masked out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import Completion
from .reasoning import estimate_reasoning_tokens, merge_reasoning, split_reasoning

_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG = re.compile(r"<[^>]*>")
_KEY_FRAGMENT = 8
"""Echoed fragments of the key at least this long are masked too (a server may cut the echo)."""
_ERROR_BYTES = 65536
"""How much of an error body is read for its message (pages can be large)."""


class Malformed(Exception):
    """A 2xx response that is not the JSON it should be; the message says what was wrong."""


def parse_completion(data: bytes, chat: bool) -> Completion:
    """The first choice of a /completions or /chat/completions response body.

    The answer and the thinking come apart (`reasoning.py`): a chat message's `reasoning` or
    `reasoning_content` field, and inline thinking in either kind of text.
    """
    choice, body = _first_choice(_json(data))
    field = ""
    if chat:
        message = choice.get("message")
        if not isinstance(message, dict):
            raise Malformed("a choice without a message")
        text = message.get("content")
        field = _reasoning_field(message)
    else:
        text = choice.get("text")
    if text is None and chat:
        text = ""  # a chat turn with no text (e.g. only tool calls): an empty reply
    if not isinstance(text, str):
        raise Malformed(f"a choice whose text is {type(text).__name__}, not a string")
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    reason = choice.get("finish_reason")
    answer, inline = split_reasoning(clean_text(text))
    reasoning = merge_reasoning(clean_text(field), inline)
    completion_tokens = _count(usage.get("completion_tokens"))
    details = usage.get("completion_tokens_details")
    said = _count(details.get("reasoning_tokens")) if isinstance(details, dict) else 0
    return Completion(
        text=answer,
        finish_reason="length" if reason in ("length", "max_tokens") else "stop",
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=completion_tokens,
        reasoning=reasoning,
        reasoning_tokens=said or estimate_reasoning_tokens(completion_tokens, answer, reasoning),
    )


def _reasoning_field(message: dict[str, Any]) -> str:
    """The thinking a server's reasoning parser put beside the content (vLLM, llama.cpp, ...)."""
    for name in ("reasoning_content", "reasoning"):
        value = message.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def parse_models(data: bytes) -> list[tuple[str, str]]:
    """(id, owned_by) of each model in a /models response body."""
    body = _json(data)
    models = body.get("data")
    if not isinstance(models, list):
        raise Malformed("a model list without 'data'")
    return [
        (m["id"], str(m.get("owned_by") or ""))
        for m in models
        if isinstance(m, dict) and isinstance(m.get("id"), str)
    ]


def clean_text(text: str) -> str:
    """`text` with lone surrogates (which no UTF-8 writer accepts) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def error_detail(data: bytes, key: str, limit: int = 200) -> str:
    """One short line from an error body: its JSON `error.message`, else its text; key masked."""
    text = data[:_ERROR_BYTES].decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            text = str(message)
    text = " ".join(_TAG.sub(" ", text).split())
    return shorten(mask(text, key), limit)


def mask(text: str, key: str) -> str:
    """`text` with the key, and any echoed fragment of it of 8 characters or more, as `***`."""
    if not key or not text:
        return text
    text = text.replace(key, "***")
    if len(key) <= _KEY_FRAGMENT:
        return text
    grams = {key[i : i + _KEY_FRAGMENT] for i in range(len(key) - _KEY_FRAGMENT + 1)}
    hidden = [False] * len(text)
    for i in range(len(text) - _KEY_FRAGMENT + 1):
        if text[i : i + _KEY_FRAGMENT] in grams:
            hidden[i : i + _KEY_FRAGMENT] = [True] * _KEY_FRAGMENT
    if not any(hidden):
        return text
    out, i = [], 0
    while i < len(text):
        if hidden[i]:
            while i < len(text) and hidden[i]:
                i += 1
            out.append("***")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_body(data: bytes) -> str:
    """What a malformed 2xx body looks like, for the error message."""
    head = data[:200].lstrip().lower()
    if not head:
        return "an empty body"
    if head.startswith((b"<!doctype", b"<html", b"<")):
        return "an HTML page instead of JSON"
    return "a body that is not valid JSON"


def _json(data: bytes) -> dict[str, Any]:
    """The JSON object in `data`; bytes that are not UTF-8 become U+FFFD rather than a failure."""
    try:
        try:
            body = json.loads(data)
        except UnicodeDecodeError:
            body = json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to parse
        raise Malformed(describe_body(data)) from None
    if not isinstance(body, dict):
        raise Malformed(f"a JSON {_JSON_NAMES.get(type(body), 'value')} instead of an object")
    return body


_JSON_NAMES = {
    type(None): "null", list: "array", str: "string",
    int: "number", float: "number", bool: "boolean",
}  # fmt: skip


def _first_choice(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        error = body.get("error")
        if error:
            raise Malformed("an error object instead of choices")
        raise Malformed("no choices")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise Malformed("a choice that is not an object")
    return choice, body


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
