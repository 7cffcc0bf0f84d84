"""The one stage runner: batching, concurrency, appends, named counts, stats, tokens, progress.

A model-calling stage supplies two pure functions, `build_prompt(record)` and
`process(record, completion) -> Outcome`, and the runner does the rest: it keeps a few chunks of
prompts in flight, hands results back in submission order (so files are deterministic whatever
the timing), appends each chunk's lines whole, counts them by name, adds the tokens to the
ledger (`usage.jsonl`) and refreshes the stage's section of `stats.json`. The bootstrap loop has
its own scheduler (its pool grows as it goes) but keeps its books through the same `StageLog`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from tqdm.auto import tqdm

from ..llm.base import Backend, Completion, GenerationParams, Prompt
from ..llm.factory import backend_settings, resolve_model
from .estimate import cost_of
from .jsonl import JsonlWriter
from .ray_executor import on_ray, stop_workers
from .rundir import RunDir, add_usage
from .state import RunState
from .structured import record_structured
from .thinking import REASONING_TRUNCATED, TruncationNotice, room_for_thinking

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


@dataclass
class Outcome:
    """What one answer became: lines for the stage's file, rejected lines, and named counts."""

    kept: Sequence[BaseModel] = field(default_factory=list)
    rejected: Sequence[BaseModel] = field(default_factory=list)
    counts: Mapping[str, int] = field(default_factory=dict)


class ModelStage(Protocol[R_contra]):
    """A stage the runner can drive: pure prompt building and answer processing."""

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> GenerationParams: ...

    def build_prompt(self, record: R_contra) -> Prompt: ...

    def process(self, record: R_contra, completion: Completion) -> Outcome: ...


COMMIT_INTERVAL = 1.0
"""Seconds between group commits of a stage's books (see `StageLog`)."""


@dataclass
class _Held:
    """Batches taken but not yet committed."""

    kept: list[BaseModel] = field(default_factory=list)
    rejected: list[BaseModel] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    usage: dict[str, Any] = field(default_factory=lambda: _usage_of([]))
    advance: int = 0


class StageLog:
    """A stage's books: its files, counts by name, token ledger, stats.json section, progress bar.

    `counts` starts from what the stage's files already hold (the caller counts them), so the
    stats of a resumed stage add up over every invocation. `summarize(counts)` turns the counts
    into the stage's section of stats.json; the token totals come from the ledger.

    Batches are committed in groups: `append` holds a batch until `interval` seconds have
    passed since the last commit, then writes everything held, each file's lines in one write
    and fsynced (kept, rejected, then one ledger line), and only then counts the lines,
    advances the bar and refreshes stats.json. So what any report says was done is on disk and
    whole; a crash loses at most the last `interval` seconds of batches, which no report
    mentioned and a rerun redoes; and a loop folding hundreds of answers a second pays a few
    fsyncs a second (each blocks it for milliseconds) instead of three per batch.
    `usage` (tokens, requests) is current at once, for budgets.
    """

    def __init__(
        self,
        rundir: RunDir,
        stage: str,
        *,
        kept_file: Path,
        rejected_file: Path | None,
        counts: Counter[str],
        summarize: Callable[[Counter[str]], dict[str, Any]],
        total: int,
        done: int,
        unit: str,
        progress: bool,
        postfix: Callable[[Counter[str]], dict[str, Any]] | None = None,
        prices: tuple[float | None, float | None] = (None, None),
        interval: float = COMMIT_INTERVAL,
    ) -> None:
        self.rundir, self.stage, self.prices = rundir, stage, prices
        self.counts, self._summarize, self._postfix = counts, summarize, postfix
        self.interval = interval
        self.usage = rundir.read_usage(stage)
        self._kept = JsonlWriter(kept_file, fsync=False)
        self._rejected = JsonlWriter(rejected_file, fsync=False) if rejected_file else None
        self._ledger = JsonlWriter(rundir.usage, fsync=False)
        self._held = _Held()
        self._clock = time.monotonic()
        self._last_commit = -interval  # the first batch is committed at once
        self._invocation_counted = False
        self.notice: TruncationNotice | None = None
        """Says once when answers were cut off while thinking (a budget too small for it)."""
        self.bar = tqdm(
            total=total, initial=min(done, total), unit=unit, desc=stage, disable=not progress
        )

    def append(
        self,
        kept: Sequence[BaseModel],
        rejected: Sequence[BaseModel],
        counts: Mapping[str, int],
        completions: Sequence[Completion],
        advance: int,
    ) -> None:
        """Take one batch (its kept lines carry the counts); commit when a commit is due."""
        held = self._held
        held.kept += kept
        held.rejected += rejected
        held.counts.update(counts)
        held.advance += advance
        if self.notice is not None:
            self.notice.note(counts.get(REASONING_TRUNCATED, 0))
        if completions:
            batch = _usage_of(completions)
            add_usage(self.usage, batch)
            add_usage(held.usage, batch)
        if time.monotonic() - self._last_commit >= self.interval:
            self.commit("running")

    def commit(self, stopped: str, final: bool = False) -> dict[str, Any]:
        """Write and fsync what is held, then count it and refresh stats.json (returned)."""
        held, self._held = self._held, _Held()
        now = time.monotonic()
        for writer, lines in ((self._kept, held.kept), (self._rejected, held.rejected)):
            if writer is not None and lines:
                writer.write_many(lines)
                _sync(writer.path)
        if held.usage["requests"] or final:  # after the lines: the ledger says what is done
            self._ledger.write(self._ledger_line(held.usage, now))
            _sync(self._ledger.path)
        self._last_commit = now
        self.counts.update(held.counts)
        self.bar.update(held.advance)
        self.bar.set_postfix(self.postfix(), refresh=False)
        return self.write_stats(stopped)

    def _ledger_line(self, held: dict[str, Any], now: float) -> dict[str, Any]:
        """One ledger line for the requests held since the last one."""
        line: dict[str, Any] = {
            "stage": self.stage,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "elapsed_s": round(now - self._clock, 3),
            "requests": held["requests"],
            "prompt_tokens": held["prompt_tokens"],
            "completion_tokens": held["completion_tokens"],
        }
        if held["reasoning_tokens"]:
            line["reasoning_tokens"] = held["reasoning_tokens"]
        if not self._invocation_counted:
            line["invocations"], self._invocation_counted = 1, True
        if held["endpoints"]:
            line["endpoints"] = held["endpoints"]
        self._clock = now
        add_usage(
            self.usage, {"elapsed_s": line["elapsed_s"], "invocations": line.get("invocations", 0)}
        )
        return line

    def postfix(self) -> dict[str, Any]:
        """The progress bar's tail: the stage's own figures, tokens so far and, priced, cost."""
        shown = dict(self._postfix(self.counts)) if self._postfix is not None else {}
        prompt, completion = self.usage["prompt_tokens"], self.usage["completion_tokens"]
        shown["tokens"] = f"{prompt + completion:,}"
        if self.usage["reasoning_tokens"]:
            shown["thinking"] = f"{self.usage['reasoning_tokens']:,}"
        cost = cost_of(prompt, completion, *self.prices)
        if cost is not None:
            shown["cost"] = f"{cost:,.4g}"
        return shown

    def write_stats(self, stopped: str) -> dict[str, Any]:
        """Refresh this stage's section of stats.json (counts are deterministic; time is not)."""
        usage = self.usage
        stats = {
            **self._summarize(self.counts),
            "requests": usage["requests"],
            "prompt_tokens": usage["prompt_tokens"],
            "completion_tokens": usage["completion_tokens"],
            "reasoning_tokens": usage["reasoning_tokens"],
            "stopped": stopped,
        }
        if usage["endpoints"]:
            stats["endpoints"] = usage["endpoints"]
        cost = cost_of(usage["prompt_tokens"], usage["completion_tokens"], *self.prices)
        if cost is not None:
            stats["cost"] = round(cost, 6)
        self.rundir.update_stats(self.stage, stats)
        return stats

    def close(self, stopped: str) -> dict[str, Any]:
        """Commit what is held, record the end of this invocation, write the final stats."""
        try:
            return self.commit(stopped, final=True)
        finally:
            self.bar.close()
            for writer in (self._kept, self._rejected, self._ledger):
                if writer is not None:
                    writer.close()


def _usage_of(completions: Sequence[Completion]) -> dict[str, Any]:
    """Requests and tokens of some answers, in all and per endpoint (a ledger line's figures)."""
    endpoints: dict[str, dict[str, int]] = {}
    for c in completions:
        if c.endpoint:
            e = endpoints.get(c.endpoint)
            if e is None:
                e = endpoints[c.endpoint] = {
                    "requests": 0, "prompt_tokens": 0, "completion_tokens": 0
                }  # fmt: skip
            e["requests"] += 1
            e["prompt_tokens"] += c.prompt_tokens
            e["completion_tokens"] += c.completion_tokens
    return {
        "requests": len(completions),
        "prompt_tokens": sum(c.prompt_tokens for c in completions),
        "completion_tokens": sum(c.completion_tokens for c in completions),
        "reasoning_tokens": sum(c.reasoning_tokens for c in completions),
        "elapsed_s": 0.0,
        "invocations": 0,
        "endpoints": endpoints,
    }


def _sync(path: Path) -> None:
    """fsync `path` (fsync flushes a file's data whichever descriptor wrote it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stop_reason(exc: BaseException | None) -> str:
    """How an invocation ended, for stats.json."""
    if exc is None:
        return "complete"
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return "interrupted"
    return "error"


async def run_model_stage(
    state: RunState,
    backend: Backend,
    name: str,
    make_stage: Callable[[bool], tuple[ModelStage[R], dict[str, Any]]],
    *,
    todo: Sequence[R],
    done: Iterable[BaseModel],
    counts_of: Callable[[Any], Mapping[str, int]],
    summarize: Callable[[Counter[str]], dict[str, Any]],
    kept_file: Path,
    rejected_file: Path | None = None,
    unit: str = "inst",
    postfix: Callable[[Counter[str]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run stage `name` over `todo` with its books kept; return its section of stats.json.

    `make_stage(chat)` builds the stage and the settings to record with it (in run.json, with
    the stage's options and the backend's identity); it is called, and the backend touched,
    only when there is work to do. `done` are the lines the stage's file already holds.
    """
    stage = None
    if todo:
        backend = on_ray(backend, state.config)  # --ray: the requests go to a Ray cluster
        await resolve_model(backend)
        chat = state.chat(backend)
        stage, settings = make_stage(chat)
        stage = room_for_thinking(state, backend, stage)
        backend_id = backend_settings(backend, chat)
        state.claim(name, {**state.config.data_settings(name), **backend_id, **settings})
    counts: Counter[str] = Counter()
    finished = 0
    for line in done:
        counts.update(counts_of(line))
        finished += 1
    log = StageLog(
        state.rundir, name, kept_file=kept_file, rejected_file=rejected_file,
        counts=counts, summarize=summarize, total=finished + len(todo), done=finished,
        unit=unit, progress=state.config.progress, postfix=postfix,
        prices=(state.config.backend.price_input, state.config.backend.price_output),
    )  # fmt: skip
    stopped = "complete"
    try:
        if stage is not None:
            log.notice = TruncationNotice(name, state.config.backend, stage.params)
            await Runner(stage, backend, log, state.config.backend.concurrency).run(todo)
    except BaseException as exc:
        stopped = stop_reason(exc)
        raise
    finally:
        stats = log.close(stopped)
        stop_workers(backend)
        if stage is not None:
            state.record_requests(name, backend, stage.params)
        record_structured(state, name, backend, getattr(stage, "ask", None))
    return stats


class Runner(Generic[R]):
    """Drives one ModelStage over the records still to do."""

    def __init__(self, stage: ModelStage[R], backend: Backend, log: StageLog, concurrency: int):
        self.stage, self.backend, self.log = stage, backend, log
        self.chunk = 2 * max(1, concurrency, backend.info.batch_size)

    async def run(self, todo: Sequence[R]) -> None:
        """Prompt, answer, process and append every record in `todo`, in order."""
        prompts = [self.stage.build_prompt(r) for r in todo]
        async for start, completions in complete_in_order(
            self.backend, prompts, self.stage.params, self.chunk
        ):
            kept: list[BaseModel] = []
            rejected: list[BaseModel] = []
            counts: Counter[str] = Counter()
            for record, completion in zip(todo[start:], completions, strict=False):
                outcome = self.stage.process(record, completion)
                kept += outcome.kept
                rejected += outcome.rejected
                counts.update(outcome.counts)
            self.log.append(kept, rejected, counts, completions, advance=len(completions))


async def complete_in_order(
    backend: Backend,
    prompts: Sequence[Prompt],
    params: GenerationParams,
    chunk_size: int,
    ahead: int = 2,
) -> AsyncIterator[tuple[int, list[Completion]]]:
    """Yield (start, completions) per chunk in prompt order, keeping `ahead` chunks in flight."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    starts = list(range(0, len(prompts), chunk_size))
    pending: dict[int, asyncio.Future[list[Completion]]] = {}
    try:
        for i, start in enumerate(starts):
            for later in starts[i : i + ahead]:
                if later not in pending:
                    chunk = list(prompts[later : later + chunk_size])
                    pending[later] = asyncio.ensure_future(backend.acomplete(chunk, params))
            completions = await pending.pop(start)
            yield start, completions
    finally:
        for task in pending.values():
            task.cancel()
        if pending:
            await asyncio.gather(*pending.values(), return_exceptions=True)
