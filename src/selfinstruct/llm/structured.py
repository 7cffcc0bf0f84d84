"""Structured outputs: which `response_format` an endpoint takes, found once, and when to stop.

Servers differ. OpenAI, vLLM, SGLang and llama.cpp's own `llama-server` take
`{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`; llama-cpp-python's
server refuses that type (a 500 naming `response_format`) and takes
`{"type": "json_object", "schema": ...}`. The first request that carries a schema tries them
in that order (the others wait for the answer), and the one that works is used for the rest of
the run, said in one log line. Under mode `auto` an endpoint that takes neither gets plain
requests, and so does one whose JSON keeps failing to parse or fit the schema; under `on` the
first is an error. The stage reads every answer leniently either way, JSON first, then text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..errors import BackendError, ConfigError
from ..json_text import read_json
from .failures import Refused

T = TypeVar("T")
log = logging.getLogger(__name__)

MODES = ("auto", "on", "off")
KINDS = ("json_schema", "json_object")
"""The `response_format` types tried, in order."""
TEXT = "text"
UNUSABLE_LIMIT = 5
"""Answers in a row whose JSON is unusable before `auto` stops asking for JSON."""


class FormatRefused(Refused):
    """The server refused the `response_format` sent (not a fault that retrying mends)."""


def response_format(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The `response_format` body of `kind` for `schema` (its "title" names it)."""
    name = str(schema.get("title") or "answer")
    body = {k: v for k, v in schema.items() if k != "title"}
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": body, "strict": True},
        }
    return {"type": "json_object", "schema": body}


def fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether `value` has the shape `schema` asks (the keywords our schemas use)."""
    kind = schema.get("type")
    if "anyOf" in schema:
        return any(fits(value, option) for option in schema["anyOf"])
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "object":
        props = schema.get("properties", {})
        return (
            isinstance(value, dict)
            and all(k in value for k in schema.get("required", ()))
            and all(fits(value[k], s) for k, s in props.items() if k in value)
        )
    if kind == "array":
        items = schema.get("items", {})
        return isinstance(value, list) and all(fits(v, items) for v in value)
    checks: dict[Any, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }
    return checks.get(kind, lambda v: True)(value)


def usable(text: str, schema: dict[str, Any]) -> bool:
    """Whether an answer holds JSON of the shape `schema` asks."""
    value = read_json(text)
    return value is not None and fits(value, schema)


class Negotiation:
    """What one backend sends per API path: a `response_format` kind, or plain text."""

    def __init__(self, mode: str = "auto", where: str = "the server") -> None:
        if mode not in MODES:
            raise ConfigError(f"structured must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode, self.where = mode, where
        self.kinds: dict[str, str] = {}
        """The settled kind per API path ("/chat/completions": "json_object")."""
        self.fallback: dict[str, str] = {}
        """Why a path went back to text, when it did."""
        self._unusable: dict[str, int] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    def wanted(self, schema: dict[str, Any] | None) -> bool:
        return schema is not None and self.mode != "off"

    def report(self) -> dict[str, Any]:
        """What was sent, for run.json."""
        return {"mode": self.mode, "sent": dict(self.kinds), "fallback": dict(self.fallback)}

    async def send(
        self,
        path: str,
        schema: dict[str, Any],
        call: Callable[[dict[str, Any] | None], Awaitable[T]],
    ) -> T:
        """`call(response_format or None)` as `path` allows, settling that on its first use."""
        while True:
            kind = self.kinds.get(path)
            if kind is None:
                async with self._lock(path):
                    if path not in self.kinds:
                        return await self._settle(path, schema, call)
                continue
            if kind == TEXT:
                return await call(None)
            try:
                return await call(response_format(kind, schema))
            except FormatRefused as exc:  # this schema, though an earlier one went through
                self._step_down(path, kind, str(exc))

    def note(self, path: str, text: str, schema: dict[str, Any]) -> None:
        """Count an answer whose JSON is unusable; `auto` goes back to text after a run of them."""
        if self.kinds.get(path, TEXT) == TEXT:
            return
        if usable(text, schema):
            self._unusable[path] = 0
            return
        self._unusable[path] = count = self._unusable.get(path, 0) + 1
        if count == UNUSABLE_LIMIT:
            if self.mode == "auto":
                self._to_text(path, f"{count} answers in a row held no usable JSON")
            else:
                log.warning(
                    "structured outputs: %d answers in a row from %s held no usable JSON; "
                    "reading them as text (--structured auto would stop asking for JSON)",
                    count, self.where,
                )  # fmt: skip

    async def _settle(
        self,
        path: str,
        schema: dict[str, Any],
        call: Callable[[dict[str, Any] | None], Awaitable[T]],
    ) -> T:
        """Try each kind on this request; the first that is not refused is the path's."""
        refusals = []
        for kind in KINDS:
            try:
                result = await call(response_format(kind, schema))
            except FormatRefused as exc:
                refusals.append(f"{kind}: {exc}")
                continue
            self.kinds[path] = kind
            log.info("structured outputs: %s%s takes response_format %s", self.where, path, kind)
            return result
        self._refused_all(path, "; ".join(refusals))
        return await call(None)

    def _step_down(self, path: str, kind: str, why: str) -> None:
        later = KINDS[KINDS.index(kind) + 1 :]
        if later:
            self.kinds[path] = later[0]
            log.info(
                "structured outputs: %s%s refused %s; sending %s", self.where, path, kind, later[0]
            )
        else:
            self._refused_all(path, why)

    def _refused_all(self, path: str, why: str) -> None:
        if self.mode == "on":
            raise BackendError(
                f"--structured on: {self.where}{path} takes neither response_format "
                f"{' nor '.join(KINDS)} ({why}); use --structured auto or off"
            )
        self._to_text(path, f"it takes neither response_format {' nor '.join(KINDS)}")

    def _to_text(self, path: str, why: str) -> None:
        self.kinds[path], self.fallback[path] = TEXT, why
        log.warning("structured outputs: %s%s: %s; reading answers as text", self.where, path, why)

    def _lock(self, path: str) -> asyncio.Lock:
        """One lock per event loop and path (a lock belongs to the loop it is used in)."""
        key = (id(asyncio.get_running_loop()), path)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
