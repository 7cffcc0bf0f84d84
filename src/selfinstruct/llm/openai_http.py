"""One HTTP exchange with one endpoint through an `openai.AsyncOpenAI` client, and its outcome.

The client's documented low-level call `client.post(path, cast_to=httpx.Response, content=...)`
lets the `openai` package do the HTTP (base URL, auth and its own headers, timeouts, connection
pool) while we get the raw response, parsed from its bytes (`responses.py`). What went wrong (a
status, a dropped connection, no answer in time, a garbled body) becomes a `Failure`
(`failures.py`) with the API key masked out.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import openai

from ..text.redact import split_credentials
from .failures import Failure, dropped, garbled, refusal, timed_out
from .lanes import LANE_SIZE
from .responses import Malformed

try:  # openai >= 3 ships httpx2, older releases httpx; the API we use is the same
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx  # type: ignore[no-redef]

T = TypeVar("T")
Body = dict[str, Any] | Callable[[], dict[str, Any]] | None
"""A request body, or a function giving it when it is sent (None: a GET)."""

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection: a host that takes longer is treated as down."""
_POST_TAKES_BYTES = "content" in inspect.signature(openai.AsyncOpenAI.post).parameters
"""Recent openai releases post bytes we encoded (cheaper than their encoder); older take a dict."""


def _timeout(seconds: float) -> Any:
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


def new_tls() -> Any:
    """A TLS context to share between HTTP clients (each would otherwise load the CA bundle)."""
    return httpx.create_ssl_context()


def pooled_http_client(seconds: float, tls: Any) -> Any:
    """An HTTP client with a connection pool of its own: one lane (`lanes.py`)."""
    return openai.DefaultAsyncHttpxClient(
        timeout=_timeout(seconds),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=LANE_SIZE),
        follow_redirects=False,  # a redirect is a wrong base URL: say so
        verify=tls,
    )


def openai_client(url: str, key: str, seconds: float, http: Any) -> openai.AsyncOpenAI:
    """An openai client for `url` (its credentials as headers and query) on `http`, its own
    retries off: ours know about the fleet."""
    base, query, headers = split_credentials(url)
    return openai.AsyncOpenAI(
        api_key=key, base_url=base, timeout=_timeout(seconds), max_retries=0, http_client=http,
        default_headers=headers or None, default_query=query or None,
    )  # fmt: skip


async def exchange(
    client: openai.AsyncOpenAI,
    path: str,
    body: dict[str, Any] | None,
    parse: Callable[[bytes], T],
    seconds: float,
    key: str,
    context: dict[str, str],
) -> tuple[T, Any] | Failure:
    """(The parsed answer, the response headers), or why not; `context` fills refusal hints.

    `body` is POSTed as JSON, or None for a GET; `cast_to=httpx.Response` makes the client hand
    back the raw response whatever its body, so a garbled answer is ours to judge.
    """
    if body is None:
        request = client.get(path, cast_to=httpx.Response)
    elif _POST_TAKES_BYTES:
        request = client.post(path, cast_to=httpx.Response, content=json.dumps(body).encode())
    else:  # pragma: no cover - depends on the installed openai
        request = client.post(path, cast_to=httpx.Response, body=body)
    try:
        response = await within(seconds, request)
    except asyncio.TimeoutError:  # before OSError: TimeoutError is one
        return timed_out(seconds)
    except openai.APIStatusError as exc:  # any status but 2xx, its body read
        answer = exc.response
        return refusal(answer.status_code, answer.headers, answer.content, key, **context)
    except openai.APIConnectionError as exc:  # and APITimeoutError: the transport failed
        return dropped(exc.__cause__ or exc, key)
    except (httpx.HTTPError, OSError) as exc:
        return dropped(exc, key)
    try:
        return parse(response.content), response.headers
    except Malformed as exc:
        return garbled(response.status_code, str(exc))


if sys.version_info >= (3, 11):

    async def within(seconds: float, awaitable: Awaitable[T]) -> T:
        """`await awaitable`, cancelled after `seconds` in all (asyncio.TimeoutError)."""
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def within(seconds: float, awaitable: Awaitable[T]) -> T:
        return await asyncio.wait_for(awaitable, seconds)
