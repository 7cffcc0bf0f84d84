"""What one failed attempt means: retry, rest the endpoint, slow it down, or stop and say why.

Pure classification of what a server did (an error status, a garbled answer, a dropped
connection, no answer in time) into a `Failure`, whose words are safe to show: the API key is
masked before anything is shortened. The backend applies the verdict to its fleet.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import BackendError
from ..text.redact import redact_text, redact_url
from .responses import error_detail, mask, shorten
from .retry import quota_reset, retry_after

RETRY_STATUSES = frozenset({408, 409, 425, 429})
"""Client-side statuses that ask to try again later."""
FINAL_5XX = frozenset({501, 505})
"""Server-side statuses that another try will not change."""
HINTS = {
    400: "check the model name and the generation parameters (max_tokens may exceed the context)",
    401: "set the {key_env} environment variable or pass api_key=",
    403: "the API key may not use this model or endpoint",
    404: "check the model name ({model!r}) and that the base URL ends in /v1",
    405: "the base URL does not serve the OpenAI API: check that it ends in /v1",
    413: "the request is too large for the server: shorten the prompts or lower max_tokens",
    422: "check the model name and the generation parameters (max_tokens may exceed the context)",
    501: "the server does not implement {path}: switch between chat and completion mode",
}
"""What to do about a status that retrying cannot fix."""
FORMAT_STATUSES = frozenset({400, 422, 500})
"""Statuses a server refuses a `response_format` with (llama-cpp-python: 500, its validator's)."""
RATE_LIMIT_HINT = "the server keeps rate-limiting: lower --concurrency (concurrency= in Python)"


@dataclass
class Failure:
    """Why one attempt failed (`what`, `hint`: safe to show) and what that implies."""

    what: str
    hint: str
    retry: bool = True
    down: bool = False
    """The endpoint looks unwell: rest it (in a fleet) and count the failure."""
    throttle: bool = False
    """The endpoint asked us to slow down (429, Retry-After): cut its in-flight limit."""
    retry_after: float | None = None
    """Seconds the server asked this request to wait."""
    pause: float | None = None
    """Seconds until the endpoint's spent x-ratelimit quota resets."""
    malformed: bool = False
    status: int | None = None
    detail: str = ""
    """The server's own words (its error message, key masked), for a caller that adapts to it."""
    format_refused: bool = False
    """The server refused the `response_format` sent: a fact about it, not a fault to retry."""


class Refused(BackendError):
    """A request the server refused for good (4xx); `status` and `detail` say how, so a caller
    may change the request and send it again (`request_shape.py`)."""

    def __init__(self, message: str, status: int | None, detail: str) -> None:
        super().__init__(message)
        self.status, self.detail = status, detail


def names_format(message: str) -> bool:
    """Whether an error message is about the response format (what a refusal of it names)."""
    low = message.lower()
    return "response_format" in low or "json_schema" in low or "json_object" in low


def refusal(
    status: int, headers: Mapping[str, str], body: bytes, key: str, **context: str
) -> Failure:
    """What a non-2xx answer means; `context` fills the hints (key_env, model, path)."""
    detail = error_detail(body, key)
    said = f"answered {status} ({detail})" if detail else f"answered {status}"
    wait = retry_after(headers)
    verdict = Failure(
        said, "", status=status, retry_after=wait, pause=quota_reset(headers), detail=detail
    )
    verdict.throttle = wait is not None or status == 429
    if status in FORMAT_STATUSES and names_format(error_detail(body, key, 2000)):
        verdict.hint, verdict.retry, verdict.format_refused = "use --structured off", False, True
    elif status == 429:
        verdict.hint = RATE_LIMIT_HINT
    elif status in RETRY_STATUSES:
        verdict.hint = "check the server's logs"
    elif status >= 500 and status not in FINAL_5XX:
        verdict.hint, verdict.down = "the server keeps failing: check its logs", True
    elif 300 <= status < 400:
        where = redact_url(mask(headers.get("location", "elsewhere"), key))
        verdict.hint, verdict.retry = f"the base URL redirects to {where!r}: use that URL", False
    else:
        verdict.hint, verdict.retry = HINTS.get(status, HINTS[400]).format(**context), False
    return verdict


def garbled(status: int, problem: str) -> Failure:
    """A 2xx answer that is not what the API returns (`problem` from `Malformed`)."""
    hint = "it does not answer like an OpenAI-compatible API: check the base URL"
    return Failure(
        f"answered {status} with {problem}",
        f"{hint} (it usually ends in /v1)",
        down=True,
        malformed=True,
        status=status,
    )


UNRESOLVED = ("name or service not known", "nodename nor servname", "no address associated")
"""How resolvers say a host name does not exist (not "temporary failure": that is retried)."""


def dropped(exc: BaseException, key: str) -> Failure:
    """The connection failed or broke before a whole answer came back.

    A host name that does not resolve fails at once: a name that does not exist will not start
    to, unlike a server that is restarting.
    """
    text = str(exc).strip()
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    said = f"failed ({shorten(redact_text(mask(text, key)), 200)})"
    if _unresolved(exc):
        hint = "its host name does not resolve: check the host in the base URL (a typo?)"
        return Failure(said, hint, retry=False)
    return Failure(said, "is the server up, and does the base URL end in /v1?", down=True)


def _unresolved(exc: BaseException | None) -> bool:
    """Whether `exc` (or an exception it was raised from) says the host name does not exist."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_NONAME:
            return True
        if any(words in str(exc).lower() for words in UNRESOLVED):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def timed_out(seconds: float) -> Failure:
    """No whole answer within the request timeout."""
    return Failure(
        f"did not answer within {seconds:g} s",
        f"raise the request timeout (now {seconds:g} s) or lower max_tokens",
        down=True,
    )
