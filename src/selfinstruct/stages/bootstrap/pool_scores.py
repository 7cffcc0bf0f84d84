"""Each accepted instruction's 10 nearest pool entries and mean ROUGE-L, worked out after the loop.

The reference code computes both as each instruction joins the pool. In a fleet run that was
half of the loop's CPU (benchmarks/fleet.py: 13.5 ms of CPU per request with it, 4.7 without),
and no bound can prune a mean. So the loop leaves them empty, and the bootstrap stage fills them
in bulk once its loop ends. Each instruction is scored against exactly the pool it joined (the
seeds, then the machine instructions before it), so the figures are the same to the bit as
scoring it on the way in. The work splits over processes, each scoring one span of
instructions against its own index of what came before. The pool file is rewritten atomically:
an interrupted pass leaves it as it was, and the next run finishes the pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from ...errors import SelfInstructError
from ...runtime.jsonl import read_jsonl, write_jsonl_atomic
from ...runtime.records import MachineInstruction
from ...similarity import SimilarityIndex, get_tokenizer
from ...similarity.workers import start_worker

if TYPE_CHECKING:
    from ...runtime.state import RunState

TOP_K_SIMILAR = 10
"""Most similar pool entries stored with each accepted instruction (the reference code's 10)."""

MEAN_EXACT_UP_TO = 5_000
"""Pools up to this size get the exact mean ROUGE-L of each accepted instruction (as the
reference code stores it); a larger pool gets the mean of a seeded sample of MEAN_SAMPLE entries.
The exact mean costs time in proportion to the pool (11 ms per instruction at 50K entries, 213
ms at 1M), while a 2,000-entry sample costs about 1 ms at any size and its standard error is
about 0.002 (ROUGE-L scores against a pool spread with a standard deviation near 0.1)."""
MEAN_SAMPLE = 2_000

PER_PROCESS = 1_000
"""Fewer instructions than this per process are not worth starting one for (about 0.5 s)."""

INDEX_BYTES_PER_ENTRY = 1_500
"""Memory of a SimilarityIndex per pool entry (1,446 MiB at 1M, benchmarks/similarity.py)."""
WORKER_BYTES = 100 << 20
"""Memory of a scoring process before its index (Python, numpy, rapidfuzz, the pool's texts)."""

_WORKER_MODULE = "selfinstruct.stages.bootstrap.pool_scores_worker"


@dataclass(frozen=True)
class Scores:
    """What one accepted instruction scored against the pool it joined."""

    max_rouge: float
    mean_rouge: float | None
    most_similar: list[tuple[int, float]]  # (pool position, F), best first


@dataclass(frozen=True)
class Span:
    """Score pool[start:stop], each against the entries before it."""

    pool: Sequence[str]  # the pool up to `stop`
    start: int
    stop: int
    language: str
    threshold: float
    mean: str  # auto | exact | off


def mean_sample(pool_size: int) -> int | None:
    """How many pool entries the mean ROUGE-L of a new instruction averages (None: all)."""
    return None if pool_size <= MEAN_EXACT_UP_TO else MEAN_SAMPLE


def score_span(span: Span) -> Iterator[Scores]:
    """The scores of pool[start:stop], in order (one index, grown one entry at a time)."""
    index = SimilarityIndex(get_tokenizer(span.language), span.threshold)
    index.add_many(span.pool[: span.start])
    for text in span.pool[span.start : span.stop]:
        top = index.most_similar(text, k=TOP_K_SIMILAR)
        mean = None
        if span.mean != "off":
            sample = None if span.mean == "exact" else mean_sample(len(index))
            mean = index.mean_score(text, sample=sample)
        yield Scores(top[0][1] if top else 0.0, mean, top)
        index.add(text)


def spans(span: Span, processes: int) -> list[Span]:
    """`span` cut into `processes` consecutive spans of about equal length."""
    n = span.stop - span.start
    cuts = [span.start + n * i // processes for i in range(processes + 1)]
    return [
        Span(span.pool[:b], a, b, span.language, span.threshold, span.mean)
        for a, b in pairwise(cuts)
        if b > a
    ]


async def score_pool(
    pool: Sequence[str],
    start: int,
    language: str,
    threshold: float,
    mean: str,
    processes: int | None = None,
    done: Callable[[int], object] | None = None,
) -> list[Scores]:
    """Scores of pool[start:], each against the entries before it.

    The first span is scored here (yielding to the event loop as it goes, so a Ctrl-C stops it);
    the others in worker processes (pool_scores_worker.py), started in their own
    session and killed when this is cancelled. `processes` None: as many as the cores and the
    memory allow (processes_for). `done(n)` is told as n more are scored.
    """
    todo = len(pool) - start
    if todo <= 0:
        return []
    whole = Span(pool, start, len(pool), language, threshold, mean)
    parts = spans(whole, processes_for(todo, processes, len(pool)))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs += [start_worker(_WORKER_MODULE) for _ in parts[1:]]  # their imports overlap
        for proc, part in zip(procs, parts[1:], strict=True):
            await asyncio.to_thread(_send, proc, part)
        here: list[Scores] = []
        for scores in score_span(parts[0]):
            here.append(scores)
            if done is not None:
                done(1)
            await asyncio.sleep(0)  # a ms or more per record: a look at the loop costs nothing
        results = [here]
        for proc in procs:
            results.append(await asyncio.to_thread(_receive, proc))
            if done is not None:
                done(len(results[-1]))
    finally:
        for proc in procs:
            _stop(proc)
    return [scores for part in results for scores in part]


def _send(proc: subprocess.Popen[bytes], span: Span) -> None:
    assert proc.stdin is not None
    try:
        pickle.dump(span, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        proc.stdin.close()
    except OSError:
        pass  # it died at once; _receive says so


def _receive(proc: subprocess.Popen[bytes]) -> list[Scores]:
    assert proc.stdout is not None
    try:
        return pickle.load(proc.stdout)
    except (EOFError, pickle.UnpicklingError):
        code = proc.wait()
        raise SelfInstructError(
            f"a pool-scoring process (pid {proc.pid}) exited with code {code}; rerun to finish "
            "scoring (accepted instructions are kept), or set scoring_workers = 1"
        ) from None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(OSError):
        proc.stdout.close()  # type: ignore[union-attr]
    proc.wait()


def processes_for(todo: int, limit: int | None, pool: int = 0) -> int:
    """Processes for scoring `todo` instructions of a `pool`-entry pool: `limit` (at most one
    per instruction), or one per usable core with at least PER_PROCESS instructions each, and
    no more than half the free memory holds (each builds an index of up to the whole pool)."""
    if limit is not None:
        return max(1, min(limit, todo))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    by_memory = free_memory() // (2 * (INDEX_BYTES_PER_ENTRY * pool + WORKER_BYTES))
    return max(1, min(cores or 1, todo // PER_PROCESS, by_memory))


def free_memory() -> int:
    """Bytes of memory available to new processes (Linux); a large number where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 50


async def fill_scores(state: RunState, score: Callable[..., Any] = score_pool) -> int:
    """Score the run's accepted instructions not scored yet, rewrite its pool file; how many.

    `score` is score_pool or what takes its place (pool_scores_ray.py: spans on Ray tasks).

    The file is read twice and written as it is read, so memory holds the texts and the scores,
    not the records (each carries its 8 in-context instructions).
    """
    path, config = state.rundir.machine_instructions, state.config.bootstrap
    pool = [t.instruction for t in state.seeds] + state.pool_rows  # the pool the loop grew
    seeds, first = len(pool), None
    for i, record in enumerate(read_jsonl(path, MachineInstruction)):
        pool.append(record.instruction)
        if first is None and record.max_rouge is None:
            first = i
    if first is None:
        return 0
    todo = len(pool) - seeds - first
    with tqdm(total=todo, unit="inst", desc="scoring", disable=not state.config.progress) as bar:
        scores = await score(
            pool,
            seeds + first,
            state.language,
            config.threshold,
            config.mean_rouge,
            config.scoring_workers,
            bar.update,
        )
    rows = enumerate(read_jsonl(path))
    write_jsonl_atomic(
        path, (scored_row(row, scores[i - first], pool) if i >= first else row for i, row in rows)
    )
    return todo


def scored_row(row: dict[str, Any], scores: Scores, pool: Sequence[str]) -> dict[str, Any]:
    """A pool file line with its scores (a line scored before keeps its own: the same)."""
    if row.get("max_rouge") is not None:
        return row
    row["max_rouge"], row["mean_rouge"] = scores.max_rouge, scores.mean_rouge
    row["most_similar"] = [{"instruction": pool[i], "score": f} for i, f in scores.most_similar]
    return row
