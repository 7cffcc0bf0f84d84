"""Connection lanes: each endpoint's requests spread over small connection pools, filled in order.

httpcore's pool does work in proportion to its connections each time a request starts or ends
(it walks them all, and asks each idle socket whether the server closed it: a system call), so
one pool holding very many connections costs the loop more per request than the request itself
(measured in docs/backends.md). So each endpoint gets lanes: openai clients on their own HTTP
client, each carrying at most `size` requests at once. A request takes the first lane with room
(a new lane opens when all are full), so a light load stays on the first lanes and idle
connections do not pile up in the busy ones. Plain bookkeeping for one event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LANE_SIZE = 32
"""Requests one lane (one connection pool) carries at once: small enough that the pool's
per-request walk stays cheap, large enough that a large fleet needs few clients."""


@dataclass(eq=False)
class Lane:
    """One openai client on its own connection pool, and the requests it carries now."""

    client: Any
    http: Any
    in_flight: int = 0


class Lanes:
    """The lanes of one event loop, per endpoint URL, opened on first use by `open(url)`.

    `open(url)` returns (openai client, its HTTP client). With `shared` (an HTTP client the user
    passed in) every endpoint has one lane on it, as the user asked.
    """

    def __init__(
        self, open: Callable[[str], tuple[Any, Any]], size: int = LANE_SIZE, shared: bool = False
    ) -> None:
        self._open, self.size, self.shared = open, size, shared
        self._lanes: dict[str, list[Lane]] = {}

    def take(self, url: str) -> Lane:
        """The lane for the next request to `url`; give it back with `give`."""
        lanes = self._lanes.get(url)
        if lanes is None:
            lanes = self._lanes[url] = []
        for lane in lanes:
            if lane.in_flight < self.size or self.shared:
                break
        else:
            lane = Lane(*self._open(url))
            lanes.append(lane)
        lane.in_flight += 1
        return lane

    @staticmethod
    def give(lane: Lane) -> None:
        lane.in_flight -= 1

    def http_clients(self) -> list[Any]:
        """Every HTTP client the lanes hold, once each (to close them)."""
        seen: dict[int, Any] = {}
        for lanes in self._lanes.values():
            for lane in lanes:
                seen.setdefault(id(lane.http), lane.http)
        return list(seen.values())
