"""The scheduler: in-order folds, the window, the capacity and each way it stops."""

from __future__ import annotations

import asyncio
import contextlib
import random

from selfinstruct.llm.base import Completion
from selfinstruct.stages.bootstrap.scheduler import Scheduler


def _answer(rid: int) -> Completion:
    return Completion(text=str(rid), finish_reason="stop")


def test_folds_in_request_order_within_the_window_and_capacity() -> None:
    folded: list[int] = []
    out = {"now": 0, "peak": 0}
    sent: list[tuple[int, int]] = []  # (request id, folded count when sent)

    async def submit(ids: range) -> list[Completion]:
        sent.extend((i, len(folded)) for i in ids)
        out["now"] += len(ids)
        out["peak"] = max(out["peak"], out["now"])
        await asyncio.sleep(random.Random(ids[0]).uniform(0, 0.01))  # finish out of order
        out["now"] -= len(ids)
        return [_answer(i) for i in ids]

    def fold(batch: list[tuple[int, Completion]]) -> bool:
        assert [int(c.text) for _, c in batch] == [r for r, _ in batch]
        folded.extend(r for r, _ in batch)
        return len(folded) >= 60

    s = Scheduler(submit=submit, fold=fold, first=5, group=2, capacity=8)
    assert asyncio.run(s.run()) == "target_reached"
    # folds come in slices, so the last one may go past 60
    assert len(folded) >= 60 and folded == list(range(5, 5 + len(folded))) and out["peak"] <= 8
    # request i goes out only once i - window - 1 is folded
    assert all(rid - s.window - 1 < 5 + n for rid, n in sent)


def test_each_stop() -> None:
    async def submit(ids: range) -> list[Completion]:
        return [_answer(i) for i in ids]

    def never(batch: list[tuple[int, Completion]]) -> bool:
        return False

    budget = iter([False] * 3 + [True] * 1000)
    spent = Scheduler(submit, never, first=0, group=1, capacity=4, spent=lambda: next(budget))
    assert asyncio.run(spent.run()) == "token_budget"
    stalled = Scheduler(submit, never, first=0, group=1, capacity=4, stalled=lambda n: n >= 10)
    assert asyncio.run(stalled.run()) == "stalled"
    # near the target only what the yield so far says is needed goes out
    made = {"n": 0}
    near = Scheduler(
        submit, never, first=100, group=1, capacity=50, made=lambda: made["n"], wanted=lambda: 4
    )
    assert near.worth(150) == float("inf")  # no yield known yet
    made["n"] = 10  # 10 made by 50 requests: 4 more want 20, plus a quarter, plus one
    assert near.worth(150) == 26.0


def test_cancelled_run_cancels_what_is_in_flight() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def submit(ids: range) -> list[Completion]:
        started.extend(ids)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.extend(ids)
            raise
        return []

    async def go() -> None:
        task = asyncio.ensure_future(
            Scheduler(submit, lambda b: False, first=0, group=1, capacity=3).run()
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert sorted(started) == [0, 1, 2] and sorted(cancelled) == [0, 1, 2]
