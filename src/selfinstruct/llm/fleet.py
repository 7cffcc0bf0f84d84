"""Spread requests over several OpenAI-compatible endpoints by load; rest the ones that fail."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def parse_base_urls(base_url: str | Sequence[str] | None) -> list[str]:
    """Split a comma-separated string (as the CLI passes it) or a list into clean endpoint URLs."""
    if base_url is None:
        return []
    parts = base_url.split(",") if isinstance(base_url, str) else list(base_url)
    return [p.strip().rstrip("/") for p in parts if p and p.strip()]


@dataclass
class Endpoint:
    """One server: how busy it is now and whether it is resting after a failure."""

    url: str
    in_flight: int = 0
    sent: int = 0
    failures: int = 0
    """Consecutive failures; grows the cooldown, reset by a success."""
    dead_until: float = 0.0

    def alive(self, now: float) -> bool:
        """Rested enough, and not already being probed by one request after a failure."""
        return self.dead_until <= now and not (self.failures and self.in_flight)


class Fleet:
    """Pick the live endpoint with the fewest requests in flight (ties by round robin).

    An endpoint that fails (connection error, timeout, 5xx) rests for `cooldown_min` seconds,
    doubling per consecutive failure up to `cooldown_max`; then one request probes it, and a
    success brings it back into the rotation. A fleet of one never rests its only endpoint: the
    retry backoff alone paces it. Not thread-safe: use it from one event loop, where picking and
    counting cannot interleave.
    """

    def __init__(
        self,
        urls: Sequence[str],
        cooldown_min: float = 5.0,
        cooldown_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("a fleet needs at least one endpoint URL")
        self.endpoints = [Endpoint(url) for url in urls]
        self.cooldown_min, self.cooldown_max = cooldown_min, cooldown_max
        self._clock = clock
        self._next = 0

    def pick(self) -> Endpoint:
        """The endpoint the next request should go to; when all rest, the one that wakes first."""
        now = self._clock()
        n = len(self.endpoints)
        order = [self.endpoints[(self._next + i) % n] for i in range(n)]
        live = [e for e in order if e.alive(now)]
        if live:
            best = min(live, key=lambda e: e.in_flight)  # min keeps the first of ties
        else:
            best = min(order, key=lambda e: e.dead_until)
        self._next = (self.endpoints.index(best) + 1) % n
        return best

    def seconds_until_live(self) -> float:
        """0 when some endpoint is live, else how long until the first one wakes."""
        now = self._clock()
        return max(0.0, min(e.dead_until for e in self.endpoints) - now)

    def any_live(self) -> bool:
        return self.seconds_until_live() == 0.0

    def mark_failed(self, endpoint: Endpoint) -> None:
        """Rest `endpoint` for a cooldown that grows with its consecutive failures."""
        endpoint.failures += 1
        if len(self.endpoints) > 1:
            rest = min(self.cooldown_max, self.cooldown_min * 2 ** (endpoint.failures - 1))
            endpoint.dead_until = self._clock() + rest

    def mark_ok(self, endpoint: Endpoint) -> None:
        endpoint.failures = 0
        endpoint.dead_until = 0.0

    def describe(self) -> str:
        """The endpoint URLs, for error messages."""
        return ", ".join(e.url for e in self.endpoints)
