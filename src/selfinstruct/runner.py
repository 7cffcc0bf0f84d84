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
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from tqdm.auto import tqdm

from .estimate import cost_of
from .jsonl import JsonlWriter
from .llm.base import Backend, Completion, GenerationParams, Prompt
from .llm.factory import backend_settings, resolve_model
from .rundir import RunDir, add_usage
from .runstate import RunState

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


@dataclass
class Outcome:
    """What one answer became: lines for the stage's file, rejected lines, and named counts."""

    kept: list[BaseModel] = field(default_factory=list)
    rejected: list[BaseModel] = field(default_factory=list)
    counts: Mapping[str, int] = field(default_factory=dict)


class ModelStage(Protocol[R_contra]):
    """A stage the runner can drive: pure prompt building and answer processing."""

    name: str
    params: GenerationParams

    def build_prompt(self, record: R_contra) -> Prompt: ...

    def process(self, record: R_contra, completion: Completion) -> Outcome: ...


class StageLog:
    """A stage's books: its files, counts by name, token ledger, stats.json section, progress bar.

    `counts` starts from what the stage's files already hold (the caller counts them), so the
    stats of a resumed stage add up over every invocation. `summarize(counts)` turns the counts
    into the stage's section of stats.json; the token totals come from the ledger.
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
    ) -> None:
        self.rundir, self.stage, self.prices = rundir, stage, prices
        self.counts, self._summarize, self._postfix = counts, summarize, postfix
        self.usage = rundir.read_usage(stage)
        self._kept = JsonlWriter(kept_file)
        self._rejected = JsonlWriter(rejected_file) if rejected_file is not None else None
        self._ledger = JsonlWriter(rundir.usage)
        self._clock = time.monotonic()
        self._last_stats = 0.0
        self._invocation_counted = False
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
        """Write one batch: kept lines first (they carry the counts), then rejected, then tokens."""
        self._kept.write_many(kept)
        if self._rejected is not None:
            self._rejected.write_many(rejected)
        self.counts.update(counts)
        self._record_usage(completions)
        self.bar.update(advance)
        self.bar.set_postfix(self.postfix(), refresh=False)
        if time.monotonic() - self._last_stats > 1.0:
            self.write_stats("running")

    def _record_usage(self, completions: Sequence[Completion], final: bool = False) -> None:
        now = time.monotonic()
        line: dict[str, Any] = {
            "stage": self.stage,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "elapsed_s": round(now - self._clock, 3),
            "requests": len(completions),
            "prompt_tokens": sum(c.prompt_tokens for c in completions),
            "completion_tokens": sum(c.completion_tokens for c in completions),
        }
        if not self._invocation_counted:
            line["invocations"], self._invocation_counted = 1, True
        endpoints: dict[str, dict[str, int]] = {}
        for c in completions:
            if c.endpoint:
                e = endpoints.setdefault(
                    c.endpoint, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
                )
                e["requests"] += 1
                e["prompt_tokens"] += c.prompt_tokens
                e["completion_tokens"] += c.completion_tokens
        if endpoints:
            line["endpoints"] = endpoints
        if completions or final:
            self._clock = now
            self._ledger.write(line)
            add_usage(self.usage, line)

    def postfix(self) -> dict[str, Any]:
        """The progress bar's tail: the stage's own figures, tokens so far and, priced, cost."""
        shown = dict(self._postfix(self.counts)) if self._postfix is not None else {}
        prompt, completion = self.usage["prompt_tokens"], self.usage["completion_tokens"]
        shown["tokens"] = f"{prompt + completion:,}"
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
            "stopped": stopped,
        }
        if usage["endpoints"]:
            stats["endpoints"] = usage["endpoints"]
        cost = cost_of(usage["prompt_tokens"], usage["completion_tokens"], *self.prices)
        if cost is not None:
            stats["cost"] = round(cost, 6)
        self.rundir.update_stats(self.stage, stats)
        self._last_stats = time.monotonic()
        return stats

    def close(self, stopped: str) -> dict[str, Any]:
        """Record the end of this invocation and write the final stats."""
        try:
            self._record_usage([], final=True)
            return self.write_stats(stopped)
        finally:
            self.bar.close()
            for writer in (self._kept, self._rejected, self._ledger):
                if writer is not None:
                    writer.close()


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
        await resolve_model(backend)
        chat = state.chat(backend)
        stage, settings = make_stage(chat)
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
            await Runner(stage, backend, log, state.config.backend.concurrency).run(todo)
    except BaseException as exc:
        stopped = stop_reason(exc)
        raise
    finally:
        stats = log.close(stopped)
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
