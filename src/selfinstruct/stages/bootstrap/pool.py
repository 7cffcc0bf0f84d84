"""The pool a candidate instruction must stand apart from: named filters, then exact ROUGE-L.

It holds the seed and machine instructions in a SimilarityIndex. `judge` names why a candidate
is rejected (the post-processing filters first, cheap, then the prompt-echo filter, then the
similarity filter, then, with `semantic`, the embedding filter) or accepts it; `accept` adds it
to the pool and returns its record. The record's nearest neighbours and mean similarity to the
pool are scored in bulk after the loop (pool_scores.py), off the loop's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...config import BootstrapConfig
from ...runtime.records import MachineInstruction, Rejection, clip
from ...similarity import SimilarityIndex, get_tokenizer
from .echo import REASON as ECHOES_PROMPT
from .echo import EchoFilter
from .filters import FilterConfig, InstructionFilter

if TYPE_CHECKING:
    from ...similarity.semantic import SemanticIndex


@dataclass(frozen=True)
class Verdict:
    """A named rejection; similarity filters also say how close and to what."""

    reason: str
    detail: str | None = None
    score: float | None = None
    similar: str | None = None

    def rejection(self, text: str, request: int) -> Rejection:
        """The rejected.jsonl record of `text` (clipped) from request `request`."""
        return Rejection(
            instruction=clip(text, 2000),
            reason=self.reason,
            request=request,
            detail=self.detail,
            score=self.score,
            similar=self.similar,
        )


class Pool:
    """Seed and machine instructions, and the checks a new one must pass to join them."""

    def __init__(
        self,
        config: BootstrapConfig,
        language: str,
        seeds: Sequence[str],
        machine: Sequence[str],
        template: str | None = None,
        existing: Sequence[str] = (),
    ) -> None:
        """`existing`: the rows of `--pool FILE`, between the seeds and the machine instructions
        in the index and sampled with the machine instructions (`sampled`), never exported."""
        self.semantic: SemanticIndex | None = None
        if config.semantic:  # first: a missing model package must not leave workers behind
            from ...similarity.semantic import SemanticIndex  # numpy + an embedding model

            self.semantic = SemanticIndex(
                config.semantic_model, config.semantic_threshold, language=language
            )
            self.semantic.add_many([*seeds, *existing, *machine])
        self.filter = InstructionFilter(
            FilterConfig(
                language=language,
                min_words=config.min_words,
                max_words=config.max_words,
                min_chars=config.min_chars,
                max_chars=config.max_chars,
                blacklist=tuple(config.blacklist) if config.blacklist is not None else None,
                strict_start=config.list_style == "original",
            )
        )
        self.index = SimilarityIndex(
            get_tokenizer(language), config.threshold, config.similarity_workers
        )
        self.index.add_many(seeds)
        self.index.add_many(existing)
        self.index.add_many(machine)
        self.machine = list(machine)
        self.sampled = [*existing, *machine]  # what prompts draw their machine instructions from
        self.existing = len(existing)
        echo_n = config.echo_chars if language == "zh" else config.echo_words
        self.echo = EchoFilter.of(template or "", echo_n)

    def _cheap(self, text: str, truncated: bool) -> Verdict | None:
        """The filters that need no pool: post-processing, then the prompt echo."""
        if truncated:
            return Verdict("truncated")
        reason = self.filter(text)
        if reason == "blacklisted_keyword":
            return Verdict(reason, detail=self.filter.blacklisted(text))
        if reason is not None:
            return Verdict(reason)
        echoed = self.echo(text)
        if echoed is not None:
            return Verdict(ECHOES_PROMPT, detail=echoed)
        return None

    def prefetch(self, texts: Sequence[str]) -> None:
        """Embed a response's candidates in one batch (with `semantic`), before judging them."""
        if self.semantic is not None:
            keep = [t for t in texts if self._cheap(t, False) is None]
            self.semantic.check_many(keep, add_accepted=False)

    def judge(self, text: str, truncated: bool = False) -> Verdict | None:
        """Why `text` may not join the pool, or None when it may."""
        verdict = self._cheap(text, truncated)
        if verdict is not None:
            return verdict
        decision = self.index.rejection(text)  # an accepted one's maximum is scored later
        if decision is not None:
            pos = decision.argmax  # None only for an empty pool, which rejects nothing
            similar = None if pos is None else self.index.texts[pos]
            return Verdict("too_similar", score=decision.max_score, similar=similar)
        if self.semantic is not None:
            meaning = self.semantic.check(text)
            if meaning.reject:
                pos = meaning.argmax
                similar = None if pos is None else self.semantic.texts[pos]
                return Verdict("too_similar_semantic", score=meaning.max_score, similar=similar)
        return None

    def accept(self, text: str, request: int, chosen: list[str]) -> MachineInstruction:
        """Add `text` to the pool; its record is scored against the pool after the loop."""
        record = MachineInstruction(
            instruction=text,
            index=len(self.machine),
            request=request,
            prompt_instructions=chosen,
        )
        self.index.add(text)
        if self.semantic is not None:
            self.semantic.add(text)
        self.machine.append(text)
        self.sampled.append(text)
        return record

    def close(self) -> None:
        self.index.close()
