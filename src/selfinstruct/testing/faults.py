"""Ways for the stub to misbehave on a request (`Fault`), when (`Window`), and at random.

A fault is plain data; the server (server.py, responses.py) acts it out.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

FaultKind = Literal[
    "http", "truncated", "cut", "empty_choices", "html", "bad_utf8", "surrogate",
    "drip", "stall", "close", "reset", "refuse", "garbage",
]  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """One way to misbehave on one request; build them with the class methods."""

    kind: FaultKind
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    interval: float = 1.0
    echo_auth: bool = True
    """Error bodies quote the request's Authorization header, as a careless server might."""

    @classmethod
    def http(
        cls,
        status: int,
        retry_after: str | float | None = None,
        headers: dict[str, str] | None = None,
        echo_auth: bool = True,
    ) -> Fault:
        """An error status with an OpenAI-style JSON error body (and Retry-After if given)."""
        pairs = dict(headers or {})
        if retry_after is not None:
            pairs["Retry-After"] = str(retry_after)
        return cls("http", status, tuple(pairs.items()), echo_auth=echo_auth)

    @classmethod
    def truncated(cls) -> Fault:
        """Status 200 and a well-framed body holding the first half of the JSON."""
        return cls("truncated")

    @classmethod
    def cut(cls) -> Fault:
        """Status 200 announcing the full length, half the body, then the connection closes."""
        return cls("cut")

    @classmethod
    def empty_choices(cls) -> Fault:
        return cls("empty_choices")

    @classmethod
    def html(cls, status: int = 200) -> Fault:
        """An HTML page (a proxy's or a web UI's) instead of JSON."""
        return cls("html", status)

    @classmethod
    def bad_utf8(cls) -> Fault:
        """A JSON body whose text holds bytes that are not UTF-8."""
        return cls("bad_utf8")

    @classmethod
    def surrogate(cls) -> Fault:
        """A reply whose text holds a lone surrogate (JSON "\\ud800")."""
        return cls("surrogate")

    @classmethod
    def drip(cls, interval: float = 1.0) -> Fault:
        """Status 200, then the body one byte every `interval` seconds."""
        return cls("drip", interval=interval)

    @classmethod
    def stall(cls) -> Fault:
        """Read the request and never answer."""
        return cls("stall")

    @classmethod
    def close(cls) -> Fault:
        """Close the connection without a response."""
        return cls("close")

    @classmethod
    def garbage(cls) -> Fault:
        """Bytes that are not HTTP at all (another protocol on that port), then close."""
        return cls("garbage")

    @classmethod
    def reset(cls) -> Fault:
        """Reset the connection (TCP RST) without a response."""
        return cls("reset")


@dataclass(frozen=True)
class Window:
    """`fault` for every request arriving in [start, end) seconds of the server's clock."""

    start: float
    end: float
    fault: Fault


def random_faults(spec: list[str], seed: int) -> Callable[[int], Fault | None] | None:
    """`--fault 503:0.05 --fault close:0.01` -> a seeded function of the request number."""
    if not spec:
        return None
    table: list[tuple[float, Fault]] = []
    for item in spec:
        name, _, share = item.partition(":")
        fault = Fault.http(int(name), "1") if name.isdigit() else Fault(name)  # type: ignore[arg-type]
        table.append((float(share or 0.05), replace(fault, echo_auth=False)))

    def pick(number: int) -> Fault | None:
        draw = random.Random(seed * 7_919 + number).random()
        for share, fault in table:
            if draw < share:
                return fault
            draw -= share
        return None

    return pick
