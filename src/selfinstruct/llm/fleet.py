"""Spread requests over OpenAI-compatible endpoints: by load, within each one's adaptive limit.

Each endpoint has an in-flight limit that adapts like TCP's congestion window (AIMD): a 429 or
a Retry-After halves it, each answer adds 1/limit to it (about +1 per round of requests), up to
the backend's overall concurrency. An endpoint that fails (connection error, timeout, 5xx, a
garbled answer) rests for a cooldown, and one whose x-ratelimit quota is spent is paused until
the quota resets. Pure bookkeeping with an injectable clock;
`gate.Gate` does the waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..text.redact import redact_url


def parse_base_urls(base_url: str | Sequence[str] | None) -> list[str]:
    """Split a comma-separated string (as the CLI passes it) or a list into clean endpoint URLs."""
    if base_url is None:
        return []
    parts = base_url.split(",") if isinstance(base_url, str) else list(base_url)
    return [p.strip().rstrip("/") for p in parts if p and p.strip()]


@dataclass(eq=False)
class Endpoint:
    """One server: its load, its current in-flight limit, and whether it is resting or paused."""

    url: str
    """The URL requests go to, credentials included: never shown (see `name`)."""
    limit: float = 8.0
    """Requests it may have in flight now (AIMD); the integer part counts, at least 1."""
    in_flight: int = 0
    sent: int = 0
    failures: int = 0
    """Consecutive failures; grows the cooldown, reset by a success."""
    dead_until: float = 0.0
    paused_until: float = 0.0
    """Held back until then: its x-ratelimit quota is spent until it resets."""
    epoch: int = 0
    """How many times the limit was cut; a 429 to a request sent before the last cut is old news."""
    answered: bool = False
    """It has answered a well-formed completion: a garbled body from it is a transient fault."""
    name: str = field(default="", compare=False)
    """The URL as shown and recorded: without user-info, secret query values masked."""

    def __post_init__(self) -> None:
        self.name = self.name or redact_url(self.url)

    def alive(self, now: float) -> bool:
        """Rested, not paused, and not already being probed by one request after a failure."""
        return (
            self.dead_until <= now
            and self.paused_until <= now
            and not (self.failures and self.in_flight)
        )

    def room(self, now: float) -> int:
        """How many more requests it may take now (one probe only after a failure)."""
        if not self.alive(now):
            return 0
        allowed = 1 if self.failures else max(1, int(self.limit))
        return max(0, allowed - self.in_flight)


class Fleet:
    """Pick the endpoint with room whose load (in flight / limit) is lowest, ties by round robin.

    A failing endpoint rests for `cooldown_min` seconds, doubling per consecutive failure up to
    `cooldown_max`; then one request probes it, and a success brings it back. A fleet of one
    never rests its only endpoint (the retry backoff paces it) but does honour pauses. Not
    thread-safe: use it from one event loop, where picking and counting cannot interleave.
    """

    def __init__(
        self,
        urls: Sequence[str],
        cooldown_min: float = 5.0,
        cooldown_max: float = 30.0,
        *,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("a fleet needs at least one endpoint URL")
        self.max_in_flight = max_in_flight
        self.endpoints = [Endpoint(url, limit=float(max_in_flight)) for url in urls]
        self.cooldown_min, self.cooldown_max = cooldown_min, cooldown_max
        self._clock = clock
        self._next = 0

    def pick(self) -> Endpoint | None:
        """The endpoint the next request should go to, or None when none has room now."""
        now = self._clock()
        endpoints, n = self.endpoints, len(self.endpoints)
        best, best_load = None, 0.0
        for i in range(n):
            endpoint = endpoints[(self._next + i) % n]
            if endpoint.room(now):
                load = endpoint.in_flight / endpoint.limit
                if best is None or load < best_load:
                    best, best_load = endpoint, load
        if best is not None and n > 1:
            self._next = (endpoints.index(best) + 1) % n
        return best

    def room(self) -> int:
        """Requests the fleet may take now, summed over endpoints."""
        now = self._clock()
        return sum(e.room(now) for e in self.endpoints)

    def next_wake(self) -> float | None:
        """Seconds until the first resting or paused endpoint wakes; None if none rests."""
        now = self._clock()
        waits = [
            max(e.dead_until, e.paused_until) - now
            for e in self.endpoints
            if max(e.dead_until, e.paused_until) > now
        ]
        return min(waits) if waits else None

    def any_live(self) -> bool:
        now = self._clock()
        return any(e.alive(now) for e in self.endpoints)

    def mark_failed(self, endpoint: Endpoint) -> None:
        """Rest `endpoint` for a cooldown that grows with its consecutive failures."""
        endpoint.failures += 1
        if len(self.endpoints) > 1:
            rest = min(self.cooldown_max, self.cooldown_min * 2 ** (endpoint.failures - 1))
            endpoint.dead_until = self._clock() + rest

    def mark_ok(self, endpoint: Endpoint) -> None:
        """It answered: back in the rotation, and its limit grows by 1/limit (additively)."""
        endpoint.failures = 0
        endpoint.dead_until = 0.0
        if endpoint.limit < self.max_in_flight:
            endpoint.limit = min(self.max_in_flight, endpoint.limit + 1.0 / endpoint.limit)

    def throttle(self, endpoint: Endpoint, epoch: int) -> None:
        """It said slow down (429, Retry-After): halve its limit, once per round of requests
        (`epoch` is the endpoint's epoch when the request was sent)."""
        if epoch == endpoint.epoch:
            endpoint.limit = max(1.0, endpoint.limit / 2)
            endpoint.epoch += 1

    def pause(self, endpoint: Endpoint, seconds: float) -> None:
        """Hold `endpoint` back for `seconds`: its request quota is spent until then."""
        endpoint.paused_until = max(endpoint.paused_until, self._clock() + seconds)

    def describe(self) -> str:
        """The endpoint URLs, for error messages (without credentials)."""
        return ", ".join(e.name for e in self.endpoints)
