"""The bootstrap loop: grow a pool of machine instructions from seed tasks until the target.

Requests run concurrently, but their results are folded into the pool strictly in request
order, and request i sees the pool as it stood after request i - window was folded, so a run
with a fixed seed and a deterministic backend is reproducible whatever the timing. The loop
keeps its own scheduler (scheduler.py: the pool grows as it goes) and its books in the
runner's StageLog; when it ends, the accepted instructions are scored in bulk (pool_scores.py).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...config import RunConfig
from ...llm.base import Backend, Completion, GenerationParams
from ...llm.factory import backend_from_config, backend_settings, resolve_model
from ...runtime import thinking
from ...runtime.records import MachineInstruction, Rejection
from ...runtime.runner import StageLog, stop_reason
from ...runtime.state import RunState, SeedSource, open_run, text_digest
from ...runtime.structured import JsonAsk, json_ask, record_structured
from ...sync import run_sync
from ...templates import require_user_template
from .candidates import answer_candidates, recase
from .pool import Pool
from .pool_scores import fill_scores
from .pool_scores_ray import pool_scorer
from .prompt import PromptStyle, encode_prompt, sample_instructions
from .result import BootstrapResult
from .scheduler import Scheduler

UNWRAPPED = "unwrapped"  # the count of candidates read without their chat formatting


def bootstrap(
    seeds: SeedSource | RunConfig = "en",
    out_dir: str | Path | None = None,
    num_instructions: int | None = None,
    backend: Backend | None = None,
    **options: Any,
) -> BootstrapResult:
    """Generate machine instructions into `out_dir`, resuming what is there.

    `options` are RunConfig options (`threshold=0.6`, `concurrency=16`, ...), or pass a
    RunConfig first. Without `backend`, the one the options name (default: the embedded model).
    """
    with open_run(seeds, out_dir, num_instructions=num_instructions, **options) as state:
        backend = backend or backend_from_config(state.config.backend)
        return run_sync(run_stage(state, backend), backend)


async def abootstrap(
    seeds: SeedSource | RunConfig = "en",
    out_dir: str | Path | None = None,
    num_instructions: int | None = None,
    backend: Backend | None = None,
    **options: Any,
) -> BootstrapResult:
    """`bootstrap` for callers who own the event loop."""
    with open_run(seeds, out_dir, num_instructions=num_instructions, **options) as state:
        return await run_stage(state, backend or backend_from_config(state.config.backend))


async def run_stage(state: RunState, backend: Backend) -> BootstrapResult:
    """The bootstrap stage of a run (the backend is not touched when the target is reached)."""
    return await _Loop(state, backend).run()


class _Loop:
    """One bootstrap invocation: its books, and when there is work, the pool and the prompts."""

    def __init__(self, state: RunState, backend: Backend) -> None:
        self.state, self.backend = state, backend
        self.config = c = state.config.bootstrap
        self.machine = [m.instruction for m in state.machine]
        counts: Counter[str] = Counter(accepted=len(self.machine))
        rejections = state.rundir.read_rejections()
        counts.update(r.reason for r in rejections)
        counts[UNWRAPPED] = sum(m.unwrapped for m in state.machine)
        counts[UNWRAPPED] += sum(r.unwrapped for r in rejections)
        self.log = StageLog(
            state.rundir,
            "bootstrap",
            kept_file=state.rundir.machine_instructions,
            rejected_file=state.rundir.rejected,
            counts=counts,
            summarize=self._summary,
            total=c.num_instructions,
            done=len(self.machine),
            unit="inst",
            progress=state.config.progress,
            postfix=_postfix,
            prices=(state.config.backend.price_input, state.config.backend.price_output),
        )
        last = state.machine[-1].request if state.machine else -1
        self.first_request = max(self.log.usage["requests"], last + 1)  # requests folded so far
        self._prompts_of: dict[int, list[str]] = {}
        self._pool_len_after = {self.first_request - 1: len(self.machine)}
        self._oldest_kept = self.first_request  # the entry before it stays: the pool at start
        self._machine_at_start = len(self.machine)
        self._last_productive = self.first_request - 1
        self._tokens_at_start = (
            self.log.usage["prompt_tokens"] + self.log.usage["completion_tokens"]
        )
        self.pool: Pool | None = None
        self.ask: JsonAsk | None = None
        self.seed_instructions = [t.instruction for t in state.seeds]

    async def _prepare(self) -> None:
        """Settle the prompt style and decoding, record the settings, build the pool's index."""
        state, c = self.state, self.config
        await resolve_model(self.backend)
        chat = state.chat(self.backend)
        original = c.list_style == "original"
        self.style = PromptStyle(chat=chat, language=state.language, original=original)
        self.template = state.template(self.style.template_name, c.template)
        if state.config.preset == "paper":
            require_user_template(
                self.template,
                self.style.template_name,
                state.language,
                chat=self.style.chat,
                prompt_dir=state.config.prompt_dir,
            )
        self.params = GenerationParams(
            max_tokens=c.max_tokens + thinking.room(state, self.backend),
            temperature=c.temperature,
            top_p=c.top_p,
            presence_penalty=c.presence_penalty,
            frequency_penalty=c.frequency_penalty,
            stop=self.style.stop(),
        )
        self.log.notice = thinking.TruncationNotice("bootstrap", state.config.backend, self.params)
        self.ask = json_ask(state, self.backend, chat, "json_bootstrap")
        self.params = self.ask.params(self.params) if self.ask else self.params
        settings = {
            **state.config.data_settings("bootstrap"),
            **backend_settings(self.backend, chat),
            "template": text_digest(self.template),
            "pool_file": state.pool_fingerprint(),
        }
        state.claim("bootstrap", settings)
        self.pool = Pool(
            c, state.language, self.seed_instructions, self.machine, self.template,
            existing=state.pool_rows,
        )  # fmt: skip
        self.machine = self.pool.machine

    async def run(self) -> BootstrapResult:
        start = len(self.machine)
        stopped = "target_reached"
        try:
            if len(self.machine) < self.config.num_instructions:
                await self._prepare()
                stopped = await self._schedule()
        except BaseException as exc:
            stopped = stop_reason(exc)
            raise
        finally:
            if self.pool is not None:
                self.pool.close()
                self.state.record_requests("bootstrap", self.backend, self.params)
                record_structured(self.state, "bootstrap", self.backend, self.ask)
            stats = self.log.close(stopped)
            self.state.forget("machine")
        await fill_scores(self.state, pool_scorer(self.state.config))
        return BootstrapResult(
            self.state.rundir.root, len(self.machine), len(self.machine) - start, stopped, stats
        )

    async def _schedule(self) -> str:
        """Keep requests in flight; fold finished ones in request order (scheduler.py)."""
        group = max(1, self.backend.info.batch_size)
        scheduler = Scheduler(
            submit=self._submit,
            fold=self._fold,
            first=self.first_request,
            group=group,
            capacity=max(group, self.state.config.backend.concurrency),
            spent=self._budget_spent,
            stalled=self._stalled,
            made=lambda: len(self.machine) - self._machine_at_start,
            wanted=lambda: self.config.num_instructions - len(self.machine),
            forget=self._forget_before,
        )
        self.window = scheduler.window
        return await scheduler.run()

    def _submit(self, ids: range) -> Awaitable[list[Completion]]:
        """One backend call for requests `ids` (prompts built now); request i sees the pool as
        of i - window - 1."""
        prompts = []
        c = self.config
        for rid in ids:
            visible = self._pool_len_after.get(
                rid - self.window - 1, self._pool_len_after[self.first_request - 1]
            )
            assert self.pool is not None, "the pool is built (in _start) before any request"
            rng = random.Random(f"{self.state.config.seed}:{rid}")
            chosen = sample_instructions(
                rng,
                self.seed_instructions,
                self.pool.sampled,  # the --pool rows, then the machine instructions
                c.num_prompt_instructions,
                c.num_machine_instructions,
                self.pool.existing + visible,
            )
            self._prompts_of[rid] = chosen
            prompt = encode_prompt(chosen, self.style, self.template)
            prompts.append(self.ask.prompt(prompt) if self.ask else prompt)
        params = replace(self.params, seed=self.state.config.seed * 1_000_003 + ids[0])
        return self.backend.acomplete(prompts, params)

    def _forget_before(self, request: int) -> None:
        """Drop the pool sizes no later request asks for (else a long run keeps one per request)."""
        while self._oldest_kept < request:
            self._pool_len_after.pop(self._oldest_kept, None)
            self._oldest_kept += 1

    def _stalled(self, next_fold: int) -> bool:
        """True when the last `patience` folded requests accepted nothing (a model that can't)."""
        patience = self.config.patience
        return patience > 0 and next_fold - self._last_productive - 1 >= patience

    def _budget_spent(self) -> bool:
        budget = self.config.token_budget
        used = self.log.usage["prompt_tokens"] + self.log.usage["completion_tokens"]
        return budget is not None and used - self._tokens_at_start >= budget

    def _fold(self, batch: list[tuple[int, Completion]]) -> bool:
        """Filter the candidates of consecutive answers, in order; append the books once.
        Returns True when the target is reached."""
        assert self.pool is not None, "the pool is built (in _start) before any answer comes"
        accepted: list[MachineInstruction] = []
        rejected: list[Rejection] = []
        used: list[Completion] = []  # answers after the one that reaches the target go unbooked,
        for request, completion in batch:  # as those still in flight do: the books don't race
            if len(self.machine) >= self.config.num_instructions:
                break
            used.append(completion)
            chosen = self._prompts_of.pop(request)
            cut = thinking.cut_rejections(completion, request)  # cut off while thinking: no list
            rejected += cut
            candidates = answer_candidates(
                completion.text,
                completion.finish_reason,
                asked=self.ask is not None,
                first_number=len(chosen) + 1,
                continued=not self.style.chat,
                strict=self.style.original,
                truncation=self.config.truncation,
            )[: 0 if cut else None]
            self.pool.prefetch(
                [recase(c.text, self.config.capitalize) for c in candidates if not c.truncated]
            )
            for cand in candidates:
                if len(self.machine) >= self.config.num_instructions:
                    break
                text = recase(cand.text, self.config.capitalize)
                verdict = self.pool.judge(text, cand.truncated)
                if verdict is not None:
                    rejected.append(verdict.rejection(text, request))
                    rejected[-1].unwrapped = cand.unwrapped
                else:
                    accepted.append(self.pool.accept(text, request, chosen))
                    accepted[-1].unwrapped = cand.unwrapped
                    self._last_productive = max(self._last_productive, request)
            self._pool_len_after[request] = len(self.machine)
        counts = Counter(r.reason for r in rejected)
        counts["accepted"] += len(accepted)
        counts[UNWRAPPED] += sum(a.unwrapped for a in accepted) + sum(r.unwrapped for r in rejected)
        self.log.append(accepted, rejected, counts, used, advance=len(accepted))
        return len(self.machine) >= self.config.num_instructions

    def _summary(self, counts: Counter[str]) -> dict[str, Any]:
        rejected = {k: v for k, v in counts.items() if k not in ("accepted", UNWRAPPED) and v}
        return {
            "target": self.config.num_instructions,
            "candidates": counts["accepted"] + sum(rejected.values()),
            "accepted": counts["accepted"],
            UNWRAPPED: counts[UNWRAPPED],
            "rejected": sum(rejected.values()),
            "rejected_by_reason": dict(sorted(rejected.items())),
            "reasoning_truncated": counts[thinking.REASONING_TRUNCATED],
            "language": self.state.language,
        }


def _postfix(counts: Counter[str]) -> dict[str, str]:
    candidates = sum(v for k, v in counts.items() if k != UNWRAPPED)
    return {"accept": f"{counts['accepted'] / candidates:.0%}" if candidates else "-"}
