"""The bootstrap loop: grow a pool of machine instructions from seed tasks until the target.

Requests run concurrently, but their results are folded into the pool strictly in request
order, and request i sees the pool as it stood after request i - window was folded, so a run
with a fixed seed and a deterministic backend is reproducible whatever the timing.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm.auto import tqdm

from .candidates import split_candidates
from .errors import ConfigError
from .filters import FilterConfig, InstructionFilter
from .jsonl import JsonlWriter, read_jsonl
from .language import detect_language
from .llm.base import Backend, Completion, run_closing
from .llm.factory import or_default
from .prompt import PromptStyle, encode_prompt, reference_params, sample_instructions
from .records import MachineInstruction, Rejection, SeedTask, SimilarInstruction
from .rundir import RunDir
from .seeds import load_seeds
from .similarity import SimilarityIndex, get_tokenizer


@dataclass(frozen=True)
class BootstrapConfig:
    """Options of the loop; the defaults are the paper's and the reference code's."""

    num_instructions: int = 100
    language: str | None = None
    num_prompt_instructions: int = 8
    num_machine_instructions: int = 2
    concurrency: int = 8
    seed: int = 42
    token_budget: int | None = None
    threshold: float = 0.7
    top_k_similar: int = 10
    min_words: int = 4
    max_words: int = 150
    min_chars: int = 6
    max_chars: int = 300
    blacklist: tuple[str, ...] | None = None
    template: str | Path | None = None
    chat: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    max_tokens: int | None = None
    similarity_workers: int | None = None
    patience: int | None = 200
    """Stop ("stalled") after this many requests in a row accepted nothing; None: never."""
    progress: bool = True

    def __post_init__(self) -> None:
        if self.num_instructions < 0:
            raise ConfigError(f"num_instructions must be >= 0, got {self.num_instructions}")
        if not 0 <= self.num_machine_instructions <= self.num_prompt_instructions:
            raise ConfigError("need 0 <= num_machine_instructions <= num_prompt_instructions")
        if self.num_prompt_instructions < 1:
            raise ConfigError("num_prompt_instructions must be >= 1")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be >= 1, got {self.concurrency}")
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be >= 1 request, got {self.patience}")
        if self.token_budget is not None and self.token_budget <= 0:
            raise ConfigError(f"token_budget must be positive, got {self.token_budget}")


@dataclass
class BootstrapResult:
    """What a run did: totals over all runs in the directory, and why it stopped."""

    out_dir: Path
    accepted: int
    new: int
    stopped: str
    stats: dict[str, object]


@dataclass
class _Counters:
    requests: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0

    @property
    def candidates(self) -> int:
        return self.accepted + sum(self.rejected.values())


def bootstrap(
    seeds: str | Path | Sequence[SeedTask] = "en",
    out_dir: str | Path = "runs/bootstrap",
    num_instructions: int = 100,
    backend: Backend | None = None,
    **options: object,
) -> BootstrapResult:
    """Generate `num_instructions` machine instructions into `out_dir`, resuming what is there.

    `backend` defaults to the embedded model in-process; `options` are `BootstrapConfig` fields.
    """
    config = BootstrapConfig(num_instructions=num_instructions, **options)  # type: ignore[arg-type]
    backend = or_default(backend)
    loop = _Loop(seeds, RunDir.of(out_dir), config, backend)
    return run_closing(backend, loop.run())


class _Loop:
    """State of one bootstrap run: the pool, its similarity index, files and counters."""

    def __init__(
        self,
        seeds: str | Path | Sequence[SeedTask],
        rundir: RunDir,
        config: BootstrapConfig,
        backend: Backend,
    ) -> None:
        tasks = list(seeds) if not isinstance(seeds, str | Path) else load_seeds(seeds)
        self.seed_instructions = [t.instruction for t in tasks]
        seeds_name = str(seeds) if isinstance(seeds, str | Path) else "<in-memory>"
        self.language = config.language or _language_of(seeds, self.seed_instructions)
        self.rundir, self.config, self.backend = rundir, config, backend
        self._check_meta(seeds_name)
        chat = backend.info.chat if config.chat is None else config.chat
        self.style = PromptStyle(chat=chat, language=self.language, template=config.template)
        self.template = self.style.template_text()
        self.params = reference_params(
            self.style,
            temperature=config.temperature,
            top_p=config.top_p,
            presence_penalty=config.presence_penalty,
            max_tokens=config.max_tokens,
        )
        self.filter = InstructionFilter(
            FilterConfig(
                language=self.language,
                min_words=config.min_words,
                max_words=config.max_words,
                min_chars=config.min_chars,
                max_chars=config.max_chars,
                blacklist=tuple(config.blacklist) if config.blacklist is not None else None,
            )
        )
        self.index = SimilarityIndex(
            tokenizer=get_tokenizer(self.language),
            threshold=config.threshold,
            workers=config.similarity_workers,
        )
        self.index.add_many(self.seed_instructions)
        self.machine: list[str] = []
        self._prompts_of: dict[int, list[str]] = {}
        self._pool_len_after: dict[int, int] = {}
        self.counters = _Counters()
        self._resume()

    def _check_meta(self, seeds_name: str) -> None:
        meta = self.rundir.read_meta()
        if meta and (meta.get("seeds"), meta.get("language")) != (seeds_name, self.language):
            raise ConfigError(
                f"{self.rundir.root} holds a run with seeds={meta.get('seeds')!r}, "
                f"language={meta.get('language')!r}; use the same seeds or another --out"
            )
        self.rundir.write_meta(
            {
                **meta,
                "seeds": seeds_name,
                "language": self.language,
                "backend": self.backend.info.name,
                "model": self.backend.info.model,
            }
        )

    def _resume(self) -> None:
        """Reload accepted instructions into the pool; rebuild counts from the files."""
        previous = list(read_jsonl(self.rundir.machine_instructions, MachineInstruction))
        for record in previous:
            self.machine.append(record.instruction)
            self.index.add(record.instruction)
        self.counters.accepted = len(previous)
        for row in read_jsonl(self.rundir.rejected, Rejection):
            self.counters.rejected[row.reason] += 1
        old = self.rundir.read_stats().get("bootstrap", {})
        last_request = max((r.request for r in previous), default=-1)
        self.counters.requests = max(int(old.get("requests", 0)), last_request + 1)
        self.counters.prompt_tokens = int(old.get("prompt_tokens", 0))
        self.counters.completion_tokens = int(old.get("completion_tokens", 0))
        self.counters.elapsed_s = float(old.get("elapsed_s", 0.0))
        self._last_productive = self.counters.requests - 1

    async def run(self) -> BootstrapResult:
        target = self.config.num_instructions
        start_accepted, start_time = self.counters.accepted, time.monotonic()
        usage_start = self.backend.usage.total_tokens
        stopped = "target_reached"
        bar = tqdm(
            total=target,
            initial=min(start_accepted, target),
            unit="inst",
            desc="bootstrap",
            disable=not self.config.progress,
        )
        self._accepted_out = JsonlWriter(self.rundir.machine_instructions)
        self._rejected_out = JsonlWriter(self.rundir.rejected)
        try:
            if self.counters.accepted < target:
                stopped = await self._schedule(bar, usage_start)
        except (asyncio.CancelledError, KeyboardInterrupt):
            stopped = "interrupted"
            raise
        except BaseException:
            stopped = "error"
            raise
        finally:
            bar.close()
            self._accepted_out.close()
            self._rejected_out.close()
            self.counters.elapsed_s += time.monotonic() - start_time
            stats = self._write_stats(stopped)
            self.index.close()
        if stopped == "token_budget":
            print(
                f"token budget of {self.config.token_budget} spent: stopped with "
                f"{self.counters.accepted}/{target} instructions saved in {self.rundir.root}; "
                "rerun with a larger budget to continue"
            )
        return BootstrapResult(
            self.rundir.root,
            self.counters.accepted,
            self.counters.accepted - start_accepted,
            stopped,
            stats,
        )

    async def _schedule(self, bar: tqdm, usage_start: int) -> str:
        """Keep requests in flight; fold finished ones in request order."""
        group = max(1, self.backend.info.batch_size)
        capacity = max(group, self.config.concurrency)
        window = 2 * capacity
        first = self.counters.requests
        self._pool_len_after = {first - 1: len(self.machine)}
        in_flight: dict[int, asyncio.Task[list[Completion]]] = {}  # first request id -> task
        done: dict[int, Completion] = {}
        next_request = next_fold = first
        try:
            while True:
                spent = self._budget_spent(usage_start)
                busy = next_request - next_fold - len(done)
                while (
                    not spent
                    and busy + group <= capacity
                    and next_request + group <= next_fold + window + 1
                ):
                    in_flight[next_request] = self._submit(
                        range(next_request, next_request + group), window, first
                    )
                    next_request += group
                    busy += group
                if not in_flight and next_fold == next_request:
                    return "token_budget" if spent else "exhausted"
                if self._stalled(next_fold):
                    return "stalled"
                finished, _ = await asyncio.wait(
                    in_flight.values(), return_when=asyncio.FIRST_COMPLETED
                )
                for start in [k for k, t in in_flight.items() if t in finished]:
                    for offset, completion in enumerate(in_flight.pop(start).result()):
                        done[start + offset] = completion
                while next_fold in done:
                    self._fold(next_fold, self._prompts_of.pop(next_fold), done.pop(next_fold))
                    self._pool_len_after[next_fold] = len(self.machine)
                    next_fold += 1
                    bar.n = min(self.counters.accepted, self.config.num_instructions)
                    bar.set_postfix(self._postfix(), refresh=True)
                    if self.counters.accepted >= self.config.num_instructions:
                        return "target_reached"
                self._write_stats("running")
        finally:
            for task in in_flight.values():
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight.values(), return_exceptions=True)

    def _submit(self, ids: range, window: int, first: int) -> asyncio.Task[list[Completion]]:
        """Start one backend call for requests `ids`; request i sees the pool as of i - window."""
        prompts = []
        for rid in ids:
            visible = self._pool_len_after.get(rid - window - 1, self._pool_len_after[first - 1])
            chosen = sample_instructions(
                random.Random(f"{self.config.seed}:{rid}"),
                self.seed_instructions,
                self.machine[:visible],
                self.config.num_prompt_instructions,
                self.config.num_machine_instructions,
            )
            self._prompts_of[rid] = chosen
            prompts.append(encode_prompt(chosen, self.style, self.template))
        params = replace(self.params, seed=self.config.seed * 1_000_003 + ids[0])
        return asyncio.create_task(self.backend.acomplete(prompts, params))

    def _stalled(self, next_fold: int) -> bool:
        """True when the last `patience` folded requests accepted nothing (a model that can't)."""
        patience = self.config.patience
        return patience is not None and next_fold - self._last_productive - 1 >= patience

    def _budget_spent(self, usage_start: int) -> bool:
        budget = self.config.token_budget
        return budget is not None and self.backend.usage.total_tokens - usage_start >= budget

    def _fold(self, request: int, chosen: list[str], completion: Completion) -> None:
        """Filter one response's candidates and append the survivors to the pool, in order."""
        c = self.counters
        c.requests = max(c.requests, request + 1)
        c.prompt_tokens += completion.prompt_tokens
        c.completion_tokens += completion.completion_tokens
        candidates = split_candidates(
            completion.text,
            first_number=len(chosen) + 1,
            continued=not self.style.chat,
            finish_reason=completion.finish_reason,
        )
        for cand in candidates:
            if c.accepted >= self.config.num_instructions:
                return
            text = cand.text
            reason = "truncated" if cand.truncated else self.filter(text)
            detail = self.filter.blacklisted(text) if reason == "blacklisted_keyword" else None
            if reason is None:
                decision = self.index.check(text)
                if decision.reject:
                    reason = "too_similar"
                    similar = self.index.texts[decision.argmax]
                    detail = f"{decision.max_score:.4f} vs {similar!r}"
            if reason is not None:
                c.rejected[reason] += 1
                rejection = Rejection(
                    instruction=text, reason=reason, request=request, detail=detail
                )
                self._rejected_out.write(rejection)
                continue
            record = self._accept(text, request, chosen)
            self._accepted_out.write(record)

    def _accept(self, text: str, request: int, chosen: list[str]) -> MachineInstruction:
        top = self.index.most_similar(text, k=self.config.top_k_similar)
        mean = self.index.mean_score(text)
        record = MachineInstruction(
            instruction=text,
            index=self.counters.accepted,
            request=request,
            max_rouge=top[0][1] if top else 0.0,
            mean_rouge=mean,
            most_similar=[
                SimilarInstruction(instruction=self.index.texts[i], score=s) for i, s in top
            ],
            prompt_instructions=chosen,
        )
        self.index.add(text)
        self.machine.append(text)
        self.counters.accepted += 1
        self._last_productive = max(self._last_productive, request)
        return record

    def _postfix(self) -> dict[str, str]:
        c = self.counters
        rate = c.accepted / c.candidates if c.candidates else 0.0
        return {"accept": f"{rate:.0%}", "tokens": str(c.prompt_tokens + c.completion_tokens)}

    def _write_stats(self, stopped: str) -> dict[str, object]:
        c = self.counters
        stats: dict[str, object] = {
            "target": self.config.num_instructions,
            "requests": c.requests,
            "candidates": c.candidates,
            "accepted": c.accepted,
            "rejected": sum(c.rejected.values()),
            "rejected_by_reason": dict(sorted(c.rejected.items())),
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens,
            "elapsed_s": round(c.elapsed_s, 3),
            "stopped": stopped,
            "language": self.language,
            "backend": self.backend.info.name,
            "model": self.backend.info.model,
        }
        self.rundir.update_stats("bootstrap", stats)
        return stats


def _language_of(seeds: object, instructions: Sequence[str]) -> str:
    if isinstance(seeds, str) and seeds in ("en", "zh"):
        return seeds
    return detect_language(instructions)
