"""The pool a candidate instruction must stand apart from: named filters, then exact ROUGE-L.

It holds the seed and machine instructions in a SimilarityIndex. `judge` names why a candidate
is rejected (the post-processing filters first, cheap, then the prompt-echo filter, then the
similarity filter, then, with `semantic`, the embedding filter) or accepts it; `accept` adds it
to the pool and returns its record, with its nearest neighbours and its mean similarity to the
pool as the reference code stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import BootstrapConfig
from .echo import REASON as ECHOES_PROMPT
from .echo import EchoFilter
from .filters import FilterConfig, InstructionFilter
from .records import MachineInstruction, SimilarInstruction
from .similarity import SimilarityIndex, get_tokenizer

if TYPE_CHECKING:
    from .similarity.semantic import SemanticIndex

MEAN_EXACT_UP_TO = 5_000
"""Pools up to this size get the exact mean ROUGE-L of each accepted instruction (as the
reference code stores it); a larger pool gets the mean of a seeded sample of MEAN_SAMPLE entries.
The exact mean costs time in proportion to the pool (11 ms per accepted instruction at 50K
entries, 260 ms at 1M: half of the loop's CPU in a fleet run, benchmarks/fleet.py), while a
2,000-entry sample costs about 1 ms at any size and its standard error is about 0.002 (ROUGE-L
scores against a pool spread with a standard deviation near 0.1)."""
MEAN_SAMPLE = 2_000

TOP_K_SIMILAR = 10
"""Most similar pool entries stored with each accepted instruction (the reference code's 10)."""


@dataclass(frozen=True)
class Verdict:
    """A named rejection; similarity filters also say how close and to what."""

    reason: str
    detail: str | None = None
    score: float | None = None
    similar: str | None = None


class Pool:
    """Seed and machine instructions, and the checks a new one must pass to join them."""

    def __init__(
        self,
        config: BootstrapConfig,
        language: str,
        seeds: Sequence[str],
        machine: Sequence[str],
        template: str | None = None,
    ) -> None:
        self.semantic: SemanticIndex | None = None
        if config.semantic:  # first: a missing model package must not leave workers behind
            from .similarity.semantic import SemanticIndex  # numpy + an embedding model

            self.semantic = SemanticIndex(
                config.semantic_model, config.semantic_threshold, language=language
            )
            self.semantic.add_many([*seeds, *machine])
        self.filter = InstructionFilter(
            FilterConfig(
                language=language,
                min_words=config.min_words,
                max_words=config.max_words,
                min_chars=config.min_chars,
                max_chars=config.max_chars,
                blacklist=tuple(config.blacklist) if config.blacklist is not None else None,
            )
        )
        self.index = SimilarityIndex(
            get_tokenizer(language), config.threshold, config.similarity_workers
        )
        self.index.add_many(seeds)
        self.index.add_many(machine)
        self.machine = list(machine)
        self.mean_rouge = config.mean_rouge
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
        decision = self.index.rejection(text)  # accept() finds an accepted one's exact maximum
        if decision is not None:
            similar = self.index.texts[decision.argmax]
            return Verdict("too_similar", score=decision.max_score, similar=similar)
        if self.semantic is not None:
            meaning = self.semantic.check(text)
            if meaning.reject:
                similar = self.semantic.texts[meaning.argmax]
                return Verdict("too_similar_semantic", score=meaning.max_score, similar=similar)
        return None

    def accept(self, text: str, request: int, chosen: list[str]) -> MachineInstruction:
        """Add `text` to the pool; its record carries what it was compared with on the way in."""
        top = self.index.most_similar(text, k=TOP_K_SIMILAR)
        record = MachineInstruction(
            instruction=text,
            index=len(self.machine),
            request=request,
            max_rouge=top[0][1] if top else 0.0,
            mean_rouge=self._mean(text),
            most_similar=[
                SimilarInstruction(instruction=self.index.texts[i], score=s) for i, s in top
            ],
            prompt_instructions=chosen,
        )
        self.index.add(text)
        if self.semantic is not None:
            self.semantic.add(text)
        self.machine.append(text)
        return record

    def _mean(self, text: str) -> float | None:
        """The mean ROUGE-L of `text` against the pool, as `mean_rouge` says (see config.py)."""
        how = self.mean_rouge
        if how == "off":
            return None
        sample = None if how == "exact" else mean_sample(len(self.index))
        return self.index.mean_score(text, sample=sample)

    def close(self) -> None:
        self.index.close()


def mean_sample(pool_size: int) -> int | None:
    """How many pool entries the mean ROUGE-L of a new instruction averages (None: all)."""
    return None if pool_size <= MEAN_EXACT_UP_TO else MEAN_SAMPLE
