"""Concurrent requests, folded strictly in request order: the bootstrap loop's scheduler.

Request ids count up from `first`. Up to `capacity` requests are out at once, in calls of
`group` (a backend's batch), never more than `window` ahead of the next one to fold, so a caller
that lets request i see its state as of request i - window - 1 is reproducible whatever the
timing. The caller decides what a request is (`submit`) and what its answer does (`fold`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ...llm.base import Completion

FOLD_SLICE = 16
"""Answers folded at a time before the loop lets other answers in and new requests out."""

Fold = Callable[[list[tuple[int, Completion]]], bool]
"""Folds consecutive answers (request id, completion); True ends the run (target reached)."""


@dataclass
class Scheduler:
    """What to send and fold, and the limits to send them under (see the module docstring)."""

    submit: Callable[[range], Awaitable[list[Completion]]]
    """Starts one backend call for consecutive request ids."""
    fold: Fold
    first: int
    group: int
    capacity: int
    spent: Callable[[], bool] = lambda: False
    """True when no more requests may go out (a token budget is used up)."""
    stalled: Callable[[int], bool] = lambda next_fold: False
    """True when the run should stop, given the next request id to fold."""
    made: Callable[[], int] = lambda: 0
    """Items (instructions) the folds since `first` produced."""
    wanted: Callable[[], int] = lambda: 0
    """Items still wanted; with `made`, how many requests are worth sending (see `worth`)."""
    forget: Callable[[int], None] = lambda before: None
    """Called with the oldest request id any later request can still look back to."""

    @property
    def window(self) -> int:
        return 2 * self.capacity

    def worth(self, next_fold: int) -> float:
        """Requests worth having out (sent, not folded): what the items still wanted take at
        the yield so far, plus a quarter. Whatever is out when the target is reached is thrown
        away: at a thousand in flight, without this, up to two thousand answers a run."""
        folded, made = next_fold - self.first, self.made()
        if folded < 1 or made < 1:
            return math.inf
        return 1.25 * self.wanted() * folded / made + 1

    async def run(self) -> str:
        """Keep requests in flight and fold finished ones in order until one of the stops:
        "target_reached", "stalled", "token_budget" or "exhausted" (nothing left worth sending).
        """
        group, capacity, window = self.group, self.capacity, self.window
        in_flight: dict[int, asyncio.Task[list[Completion]]] = {}  # first request id -> task
        finished: list[int] = []  # first request ids of the calls that ended since the last look
        woken = asyncio.Event()
        done: dict[int, Completion] = {}
        next_request = next_fold = self.first

        def ended(first: int) -> Callable[[object], None]:
            # a callback per call, not asyncio.wait over all of them: that costs O(in flight)
            def note(_: object) -> None:
                finished.append(first)
                woken.set()

            return note

        try:
            while True:
                spent = self.spent()
                busy = next_request - next_fold - len(done)
                worth = self.worth(next_fold)
                while (
                    not spent
                    and busy + group <= capacity
                    and next_request + group <= next_fold + window + 1
                    and next_request - next_fold < worth
                ):
                    ids = range(next_request, next_request + group)
                    task = asyncio.ensure_future(self.submit(ids))
                    task.add_done_callback(ended(next_request))
                    in_flight[next_request] = task
                    next_request += group
                    busy += group
                if not in_flight and next_fold == next_request:
                    return "token_budget" if spent else "exhausted"
                if self.stalled(next_fold):
                    return "stalled"
                if next_fold in done:
                    await asyncio.sleep(0)  # answers in, requests out, between slices of a fold
                else:
                    await woken.wait()
                woken.clear()
                for first in finished:
                    for offset, completion in enumerate(in_flight.pop(first).result()):
                        done[first + offset] = completion
                finished.clear()
                batch: list[tuple[int, Completion]] = []
                while next_fold in done and len(batch) < FOLD_SLICE:
                    batch.append((next_fold, done.pop(next_fold)))
                    next_fold += 1
                if batch and self.fold(batch):
                    return "target_reached"
                self.forget(next_fold - window - 1)
        finally:
            for task in in_flight.values():
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight.values(), return_exceptions=True)
