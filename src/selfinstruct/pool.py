"""The pool a candidate instruction must stand apart from: named filters, then exact ROUGE-L.

It holds the seed and machine instructions in a SimilarityIndex. `judge` names why a candidate
is rejected (the post-processing filters first, cheap, then the similarity filter) or accepts
it; `accept` adds it to the pool and returns its record, with its nearest neighbours and its
mean similarity to the pool as the reference code stores them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .config import BootstrapConfig
from .filters import FilterConfig, InstructionFilter
from .records import MachineInstruction, SimilarInstruction
from .similarity import SimilarityIndex, get_tokenizer

TOP_K_SIMILAR = 10
"""Most similar pool entries stored with each accepted instruction (the reference code's 10)."""


class Pool:
    """Seed and machine instructions, and the checks a new one must pass to join them."""

    def __init__(
        self,
        config: BootstrapConfig,
        language: str,
        seeds: Sequence[str],
        machine: Sequence[str],
    ) -> None:
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

    def judge(self, text: str, truncated: bool = False) -> tuple[str | None, str | None]:
        """(reason, detail) of a rejection, or (None, None) when `text` may join the pool."""
        if truncated:
            return "truncated", None
        reason = self.filter(text)
        if reason == "blacklisted_keyword":
            return reason, self.filter.blacklisted(text)
        if reason is not None:
            return reason, None
        decision = self.index.check(text)
        if decision.reject:
            similar = self.index.texts[decision.argmax]
            return "too_similar", f"{decision.max_score:.4f} vs {similar!r}"
        return None, None

    def accept(self, text: str, request: int, chosen: list[str]) -> MachineInstruction:
        """Add `text` to the pool; its record carries what it was compared with on the way in."""
        top = self.index.most_similar(text, k=TOP_K_SIMILAR)
        record = MachineInstruction(
            instruction=text,
            index=len(self.machine),
            request=request,
            max_rouge=top[0][1] if top else 0.0,
            mean_rouge=self.index.mean_score(text),
            most_similar=[
                SimilarInstruction(instruction=self.index.texts[i], score=s) for i, s in top
            ],
            prompt_instructions=chosen,
        )
        self.index.add(text)
        self.machine.append(text)
        return record

    def close(self) -> None:
        self.index.close()
