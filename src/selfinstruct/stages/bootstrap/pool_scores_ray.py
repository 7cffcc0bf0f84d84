"""The scoring pass after the bootstrap loop on a Ray cluster: one Ray task per span.

With `--ray` the spans pool_scores.py cuts go to Ray tasks instead of local processes. The
pool's texts go into the object store once (`ray.put`); each task indexes the entries before
its span and returns the span's Scores, which the driver alone writes into the pool file (as
without Ray, atomically). A task whose worker dies is run again by Ray (MAX_RETRIES), from the
same texts: the scores are those of the local pass to the bit, each once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import SelfInstructError
from ...runtime.ray_executor import connect
from .pool_scores import (
    INDEX_BYTES_PER_ENTRY,
    PER_PROCESS,
    WORKER_BYTES,
    Scores,
    Span,
    score_pool,
    score_span,
    spans,
)

if TYPE_CHECKING:
    from ...config import RunConfig

MAX_RETRIES = 3
"""Times a span's task is started again when its worker dies (its node lost, the process
killed) before the pass fails; a rerun then finishes the pass."""

Scorer = Callable[..., Any]
"""`score_pool` or `RayScorer`: the same arguments, the same list of Scores."""


def pool_scorer(config: RunConfig) -> Scorer:
    """What scores the pool after the loop: local processes, or Ray tasks under `--ray`."""
    return score_pool if config.ray is None else RayScorer(config.ray)


def score_part(pool: Sequence[str], span: Span) -> list[Scores]:
    """One Ray task's work: the scores of `span`, whose pool is the shared texts cut at its end."""
    whole = Span(pool[: span.stop], span.start, span.stop, span.language, span.threshold, span.mean)
    return list(score_span(whole))


def tasks_for(todo: int, limit: int | None, cpus: int) -> int:
    """Spans to send: `limit` (at most one per instruction), or one per CPU of the cluster
    with at least PER_PROCESS instructions each."""
    if limit is not None:
        return max(1, min(limit, todo))
    return max(1, min(cpus, todo // PER_PROCESS))


def memory_for(entries: int) -> int:
    """Memory a task asks of its node: an index of `entries` entries and the process (so a
    node runs no more tasks at once than its memory holds)."""
    return INDEX_BYTES_PER_ENTRY * entries + WORKER_BYTES


def largest_node_memory(ray: Any) -> int:
    """The `memory` resource of the cluster's largest live node, 0 if none says (a task asking
    more would wait for a node that never comes)."""
    nodes = [n["Resources"].get("memory", 0) for n in ray.nodes() if n.get("Alive")]
    return int(max(nodes, default=0))


class RayScorer:
    """`score_pool` over Ray tasks on the cluster at `address` (auto, an address, or local)."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def __call__(
        self,
        pool: Sequence[str],
        start: int,
        language: str,
        threshold: float,
        mean: str,
        processes: int | None = None,
        done: Callable[[int], object] | None = None,
    ) -> list[Scores]:
        """Scores of pool[start:], each against the entries before it, as `score_pool` gives.

        `processes` is the number of spans (default: one per CPU of the cluster, at least
        PER_PROCESS instructions each); `done(n)` is told as each span comes back. Cancelled,
        it cancels the tasks still running.
        """
        todo = len(pool) - start
        if todo <= 0:
            return []
        ray = connect(self.address)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        empty: list[str] = []  # each task gets the shared texts, not a copy of its own
        whole = Span(empty, start, len(pool), language, threshold, mean)
        parts = spans(whole, tasks_for(todo, processes, cpus))
        texts = ray.put(list(pool))
        task, largest = ray.remote(score_part), largest_node_memory(ray)
        refs = [
            task.options(
                num_cpus=1, max_retries=MAX_RETRIES, memory=min(largest, memory_for(part.stop))
            ).remote(texts, part)
            for part in parts
        ]
        return await gather_spans(ray, refs, done)


async def gather_spans(
    ray: Any, refs: list[Any], done: Callable[[int], object] | None
) -> list[Scores]:
    """The spans' scores in span order; the tasks still running cancelled if this stops."""
    results: list[list[Scores] | None] = [None for _ in refs]

    async def one(i: int, ref: Any) -> None:
        results[i] = scores = await ref
        if done is not None:
            done(len(scores))

    waits = [asyncio.ensure_future(one(i, ref)) for i, ref in enumerate(refs)]
    try:
        await asyncio.gather(*waits)
    except ray.exceptions.RayTaskError as exc:  # the task's own error
        raise exc.as_instanceof_cause() from None
    except ray.exceptions.RayError as exc:  # its worker died MAX_RETRIES + 1 times
        raise SelfInstructError(
            f"a Ray pool-scoring task failed ({type(exc).__name__}: {exc}); rerun to finish "
            "scoring (accepted instructions are kept), or run without --ray"
        ) from None
    finally:
        for wait, ref, result in zip(waits, refs, results, strict=True):
            if result is None:  # still running (an asyncio wait cancelled is done, not it)
                wait.cancel()
                ray.cancel(ref, force=True)
        await asyncio.gather(*waits, return_exceptions=True)
    return [scores for part in results for scores in part or []]
