"""Hand out request slots: at most `cap` requests in flight overall, each endpoint within its limit.

Requests that find no room queue up first come, first served; a slot coming free (a request
ending, a limit growing) or a resting endpoint waking wakes as many of them as there is room.
One gate serves one event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque

from .fleet import Endpoint, Fleet


class Gate:
    """The slots of one event loop over a `Fleet` (which persists across loops)."""

    def __init__(self, fleet: Fleet, cap: int) -> None:
        self.fleet, self.cap = fleet, cap
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self) -> Endpoint:
        """Wait for room, then take a slot on the endpoint the fleet picks."""
        waiters = self._waiters
        while waiters and waiters[0].done():  # cancelled while queued
            waiters.popleft()
        endpoint = None if waiters else self._take()
        while endpoint is None:
            waiter = asyncio.get_running_loop().create_future()
            waiters.append(waiter)
            self._arm_timer()
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # we were woken, and hand the wake-up on
                raise
            endpoint = self._take()
        return endpoint

    def release(self, endpoint: Endpoint) -> None:
        """Give the slot back (after the fleet has heard how the request went)."""
        endpoint.in_flight -= 1
        self.in_flight -= 1
        if self._waiters:
            self._wake()

    def _take(self) -> Endpoint | None:
        if self.in_flight >= self.cap:
            return None
        endpoint = self.fleet.pick()
        if endpoint is not None:
            endpoint.in_flight += 1
            endpoint.sent += 1
            self.in_flight += 1
        return endpoint

    def _wake(self) -> None:
        """Wake as many waiters, oldest first, as there is room for now; if some must still
        wait, make sure the first endpoint to wake from a rest or pause wakes them."""
        room = min(self.cap - self.in_flight, self.fleet.room())
        while room > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1
        if self._waiters:
            self._arm_timer()

    def _arm_timer(self) -> None:
        delay = self.fleet.next_wake()
        if delay is None:
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        if self._timer is not None:
            if self._timer.when() <= when:
                return
            self._timer.cancel()
        self._timer = loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._wake()
