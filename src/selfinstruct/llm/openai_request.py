"""The body of a completion request, and its negotiation with the endpoint.

Sampling fields come from `GenerationParams` (with the server kind's own samplers set neutral:
`servers.py`); a refusal that names a parameter changes the request's shape (`request_shape.py`)
and the request goes again, up to `ADAPT_LIMIT` times.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .base import Completion, GenerationParams, Prompt
from .failures import Refused
from .openai_http import Body
from .request_shape import RequestShape
from .responses import parse_completion
from .servers import NEUTRAL
from .structured import FormatRefused

ADAPT_LIMIT = 8
"""Refusals one request adapts to (a parameter renamed or dropped each time) before giving up."""
_PARSERS = (lambda data: parse_completion(data, False), lambda data: parse_completion(data, True))

Call = Callable[[str, Body, Callable[[bytes], Completion]], Awaitable[tuple[Completion, str]]]
"""Send (path, body, parser) until an endpoint answers: (the completion, its URL)."""


def sampling_fields(params: GenerationParams, server: str) -> dict[str, Any]:
    """What every sample of a request carries beside the prompt (one sample each: `n` is 1)."""
    args: dict[str, Any] = {
        **NEUTRAL[server],
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
        "n": 1,
    }
    if params.stop:
        args["stop"] = list(params.stop)
    return args


def seeded(args: dict[str, Any], seed: int | None, sample: int) -> dict[str, Any]:
    """`args` for sample number `sample`: with a seed, sample i uses seed + i."""
    return args if seed is None else {**args, "seed": seed + sample}


def request_for(model: str, prompt: Prompt, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(API path, body) for one prompt: a `str` to /completions, chat messages to
    /chat/completions."""
    if isinstance(prompt, str):
        return "/completions", {"model": model, "prompt": prompt, **args}
    return "/chat/completions", {"model": model, "messages": prompt, **args}


def with_format(body: dict[str, Any], form: dict[str, Any] | None) -> dict[str, Any]:
    """`body` with `response_format` set to `form` (unchanged when None)."""
    return body if form is None else {**body, "response_format": form}


async def send_adapted(
    call: Call, shape: RequestShape, path: str, body: dict[str, Any]
) -> tuple[Completion, str]:
    """`body` sent until the endpoint takes it, adapted to what its refusals name."""
    chat = path == "/chat/completions"
    sent: list[dict[str, Any]] = []

    def shaped() -> dict[str, Any]:  # shaped when sent: what earlier refusals taught
        sent.append(shape.apply(body, chat))
        return sent[-1]

    for attempt in range(ADAPT_LIMIT):
        try:
            return await call(path, shaped, _PARSERS[chat])
        except FormatRefused:
            raise  # the structured negotiation's to handle, not a parameter to drop
        except Refused as exc:
            learnt = shape.learn(exc.status, exc.detail, sent[-1] if sent else ())
            unchanged = not sent or shape.apply(body, chat) == sent[-1]
            if attempt + 1 == ADAPT_LIMIT or (not learnt and unchanged):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
