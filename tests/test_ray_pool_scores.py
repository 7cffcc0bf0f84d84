"""--ray: the scoring pass after the bootstrap loop on Ray tasks gives the local pass's scores.

To the bit, span for span; with a task's worker killed mid-span (Ray runs the span again);
and through a whole bootstrap run, whose pool file is the one a run without Ray writes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import pytest
from bootstrap_lists import run_bootstrap, task_lines
from conftest import require_all
from runs import read_lines

from selfinstruct.runtime.rundir import RunDir
from selfinstruct.stages.bootstrap import pool_scores_ray
from selfinstruct.stages.bootstrap.pool_scores import Scores, score_pool
from selfinstruct.stages.bootstrap.pool_scores_ray import RayScorer

if require_all():
    __import__("ray")  # CI: a missing [ray] extra fails the module
else:
    pytest.importorskip("ray")  # the [ray] extra: the module is skipped without it

TASK_TITLE = "ray::score_part"
"""The process title of a Ray worker while it scores a span."""


def both(pool: Sequence[str], start: int, spans: int) -> tuple[list[Scores], list[Scores]]:
    """The local pass's scores of pool[start:] and the Ray pass's, in `spans` spans each."""
    local = asyncio.run(score_pool(pool, start, "en", 0.7, "auto", spans))
    on_ray = asyncio.run(RayScorer("local")(pool, start, "en", 0.7, "auto", spans))
    return local, on_ray


def test_ray_tasks_give_the_local_pass_to_the_bit(cluster: Any) -> None:
    pool = task_lines(2_400, seed=1)
    told: list[int] = []
    local, on_ray = both(pool, 1_400, 4)
    again = asyncio.run(RayScorer("local")(pool, 1_400, "en", 0.7, "exact", 3, told.append))
    assert len(on_ray) == 1_000 and on_ray == local
    assert sum(told) == 1_000 and len(told) == 3  # told once a span
    assert again == asyncio.run(score_pool(pool, 1_400, "en", 0.7, "exact", 1))


def scoring(proc: psutil.Process) -> bool:
    """Whether `proc` is a Ray worker scoring a span now (its title says so)."""
    try:
        return " ".join(proc.cmdline()).startswith(TASK_TITLE)
    except psutil.Error:
        return False


def kill_a_scoring_worker() -> threading.Thread:
    """SIGKILL the first Ray worker seen scoring a span (its title: TASK_TITLE)."""

    def kill() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for proc in psutil.process_iter():
                if scoring(proc):
                    time.sleep(0.3)  # well into its span
                    if scoring(proc):
                        os.kill(proc.pid, signal.SIGKILL)
                        killed.append(proc.pid)
                        return
            time.sleep(0.01)

    killed: list[int] = []
    thread = threading.Thread(target=kill, daemon=True)
    thread.killed = killed  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_killed_scoring_worker_loses_and_duplicates_nothing(cluster: Any) -> None:
    pool = task_lines(9_000, seed=2)
    killer = kill_a_scoring_worker()
    on_ray = asyncio.run(RayScorer("local")(pool, 5_000, "en", 0.7, "auto", 3))
    killer.join(timeout=60)
    assert killer.killed  # type: ignore[attr-defined]
    assert not psutil.pid_exists(killer.killed[0])  # type: ignore[attr-defined]
    local = asyncio.run(score_pool(pool, 5_000, "en", 0.7, "auto", 1))
    assert len(on_ray) == 4_000 and on_ray == local


def test_a_cancelled_ray_pass_leaves_no_task_running(cluster: Any) -> None:
    pool = task_lines(20_000, seed=4)

    def running() -> list[psutil.Process]:
        return [p for p in psutil.process_iter() if scoring(p)]

    async def cancel_soon() -> None:
        task = asyncio.ensure_future(RayScorer("local")(pool, 10_000, "en", 0.7, "auto", 2))
        while not running():
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())
    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running() == []


def test_a_bootstrap_run_with_ray_writes_the_pool_file_of_one_without(
    cluster: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    gather = pool_scores_ray.gather_spans

    async def counted(ray: Any, refs: list[Any], done: Any) -> list[Scores]:
        sent.append(len(refs))
        return await gather(ray, refs, done)

    monkeypatch.setattr(pool_scores_ray, "gather_spans", counted)
    run_bootstrap(tmp_path / "plain", 40)
    run_bootstrap(tmp_path / "ray", 40, ray="local", scoring_workers=3)
    assert sent == [3]  # the pass went to Ray, in 3 spans
    plain = read_lines(RunDir.of(tmp_path / "plain").machine_instructions)
    assert read_lines(RunDir.of(tmp_path / "ray").machine_instructions) == plain
    assert len(plain) == 40 and all(r["max_rouge"] is not None for r in plain)


def test_without_ray_the_pass_is_local_and_with_it_missing_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from selfinstruct.config import RunConfig
    from selfinstruct.errors import MissingDependencyError

    assert pool_scores_ray.pool_scorer(RunConfig()) is score_pool
    scorer = pool_scores_ray.pool_scorer(RunConfig(ray="local"))
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"selfinstruct\[ray\]"):
        asyncio.run(scorer(task_lines(3), 1, "en", 0.7, "auto"))
