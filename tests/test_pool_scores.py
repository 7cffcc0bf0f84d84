"""Scoring the accepted instructions after the loop: exact, split over processes, interruptible.

The bootstrap tests check the scores of whole runs against rouge-score; these check the pass
itself: that worker processes give what one process gives, that the sampled mean kicks in past
5,000 entries, that a cancelled or failed pass leaves no worker behind and the pool file whole.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import numpy as np
import psutil
import pytest
from bootstrap_lists import run_bootstrap, task_lines
from fakes import unscored
from rouge_score import rouge_scorer
from runs import read_lines

from selfinstruct import SelfInstructError
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.runtime.state import open_dir
from selfinstruct.similarity import SimilarityIndex
from selfinstruct.stages.bootstrap import pool_scores
from selfinstruct.stages.bootstrap.pool_scores import (
    MEAN_SAMPLE,
    Scores,
    mean_sample,
    processes_for,
    score_pool,
)


def score(pool: list[str], start: int, processes: int, mean: str = "auto") -> list[Scores]:
    return asyncio.run(score_pool(pool, start, "en", 0.7, mean, processes))


def workers_alive() -> list[psutil.Process]:
    me = psutil.Process()
    return [
        p
        for p in me.children(recursive=True)
        if "selfinstruct.stages.bootstrap.pool_scores_worker" in " ".join(p.cmdline())
    ]


def test_mean_rouge_is_exact_up_to_5k_and_sampled_beyond() -> None:
    assert mean_sample(0) is None and mean_sample(5_000) is None
    assert mean_sample(5_001) == MEAN_SAMPLE == 2_000


def test_processes_follow_the_limit_or_the_cores_and_the_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert processes_for(10, 4) == 4 and processes_for(3, 8) == 3 and processes_for(0, 2) == 1
    assert processes_for(999, None) == 1  # too few to be worth a process
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)), raising=False)
    monkeypatch.setattr(pool_scores, "free_memory", lambda: 64 << 30)
    assert processes_for(10**6, None, 10**5) == 16
    # a million-entry index is about 1.5 GB: 64 GiB free has room for 21 processes
    assert processes_for(10**6, None, 10**6) == 16
    monkeypatch.setattr(pool_scores, "free_memory", lambda: 8 << 30)
    assert processes_for(10**6, None, 10**6) == 2  # at most half the free memory
    monkeypatch.setattr(pool_scores, "free_memory", lambda: 1 << 30)
    assert processes_for(10**6, None, 10**6) == 1


def test_free_memory_is_read_from_the_system() -> None:
    assert 0 < pool_scores.free_memory() < 1 << 50


def test_worker_processes_give_what_one_process_gives_past_the_sampled_mean() -> None:
    pool = task_lines(5_060)
    one = score(pool, 4_970, 1)
    three = score(pool, 4_970, 3)
    assert one == three and len(one) == 90
    # the mean switches from exact to a 2,000-entry sample when the pool passes 5,000
    index = SimilarityIndex()
    index.add_many(pool[:4_970])
    for i, scores in enumerate(one):
        text = pool[4_970 + i]
        sample = None if len(index) <= 5_000 else 2_000
        assert scores.mean_rouge == index.mean_score(text, sample=sample)
        assert scores.most_similar == index.most_similar(text, 10)
        index.add(text)
    assert len(index) > 5_000


def test_scores_are_rouge_scores_own_against_the_pool_before_each() -> None:
    pool = task_lines(60, seed=3)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    for i, scores in enumerate(score(pool, 40, 2, mean="exact"), start=40):
        f = [scorer.score(p, pool[i])["rougeL"].fmeasure for p in pool[:i]]
        assert scores.max_rouge == pytest.approx(max(f), abs=1e-12)
        assert scores.mean_rouge == pytest.approx(float(np.mean(f)), abs=1e-12)
        best = sorted(range(i), key=lambda j: (-f[j], j))[:10]
        assert [p for p, _ in scores.most_similar] == best


def test_a_cancelled_pass_leaves_no_worker_behind() -> None:
    pool = task_lines(40_000, seed=5)

    async def cancel_soon() -> None:
        task = asyncio.ensure_future(score_pool(pool, 30_000, "en", 0.7, "auto", 2))
        while not workers_alive():
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())
    assert workers_alive() == []


def test_a_worker_that_dies_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = task_lines(3_000, seed=7)
    import selfinstruct.stages.bootstrap.pool_scores as ps

    start = ps.start_worker

    def doomed(module: str) -> object:
        proc = start(module)
        os.kill(proc.pid, signal.SIGKILL)
        return proc

    monkeypatch.setattr(ps, "start_worker", doomed)
    with pytest.raises(SelfInstructError, match=r"pool-scoring process .* exited with code -9"):
        score(pool, 1_000, 2)
    assert workers_alive() == []


def test_an_interrupted_pass_keeps_the_file_and_the_rerun_finishes_it(tmp_path: Path) -> None:
    run_bootstrap(tmp_path, 12)
    rundir = RunDir.of(tmp_path)
    scored = read_lines(rundir.machine_instructions)
    blank = unscored(scored)
    # as a crash before the pass leaves it: the first 7 scored by an earlier pass, 5 not
    lines = [*scored[:7], *blank[7:]]
    rundir.machine_instructions.write_text("".join(json.dumps(r) + "\n" for r in lines))

    async def cancelled_pass() -> None:
        from selfinstruct.stages.bootstrap.pool_scores import fill_scores

        task = asyncio.ensure_future(fill_scores(open_dir(tmp_path)))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_pass())
    assert read_lines(rundir.machine_instructions) == lines  # untouched
    result = run_bootstrap(tmp_path, 12)  # the target is reached: no request, only the pass
    assert result.new == 0
    assert read_lines(rundir.machine_instructions) == scored
