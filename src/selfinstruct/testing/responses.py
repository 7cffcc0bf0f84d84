"""The bytes and JSON the stub answers with: completions, error bodies, mangled bodies, 429s.

Pure functions of the request and the server's settings, so the HTTP side (handler.py) only
reads, picks and writes.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from selfinstruct.testing.faults import Fault
from selfinstruct.testing.task_lists import count_tokens, cut, task_list
from selfinstruct.testing.thinking import Thinking

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip
ReplyFn = Callable[[str, dict[str, Any]], "str | dict[str, Any]"]


class ReplySettings(Protocol):
    """What a completion depends on besides the request (a `StubServer` has all of it)."""

    model: str
    seed: int
    reply: ReplyFn | None
    diverse: bool
    thinking: Thinking | None


def head(status: int, length: int, content_type: str, headers: dict[str, str] | None) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def error_body(message: str, auth: str, rate: bool) -> dict[str, Any]:
    """An OpenAI-style error body; quotes `auth` when a careless server would."""
    if auth:
        message += f" - request had Authorization: {auth}"
    kind = "rate_limit_exceeded" if rate else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _with_text(payload: dict[str, Any], text: str) -> dict[str, Any]:
    choice = dict(payload["choices"][0])
    if "message" in choice:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    return {**payload, "choices": [choice]}


def mangled(fault: Fault, payload: dict[str, Any]) -> bytes:
    """The body a body-mangling fault sends in place of `payload`'s JSON (as is for the rest)."""
    data = json.dumps(payload).encode()
    if fault.kind == "empty_choices":
        data = json.dumps({**payload, "choices": []}).encode()
    elif fault.kind == "truncated":
        data = data[: len(data) // 2]
    elif fault.kind == "surrogate":
        data = json.dumps(_with_text(payload, "Lone \ud800 surrogate")).encode()
    elif fault.kind == "bad_utf8":
        marker = "BAD-BYTES-HERE"
        data = json.dumps(_with_text(payload, marker)).encode()
        data = data.replace(marker.encode(), b"bad \xff\xfe\xc3 bytes")
    return data


def _prompt(body: dict[str, Any], chat: bool) -> str:
    """The request's prompt text: the chat messages' contents a line each, or the prompt."""
    if chat:
        return "\n".join(str(m.get("content", "")) for m in body.get("messages") or [])
    prompt = body.get("prompt") or ""
    return prompt if isinstance(prompt, str) else "\n".join(map(str, prompt))


def completion(
    settings: ReplySettings, path: str, body: dict[str, Any], number: int
) -> tuple[dict, int]:
    """The OpenAI JSON of a reply to `body`, and its completion tokens."""
    chat = path.endswith("/chat/completions")
    prompt = _prompt(body, chat)
    choices, completion_tokens, reasoning_tokens = [], 0, 0
    for index in range(int(body.get("n") or 1)):
        seed = f"{settings.seed}:{body.get('seed')}:{index}"
        if settings.reply is not None:
            text = settings.reply(prompt, body)
        else:
            text = task_list(prompt, seed, diverse=settings.diverse)
        if isinstance(text, dict):  # a whole message, reasoning fields and all, as given
            fields, reason = {"content": "", **text}, "stop"
            completion_tokens += count_tokens("".join(map(str, fields.values())))
        elif settings.thinking is not None:
            fields, reason, used, thought = settings.thinking.answer(prompt, body, text, chat)
            completion_tokens += used
            reasoning_tokens += thought
        else:
            text, reason = cut(text, body.get("max_tokens"), body.get("stop"))
            completion_tokens += count_tokens(text)
            fields = {"content": text}
        if chat:
            choice = {"index": index, "message": {"role": "assistant", **fields}}
        else:
            choice = {"index": index, "text": fields["content"], "logprobs": None}
        choices.append({**choice, "finish_reason": reason})
    prompt_tokens = count_tokens(prompt)
    payload: dict[str, Any] = {
        "id": f"cmpl-stub-{number}",
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": body.get("model") or settings.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    if settings.thinking is not None and settings.thinking.usage_details:
        details = {"reasoning_tokens": reasoning_tokens}
        payload["usage"]["completion_tokens_details"] = details
    return payload, completion_tokens


def refused_format(formats: frozenset[str] | None, status: int, body: dict[str, Any]) -> str | None:
    """The error message refusing the body's response_format, or None when it is taken."""
    form = body.get("response_format")
    kind = form.get("type") if isinstance(form, dict) else None
    if formats is None or kind is None or kind in formats:
        return None
    if status == 500:
        taken = " or ".join(f"'{k}'" for k in sorted(formats))
        return (
            f"1 validation error:\n  {{'type': 'literal_error', 'loc': ('body', "
            f"'response_format', 'type'), 'msg': \"Input should be {taken}\", "
            f"'input': '{kind}'}}"
        )
    return f"Invalid parameter: 'response_format' of type '{kind}' is not supported."


def too_many(rps: float | None, retry_after: str, reset: float) -> Fault:
    """A 429 for a spent requests-per-second quota, with OpenAI's x-ratelimit headers."""
    headers = {
        "x-ratelimit-limit-requests": str(int(rps or 0)),
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": f"{max(reset, 0.001) * 1000:.0f}ms",
    }
    return Fault.http(429, retry_after, headers, echo_auth=False)


def limit_headers(rps: float | None, recent: deque[float], now: float) -> dict[str, str]:
    """The x-ratelimit-* headers a success carries under an `rps` quota (none without one)."""
    if rps is None:
        return {}
    left = max(0, int(rps) - len(recent))
    reset = (recent[0] + 1.0 - now) if recent else 0.0
    return {
        "x-ratelimit-limit-requests": str(int(rps)),
        "x-ratelimit-remaining-requests": str(left),
        "x-ratelimit-reset-requests": f"{max(reset, 0.0) * 1000:.0f}ms",
    }
